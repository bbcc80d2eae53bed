// One live session: party card, media stage, call timer, the recording indicator (driven by the
// server's recording state, never by the page's own guess), the checklist, flags, snapshots and wrap-up.
import { useEffect, useRef, useState } from 'react';
import type { AgentSocket } from '../../shared/socket';
import { call, client } from '../../shared/api';
import { clientConfig } from '../../shared/client-config';
import { ErrorNote } from '../../shared/ErrorNote';
import { useLoad, useNow } from '../../shared/hooks';
import { formatDuration, useLocale, useT, type Locale } from '../../shared/i18n';
import { labelsFor, useLabels, useReasonList } from '../../shared/labels';
import { joinMedia, type MediaConnection } from '../../shared/media';
import { useAuth } from '../auth';
import { ContractPanel } from '../contract/ContractPanel';
import { promptParts } from '../../shared/prompt';
import { ChecklistPanel } from './ChecklistPanel';
import { FlagsPanel } from './FlagsPanel';
import { deskMessages } from './messages';
import { SnapshotButton } from './SnapshotButton';
import type { Checklist, DeskSession, JoinGrant } from './types';

export interface SubmitResult {
  sessionId: string;
  partyName: string;
  outcome: string;
  reasons: string[];
  /** Set when the automated call handed this party to the agent. */
  handOffReason: string | null;
}

/** What the agent sees after submitting, until they go back to the desk (the session has left "Now" by then). */
export function Submitted({ result, onBack }: { result: SubmitResult; onBack(): void }) {
  const t = useT(deskMessages);
  const labels = useLabels();
  const reasonList = useReasonList();
  return (
    <div className="panel stack" role="status" data-testid="submitted">
      <h2>{t('submitted', { outcome: t(`outcome${result.outcome}` as 'outcomePASSED') })}</h2>
      <p>{result.partyName}</p>
      {result.handOffReason ? <p data-testid="submitted-hand-off">{t('handOffSummary', { reason: labels.handOffReason(result.handOffReason) })}</p> : null}
      {result.reasons.length > 0 ? (
        <p data-testid="submitted-reasons">
          {t('reasons', { list: reasonList(result.reasons) })}
        </p>
      ) : null}
      <button type="button" className="primary" onClick={onBack}>
        {t('backToDesk')}
      </button>
    </div>
  );
}

const MEDIA_STATES = new Set(['DISPATCHING', 'RINGING', 'WAITING', 'IN_PROGRESS']);
const POLL_MS = 3000;

export function LiveSession({ summary, grant, socket, changeTick, onChanged, onSubmitted }: { summary: DeskSession; grant: JoinGrant | undefined; socket: AgentSocket | undefined; changeTick: number; onChanged(): void; onSubmitted(result: SubmitResult): void }) {
  const t = useT(deskMessages);
  const labels = useLabels();
  const { locale } = useLocale();
  const { user } = useAuth();
  const [pollTick, setPollTick] = useState(0);
  const detail = useLoad((signal) => call(client.GET('/api/agent/sessions/{id}', { params: { path: { id: summary.id } }, signal })), [summary.id, changeTick, pollTick]);
  const checklist = useLoad((signal) => call(client.GET('/api/sessions/{id}/checklist', { params: { path: { id: summary.id } }, signal })), [summary.id, changeTick]);
  const session = detail.data ?? summary;
  const [promptLocale, setPromptLocale] = useState<Locale>(summary.party.locale === 'en' ? 'en' : 'zh-CN');
  const [actionError, setActionError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const media = useSessionMedia(session, grant);
  const now = useNow(1000);
  const remoteRef = useRef<HTMLDivElement>(null);

  // The recording indicator and party status follow the server: refresh while the conversation lasts.
  useEffect(() => {
    if (session.state === 'COMPLETED' || session.state === 'CANCELLED') return;
    const id = setInterval(() => setPollTick((n) => n + 1), POLL_MS);
    return () => clearInterval(id);
  }, [session.state]);

  useEffect(() => {
    if (!socket) return;
    const watch = () => socket.emit('session:watch', { sessionId: summary.id });
    watch();
    socket.on('connect', watch);
    return () => {
      socket.off('connect', watch);
    };
  }, [socket, summary.id]);

  useEffect(() => {
    const stage = remoteRef.current;
    if (!stage) return;
    for (const element of media.remote) if (element.parentElement !== stage) stage.appendChild(element);
  }, [media.remote]);

  const attempt = session.attempt;
  // Calls count from the answer; video sessions from when the recording (the conversation) started.
  const talkingSince = attempt?.answeredAt ?? attempt?.recordingStartedAt ?? null;
  const talkTime = talkingSince ? (attempt?.endedAt ? Date.parse(attempt.endedAt) : now) - Date.parse(talkingSince) : 0;

  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    setActionError(undefined);
    try {
      await action();
    } catch (e) {
      setActionError(e);
    } finally {
      setBusy(false);
      detail.reload();
      checklist.reload();
      onChanged();
    }
  };
  const items = checklist.data?.items ?? [];
  const openRequired = items.filter((i) => i.required && !i.answer);
  const canSubmit = (session.state === 'IN_PROGRESS' || session.state === 'WRAP_UP') && openRequired.length === 0 && !busy;

  const values: Record<string, string> = {
    agentName: user?.displayName ?? '',
    amount: new Intl.NumberFormat(promptLocale, { style: 'currency', currency: session.loan.currency }).format(Number(session.loan.amount)),
    product: labelsFor(promptLocale).productNamed(session.loan.product, session.loan.productName),
    phoneLast4: session.party.phoneLast4,
    ...checklist.data?.values[promptLocale],
  };

  return (
    <div className="session-layout">
      <div className="stack">
        <div className="panel">
          <div className="spread">
            <h2>{session.party.name}</h2>
            <span className="row">
              {session.mode === 'AUTOMATED_CALL' ? (
                <span className="badge warn" data-testid="session-mode">
                  {labels.mode(session.mode)}
                </span>
              ) : null}
              <span className="badge info">{session.kind === 'CALL' ? t('offerCall') : t('offerVideo')}</span>
            </span>
          </div>
          <dl className="party-card">
            <dt>{t('loan')}</dt>
            <dd>{session.loan.externalRef}</dd>
            <dt>{t('product')}</dt>
            <dd data-testid="session-product">{labels.productNamed(session.loan.product, session.loan.productName)}</dd>
            <dt>{t('amount')}</dt>
            <dd>{values.amount}</dd>
            <dt>{t('phone')}</dt>
            <dd>•••• {session.party.phoneLast4}</dd>
            {session.party.idNumberLast4 ? (
              <>
                <dt>{t('idNumber')}</dt>
                <dd>•••• {session.party.idNumberLast4}</dd>
              </>
            ) : null}
            <dt>{t('language')}</dt>
            <dd>{labels.language(session.party.locale)}</dd>
          </dl>
        </div>
        <div className="panel stack">
          <div className="row" role="status" aria-label={t('state')}>
            <RecordingBadge state={session.recording?.state} />
            <PartyStatus session={session} />
            <span className="badge" data-testid="session-state" data-state={session.state}>
              {labels.state(session.state)}
            </span>
            {attempt ? <span className="badge">{t('attempt', { n: attempt.number, max: session.maxAttempts })}</span> : null}
          </div>
          <div className="spread">
            <span>
              {t('timer')}: <strong data-testid="call-timer">{formatDuration(talkTime)}</strong>
            </span>
            {media.connection?.mode === 'simulated' ? <span className="badge info">{t('simulatedBadge')}</span> : null}
          </div>
          {session.kind === 'VIDEO' ? (
            <div className="video-stage" ref={remoteRef} data-testid="video-stage">
              {media.connection?.mode === 'simulated' || media.remote.length === 0 ? (
                <p className="hint" style={{ color: '#cbd5e1', padding: '1rem' }}>
                  {media.connection?.mode === 'simulated' ? t('simulatedStage') : session.state === 'WAITING' ? t('waitingParty') : ''}
                </p>
              ) : null}
            </div>
          ) : (
            <div ref={remoteRef} className="hint">
              {t('audioOnly')}
            </div>
          )}
          {media.reconnecting ? <div className="alert warn">{t('reconnecting')}</div> : null}
          <ErrorNote error={media.error} />
          {session.kind === 'VIDEO' && (session.state === 'IN_PROGRESS' || session.state === 'WRAP_UP') ? (
            <SnapshotButton sessionId={session.id} stage={remoteRef} simulated={media.connection?.mode === 'simulated'} changeTick={changeTick} />
          ) : null}
        </div>
        {session.kind === 'VIDEO' ? (
          <ContractPanel sessionId={session.id} socket={socket} live={session.state === 'IN_PROGRESS'} ended={!MEDIA_STATES.has(session.state)} terms={checklist.data?.loanTerms} values={checklist.data?.values} />
        ) : null}
        <FlagsPanel sessionId={session.id} flags={checklist.data?.flags ?? []} disabled={!(session.state === 'IN_PROGRESS' || session.state === 'WRAP_UP')} onRaised={checklist.reload} />
      </div>
      <div className="panel stack">
        <div className="spread">
          <h2>{t('checklist')}</h2>
          <label className="row">
            <span>{t('promptLanguage')}</span>
            <select value={promptLocale} onChange={(e) => setPromptLocale(e.target.value === 'en' ? 'en' : 'zh-CN')} style={{ width: 'auto' }}>
              <option value="zh-CN">中文</option>
              <option value="en">English</option>
            </select>
          </label>
        </div>
        <ErrorNote error={checklist.error} />
        {session.handOffReason && checklist.data ? <HandOff reason={session.handOffReason} checklist={checklist.data} values={values} promptLocale={promptLocale} /> : null}
        {checklist.data ? (
          <ChecklistPanel
            sessionId={session.id}
            checklist={checklist.data}
            promptLocale={promptLocale}
            values={values}
            editable={session.state === 'IN_PROGRESS' || session.state === 'WRAP_UP'}
            onSaved={checklist.reload}
          />
        ) : null}
        <ErrorNote error={actionError} />
        {openRequired.length > 0 ? (
          <p className="hint" data-testid="open-required">
            {t('openRequired', { n: openRequired.length, items: openRequired.map((i) => items.indexOf(i) + 1).join(', ') })}
          </p>
        ) : null}
        <div className="row">
          {session.state === 'IN_PROGRESS' ? (
            <button type="button" disabled={busy} onClick={() => void run(async () => void (await call(client.POST('/api/sessions/{id}/end', { params: { path: { id: session.id } } }))))}>
              {t('endConversation')}
            </button>
          ) : null}
          {session.state === 'WRAP_UP' && session.kind === 'CALL' ? (
            <button type="button" disabled={busy} onClick={() => void run(async () => void (await call(client.POST('/api/sessions/{id}/call-back', { params: { path: { id: session.id } } }))))}>
              {t('callBack')}
            </button>
          ) : null}
          <button
            type="button"
            className="primary"
            disabled={!canSubmit}
            aria-disabled={!canSubmit}
            onClick={() =>
              void run(async () => {
                const r = await call(client.POST('/api/sessions/{id}/complete', { params: { path: { id: session.id } } }));
                await media.connection?.leave();
                localStorage.removeItem(`facesign.notes.${session.id}`);
                onSubmitted({ sessionId: session.id, partyName: session.party.name, outcome: r.session.outcome ?? '', reasons: r.reasons, handOffReason: session.handOffReason });
              })
            }
          >
            {t('submit')}
          </button>
        </div>
        <p className="hint" lang={locale}>
          {t('shortcuts')}
        </p>
      </div>
    </div>
  );
}

/**
 * A party the automated call handed over: why it stopped, and what it already collected, so the agent
 * picks up where it left off instead of asking everything again.
 */
function HandOff({ reason, checklist, values, promptLocale }: { reason: string; checklist: Checklist; values: Record<string, string>; promptLocale: Locale }) {
  const t = useT(deskMessages);
  const labels = useLabels();
  const collected = checklist.items.flatMap((item, index) => (item.answer?.answeredBy === 'AUTOMATED_CALL' ? [{ item, answer: item.answer, n: index + 1 }] : []));
  return (
    <div className="alert info stack" role="note" data-testid="hand-off">
      <strong>{t('handOffTitle')}</strong>
      <p data-testid="hand-off-reason">{t('handOffWhy', { reason: labels.handOffReason(reason) })}</p>
      {collected.length === 0 ? (
        <p>{t('handOffNone')}</p>
      ) : (
        <>
          <p>{t('handOffCollected')}</p>
          <ul data-testid="hand-off-answers">
            {collected.map(({ item, answer, n }) => {
              const note = answer.noteCode || answer.note ? labels.automatedNote(answer.noteCode ?? '', answer.noteParams, answer.note) : null;
              return (
                <li key={item.id} data-testid={`hand-off-answer-${item.id}`}>
                  {n}. <span lang={promptLocale}>{promptParts(item.prompt[promptLocale], values, promptLocale)}</span> — <strong>{t(answer.value)}</strong> · {t('answeredByBot')}
                  {note ? <span className="hint"> · {note}</span> : null}
                </li>
              );
            })}
          </ul>
        </>
      )}
    </div>
  );
}

/** Connected only once the party is really there: a phone that is still ringing is not a party on the line. */
function PartyStatus({ session }: { session: DeskSession }) {
  const t = useT(deskMessages);
  const attempt = session.attempt;
  const live = attempt && !attempt.endedAt;
  const [status, tone, label] = attempt?.partyConnected
    ? ['connected', 'ok', t('partyConnected')]
    : live && (session.state === 'RINGING' || attempt.callStatus === 'ringing')
      ? ['ringing', 'info', t('ringing')]
      : live && (session.state === 'DISPATCHING' || attempt.callStatus === 'dialing')
        ? ['dialling', 'info', t('dialling')]
        : live && session.state === 'WAITING'
          ? ['waiting', 'info', t('waitingParty')]
          : ['absent', 'warn', t('partyNotConnected')];
  return (
    <span className={`badge ${tone}`} data-testid="party-status" data-status={status}>
      <span className="dot" />
      {label}
    </span>
  );
}

function RecordingBadge({ state }: { state: string | undefined }) {
  const t = useT(deskMessages);
  const [cls, label] =
    state === 'ACTIVE'
      ? ['bad live', t('recOn')]
      : state === 'REQUESTED'
        ? ['warn', t('recStarting')]
        : state === 'FAILED'
          ? ['bad', t('recFailed')]
          : state === 'ENDING' || state === 'UPLOADED' || state === 'VERIFIED' || state === 'RETAINED'
            ? ['ok', t('recSaved')]
            : ['', t('recOff')];
  return (
    <span className={`badge ${cls}`} data-testid="recording-indicator" data-state={state ?? 'NONE'}>
      <span className="dot" />
      {label}
    </span>
  );
}

/** Joins the session's room while the conversation is on; after a reload asks the server for a fresh grant. */
function useSessionMedia(session: DeskSession, initialGrant: JoinGrant | undefined) {
  const [connection, setConnection] = useState<MediaConnection>();
  const [remote, setRemote] = useState<HTMLMediaElement[]>([]);
  const [reconnecting, setReconnecting] = useState(false);
  const [error, setError] = useState<unknown>();
  const wanted = MEDIA_STATES.has(session.state) && !!session.attempt && !session.attempt.endedAt;
  const attemptId = session.attempt?.id;

  useEffect(() => {
    if (!wanted) return;
    let cancelled = false;
    let joined: MediaConnection | undefined;
    (async () => {
      const config = await clientConfig();
      if (config.media === 'none') return;
      const grant = initialGrant && initialGrant.sessionId === session.id ? initialGrant : await call(client.POST('/api/sessions/{id}/join', { params: { path: { id: session.id } } }));
      if (cancelled) return;
      joined = await joinMedia(grant, config.media, { audio: true, video: session.kind === 'VIDEO' }, {
        onRemoteMedia: (element) => setRemote((r) => [...r, element]),
        onRemoteMediaEnded: (element) => setRemote((r) => r.filter((e) => e !== element)),
        onReconnecting: () => setReconnecting(true),
        onReconnected: () => setReconnecting(false),
      });
      if (cancelled) await joined.leave();
      else setConnection(joined);
    })().catch((e: unknown) => !cancelled && setError(e));
    return () => {
      cancelled = true;
      void joined?.leave();
      setConnection(undefined);
      setRemote([]);
    };
    // A new attempt (call back) means a new room.
  }, [wanted, attemptId, session.id, session.kind, initialGrant]);

  return { connection, remote, reconnecting, error };
}
