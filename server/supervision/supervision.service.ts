// The supervisor's board: who is working on what, what waits for whom, what is escalated and what went
// wrong. One read-only snapshot over Postgres (and presence in Redis); the page loads it, then follows
// the thin socket events (`presence:changed`, `session:changed`, `alert`) and loads it again.
//
// Alerts are derived from what Postgres holds (failed recordings, integrity checks that found a
// mismatch, sessions that ran out of attempts), so a reloaded page or a second supervisor sees the same
// list; the socket only says "look again now". Personal data stays out: sessions are shown by loan
// reference and party role, never by name or phone number.
import type { Db } from '../db/client.js';
import { productNameSchema } from '../loan-files/loan-files.schema.js';
import type { PresenceRecord, PresenceService } from '../realtime/presence.js';

/**
 * What a supervisor sees: in a session (or holding an offer) whatever status the agent chose; offline
 * once none of the agent's consoles has been connected, on any node, for the departure grace period.
 */
export type BoardPresence = 'available' | 'busy' | 'away' | 'offline' | 'in_session' | 'offered';

/** Where a session sits on the board. */
export type BoardColumn = 'waiting' | 'offered' | 'dialling' | 'retry_pending' | 'in_progress' | 'wrap_up' | 'escalated';
export type BoardAlertKind = 'recording_failed' | 'recording_integrity' | 'retries_exhausted' | 'agent_disconnected';

export interface BoardSession {
  id: string;
  kind: 'CALL' | 'VIDEO';
  state: string;
  column: BoardColumn;
  version: number;
  loanFileRef: string;
  product: string;
  /** The product as the lender names it to the party, when the LOS sent a name. */
  productName: { 'zh-CN'?: string | undefined; en?: string | undefined } | null;
  partyRole: string;
  language: string;
  priority: number;
  assignedAgent: { id: string; displayName: string } | null;
  offer: { agentId: string; agentName: string; expiresAt: string } | null;
  createdAt: string;
  notBefore: string;
  /** When the session last changed (state changes bump it): the age shown on the board. */
  since: string;
  attemptCount: number;
  maxAttempts: number;
  lastDialOutcome: string | null;
  mode: 'AGENT' | 'AUTOMATED_CALL';
  /** Why the automated call handed the party to a person; null when it did not. */
  handOffReason: string | null;
  /** When a retry-pending session is dialled again. */
  nextAttemptAt: string | null;
  recaptureRequired: boolean;
  /** For escalations: the outcome rules' findings (e.g. required_unclear:identity, high_risk_flag:PROMPTED). */
  reasons: string[];
  /** The assigned agent is offline while the session still needs them: a supervisor reassigns or ends it. */
  agentOffline: boolean;
}

export interface BoardAgent {
  id: string;
  displayName: string;
  presence: BoardPresence;
  languages: string[];
  skills: string[];
  current: { sessionId: string; kind: 'CALL' | 'VIDEO'; state: string; since: string; loanFileRef: string } | null;
  offer: { sessionId: string; expiresAt: string } | null;
}

export interface BoardAlert {
  id: string;
  kind: BoardAlertKind;
  sessionId: string | null;
  loanFileRef: string | null;
  at: string;
  /** Machine-readable detail: the failure reason, the integrity result, the last dial outcome or the session's state. */
  detail: string | null;
  /** For an agent who left a session: who. */
  agentName: string | null;
}

export interface BoardSnapshot {
  generatedAt: string;
  agents: BoardAgent[];
  sessions: BoardSession[];
  alerts: BoardAlert[];
}

/** Sessions in which an agent is occupied (as the dispatcher counts them). */
export const AGENT_BUSY_STATES = ['DISPATCHING', 'RINGING', 'WAITING', 'IN_PROGRESS', 'WRAP_UP'] as const;
const OPEN_STATES = ['SCHEDULED', 'DISPATCHING', 'RINGING', 'WAITING', 'RETRY_PENDING', 'IN_PROGRESS', 'WRAP_UP', 'ESCALATED'] as const;

export interface SupervisionSettings {
  /** How far back alerts are listed. */
  alertWindowMs: number;
  /** At most this many sessions and alerts; the oldest beyond are left off. */
  limit: number;
  /** How long an agent whose consoles all went still shows as they were (a reload comes back within it). */
  disconnectGraceMs: number;
}

export const DEFAULT_SUPERVISION_SETTINGS: SupervisionSettings = { alertWindowMs: 3 * 86_400_000, limit: 300, disconnectGraceMs: 20_000 };

/**
 * An agent's presence on the board. Offline only once the departure grace period is over (a reload
 * does not flicker); otherwise what the agent is doing comes before what they chose: someone in a call
 * who left their status on Available is not available.
 */
export function boardPresence(
  agent: { connected: boolean; record: PresenceRecord | undefined; inSession: boolean; offered: boolean },
  graceMs: number,
  now: Date,
): BoardPresence {
  const goneSince = agent.record?.goneSince;
  const withinGrace = goneSince !== undefined && now.getTime() - goneSince < graceMs;
  if (!agent.connected && !withinGrace) return 'offline';
  if (agent.inSession) return 'in_session';
  if (agent.offered) return 'offered';
  // Connected but without a live heartbeat or a chosen presence is away, as routing treats it.
  return agent.record?.alive ? agent.record.chosen : 'away';
}

/** The board column of an open session; undefined when it is not on the board (e.g. scheduled for later). */
export function boardColumn(session: { kind: 'CALL' | 'VIDEO'; state: string; assignedAgentId: string | null; notBefore: Date }, hasPendingOffer: boolean, now: Date): BoardColumn | undefined {
  if (hasPendingOffer) return 'offered';
  switch (session.state) {
    case 'SCHEDULED':
      return session.kind === 'CALL' && session.notBefore <= now ? 'waiting' : undefined;
    case 'WAITING':
      // A video party in the waiting room: waiting for an agent, or the agent is on the way in.
      return session.assignedAgentId ? 'dialling' : 'waiting';
    case 'DISPATCHING':
    case 'RINGING':
      return 'dialling';
    case 'RETRY_PENDING':
      // Not reached yet (busy, no answer): the supervisor sees why and when it is tried again.
      return 'retry_pending';
    case 'IN_PROGRESS':
      return 'in_progress';
    case 'WRAP_UP':
      return 'wrap_up';
    case 'ESCALATED':
      return 'escalated';
    default:
      return undefined;
  }
}

export interface SupervisionServiceOptions {
  db: Db;
  presence: PresenceService;
  /** Users with a console connected to /agent right now (across nodes). */
  connectedUsers: () => Promise<Set<string>>;
  settings?: SupervisionSettings;
}

export class SupervisionService {
  private readonly db: Db;
  private readonly presence: PresenceService;
  private readonly connectedUsers: () => Promise<Set<string>>;
  private readonly settings: SupervisionSettings;

  constructor(options: SupervisionServiceOptions) {
    this.db = options.db;
    this.presence = options.presence;
    this.connectedUsers = options.connectedUsers;
    this.settings = options.settings ?? DEFAULT_SUPERVISION_SETTINGS;
  }

  async board(now = new Date()): Promise<BoardSnapshot> {
    const [agents, sessions, offers, alerts] = await Promise.all([
      this.db.user.findMany({
        where: { roles: { has: 'AGENT' }, disabledAt: null },
        select: { id: true, displayName: true, languages: true, skills: true },
        orderBy: { displayName: 'asc' },
      }),
      this.db.verificationSession.findMany({
        where: { state: { in: [...OPEN_STATES] } },
        include: { loanFile: { select: { externalRef: true, product: true, productName: true } }, party: { select: { role: true } }, assignedAgent: { select: { id: true, displayName: true } } },
        orderBy: [{ priority: 'desc' }, { updatedAt: 'asc' }],
        take: this.settings.limit,
      }),
      this.db.sessionOffer.findMany({ where: { status: 'PENDING' }, orderBy: { offeredAt: 'asc' }, take: this.settings.limit }),
      this.alerts(now),
    ]);
    const [presence, connected] = await Promise.all([this.presence.records(agents.map((a) => a.id)), this.connectedUsers()]);
    const names = new Map(agents.map((a) => [a.id, a.displayName]));
    const offerBySession = new Map(offers.map((o) => [o.sessionId, o]));
    const offerByAgent = new Map(offers.map((o) => [o.agentId, o]));

    const busyStates: readonly string[] = AGENT_BUSY_STATES;
    const currentOf = new Map<string, BoardAgent['current']>();
    for (const s of sessions) {
      if (!s.assignedAgentId || !busyStates.includes(s.state) || currentOf.has(s.assignedAgentId)) continue;
      currentOf.set(s.assignedAgentId, { sessionId: s.id, kind: s.kind, state: s.state, since: s.updatedAt.toISOString(), loanFileRef: s.loanFile.externalRef });
    }
    const presenceOf = new Map(
      agents.map((a) => [
        a.id,
        boardPresence({ connected: connected.has(a.id), record: presence.get(a.id), inSession: currentOf.has(a.id), offered: offerByAgent.has(a.id) }, this.settings.disconnectGraceMs, now),
      ]),
    );

    const board: BoardSession[] = [];
    for (const s of sessions) {
      const offer = offerBySession.get(s.id);
      const column = boardColumn(s, Boolean(offer), now);
      if (!column) continue;
      board.push({
        id: s.id,
        kind: s.kind,
        state: s.state,
        column,
        version: s.version,
        loanFileRef: s.loanFile.externalRef,
        product: s.loanFile.product,
        productName: productNameSchema.safeParse(s.loanFile.productName).data ?? null,
        partyRole: s.party.role,
        language: s.language,
        priority: s.priority,
        assignedAgent: s.assignedAgent,
        offer: offer ? { agentId: offer.agentId, agentName: names.get(offer.agentId) ?? '', expiresAt: offer.expiresAt.toISOString() } : null,
        createdAt: s.createdAt.toISOString(),
        notBefore: s.notBefore.toISOString(),
        since: s.updatedAt.toISOString(),
        attemptCount: s.attemptCount,
        maxAttempts: s.maxAttempts,
        lastDialOutcome: s.lastDialOutcome,
        mode: s.mode,
        handOffReason: s.handOffReason,
        nextAttemptAt: s.nextAttemptAt?.toISOString() ?? null,
        recaptureRequired: s.recaptureRequired,
        reasons: s.state === 'ESCALATED' && s.endReason ? s.endReason.split(',').filter(Boolean) : [],
        agentOffline: Boolean(s.assignedAgentId && busyStates.includes(s.state) && presenceOf.get(s.assignedAgentId) === 'offline'),
      });
    }

    return {
      generatedAt: now.toISOString(),
      agents: agents.map((a) => {
        const offer = offerByAgent.get(a.id);
        return {
          id: a.id,
          displayName: a.displayName,
          presence: presenceOf.get(a.id) ?? 'offline',
          languages: a.languages,
          skills: a.skills,
          current: currentOf.get(a.id) ?? null,
          offer: offer ? { sessionId: offer.sessionId, expiresAt: offer.expiresAt.toISOString() } : null,
        };
      }),
      sessions: board,
      alerts,
    };
  }

  /** Newest first: failed recordings, integrity checks that did not match, sessions out of attempts, agents who left a session. */
  private async alerts(now: Date): Promise<BoardAlert[]> {
    const from = new Date(now.getTime() - this.settings.alertWindowMs);
    const take = this.settings.limit;
    const [failed, exhausted, checks, departures] = await Promise.all([
      this.db.recording.findMany({
        where: { state: 'FAILED', updatedAt: { gte: from } },
        select: { id: true, updatedAt: true, failureReason: true, attempt: { select: { sessionId: true, session: { select: { loanFile: { select: { externalRef: true } } } } } } },
        orderBy: { updatedAt: 'desc' },
        take,
      }),
      this.db.verificationSession.findMany({
        where: { state: 'EXHAUSTED', completedAt: { gte: from } },
        select: { id: true, completedAt: true, updatedAt: true, lastDialOutcome: true, loanFile: { select: { externalRef: true } } },
        orderBy: { completedAt: 'desc' },
        take,
      }),
      this.db.auditEvent.findMany({
        where: {
          action: 'recording.integrity_checked',
          recordedAt: { gte: from },
          OR: [{ data: { path: ['result'], equals: 'mismatch' } }, { data: { path: ['result'], equals: 'missing' } }],
        },
        select: { id: true, entityId: true, recordedAt: true, data: true },
        orderBy: { seq: 'desc' },
        take,
      }),
      this.db.auditEvent.findMany({
        where: { action: 'session.agent_disconnected', recordedAt: { gte: from } },
        select: { id: true, entityId: true, recordedAt: true, data: true },
        orderBy: { seq: 'desc' },
        take,
      }),
    ]);
    const departureData = departures.map((d) => d.data as { agentId?: unknown; state?: unknown } | null);
    const [departedSessions, departedAgents] = await Promise.all([
      this.db.verificationSession.findMany({ where: { id: { in: [...new Set(departures.map((d) => d.entityId))] } }, select: { id: true, loanFile: { select: { externalRef: true } } } }),
      this.db.user.findMany({ where: { id: { in: [...new Set(departureData.flatMap((d) => (typeof d?.agentId === 'string' ? [d.agentId] : [])))] } }, select: { id: true, displayName: true } }),
    ]);
    const refOfSession = new Map(departedSessions.map((s) => [s.id, s.loanFile.externalRef]));
    const nameOfAgent = new Map(departedAgents.map((u) => [u.id, u.displayName]));
    const checkedRecordings = await this.db.recording.findMany({
      where: { id: { in: [...new Set(checks.map((c) => c.entityId))] } },
      select: { id: true, attempt: { select: { sessionId: true, session: { select: { loanFile: { select: { externalRef: true } } } } } } },
    });
    const sessionOfRecording = new Map(checkedRecordings.map((r) => [r.id, r.attempt]));

    const all: BoardAlert[] = [
      ...failed.map((r) => ({
        id: `recording_failed:${r.id}`,
        kind: 'recording_failed' as const,
        sessionId: r.attempt.sessionId,
        loanFileRef: r.attempt.session.loanFile.externalRef,
        at: r.updatedAt.toISOString(),
        detail: r.failureReason,
        agentName: null,
      })),
      ...exhausted.map((s) => ({
        id: `retries_exhausted:${s.id}`,
        kind: 'retries_exhausted' as const,
        sessionId: s.id,
        loanFileRef: s.loanFile.externalRef,
        at: (s.completedAt ?? s.updatedAt).toISOString(),
        detail: s.lastDialOutcome,
        agentName: null,
      })),
      ...checks.map((c) => {
        const attempt = sessionOfRecording.get(c.entityId);
        const result = (c.data as { result?: unknown } | null)?.result;
        return {
          id: `recording_integrity:${c.id}`,
          kind: 'recording_integrity' as const,
          sessionId: attempt?.sessionId ?? null,
          loanFileRef: attempt?.session.loanFile.externalRef ?? null,
          at: c.recordedAt.toISOString(),
          detail: typeof result === 'string' ? result : null,
          agentName: null,
        };
      }),
      ...departures.map((d, i) => {
        const data = departureData[i];
        return {
          id: `agent_disconnected:${d.id}`,
          kind: 'agent_disconnected' as const,
          sessionId: d.entityId,
          loanFileRef: refOfSession.get(d.entityId) ?? null,
          at: d.recordedAt.toISOString(),
          detail: typeof data?.state === 'string' ? data.state : null,
          agentName: typeof data?.agentId === 'string' ? (nameOfAgent.get(data.agentId) ?? null) : null,
        };
      }),
    ];
    return all.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0)).slice(0, take);
  }
}
