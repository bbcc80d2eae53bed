// Scheduling from the console: find a loan file, then for each party schedule a call or a video appointment in
// the party's own time zone, move it, or cancel it with a reason. A refused time is explained in words (the
// party's calling hours in their zone), never as a code.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { ApiError, call, client, type Schemas } from '../../shared/api';
import { ErrorNote } from '../../shared/ErrorNote';
import { problemText } from '../../shared/problems';
import { useLocale, useT, type Locale, type Translate } from '../../shared/i18n';
import { useNow } from '../../shared/hooks';
import { useLabels, type Labels } from '../../shared/labels';
import { scheduleMessages, type ScheduleKey } from './schedule-messages';
import { supervisorMessages, type SupervisorKey } from './messages';
import { formatZonedReading, fromZonedInput, toZonedInput, weekdayNames } from '../../shared/zoned-time';

type T = Translate<ScheduleKey>;

type LoanFile = Schemas['LoanFile'];
type Party = LoanFile['parties'][number];
type Verification = Schemas['LoanFileVerification'];
type SessionRow = Verification['parties'][number]['sessions'][number];
type Kind = SessionRow['kind'];
type CallingHoursProblem = NonNullable<Schemas['Problem']['callingHours']>;

const CLOSED = new Set(['COMPLETED', 'EXHAUSTED', 'CANCELLED', 'EXPIRED']);

/** A notice is worded when shown, so it follows a change of language. */
type Notice = { tone: 'ok' | 'warn'; text: (t: T, labels: Labels, locale: Locale) => string };

export function SchedulePanel({ onChanged, initialRef }: { onChanged(): void; initialRef?: string }) {
  const t = useT(scheduleMessages);
  const labels = useLabels();
  const { locale } = useLocale();
  const [ref, setRef] = useState(initialRef ?? '');
  const [file, setFile] = useState<LoanFile>();
  const [sessions, setSessions] = useState<Verification>();
  const [error, setError] = useState<unknown>();
  const [problem, setProblem] = useState<(t: T) => string>();
  const input = useRef<HTMLInputElement>(null);

  const load = async (id: string) => {
    const [loanFile, verification] = await Promise.all([call(client.GET('/api/loan-files/{id}', { params: { path: { id } } })), call(client.GET('/api/loan-files/{id}/verification', { params: { path: { id } } }))]);
    setFile(loanFile);
    setSessions(verification);
  };

  const find = async (event?: FormEvent, wanted = ref.trim()) => {
    event?.preventDefault();
    setError(undefined);
    setProblem(undefined);
    if (!wanted) {
      setProblem(() => (tr: T) => tr('needsRef'));
      input.current?.focus();
      return;
    }
    try {
      const page = await call(client.GET('/api/loan-files', { params: { query: { externalRef: wanted, limit: 1 } } }));
      const found = page.items.find((f) => f.externalRef === wanted);
      if (!found) {
        setFile(undefined);
        setProblem(() => (tr: T) => tr('notFound', { ref: wanted }));
        return;
      }
      await load(found.id);
    } catch (e) {
      setError(e);
    }
  };

  // Opened for a loan file just created: show it at once.
  useEffect(() => {
    if (initialRef) void find(undefined, initialRef);
  }, [initialRef]);

  const changed = async () => {
    if (file) await load(file.id).catch(setError);
    onChanged();
  };

  return (
    <section className="panel sv-schedule" aria-labelledby="sv-schedule" data-testid="schedule-panel">
      <h2 id="sv-schedule">{t('title')}</h2>
      <p className="hint">{t('intro')}</p>
      <form className="row sv-find" onSubmit={(e) => void find(e)} noValidate>
        <label className="field">
          {t('findLabel')}
          <input ref={input} value={ref} onChange={(e) => setRef(e.target.value)} aria-invalid={problem ? true : undefined} aria-describedby={problem ? 'sv-find-problem' : undefined} />
        </label>
        <button type="submit">{t('find')}</button>
      </form>
      {problem ? (
        <p className="field-error" id="sv-find-problem" role="alert">
          {problem(t)}
        </p>
      ) : null}
      <ErrorNote error={error} />
      {file ? (
        <div className="stack" data-testid="schedule-loan-file">
          <h3>{t('loanSummary', { ref: file.externalRef, product: file.productName?.[locale] ?? labels.product(file.product) })}</h3>
          {file.parties.map((party) => (
            <PartyScheduler key={party.id} party={party} sessions={sessions?.parties.find((p) => p.partyId === party.id)?.sessions ?? []} t={t} onChanged={() => void changed()} />
          ))}
        </div>
      ) : null}
    </section>
  );
}

function PartyScheduler({ party, sessions, t, onChanged }: { party: Party; sessions: SessionRow[]; t: T; onChanged(): void }) {
  const sv = useT(supervisorMessages);
  const labels = useLabels();
  const { locale } = useLocale();
  const now = useNow(30_000);
  const [kind, setKind] = useState<Kind>('VIDEO');
  const [time, setTime] = useState('');
  const [missing, setMissing] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [notices, setNotices] = useState<Notice[]>([]);
  const open = sessions.filter((s) => !CLOSED.has(s.state));
  const zone = party.timeZone;
  const at = (iso: string) => formatZonedReading(toZonedInput(iso, zone), locale);
  const kindName = (k: Kind) => t(`kind_${k}`);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (kind === 'VIDEO' && !time) {
      setMissing(true);
      return;
    }
    setMissing(false);
    setBusy(true);
    setError(undefined);
    setNotices([]);
    try {
      const created = await call(client.POST('/api/loan-files/{id}/sessions', { params: { path: { id: party.loanFileId } }, body: { partyId: party.id, kind, ...(time ? { notBefore: fromZonedInput(time, zone) } : {}) } }));
      const next: Notice[] = [{ tone: 'ok', text: (tr, _named, shownIn) => tr('scheduled', { kind: tr(`kind_${kind}`), name: party.fullName, time: formatZonedReading(toZonedInput(created.notBefore, zone), shownIn), zone }) }];
      if (created.warnings.includes('NO_AGENT_FOR_LANGUAGE')) next.push({ tone: 'warn', text: (tr, named) => tr('warnNoAgent', { language: named.language(party.locale) }) });
      setNotices(next);
      setTime('');
      onChanged();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const timeId = `sv-time-${party.id}`;
  return (
    <article className="sv-party" data-testid={`schedule-party-${party.id}`} aria-labelledby={`sv-party-${party.id}`}>
      <h4 id={`sv-party-${party.id}`}>
        {party.fullName} · {sv(`role_${party.role}` as SupervisorKey)}
      </h4>
      <div className="hint">{t('partyZone', { zone, language: labels.language(party.locale) })}</div>
      <div className="hint" data-testid="party-now">
        {t('partyNow', { time: formatZonedReading(toZonedInput(new Date(now).toISOString(), zone), locale) })}
      </div>
      <form className="sv-schedule-form" onSubmit={(e) => void submit(e)} noValidate>
        <fieldset>
          <legend>{t('kindLegend')}</legend>
          {(['VIDEO', 'CALL'] as const).map((k) => (
            <label key={k} className="sv-radio">
              <input type="radio" name={`kind-${party.id}`} value={k} checked={kind === k} onChange={() => setKind(k)} />
              {kindName(k)}
            </label>
          ))}
        </fieldset>
        <label className="field" htmlFor={timeId}>
          {t('timeLabel', { zone })}
        </label>
        <input id={timeId} type="datetime-local" value={time} onChange={(e) => setTime(e.target.value)} aria-invalid={missing ? true : undefined} aria-describedby={`${timeId}-hint`} />
        <span className={missing ? 'field-error' : 'hint'} id={`${timeId}-hint`}>
          {missing ? t('needsTime') : time ? t('timeReads', { time: formatZonedReading(time, locale), zone }) : kind === 'CALL' ? t('timeHintCall') : ''}
        </span>
        <div>
          <button className="primary" type="submit" disabled={busy}>
            {t('schedule')}
          </button>
        </div>
      </form>
      <Refusal error={error} party={party} t={t} />
      <div role="status" aria-live="polite">
        {notices.map((n, i) => (
          <div key={i} className={`alert ${n.tone}`} data-testid={n.tone === 'warn' ? 'schedule-warning' : 'schedule-done'}>
            {n.text(t, labels, locale)}
          </div>
        ))}
      </div>
      <h5>{t('openSessions')}</h5>
      {open.length === 0 ? <p className="hint">{t('noOpenSessions')}</p> : null}
      <ul className="sv-open-sessions">
        {open.map((s) => (
          <OpenSession
            key={s.id}
            session={s}
            party={party}
            t={t}
            label={t('sessionAt', { kind: kindName(s.kind), state: labels.state(s.state), time: at(s.notBefore), zone })}
            onStart={() => setNotices([])}
            onDone={(notice) => {
              setNotices([notice]);
              onChanged();
            }}
          />
        ))}
      </ul>
    </article>
  );
}

function OpenSession({ session, party, label, t, onStart, onDone }: { session: SessionRow; party: Party; label: string; t: T; onStart(): void; onDone(notice: Notice): void }) {
  const { locale } = useLocale();
  const [mode, setMode] = useState<'idle' | 'reschedule' | 'cancel'>('idle');
  const [time, setTime] = useState(() => toZonedInput(session.notBefore, party.timeZone));
  const [reason, setReason] = useState('');
  const [missing, setMissing] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const kind = (tr: T) => tr(`kind_${session.kind}`);

  const run = async (event: FormEvent) => {
    event.preventDefault();
    const empty = mode === 'cancel' ? !reason.trim() : !time;
    setMissing(empty);
    if (empty) return;
    setBusy(true);
    setError(undefined);
    try {
      if (mode === 'cancel') {
        await call(client.POST('/api/sessions/{id}/cancel', { params: { path: { id: session.id } }, body: { reason: reason.trim() } }));
        setMode('idle');
        onDone({ tone: 'ok', text: (tr) => tr('cancelled', { kind: kind(tr), name: party.fullName }) });
      } else {
        const moved = await call(client.POST('/api/sessions/{id}/reschedule', { params: { path: { id: session.id } }, body: { notBefore: fromZonedInput(time, party.timeZone) } }));
        const reading = toZonedInput(moved.notBefore, party.timeZone);
        setMode('idle');
        onDone({ tone: 'ok', text: (tr, _named, shownIn) => tr('rescheduled', { kind: kind(tr), name: party.fullName, time: formatZonedReading(reading, shownIn), zone: party.timeZone }) });
      }
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const fieldId = `sv-${mode}-${session.id}`;
  return (
    <li className="sv-open-session" data-testid={`open-session-${session.id}`}>
      <div>{label}</div>
      {mode === 'idle' ? (
        <div className="row">
          <button type="button" className="small" onClick={() => (setMode('reschedule'), onStart(), setError(undefined))}>
            {t('reschedule')}
          </button>
          <button type="button" className="small danger" onClick={() => (setMode('cancel'), onStart(), setError(undefined))}>
            {t('cancel')}
          </button>
        </div>
      ) : (
        <form onSubmit={(e) => void run(e)} noValidate>
          <label className="field" htmlFor={fieldId}>
            {mode === 'cancel' ? t('cancelReason') : t('rescheduleLabel', { zone: party.timeZone })}
          </label>
          {mode === 'cancel' ? (
            <textarea id={fieldId} value={reason} onChange={(e) => setReason(e.target.value)} maxLength={500} aria-invalid={missing ? true : undefined} aria-describedby={missing ? `${fieldId}-error` : undefined} />
          ) : (
            <input id={fieldId} type="datetime-local" value={time} onChange={(e) => setTime(e.target.value)} aria-invalid={missing ? true : undefined} aria-describedby={missing ? `${fieldId}-error` : undefined} />
          )}
          {missing ? (
            <span className="field-error" id={`${fieldId}-error`}>
              {mode === 'cancel' ? t('needsReason') : t('needsTime')}
            </span>
          ) : null}
          {mode === 'reschedule' && time && !missing ? <span className="hint">{t('timeReads', { time: formatZonedReading(time, locale), zone: party.timeZone })}</span> : null}
          <div className="row">
            <button className={mode === 'cancel' ? 'danger small' : 'primary small'} type="submit" disabled={busy}>
              {mode === 'cancel' ? t('cancelConfirm') : t('rescheduleSave')}
            </button>
            <button type="button" className="small" onClick={() => (setMode('idle'), setMissing(false), setError(undefined))}>
              {t('back')}
            </button>
          </div>
        </form>
      )}
      <Refusal error={error} party={party} t={t} />
    </li>
  );
}

/** Why the server refused, in words: the party's calling hours in their zone, or what else stood in the way. */
function Refusal({ error, party, t }: { error: unknown; party: Party; t: T }) {
  const { locale } = useLocale();
  if (!error) return null;
  if (!(error instanceof ApiError)) return <ErrorNote error={error} />;
  let text: string;
  const hours = error.problem.callingHours as CallingHoursProblem | undefined;
  if (error.code === 'OUTSIDE_CALLING_HOURS' && hours) {
    text = t('refusedHours', {
      time: formatZonedReading(hours.requestedLocal, locale),
      name: party.fullName,
      start: hours.start,
      end: hours.end,
      days: hours.days.length === 7 ? t('everyDay') : weekdayNames(hours.days, locale),
      zone: hours.timeZone,
    });
  } else if (error.code === 'SESSION_STATE_CONFLICT') {
    text = t('refusedConflict');
  } else if (error.code === 'LOAN_TERMS_MISSING') {
    text = t('refusedTerms');
  } else if (error.code === 'VALIDATION_FAILED' && error.errors.some((e) => e.field === 'notBefore')) {
    text = t('refusedPast');
  } else {
    text = t('refusedOther', { detail: problemText(error.code, locale) });
  }
  return (
    <div className="alert error" role="alert" data-code={error.code} data-testid="schedule-refusal">
      {text}
    </div>
  );
}
