// One session under review: the recording player with the checklist as a timeline (each answer and
// flag seeks the player to its offset), captures, the recording's hash and verification state with a
// re-check, the decision, and the evidence downloads.
import { createElement, useCallback, useEffect, useMemo, useRef, useState, type FormEvent, type SyntheticEvent } from 'react';
import { api, ApiError } from '../../shared/api';
import { ContractReview } from '../contract/ContractReview';
import { ErrorNote } from '../../shared/ErrorNote';
import { problemText } from '../../shared/problems';
import { useLoad } from '../../shared/hooks';
import { formatDateTime, useLocale, useLocalized, useT } from '../../shared/i18n';
import { useLabels } from '../../shared/labels';
import { PromptText, promptPlain, type PromptValues } from '../../shared/prompt';
import { Link } from '../../shared/router';
import { clientConfig, type ClientConfig } from '../../shared/client-config';
import { useAuth } from '../auth';
import { reviewMessages } from './messages';
import { outcomeBadgeClass, reviewBadgeClass } from './SessionSearch';
import type { Capture, IntegrityResult, RecordingInfo, ReviewFile } from './types';
import { LivenessPanel } from '../desk/LivenessPanel';

type Key = keyof (typeof reviewMessages)['en'];
const PLAYABLE = new Set(['VERIFIED', 'RETAINED']);

/** The file name extension a download gets from its content type. */
function fileExtension(contentType: string | null): string {
  const subtype = contentType?.split(';')[0]?.split('/')[1] ?? '';
  return { ogg: 'ogg', webm: 'webm', mp4: 'mp4', mpeg: 'mp3', png: 'png', jpeg: 'jpg' }[subtype] ?? 'bin';
}

function formatMoney(amount: string, currency: string, locale: string): string {
  try {
    return new Intl.NumberFormat(locale, { style: 'currency', currency }).format(Number(amount));
  } catch {
    return `${amount} ${currency}`;
  }
}

/** m:ss.t — offsets are precise to a tenth of a second on the timeline. */
export function formatOffset(ms: number): string {
  const tenths = Math.floor(ms / 100);
  const m = Math.floor(tenths / 600);
  const s = Math.floor((tenths % 600) / 10);
  return `${m}:${String(s).padStart(2, '0')}.${tenths % 10}`;
}

interface Mark {
  key: string;
  kind: 'answer' | 'flag' | 'signing' | 'page';
  attemptId: string | null;
  offsetMs: number;
  label: string;
  /** For answers: the prompt as written, shown with its terms, and the agent's (or the automated call's) note. */
  prompt?: string;
  note?: string | null;
  byBot?: boolean;
  detail: string;
  tone: string;
}

export function SessionReview({ sessionId }: { sessionId: string }) {
  const t = useT(reviewMessages);
  const labels = useLabels();
  const localized = useLocalized();
  const { locale } = useLocale();
  const file = useLoad((signal) => api<ReviewFile>('GET', `/api/review-desk/sessions/${sessionId}`, undefined, { signal }), [sessionId]);
  const captures = useLoad((signal) => api<{ items: Capture[] }>('GET', `/api/sessions/${sessionId}/captures`, undefined, { signal }), [sessionId]);
  const [config, setConfig] = useState<ClientConfig>();
  useEffect(() => {
    clientConfig().then(setConfig, () => undefined);
  }, []);

  const data = file.data;
  const recorded = useMemo(() => (data?.attempts ?? []).filter((a) => a.recording), [data]);
  const [attemptId, setAttemptId] = useState<string>();
  useEffect(() => {
    if (!attemptId && recorded.length > 0) setAttemptId((recorded.filter((a) => PLAYABLE.has(a.recording!.state)).at(-1) ?? recorded.at(-1))!.id);
  }, [recorded, attemptId]);
  const attempt = recorded.find((a) => a.id === attemptId);
  const recording = attempt?.recording ?? null;

  const media = useRef<HTMLMediaElement | null>(null);
  const pendingSeek = useRef<number | null>(null);
  const [position, setPosition] = useState(0);
  const [duration, setDuration] = useState<number>(0);

  const seek = useCallback(
    (targetAttempt: string | null, offsetMs: number) => {
      const seconds = offsetMs / 1000;
      if (targetAttempt && targetAttempt !== attemptId && recorded.some((a) => a.id === targetAttempt)) {
        pendingSeek.current = seconds;
        setAttemptId(targetAttempt);
        return;
      }
      const el = media.current;
      if (!el) return;
      if (el.readyState >= 1) {
        el.currentTime = seconds;
        setPosition(seconds);
      } else pendingSeek.current = seconds;
      el.focus();
    },
    [attemptId, recorded],
  );
  const onLoaded = () => {
    const el = media.current;
    if (!el) return;
    setDuration(Number.isFinite(el.duration) ? el.duration : 0);
    if (pendingSeek.current !== null) {
      el.currentTime = pendingSeek.current;
      setPosition(pendingSeek.current);
      pendingSeek.current = null;
    }
  };

  // The automated call's note in the reader's language (its stored wording is English); an agent's note as written.
  const answerNote = useCallback(
    (answer: ReviewFile['items'][number]['answer']): string | null =>
      !answer ? null : answer.answeredBy === 'AUTOMATED_CALL' && answer.noteCode ? labels.automatedNote(answer.noteCode, answer.noteParams, answer.note) : answer.note,
    [labels],
  );

  // What the review knows of the terms the prompts name; the rest is marked as such.
  const values = useMemo<PromptValues>(
    () => (data ? { agentName: data.agent?.displayName, product: labels.productNamed(data.loanFile.product, data.loanFile.productName), amount: formatMoney(data.loanFile.amount, data.loanFile.currency, locale), ...data.values[locale] } : {}),
    [data, labels, locale],
  );
  const marks = useMemo<Mark[]>(() => {
    if (!data) return [];
    const answers: Mark[] = data.items.flatMap((item) =>
      item.answer && item.answer.offsetMs !== null
        ? [{ key: `item-${item.id}`, kind: 'answer' as const, attemptId: item.answer.attemptId, offsetMs: item.answer.offsetMs, label: promptPlain(localized(item.prompt), values, locale), prompt: localized(item.prompt), note: answerNote(item.answer), byBot: item.answer.answeredBy === 'AUTOMATED_CALL', detail: t(`answer${item.answer.value}` as Key), tone: item.answer.value === 'CONFIRMED' ? 'ok' : item.answer.value === 'DENIED' ? 'bad' : 'warn' }]
        : [],
    );
    const flags: Mark[] = data.flags.flatMap((f) =>
      f.offsetMs !== null ? [{ key: `flag-${f.id}`, kind: 'flag' as const, attemptId: f.attemptId, offsetMs: f.offsetMs, label: t('flag', { flag: labels.flag(f.code), severity: t(`severity${f.severity}` as Key) }), detail: f.note ?? '', tone: 'bad' }] : [],
    );
    // The contract on the recording: each page the agent presented, and the borrower's signing.
    const pages: Mark[] = data.pagesPresented.map((p, i) => ({ key: `page-${i}`, kind: 'page' as const, attemptId: p.attemptId, offsetMs: p.offsetMs, label: t('markPage', { n: p.page }), detail: '', tone: 'info' }));
    const signing: Mark[] = data.signing
      ? [{ key: 'signing', kind: 'signing' as const, attemptId: data.signing.attemptId, offsetMs: data.signing.offsetMs, label: t('markSignedLabel', { hash: `${data.signing.documentHash.slice(0, 12)}…` }), detail: t('markSigned'), tone: 'ok' }]
      : [];
    return [...answers, ...flags, ...pages, ...signing].sort((a, b) => a.offsetMs - b.offsetMs);
  }, [data, localized, t, labels, values, locale, answerNote]);

  if (file.error && !data) return <ErrorNote error={file.error} />;
  if (!data) return <p>…</p>;

  const trackSeconds = Math.max(duration, (recording?.durationMs ?? 0) / 1000, ...marks.filter((m) => m.attemptId === attemptId).map((m) => m.offsetMs / 1000), 1);
  const amount = new Intl.NumberFormat(locale, { minimumFractionDigits: 2 }).format(Number(data.loanFile.amount));

  return (
    <div className="stack review-page">
      <Link to="/review">{t('back')}</Link>
      <header className="spread">
        <div>
          <h1>{t('sessionHeading', { ref: data.loanFile.externalRef })}</h1>
          <p className="hint">
            {t('summary', { kind: t(`kind${data.session.kind}` as Key), product: labels.productNamed(data.loanFile.product, data.loanFile.productName), amount, currency: data.loanFile.currency, party: data.party.name, agent: data.agent?.displayName ?? t('noAgent') })}
          </p>
        </div>
        <div className="row">
          {data.session.mode === 'AUTOMATED_CALL' ? (
            <span className="badge warn" data-testid="session-mode">
              {data.session.handOffReason ? t('handedOff', { reason: labels.handOffReason(data.session.handOffReason) }) : labels.mode(data.session.mode)}
            </span>
          ) : null}
          {data.session.state !== data.session.outcome ? <span className="badge">{t(`sessionState${data.session.state}` as Key)}</span> : null}
          {data.session.outcome ? <span className={`badge ${outcomeBadgeClass(data.session.outcome)}`}>{t(`outcome${data.session.outcome}` as Key)}</span> : null}
          {data.review ? (
            <span className={`badge ${reviewBadgeClass(data.review.status)}`} data-testid="review-status">
              {t(`review${data.review.status}` as Key)}
            </span>
          ) : null}
          <span className="badge info" data-testid="loan-status">
            {t('loanStatus', { status: t(`loanFile${data.loanFile.status}` as Key) })}
          </span>
        </div>
      </header>

      <div className="review-layout">
        <div className="stack">
          <section className="panel" aria-labelledby="recording-title">
            <h2 id="recording-title">{t('recording')}</h2>
            {recorded.length > 1 ? (
              <label className="field">
                {t('chooseRecording')}
                <select value={attemptId} onChange={(e) => setAttemptId(e.target.value)}>
                  {recorded.map((a) => (
                    <option key={a.id} value={a.id}>
                      {t('recordingOf', { n: a.number })}
                    </option>
                  ))}
                </select>
              </label>
            ) : null}
            {!recording ? <p>{t('noRecording')}</p> : null}
            {recording && !PLAYABLE.has(recording.state) ? <div className="alert warn">{t('notPlayable', { state: t(`recording${recording.state}` as Key) })}</div> : null}
            {recording && PLAYABLE.has(recording.state) ? (
              <>
                {config?.media === 'simulated' ? <p className="hint">{t('simulatedRecording')}</p> : null}
                {createElement(recording.audioOnly ? 'audio' : 'video', {
                  key: recording.id,
                  ref: (el: HTMLMediaElement | null) => void (media.current = el),
                  className: recording.audioOnly ? 'review-player' : 'review-player video',
                  controls: true,
                  preload: 'metadata',
                  src: `/api/recordings/${recording.id}/media`,
                  'aria-label': t('player'),
                  'data-testid': 'review-player',
                  onLoadedMetadata: onLoaded,
                  onTimeUpdate: (e: SyntheticEvent<HTMLMediaElement>) => setPosition(e.currentTarget.currentTime),
                  onSeeked: (e: SyntheticEvent<HTMLMediaElement>) => setPosition(e.currentTarget.currentTime),
                })}
                <Track marks={marks.filter((m) => m.attemptId === attemptId)} seconds={trackSeconds} position={position} onSeek={(m) => seek(m.attemptId, m.offsetMs)} />
                <p className="row">
                  <a className="button" href={`/api/recordings/${recording.id}/media`} download={`recording-${data.loanFile.externalRef}-${attempt!.number}.${fileExtension(recording.contentType)}`} data-testid="download-recording">
                    {t('downloadRecording')}
                  </a>
                  <span className="hint">{t('downloadHint')}</span>
                </p>
              </>
            ) : null}
          </section>

          <section className="panel" aria-labelledby="timeline-title">
            <h2 id="timeline-title">{t('timeline')}</h2>
            <p className="hint">{t('timelineHint')}</p>
            <ol className="review-timeline" data-testid="timeline">
              {marks.map((m) => {
                const other = m.attemptId !== attemptId ? recorded.find((a) => a.id === m.attemptId) : undefined;
                return (
                  <li key={m.key} className={m.kind}>
                    <button type="button" className="seek" data-testid={`seek-${m.key}`} data-offset-ms={m.offsetMs} onClick={() => seek(m.attemptId, m.offsetMs)} aria-label={t('seekTo', { time: formatOffset(m.offsetMs), label: m.label })}>
                      <span className="time">▶ {formatOffset(m.offsetMs)}</span>
                      {other ? <span className="hint"> ({t('otherAttempt', { n: other.number })})</span> : null}
                    </button>
                    <span className="what">
                      <span className={`badge ${m.tone}`}>{m.kind === 'flag' ? '⚑ ' : m.kind === 'signing' ? '✍ ' : ''}{m.detail || m.label}</span> {m.kind === 'answer' && m.prompt ? <PromptText text={m.prompt} values={values} /> : m.detail ? m.label : ''}
                      {m.byBot ? <span className="badge info" data-testid="answered-by-bot">{t('answeredByBot')}</span> : null}
                      {m.note ? <span className="review-answer-note hint">{t(m.byBot ? 'botNote' : 'agentNote', { note: m.note })}</span> : null}
                    </span>
                  </li>
                );
              })}
            </ol>
            {data.flags.length === 0 ? <p className="hint">{t('noFlags')}</p> : null}
            <details>
              <summary>{t('allItems', { n: data.items.length })}</summary>
              <ul className="review-items">
                {data.items.map((item) => (
                  <li key={item.id}>
                    <span className={`badge ${item.answer?.value === 'CONFIRMED' ? 'ok' : item.answer?.value === 'DENIED' ? 'bad' : item.answer ? 'warn' : ''}`}>{item.answer ? t(`answer${item.answer.value}` as Key) : t('unanswered')}</span>{' '}
                    <PromptText text={localized(item.prompt)} values={values} /> {item.required ? <span className="hint">({t('required')})</span> : null}
                    {item.answer?.answeredBy === 'AUTOMATED_CALL' ? <span className="badge info">{t('answeredByBot')}</span> : null}
                    {item.answer?.note ? <div className="hint">{item.answer.answeredBy === 'AUTOMATED_CALL' ? t('botNote', { note: answerNote(item.answer) ?? '' }) : item.answer.note}</div> : null}
                    {item.answer && item.answer.offsetMs === null ? <span className="hint"> — {t('noOffset')}</span> : null}
                  </li>
                ))}
              </ul>
            </details>
          </section>

          <section className="panel" aria-labelledby="captures-title">
            <h2 id="captures-title">{t('captures')}</h2>
            <ErrorNote error={captures.error} />
            {captures.data && captures.data.items.length === 0 ? <p className="hint">{t('noCaptures')}</p> : null}
            <div className="review-captures">
              {captures.data?.items.map((c) => (
                <figure key={c.id}>
                  <img src={`/api/captures/${c.id}/content`} alt={t('captureAlt', { kind: labels.capture(c.kind) })} loading="lazy" />
                  <figcaption>
                    {labels.capture(c.kind)}
                    {c.offsetMs !== null ? (
                      <button type="button" className="small" onClick={() => seek(c.attemptId, c.offsetMs!)} aria-label={t('seekTo', { time: formatOffset(c.offsetMs), label: labels.capture(c.kind) })}>
                        ▶ {formatOffset(c.offsetMs)}
                      </button>
                    ) : null}
                    <a className="small" href={`/api/captures/${c.id}/content`} download={`${c.kind.toLowerCase()}-${c.id}.${fileExtension(c.contentType)}`}>
                      {t('downloadCapture')}
                    </a>
                  </figcaption>
                </figure>
              ))}
            </div>
            {data.session.kind === 'VIDEO' ? <LivenessPanel sessionId={sessionId} reloadKey={0} mode="review" /> : null}
          </section>
        </div>

        <div className="stack">
          {recording ? <Verification recording={recording} onChecked={file.reload} /> : null}
          <CaseFacts file={data} values={values} />
          {data.session.kind === 'VIDEO' ? <ContractReview sessionId={sessionId} onSeek={seek} /> : null}
          <Decision file={data} onDecided={file.reload} />
          <section className="panel" aria-labelledby="evidence-title">
            <h2 id="evidence-title">{t('evidence')}</h2>
            <div className="row">
              <a className="button" href={`/api/sessions/${sessionId}/evidence`} download={`evidence-${sessionId}.json`}>
                {t('evidenceJson')}
              </a>
              <a className="button" href={`/api/sessions/${sessionId}/evidence?format=pdf`} download={`evidence-${sessionId}.pdf`}>
                {t('evidencePdf')}
              </a>
            </div>
            <p className="hint">{t('evidenceHint')}</p>
          </section>
        </div>
      </div>
    </div>
  );
}

/** The recording as a bar: where the playhead is and where each answer and flag sits. */
function Track({ marks, seconds, position, onSeek }: { marks: Mark[]; seconds: number; position: number; onSeek: (m: Mark) => void }) {
  const pct = (s: number) => `${Math.min(100, Math.max(0, (s / seconds) * 100))}%`;
  return (
    // The list below offers the same seeks to the keyboard and screen readers.
    <div className="review-track" aria-hidden="true">
      <div className="playhead" style={{ left: pct(position) }} />
      {marks.map((m) => (
        <button key={m.key} type="button" tabIndex={-1} className={`marker ${m.kind} ${m.tone}`} style={{ left: pct(m.offsetMs / 1000) }} title={`${formatOffset(m.offsetMs)} ${m.label}`} onClick={() => onSeek(m)} />
      ))}
    </div>
  );
}

function Verification({ recording, onChecked }: { recording: RecordingInfo; onChecked: () => void }) {
  const t = useT(reviewMessages);
  const { locale } = useLocale();
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<IntegrityResult>();
  const [error, setError] = useState<unknown>();
  const verified = PLAYABLE.has(recording.state);
  const recheck = async () => {
    setBusy(true);
    setError(undefined);
    try {
      setResult(await api<IntegrityResult>('POST', `/api/recordings/${recording.id}/integrity-check`));
      onChecked();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const stateText = recording.state === 'VERIFIED' || recording.state === 'RETAINED' || recording.state === 'FAILED' ? t(`state${recording.state}` as Key) : t('statePending', { state: t(`recording${recording.state}` as Key) });
  return (
    <section className="panel" aria-labelledby="verification-title">
      <h2 id="verification-title">{t('verification')}</h2>
      <dl className="review-facts">
        <dt>{t('hashState')}</dt>
        <dd>
          <span className={`badge ${verified ? 'ok' : recording.state === 'FAILED' ? 'bad' : 'warn'}`} data-testid="hash-badge">
            {verified ? '✓ ' : '✗ '}
            {stateText}
          </span>
          {recording.failureReason ? <div className="hint">{recording.failureReason}</div> : null}
        </dd>
        <dt>{t('sha256')}</dt>
        <dd>
          <code className="review-hash" data-testid="recording-sha256">
            {recording.sha256 ?? '—'}
          </code>
        </dd>
        <dt>{t('size')}</dt>
        <dd>{recording.sizeBytes ? `${Number(recording.sizeBytes).toLocaleString(locale)} B` : '—'}</dd>
        <dt>{t('verifiedAt')}</dt>
        <dd>{recording.verifiedAt ? formatDateTime(recording.verifiedAt, locale) : '—'}</dd>
        <dt>{t('lastCheck')}</dt>
        <dd>{recording.lastIntegrityCheckAt ? formatDateTime(recording.lastIntegrityCheckAt, locale, { dateStyle: 'medium', timeStyle: 'medium' }) : t('never')}</dd>
        <dt>{t('retainUntil')}</dt>
        <dd>
          {recording.retainUntil ? formatDateTime(recording.retainUntil, locale, { dateStyle: 'medium' }) : '—'}
          {recording.legalHold ? <span className="badge warn"> {t('legalHold')}</span> : null}
        </dd>
      </dl>
      {verified ? (
        <button type="button" onClick={() => void recheck()} disabled={busy}>
          {busy ? t('rechecking') : t('recheck')}
        </button>
      ) : null}
      <div aria-live="polite">
        {result ? (
          <div className={`alert ${result.result === 'ok' ? 'ok' : 'error'}`} role={result.result === 'ok' ? 'status' : 'alert'} data-testid="integrity-result">
            {result.result === 'ok' ? `✓ ${t('checkOk')}` : result.result === 'mismatch' ? t('checkMismatch') : t('checkMissing')}
          </div>
        ) : null}
      </div>
      <ErrorNote error={error} />
    </section>
  );
}

/** Why the outcome is what it is: the outcome rules' findings and the supervisor's decision note. */
function CaseFacts({ file, values }: { file: ReviewFile; values: PromptValues }) {
  const t = useT(reviewMessages);
  const labels = useLabels();
  const localized = useLocalized();
  const { locale } = useLocale();
  const { session } = file;
  // Once the checklist is submitted, the session's end reason holds the outcome rules' findings (a cancelled session's says why it was cancelled).
  const findings = session.outcome && session.endReason && !session.endReason.startsWith('cancelled') ? session.endReason.split(',').filter((r) => r.includes(':')) : [];
  const promptOf = (itemId: string) => {
    const item = file.items.find((i) => i.id === itemId);
    return item ? promptPlain(localized(item.prompt), values, locale) : undefined;
  };
  if (findings.length === 0 && !session.decisionNote) return null;
  return (
    <section className="panel" aria-labelledby="case-title" data-testid="case-facts">
      <h2 id="case-title">{t('caseTitle')}</h2>
      {findings.length > 0 ? (
        <>
          <h3>{t('findings')}</h3>
          <ul data-testid="case-findings">
            {findings.map((r) => (
              <li key={r}>{labels.reason(r, promptOf)}</li>
            ))}
          </ul>
        </>
      ) : null}
      {session.decisionNote ? (
        <>
          <h3>{t('supervisorNote')}</h3>
          <p className="review-note" data-testid="supervisor-note">
            “{session.decisionNote}”
          </p>
        </>
      ) : null}
    </section>
  );
}

function Decision({ file, onDecided }: { file: ReviewFile; onDecided: () => void }) {
  const t = useT(reviewMessages);
  const { locale } = useLocale();
  const { user } = useAuth();
  // Nothing is chosen for the auditor: a decision is made, never accepted by default.
  const [decision, setDecision] = useState<'APPROVE' | 'RECAPTURE' | 'REJECT'>();
  const [note, setNote] = useState('');
  const [noteError, setNoteError] = useState<string>();
  const [choiceError, setChoiceError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<string>();
  const review = file.review;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!review) return;
    setChoiceError(decision ? undefined : t('choiceRequired'));
    setNoteError(note.trim() ? undefined : t('noteRequired'));
    if (!decision || !note.trim()) return;
    setBusy(true);
    setError(undefined);
    try {
      const decided = await api<{ status: string }>('POST', `/api/reviews/${review.id}/decision`, { decision, note: note.trim() });
      setDone(t('submitted', { status: t(`review${decided.status}` as Key) }));
      onDecided();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const refusal =
    error instanceof ApiError && error.status === 403 && /maker-checker/i.test(error.detail) ? (
      <div className="alert error" role="alert" data-testid="decision-refused">
        {t('makerChecker')}
      </div>
    ) : error instanceof ApiError ? (
      <div className="alert error" role="alert" data-testid="decision-refused" data-code={error.code}>
        {t('refused', { detail: problemText(error.code, locale) })}
      </div>
    ) : (
      <ErrorNote error={error} />
    );

  return (
    <section className="panel" aria-labelledby="decision-title">
      <h2 id="decision-title">{t('decision')}</h2>
      {done ? (
        <div className="alert ok" role="status">
          {done}
        </div>
      ) : null}
      {!review ? <p className="hint">{t('noReviewHere')}</p> : null}
      {review && review.status !== 'PENDING' ? (
        <p>
          <span className={`badge ${reviewBadgeClass(review.status)}`}>{t(`review${review.status}` as Key)}</span>{' '}
          {t('decided', { status: t(`review${review.status}` as Key), reviewer: review.reviewerName ?? '—', when: review.decidedAt ? formatDateTime(review.decidedAt, locale) : '—' })}
          {review.note ? <span className="review-note">“{review.note}”</span> : null}
        </p>
      ) : null}
      {review && review.status === 'PENDING' && !user?.roles.includes('AUDITOR') ? <p className="hint">{t('auditorsOnly')}</p> : null}
      {review && review.status === 'PENDING' && user?.roles.includes('AUDITOR') ? (
        <form onSubmit={(e) => void submit(e)} noValidate>
          {file.viewerRanSession ? <div className="alert warn">{t('makerChecker')}</div> : null}
          <fieldset className="review-choices" aria-describedby="choice-error">
            <legend>{t('decisionChoice')}</legend>
            {(['APPROVE', 'RECAPTURE', 'REJECT'] as const).map((d) => (
              <label key={d} className={`choice ${d.toLowerCase()}`}>
                <input type="radio" name="decision" value={d} checked={decision === d} onChange={() => setDecision(d)} /> {t(d)}
              </label>
            ))}
            <span id="choice-error" className="field-error">
              {choiceError}
            </span>
          </fieldset>
          <label className="field">
            {t('note')}
            <textarea value={note} onChange={(e) => setNote(e.target.value)} maxLength={2000} required aria-invalid={noteError ? true : undefined} aria-describedby="note-hint note-error" />
            <span id="note-hint" className="hint">
              {t('noteHint')}
            </span>
            <span id="note-error" className="field-error">
              {noteError}
            </span>
          </label>
          {refusal}
          <button type="submit" className={decision === 'APPROVE' ? 'ok' : decision === 'REJECT' ? 'danger' : 'primary'} disabled={busy}>
            {busy ? t('submitting') : t('submit')}
          </button>
        </form>
      ) : null}
    </section>
  );
}
