// One session under review: the recording player with the checklist as a timeline (each answer and
// flag seeks the player to its offset), captures, the recording's hash and verification state with a
// re-check, the decision, and the evidence downloads. Each panel beside the player has its own file.
import { createElement, useCallback, useEffect, useMemo, useRef, useState, type SyntheticEvent } from 'react';
import { call, client } from '../../shared/api';
import { ContractReview } from '../contract/ContractReview';
import { ErrorNote } from '../../shared/ErrorNote';
import { useLoad } from '../../shared/hooks';
import { useLocale, useLocalized, useT } from '../../shared/i18n';
import { useLabels } from '../../shared/labels';
import { PromptText, promptPlain, type PromptValues } from '../../shared/prompt';
import { Link } from '../../shared/router';
import { clientConfig, type ClientConfig } from '../../shared/client-config';
import { reviewMessages } from './messages';
import { outcomeBadgeClass, reviewBadgeClass } from './SessionSearch';
import type { ReviewFile } from './types';
import { LivenessPanel } from '../desk/LivenessPanel';
import { CaseFacts } from './CaseFacts';
import { Decision } from './Decision';
import { Track } from './Track';
import { Verification } from './Verification';
import { fileExtension, formatMoney, formatOffset, PLAYABLE, type Key, type Mark } from './review-format';

export function SessionReview({ sessionId }: { sessionId: string }) {
  const t = useT(reviewMessages);
  const labels = useLabels();
  const localized = useLocalized();
  const { locale } = useLocale();
  const file = useLoad((signal) => call(client.GET('/api/review-desk/sessions/{id}', { params: { path: { id: sessionId } }, signal })), [sessionId]);
  const captures = useLoad((signal) => call(client.GET('/api/sessions/{id}/captures', { params: { path: { id: sessionId } }, signal })), [sessionId]);
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
