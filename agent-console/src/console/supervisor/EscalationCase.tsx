// One escalated session opened from the queue: why it was escalated, the risk flags, every answer with
// its note, and the decision form (outcome + a required note). Everything works from the keyboard:
// the outcome is a radio group, the note a textarea, Enter on the button records it.
import { useId, useRef, useState, type FormEvent } from 'react';
import { ApiError, call, client, fieldError, type BodyOf } from '../../shared/api';
import { ErrorNote } from '../../shared/ErrorNote';
import { formatDuration, useLocale, useLocalized, useT } from '../../shared/i18n';
import { useLoad } from '../../shared/hooks';
import { useLabels } from '../../shared/labels';
import { PromptText, promptPlain, type PromptValues } from '../../shared/prompt';
import type { BoardSession } from './board';
import { supervisorMessages, type SupervisorKey } from './messages';

type Outcome = BodyOf<'/api/sessions/{id}/decision'>['outcome'];

export function EscalationCase({ session, canDecide, onDecided }: { session: BoardSession; canDecide: boolean; onDecided(outcome: Outcome): void }) {
  const t = useT(supervisorMessages);
  const labels = useLabels();
  const localized = useLocalized();
  const { data, error } = useLoad((signal) => call(client.GET('/api/sessions/{id}/checklist', { params: { path: { id: session.id } }, signal })), [session.id]);
  const { locale } = useLocale();
  // What the board knows of the terms the prompts name; the rest is marked as such.
  const values: PromptValues = { agentName: session.assignedAgent?.displayName, product: labels.productNamed(session.product, session.productName), ...data?.values[locale] };
  const promptOf = (itemId: string) => {
    const item = data?.items.find((i) => i.id === itemId);
    return item ? promptPlain(localized(item.prompt), values, locale) : undefined;
  };

  return (
    <div className="sv-case" data-testid={`case-${session.id}`}>
      <ErrorNote error={error} />
      <h3>{t('reasonsTitle')}</h3>
      <ul className="sv-reasons">
        {session.reasons.map((r) => (
          <li key={r}>{labels.reason(r, promptOf)}</li>
        ))}
      </ul>
      {!data && !error ? <p className="hint">{t('loadingCase')}</p> : null}
      {data ? (
        <>
          <h3>{t('flagsTitle')}</h3>
          {data.flags.length === 0 ? (
            <p className="hint">{t('flagsEmpty')}</p>
          ) : (
            <ul className="sv-flags">
              {data.flags.map((f) => (
                <li key={f.id}>
                  <span className={`badge ${f.severity === 'HIGH' ? 'bad' : f.severity === 'MEDIUM' ? 'warn' : ''}`}>{labels.severity(f.severity)}</span> {labels.flag(f.code)}
                  {f.offsetMs !== null ? <span className="hint"> · {t('atOffset', { offset: formatDuration(f.offsetMs) })}</span> : null}
                  {f.note ? <div className="hint">{t('note', { note: f.note })}</div> : null}
                </li>
              ))}
            </ul>
          )}
          <h3>{t('answersTitle')}</h3>
          <ol className="sv-answers">
            {data.items.map((item) => {
              const value = item.answer?.value;
              const tone = value === 'CONFIRMED' ? 'ok' : value === 'DENIED' ? 'bad' : value === 'UNCLEAR' ? 'warn' : '';
              return (
                <li key={item.id} className={value === 'UNCLEAR' || value === 'DENIED' ? 'sv-answer-attention' : undefined}>
                  <span><PromptText text={localized(item.prompt)} values={values} /></span>
                  {item.required ? <span className="hint"> ({t('answerRequired')})</span> : null}{' '}
                  <span className={`badge ${tone}`}>{value ? t(`answer_${value}` as SupervisorKey) : t('answerNone')}</span>
                  {item.answer?.offsetMs != null ? <span className="hint"> · {t('atOffset', { offset: formatDuration(item.answer.offsetMs) })}</span> : null}
                  {item.answer?.answeredBy === 'AUTOMATED_CALL' ? <span className="badge info">{t('answeredByBot')}</span> : null}
                  {item.answer?.note ? <div className="hint">{t('note', { note: (item.answer.noteCode ? labels.automatedNote(item.answer.noteCode, item.answer.noteParams, item.answer.note) : null) ?? item.answer.note })}</div> : null}
                </li>
              );
            })}
          </ol>
        </>
      ) : null}
      {canDecide ? <DecisionForm session={session} onDecided={onDecided} /> : <p className="alert info">{t('onlySupervisors')}</p>}
    </div>
  );
}

function DecisionForm({ session, onDecided }: { session: BoardSession; onDecided(outcome: Outcome): void }) {
  const t = useT(supervisorMessages);
  const id = useId();
  const [outcome, setOutcome] = useState<Outcome | undefined>();
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [local, setLocal] = useState<{ outcome?: string; note?: string }>({});
  const firstRadio = useRef<HTMLInputElement>(null);
  const noteRef = useRef<HTMLTextAreaElement>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const problems = { outcome: outcome ? undefined : t('decisionNeedsOutcome'), note: note.trim() ? undefined : t('decisionNeedsNote') };
    setLocal(problems);
    if (problems.outcome) return firstRadio.current?.focus();
    if (problems.note) return noteRef.current?.focus();
    setBusy(true);
    setError(undefined);
    try {
      await call(client.POST('/api/sessions/{id}/decision', { params: { path: { id: session.id } }, body: { outcome: outcome!, note: note.trim() } }));
      onDecided(outcome!);
    } catch (e) {
      setError(e);
      if (e instanceof ApiError && fieldError(e, 'note')) noteRef.current?.focus();
    } finally {
      setBusy(false);
    }
  };

  const outcomeError = local.outcome ?? fieldError(error, 'outcome');
  const noteError = local.note ?? fieldError(error, 'note');
  return (
    <form className="sv-decision" onSubmit={(e) => void submit(e)} noValidate aria-labelledby={`${id}-title`}>
      <h3 id={`${id}-title`}>{t('decisionTitle')}</h3>
      {error && !fieldError(error, 'note') && !fieldError(error, 'outcome') ? <ErrorNote error={error} /> : null}
      <fieldset aria-describedby={outcomeError ? `${id}-outcome-error` : undefined}>
        <legend>{t('outcomeLegend')}</legend>
        {(['PASSED', 'FAILED'] as const).map((value, i) => (
          <label key={value} className="sv-radio">
            <input ref={i === 0 ? firstRadio : undefined} type="radio" name={`${id}-outcome`} value={value} checked={outcome === value} onChange={() => setOutcome(value)} />
            {t(`outcome_${value}`)}
          </label>
        ))}
        {outcomeError ? (
          <p className="field-error" id={`${id}-outcome-error`}>
            {outcomeError}
          </p>
        ) : null}
      </fieldset>
      <label className="field">
        {t('decisionNote')}
        <textarea
          ref={noteRef}
          required
          maxLength={2000}
          value={note}
          onChange={(e) => setNote(e.target.value)}
          aria-invalid={noteError ? true : undefined}
          aria-describedby={noteError ? `${id}-note-error` : undefined}
        />
        {noteError ? (
          <span className="field-error" id={`${id}-note-error`}>
            {noteError}
          </span>
        ) : null}
      </label>
      <button className="primary" type="submit" disabled={busy}>
        {busy ? t('deciding') : t('decisionSubmit')}
      </button>
    </form>
  );
}
