// The supervisor's live board: agents and their presence, sessions by where they stand, the escalation
// queue with decisions, and alerts. Loaded over HTTP, kept current by the /agent socket, and honest
// when the socket drops ("live updates interrupted" until it is back and the board is reloaded).
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { call, client } from '../../shared/api';
import { ErrorNote } from '../../shared/ErrorNote';
import { formatDateTime, formatDuration, useLocale, useT, type Translate } from '../../shared/i18n';
import { useNow } from '../../shared/hooks';
import { useLabels, type Labels } from '../../shared/labels';
import { useAuth } from '../auth';
import { COLUMNS, useBoard, useDismissed, type BoardAgent, type BoardAlert, type BoardSession, type Column, type LiveState } from './board';
import { EscalationCase } from './EscalationCase';
import { SchedulePanel } from './SchedulePanel';
import { supervisorMessages, type SupervisorKey } from './messages';
import './supervisor.css';

type T = Translate<SupervisorKey>;
/** A notice is worded when shown, so it follows a change of language. */
type Notice = (t: T) => string;

const PRESENCE_TONE: Record<BoardAgent['presence'], string> = { available: 'ok', busy: 'warn', away: '', offline: '', in_session: 'info', offered: 'info' };
const COLUMN_TONE: Record<Column, string> = { waiting: 'info', offered: 'info', dialling: 'info', retry_pending: 'warn', in_progress: 'ok', wrap_up: 'warn', escalated: 'bad' };

/** One tag is the other or a more general form of it ('zh' and 'zh-CN'), as the server routes sessions. */
function sameLanguage(a: string, b: string): boolean {
  const [x, y] = [a.toLowerCase().split(/[-_]/), b.toLowerCase().split(/[-_]/)];
  const [general, specific] = x.length <= y.length ? [x, y] : [y, x];
  return general.every((tag, i) => tag === specific[i]);
}

function since(iso: string, now: number): string {
  return formatDuration(now - new Date(iso).getTime());
}

export default function SupervisorPage() {
  const t = useT(supervisorMessages);
  const { locale } = useLocale();
  const { user } = useAuth();
  const board = useBoard();
  const now = useNow(1000);
  const [notice, setNotice] = useState<Notice>();
  const snapshot = board.snapshot;

  return (
    <div className="stack sv-page">
      <div className="spread">
        <h1>{t('title')}</h1>
        <div className="row">
          <LiveBadge live={board.live} t={t} />
          {snapshot ? <span className="hint" data-testid="board-updated" data-generated-at={snapshot.generatedAt}>{t('updatedAt', { time: formatDateTime(snapshot.generatedAt, locale, { timeStyle: 'medium' }) })}</span> : null}
        </div>
      </div>
      {board.live === 'interrupted' ? (
        <div className="alert warn row" role="status" data-testid="live-interrupted">
          <span>{t('interrupted')}</span>
          <button type="button" className="small" onClick={board.reload}>
            {t('reloadNow')}
          </button>
        </div>
      ) : null}
      {board.error ? <ErrorNote error={board.error} prefix={t('loadFailed')} /> : null}
      <div role="status" aria-live="polite" className={notice ? 'alert ok' : 'visually-hidden'}>
        {notice?.(t)}
      </div>
      <AlertsPanel alerts={board.alerts} now={now} t={t} />
      {snapshot ? (
        <>
          <div className="sv-top">
            <AgentsPanel agents={snapshot.agents} sessions={snapshot.sessions} now={now} t={t} />
            <EscalationQueue
              sessions={snapshot.sessions.filter((s) => s.column === 'escalated')}
              canDecide={user?.roles.includes('SUPERVISOR') ?? false}
              now={now}
              t={t}
              onDecided={(session, outcome) => {
                setNotice(() => (tr: T) => tr('decided', { loan: session.loanFileRef, outcome: tr(`outcome_${outcome}`) }));
                board.reload();
              }}
            />
          </div>
          <SessionsBoard sessions={snapshot.sessions} agents={snapshot.agents} now={now} t={t} onReassigned={(text) => (setNotice(() => text), board.reload())} />
        </>
      ) : null}
      {user?.roles.some((r) => r === 'SUPERVISOR' || r === 'ADMIN') ? <SchedulePanel onChanged={board.reload} /> : null}
    </div>
  );
}

function LiveBadge({ live, t }: { live: LiveState; t: T }) {
  if (live === 'live') {
    return (
      <span className="badge ok live" data-testid="live-state">
        <span className="dot" aria-hidden="true" />
        {t('live')}
      </span>
    );
  }
  return (
    <span className={`badge ${live === 'interrupted' ? 'bad' : ''}`} data-testid="live-state">
      {live === 'interrupted' ? t('interruptedBadge') : t('connecting')}
    </span>
  );
}

function AgentsPanel({ agents, sessions, now, t }: { agents: BoardAgent[]; sessions: BoardSession[]; now: number; t: T }) {
  const labels = useLabels();
  const loanOf = (sessionId: string) => sessions.find((s) => s.id === sessionId)?.loanFileRef ?? '—';
  return (
    <section className="panel" aria-labelledby="sv-agents">
      <h2 id="sv-agents">{t('agentsTitle')}</h2>
      {agents.length === 0 ? (
        <p className="hint">{t('agentsEmpty')}</p>
      ) : (
        <table className="data">
          <thead>
            <tr>
              <th scope="col">{t('colAgent')}</th>
              <th scope="col">{t('colPresence')}</th>
              <th scope="col">{t('colCurrent')}</th>
              <th scope="col">{t('colFor')}</th>
            </tr>
          </thead>
          <tbody>
            {agents.map((a) => (
              <tr key={a.id} data-testid={`agent-${a.id}`}>
                <th scope="row">{a.displayName}</th>
                <td>
                  <span className={`badge ${PRESENCE_TONE[a.presence]}`} data-testid="presence">
                    <span className="dot" aria-hidden="true" />
                    {t(`presence_${a.presence}`)}
                  </span>
                </td>
                <td>
                  {a.current ? (
                    <>
                      {a.current.loanFileRef} · {t(`kind_${a.current.kind}`)} · {labels.state(a.current.state)}
                    </>
                  ) : a.offer ? (
                    <span className="hint">{t('offeredTo', { loan: loanOf(a.offer.sessionId) })}</span>
                  ) : (
                    t('noCurrent')
                  )}
                </td>
                <td>{a.current ? since(a.current.since, now) : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function SessionsBoard({ sessions, agents, now, t, onReassigned }: { sessions: BoardSession[]; agents: BoardAgent[]; now: number; t: T; onReassigned(text: Notice): void }) {
  return (
    <section aria-labelledby="sv-sessions">
      <h2 id="sv-sessions">{t('sessionsTitle')}</h2>
      <div className="sv-columns">
        {COLUMNS.map((column) => {
          const list = sessions.filter((s) => s.column === column);
          return (
            <section key={column} className="sv-column" aria-labelledby={`sv-col-${column}`} data-testid={`column-${column}`}>
              <h3 id={`sv-col-${column}`}>
                {t(`column_${column}`)} <span className="badge">{list.length}</span>
              </h3>
              {list.length === 0 ? <p className="hint">{t('columnEmpty')}</p> : null}
              <ul className="sv-cards">
                {list.map((s) => (
                  <SessionCard key={s.id} session={s} agents={agents} now={now} t={t} onReassigned={onReassigned} />
                ))}
              </ul>
            </section>
          );
        })}
      </div>
    </section>
  );
}

function SessionCard({ session: s, agents, now, t, onReassigned }: { session: BoardSession; agents: BoardAgent[]; now: number; t: T; onReassigned(text: Notice): void }) {
  const [reassigning, setReassigning] = useState(false);
  const labels = useLabels();
  const { locale } = useLocale();
  const button = useRef<HTMLButtonElement>(null);
  const canReassign = s.column !== 'escalated';
  return (
    <li className="sv-card" data-testid={`session-${s.id}`} aria-label={`${s.loanFileRef} — ${t(`column_${s.column}`)}`}>
      <div className="spread">
        <strong>{s.loanFileRef}</strong>
        <span className={`badge ${COLUMN_TONE[s.column]}`}>{labels.state(s.state)}</span>
      </div>
      <div className="hint">
        {t(`kind_${s.kind}`)} · {t(`role_${s.partyRole}` as SupervisorKey)} · <span data-testid="board-product">{labels.productNamed(s.product, s.productName)}</span> · {labels.language(s.language)}
      </div>
      <div>{t('age', { duration: since(s.since, now) })}</div>
      {s.offer ? (
        <div>{t('offerLabel', { name: s.offer.agentName, duration: formatDuration(new Date(s.offer.expiresAt).getTime() - now) })}</div>
      ) : s.assignedAgent ? (
        <div>{t('agentLabel', { name: s.assignedAgent.displayName })}</div>
      ) : (
        <div className="hint">{t('unassigned')}</div>
      )}
      {s.kind === 'CALL' && s.attemptCount > 0 ? <div className="hint">{t('attempts', { n: s.attemptCount, max: s.maxAttempts })}</div> : null}
      {s.mode === 'AUTOMATED_CALL' ? (
        <div data-testid="session-mode">{s.handOffReason ? t('handedOff', { reason: labels.handOffReason(s.handOffReason) }) : <span className="badge info">{labels.mode(s.mode)}</span>}</div>
      ) : null}
      {s.column === 'retry_pending' ? (
        <div data-testid="retry-pending">
          {s.lastDialOutcome ? <div>{t('lastDial', { reason: labels.dialOutcome(s.lastDialOutcome) })}</div> : null}
          {s.nextAttemptAt ? <div>{t('nextAttempt', { time: formatDateTime(s.nextAttemptAt, locale, { dateStyle: 'medium', timeStyle: 'short' }) })}</div> : null}
        </div>
      ) : null}
      {s.recaptureRequired ? <span className="badge bad">{t('recapture')}</span> : null}
      {agents.some((a) => a.languages.some((l) => sameLanguage(l, s.language))) ? null : (
        <span className="badge warn" data-testid="no-agent-language">
          {t('noAgentForLanguage', { language: labels.language(s.language) })}
        </span>
      )}
      {s.agentOffline ? (
        <span className="badge bad" data-testid="agent-offline">
          {t('agentOffline')}
        </span>
      ) : null}
      {s.column === 'escalated' ? (
        <ul className="sv-reasons">
          {s.reasons.map((r) => (
            <li key={r}>{labels.reason(r)}</li>
          ))}
        </ul>
      ) : null}
      {canReassign && !reassigning ? (
        <button ref={button} type="button" className="small" onClick={() => setReassigning(true)} aria-label={`${t('reassign')} ${s.loanFileRef}`}>
          {t('reassign')}
        </button>
      ) : null}
      {reassigning ? (
        <ReassignForm
          session={s}
          agents={agents}
          t={t}
          onClose={(text) => {
            setReassigning(false);
            if (text) onReassigned(text);
            else setTimeout(() => button.current?.focus(), 0);
          }}
        />
      ) : null}
    </li>
  );
}

function ReassignForm({ session, agents, t, onClose }: { session: BoardSession; agents: BoardAgent[]; t: T; onClose(done?: Notice): void }) {
  const labels = useLabels();
  const [agentId, setAgentId] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [missing, setMissing] = useState(false);
  const select = useRef<HTMLSelectElement>(null);
  useEffect(() => select.current?.focus(), []);
  const current = session.assignedAgent?.id ?? session.offer?.agentId;
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!agentId) {
      setMissing(true);
      select.current?.focus();
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await call(client.POST('/api/sessions/{id}/reassign', { params: { path: { id: session.id } }, body: { agentId } }));
      const name = agents.find((a) => a.id === agentId)?.displayName ?? '';
      onClose((tr) => tr('reassignDone', { loan: session.loanFileRef, name }));
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  const errorId = `reassign-error-${session.id}`;
  return (
    <form className="sv-reassign" onSubmit={(e) => void submit(e)} aria-label={t('reassignTitle', { loan: session.loanFileRef })} noValidate>
      <ErrorNote error={error} />
      <label className="field">
        {t('reassignTo')}
        <select ref={select} value={agentId} onChange={(e) => setAgentId(e.target.value)} aria-invalid={missing ? true : undefined} aria-describedby={missing ? errorId : undefined}>
          <option value="">{t('reassignChoose')}</option>
          {agents
            .filter((a) => a.id !== current)
            // Agents who speak the party's language first; the others say they do not.
            .sort((a, b) => Number(b.languages.includes(session.language)) - Number(a.languages.includes(session.language)))
            .map((a) => (
              <option key={a.id} value={a.id}>
                {[a.displayName, t(`presence_${a.presence}`), a.languages.map(labels.language).join(', '), a.languages.includes(session.language) ? '' : t('reassignNoLanguage', { language: labels.language(session.language) })].filter(Boolean).join(' — ')}
              </option>
            ))}
        </select>
        {missing ? (
          <span className="field-error" id={errorId}>
            {t('reassignNeedsAgent')}
          </span>
        ) : null}
      </label>
      <div className="row">
        <button className="primary small" type="submit" disabled={busy}>
          {t('reassignSubmit')}
        </button>
        <button className="small" type="button" onClick={() => onClose()}>
          {t('reassignCancel')}
        </button>
      </div>
    </form>
  );
}

function EscalationQueue({ sessions, canDecide, now, t, onDecided }: { sessions: BoardSession[]; canDecide: boolean; now: number; t: T; onDecided(session: BoardSession, outcome: 'PASSED' | 'FAILED'): void }) {
  const [open, setOpen] = useState<string>();
  return (
    <section className="panel" aria-labelledby="sv-escalations" data-testid="escalation-queue">
      <h2 id="sv-escalations">
        {t('escalationsTitle')} <span className="badge bad">{sessions.length}</span>
      </h2>
      {sessions.length === 0 ? <p className="hint">{t('escalationsEmpty')}</p> : null}
      <ul className="sv-queue">
        {sessions.map((s) => (
          <li key={s.id} data-testid={`escalation-${s.id}`}>
            <div className="spread">
              <div>
                <strong>{s.loanFileRef}</strong> · {t(`kind_${s.kind}`)} · {t(`role_${s.partyRole}` as SupervisorKey)}
                <div className="hint">{t('escalatedBy', { ago: since(s.since, now), name: s.assignedAgent?.displayName ?? '—' })}</div>
              </div>
              <button type="button" className="small" aria-expanded={open === s.id} aria-controls={`case-panel-${s.id}`} onClick={() => setOpen(open === s.id ? undefined : s.id)}>
                {open === s.id ? t('closeDecision') : t('openDecision')}
                <span className="visually-hidden"> {s.loanFileRef}</span>
              </button>
            </div>
            {open === s.id ? (
              <div id={`case-panel-${s.id}`}>
                <EscalationCase
                  session={s}
                  canDecide={canDecide}
                  onDecided={(outcome) => {
                    setOpen(undefined);
                    onDecided(s, outcome);
                  }}
                />
              </div>
            ) : null}
          </li>
        ))}
      </ul>
    </section>
  );
}

function alertTitle(a: BoardAlert, t: T): string {
  const key = `alert_${a.kind}` as SupervisorKey;
  return key in supervisorMessages.en ? t(key) : t('alertOther');
}

function alertText(a: BoardAlert, t: T, labels: Labels): string {
  const key = `alertText_${a.kind}` as SupervisorKey;
  // A session out of attempts names its last dial outcome, an agent who left the session's state; say them in words.
  const detail = !a.detail ? a.detail : a.kind === 'retries_exhausted' ? labels.dialOutcome(a.detail) : a.kind === 'agent_disconnected' ? labels.state(a.detail) : a.detail;
  if (a.loanFileRef && key in supervisorMessages.en) return t(key, { loan: a.loanFileRef, detail: detail ?? '—', agent: a.agentName ?? '—' });
  return a.message ?? a.detail ?? '';
}

function AlertsPanel({ alerts, now, t }: { alerts: BoardAlert[]; now: number; t: T }) {
  const { dismissed, dismiss, restore } = useDismissed();
  const { locale } = useLocale();
  const labels = useLabels();
  const shown = alerts.filter((a) => !dismissed.has(a.id));
  const hidden = alerts.length - shown.length;
  return (
    <section className="panel" aria-labelledby="sv-alerts" data-testid="alerts">
      <div className="spread">
        <h2 id="sv-alerts">
          {t('alertsTitle')} <span className={`badge ${shown.length > 0 ? 'bad' : ''}`}>{shown.length}</span>
        </h2>
        {hidden > 0 ? (
          <button type="button" className="small" onClick={restore}>
            {t('restoreDismissed', { n: hidden })}
          </button>
        ) : null}
      </div>
      {shown.length === 0 ? <p className="hint">{t('alertsEmpty')}</p> : null}
      <ul className="sv-alerts">
        {shown.map((a) => {
          const title = alertTitle(a, t);
          const age = now - new Date(a.at).getTime();
          return (
            <li key={a.id} className="sv-alert" data-testid="alert-item" data-kind={a.kind}>
              <div>
                <strong>
                  <span aria-hidden="true">⚠ </span>
                  {title}
                </strong>
                <span className="hint"> · {age < 60_000 ? t('justNow') : formatDateTime(a.at, locale)}</span>
                <div>{alertText(a, t, labels)}</div>
              </div>
              <button type="button" className="small" onClick={() => dismiss(a.id)} aria-label={t('dismissLabel', { what: `${title} ${a.loanFileRef ?? ''}`.trim() })}>
                {t('dismiss')}
              </button>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
