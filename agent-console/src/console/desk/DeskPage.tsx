// The agent desk: presence, offers with a countdown, today's schedule and the live session. Live state
// comes over the /agent socket (thin events → refetch); the page survives reloads because everything it
// shows is read back from the server (and unsent note drafts from this browser's storage).
import { useCallback, useEffect, useRef, useState } from 'react';
import type { AgentServerToClientEvents, AgentSocket } from '../../shared/socket';
import { call, client } from '../../shared/api';
import { ErrorNote } from '../../shared/ErrorNote';
import { useLoad, useNow } from '../../shared/hooks';
import { formatDateTime, useLocale, useT } from '../../shared/i18n';
import { useLabels } from '../../shared/labels';
import { agentSocket } from '../../shared/socket';
import { useAuth } from '../auth';
import { deskMessages } from './messages';
import { LiveSession, Submitted, type SubmitResult } from './LiveSession';
import type { Desk, DeskSession, JoinGrant, LiveOffer, Offer } from './types';
import './desk.css';

/** The status an agent chooses, as the /agent socket carries it. */
type Presence = Parameters<AgentServerToClientEvents['presence:changed']>[0]['presence'];
const HEARTBEAT_MS = 10_000;

/**
 * One /agent socket for the page: presence with heartbeats, and a callback on every live event. The
 * status is the server's: read back on every (re)connect and followed when it changes elsewhere (another
 * tab, or the server after the consoles were gone too long), so the desk shows what routing goes by.
 */
function useAgentSocket(onEvent: (event: string, payload: unknown) => void): { socket: AgentSocket | undefined; connected: boolean; presence: Presence | undefined; setPresence(p: Presence): void } {
  const [socket, setSocket] = useState<AgentSocket>();
  const [connected, setConnected] = useState(false);
  const [presence, setPresenceState] = useState<Presence>();
  const presenceRef = useRef<Presence | undefined>(undefined);
  const onEventRef = useRef(onEvent);
  onEventRef.current = onEvent;
  const { refresh, user } = useAuth();
  const userId = user?.id;

  useEffect(() => {
    let disposed = false;
    const show = (next: Presence) => {
      presenceRef.current = next;
      setPresenceState(next);
    };
    const s = agentSocket(async () => (await refresh()) !== null && !disposed);
    setSocket(s);
    s.on('connect', () => {
      setConnected(true);
      s.emit('presence:get', {}, (ack) => {
        if (ack?.ok) show(ack.presence);
      });
      onEventRef.current('reconnect', undefined);
    });
    s.on('disconnect', () => setConnected(false));
    s.on('presence:changed', (event) => {
      if (event.agentId === userId) show(event.presence);
    });
    s.onAny((event: string, payload: unknown) => onEventRef.current(event, payload));
    // A lapsed presence (the laptop slept, Redis restarted) is stated again, so an online agent never stays away.
    const beat = setInterval(() => {
      if (!s.connected) return;
      s.emit('heartbeat', {}, (ack) => {
        if (ack?.ok && ack.lapsed && presenceRef.current) s.emit('presence:set', { presence: presenceRef.current });
      });
    }, HEARTBEAT_MS);
    return () => {
      disposed = true;
      clearInterval(beat);
      s.close();
    };
  }, [refresh, userId]);

  const setPresence = useCallback(
    (next: Presence) => {
      presenceRef.current = next;
      setPresenceState(next);
      socket?.emit('presence:set', { presence: next });
    },
    [socket],
  );
  return { socket, connected, presence, setPresence };
}

export default function DeskPage() {
  const t = useT(deskMessages);
  const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const desk = useLoad((signal) => call(client.GET('/api/agent/desk', { params: { query: { timeZone } }, signal })), [timeZone]);
  // Each offer's deadline on this computer's clock: the time the server says is left, from arrival.
  const offers = useLoad(async (signal) => {
    const { items } = await call(client.GET('/api/agent/offers', { signal }));
    const arrived = Date.now();
    return { items: items.map((o): LiveOffer => ({ ...o, deadline: arrived + o.expiresInMs })) };
  }, []);
  const [selected, setSelected] = useState<string>();
  const [grants, setGrants] = useState<Record<string, JoinGrant>>({});
  const [changeTick, setChangeTick] = useState(0);
  const [submitted, setSubmitted] = useState<SubmitResult>();

  const onEvent = useCallback(
    (event: string) => {
      if (event === 'offer:new' || event === 'offer:closed' || event === 'reconnect') offers.reload();
      if (event === 'session:changed' || event === 'reconnect') {
        desk.reload();
        setChangeTick((n) => n + 1);
      }
      if (event === 'checklist:changed' || event === 'face-match:changed' || event === 'liveness:changed') setChangeTick((n) => n + 1);
    },
    [desk.reload, offers.reload],
  );
  const { socket, connected, presence, setPresence } = useAgentSocket(onEvent);

  const active = desk.data?.active ?? [];
  const current = active.find((s) => s.id === selected) ?? active[0];
  // The session the agent was following left "Now" without a conversation (busy, no answer): say so and when it is tried again.
  const unreached = !current && selected ? [...(desk.data?.today ?? []), ...(desk.data?.upcoming ?? [])].find((s) => s.id === selected && (s.state === 'RETRY_PENDING' || s.state === 'EXHAUSTED')) : undefined;

  const accepted = (grant: JoinGrant) => {
    setGrants((g) => ({ ...g, [grant.sessionId]: grant }));
    // A new conversation takes over the page, even while the last one's summary is still open.
    setSubmitted(undefined);
    setSelected(grant.sessionId);
    desk.reload();
    offers.reload();
  };

  return (
    <div className="desk">
      <h1 className="visually-hidden">{t('deskTitle')}</h1>
      {!connected && socket ? (
        <div className="alert warn" role="status">
          {t('socketDown')}
        </div>
      ) : null}
      <div className="desk-layout">
        <aside className="stack">
          <PresencePanel presence={presence} inSession={active.length > 0} onChange={setPresence} />
          <OffersPanel offers={offers.data?.items ?? []} error={offers.error} onAccepted={accepted} onChanged={offers.reload} />
          <SchedulePanel desk={desk.data} error={desk.error} selected={current?.id} onSelect={setSelected} />
        </aside>
        <section aria-label={t('checklist')}>
          {submitted ? (
            <Submitted result={submitted} onBack={() => setSubmitted(undefined)} />
          ) : current ? (
            <LiveSession
              key={current.id}
              summary={current}
              grant={grants[current.id]}
              socket={socket}
              changeTick={changeTick}
              onChanged={desk.reload}
              onSubmitted={(result) => {
                setSubmitted(result);
                desk.reload();
              }}
            />
          ) : unreached ? (
            <NotReached session={unreached} onBack={() => setSelected(undefined)} />
          ) : (
            <div className="panel hint">{t('noSession')}</div>
          )}
        </section>
      </div>
    </div>
  );
}

/** A dial that did not reach the party: why, and when the session comes back (or that it will not). */
function NotReached({ session, onBack }: { session: DeskSession; onBack(): void }) {
  const t = useT(deskMessages);
  const labels = useLabels();
  const { locale } = useLocale();
  return (
    <div className="panel stack" role="status" data-testid="not-reached">
      <h2>{t('notReached', { name: session.party.name })}</h2>
      <p data-testid="not-reached-reason">{t('notReachedReason', { reason: session.lastDialOutcome ? labels.dialOutcome(session.lastDialOutcome) : t('unknownReason') })}</p>
      <p data-testid="not-reached-next">
        {session.state === 'RETRY_PENDING' && session.nextAttemptAt
          ? t('nextAttempt', { time: formatDateTime(session.nextAttemptAt, locale, { dateStyle: 'medium', timeStyle: 'short' }), n: session.attemptCount + 1, max: session.maxAttempts })
          : t('noAttemptsLeft')}
      </p>
      <button type="button" className="primary" onClick={onBack}>
        {t('backToDesk')}
      </button>
    </div>
  );
}

function PresencePanel({ presence, inSession, onChange }: { presence: Presence | undefined; inSession: boolean; onChange(p: Presence): void }) {
  const t = useT(deskMessages);
  // In a session the agent's state is the session (as the board shows it); the choice below is where they go after it.
  return (
    <div className="panel">
      {inSession ? (
        <p className="presence-now" data-testid="presence-now" data-presence="in_session">
          <span className="presence-label">{t('presence')}</span>
          <span className="presence-option in_session current">
            <span className="dot" aria-hidden="true" />
            {t('inSessionStatus')}
          </span>
        </p>
      ) : null}
      <fieldset className="presence" data-testid="presence-choice">
        <legend>{inSession ? t('presenceAfter') : t('presence')}</legend>
        {(['available', 'busy', 'away'] as const).map((p) => (
          <label key={p} className={`presence-option ${p}`}>
            <input type="radio" name="presence" value={p} checked={presence === p} onChange={() => onChange(p)} />
            <span className="dot" aria-hidden="true" />
            {t(p)}
          </label>
        ))}
      </fieldset>
      <p className="hint" data-testid="presence-hint">
        {inSession ? t('presenceInSession') : t('presenceHint')}
      </p>
    </div>
  );
}

function OffersPanel({ offers, error, onAccepted, onChanged }: { offers: LiveOffer[]; error: unknown; onAccepted(g: JoinGrant): void; onChanged(): void }) {
  const t = useT(deskMessages);
  const labels = useLabels();
  const now = useNow(500);
  const [busy, setBusy] = useState<string>();
  const [actionError, setActionError] = useState<unknown>();
  const live = offers.filter((o) => o.deadline > now);
  const act = async (offer: Offer, action: 'accept' | 'decline') => {
    setBusy(offer.id);
    setActionError(undefined);
    try {
      if (action === 'accept') onAccepted(await call(client.POST('/api/offers/{id}/accept', { params: { path: { id: offer.id } } })));
      else await call(client.POST('/api/offers/{id}/decline', { params: { path: { id: offer.id } } }));
    } catch (e) {
      setActionError(e);
    } finally {
      setBusy(undefined);
      onChanged();
    }
  };
  return (
    <div className="panel" aria-live="polite">
      <h2>{t('offers')}</h2>
      <ErrorNote error={error ?? actionError} />
      {live.length === 0 ? <p className="hint">{t('noOffers')}</p> : null}
      <ul className="offer-list">
        {live.map((offer) => {
          const total = Math.max(1, Date.parse(offer.expiresAt) - Date.parse(offer.offeredAt));
          // `now` ticks every half second, so it can trail an offer that just arrived: never more than the window.
          const left = Math.min(total, Math.max(0, offer.deadline - now));
          return (
            <li key={offer.id} className="offer" data-testid="offer">
              <div className="spread">
                <strong>{offer.kind === 'CALL' ? t('offerCall') : t('offerVideo')}</strong>
                <span className="badge warn">{t('expiresIn', { s: Math.ceil(left / 1000) })}</span>
              </div>
              {offer.handOffReason ? (
                <p className="hint" data-testid="offer-hand-off">
                  {t('offerHandedOff', { reason: labels.handOffReason(offer.handOffReason) })}
                </p>
              ) : null}
              <progress max={total} value={left} aria-label={t('expiresIn', { s: Math.ceil(left / 1000) })} />
              <div className="row">
                <button type="button" className="primary" disabled={busy === offer.id} onClick={() => void act(offer, 'accept')}>
                  {t('accept')}
                </button>
                <button type="button" disabled={busy === offer.id} onClick={() => void act(offer, 'decline')}>
                  {t('decline')}
                </button>
              </div>
            </li>
          );
        })}
      </ul>
    </div>
  );
}

function SchedulePanel({ desk, error, selected, onSelect }: { desk: Desk | undefined; error: unknown; selected: string | undefined; onSelect(id: string): void }) {
  const t = useT(deskMessages);
  const labels = useLabels();
  const { locale } = useLocale();
  const group = (title: string, sessions: DeskSession[], selectable: boolean) => (
    <section>
      <h3>{title}</h3>
      {sessions.length === 0 ? (
        <p className="hint">{t('nothing')}</p>
      ) : (
        <ul className="schedule">
          {sessions.map((s) => (
            <li key={s.id} aria-current={s.id === selected ? 'true' : undefined}>
              <div className="spread">
                <span>
                  <strong>{s.party.name}</strong> · {s.loan.externalRef}
                </span>
                <span className={`badge ${s.outcome === 'PASSED' ? 'ok' : s.outcome === 'FAILED' ? 'bad' : s.outcome || s.state === 'RETRY_PENDING' || s.state === 'EXHAUSTED' ? 'warn' : 'info'}`} data-testid="schedule-state">
                  {s.outcome ? labels.outcome(s.outcome) : labels.state(s.state)}
                </span>
              </div>
              <div className="spread hint">
                <span>
                  {s.kind === 'CALL' ? t('offerCall') : t('offerVideo')} · {formatDateTime(s.completedAt ?? s.nextAttemptAt ?? s.notBefore, locale, { timeStyle: 'short' })}
                </span>
                {s.state === 'RETRY_PENDING' && s.lastDialOutcome ? <span data-testid="schedule-dial-outcome">{labels.dialOutcome(s.lastDialOutcome)}</span> : null}
                {s.handOffReason ? <span data-testid="schedule-hand-off">{t('offerHandedOff', { reason: labels.handOffReason(s.handOffReason) })}</span> : null}
                {(selectable || s.state === 'RETRY_PENDING' || s.state === 'EXHAUSTED') && s.id !== selected ? (
                  <button type="button" className="small" onClick={() => onSelect(s.id)}>
                    {t('open')}
                  </button>
                ) : null}
              </div>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
  return (
    <div className="panel">
      <h2>{t('schedule')}</h2>
      <ErrorNote error={error} />
      {desk ? (
        <div className="stack">
          {group(t('active'), desk.active, true)}
          {group(t('upcoming'), desk.upcoming, false)}
          {group(t('handled'), desk.today, false)}
        </div>
      ) : null}
    </div>
  );
}
