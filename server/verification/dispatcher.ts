// Progressive routing: a due call, or a video party in the waiting room, is offered to one free,
// eligible agent (language and product skill), chosen at random among the least busy. Automated calls
// are dialled without an agent (session-jobs.ts) and come here only once handed to a person. The agent
// accepts within the offer timeout or it goes to the next one. Routing runs under one advisory lock,
// so two nodes never offer the same session or give one agent two offers.
import { randomUUID } from 'node:crypto';
import { sql as fragment } from 'kysely';
import { sqlAutocommit, sqlIn, sqlTransaction, type Db, type Sql } from '../db/client.js';
import { build, first, rows } from '../db/typed-sql.js';
import type { VerificationSession } from '../db/generated/prisma/client.js';
import type { Logger } from '../logging.js';
import { AppError } from '../shared/errors.js';
import { appendAudit, insertAudit, insertAuditMany } from '../audit/audit.service.js';
import type { JobQueues } from '../jobs/queues.js';
import type { RealtimeEmitter } from '../realtime/events.js';
import type { PresenceService } from '../realtime/presence.js';
import { agentIdentity } from '../livekit/identities.js';
import type { VideoPlatform } from '../livekit/video-platform.js';
import { selectAgent, type AgentCandidate } from './agent-selection.js';
import { isWithinCallingHours, type CallingHours } from './calling-hours.js';
import type { SessionEngine } from './session-engine.js';
import { acceptOffer, assignAgent, closeOffer, createOffer, insertOffers, withdrawPendingOffers } from './verification.repository.js';

const ROUTING_LOCK = 7_241_002;
/** Sessions in which an agent is occupied. */
const AGENT_BUSY_STATES = ['DISPATCHING', 'RINGING', 'WAITING', 'IN_PROGRESS', 'WRAP_UP'] as const;

export interface DispatcherSettings {
  offerTimeoutMs: number;
  callingHours: CallingHours;
  livekitUrl: string | undefined;
}

export interface JoinGrant {
  sessionId: string;
  kind: 'CALL' | 'VIDEO';
  room: string;
  livekitUrl: string;
  token: string;
}

export interface DispatcherOptions {
  db: Db;
  engine: SessionEngine;
  presence: PresenceService;
  queues: JobQueues;
  realtime: RealtimeEmitter;
  platform: VideoPlatform | undefined;
  settings: DispatcherSettings;
  log: Logger;
  random?: () => number;
}

export class Dispatcher {
  private readonly db: Db;
  private readonly engine: SessionEngine;
  private readonly presence: PresenceService;
  private readonly queues: JobQueues;
  private readonly realtime: RealtimeEmitter;
  private readonly platform: VideoPlatform | undefined;
  private readonly settings: DispatcherSettings;
  private readonly log: Logger;
  private readonly random: () => number;

  constructor(options: DispatcherOptions) {
    this.db = options.db;
    this.engine = options.engine;
    this.presence = options.presence;
    this.queues = options.queues;
    this.realtime = options.realtime;
    this.platform = options.platform;
    this.settings = options.settings;
    this.log = options.log;
    this.random = options.random ?? Math.random;
  }

  private filling: Promise<number> | undefined;
  private nextFill: { now: Date | undefined; run: Promise<number> } | undefined;

  /**
   * Offers every routable session to a free agent; returns how many offers were made. Rounds run one
   * at a time per process (they serialise on the routing lock anyway): calls made while a round runs
   * share one follow-up round, which sees every session those calls were about. Without this, a
   * thousand sessions falling due at once queue a thousand rounds behind the lock.
   */
  fill(now?: Date): Promise<number> {
    if (!this.filling) return this.startFill(now);
    if (this.nextFill) {
      const queued = this.nextFill.now;
      this.nextFill.now = queued === undefined || now === undefined ? undefined : new Date(Math.max(queued.getTime(), now.getTime()));
      return this.nextFill.run;
    }
    const next: { now: Date | undefined; run: Promise<number> } = { now, run: Promise.resolve(0) };
    next.run = this.filling
      .catch(() => 0)
      .then(() => {
        this.nextFill = undefined;
        return this.startFill(next.now);
      });
    this.nextFill = next;
    return next.run;
  }

  private startFill(now: Date | undefined): Promise<number> {
    const run: Promise<number> = this.fillOnce(now ?? new Date()).finally(() => {
      if (this.filling === run) this.filling = undefined;
    });
    this.filling = run;
    return run;
  }

  private async fillOnce(now: Date): Promise<number> {
    const presence = await this.presence.all();
    const available = [...presence].filter(([, p]) => p === 'available').map(([id]) => id);
    if (available.length === 0) {
      await this.announceQueue();
      return 0;
    }

    // SQL on the shared pool: a round runs for every agent that comes free and reads up to 100 sessions.
    const offers = await sqlTransaction(this.db, async (sql) => {
      await sql.query({ name: 'routing-lock', text: 'SELECT pg_advisory_xact_lock($1::bigint)', values: [ROUTING_LOCK] });
      // What routing needs of each routable session without a pending offer, and who let it go before.
      const waiting = await rows(
        sql,
        build
          .selectFrom('VerificationSession as s')
          .innerJoin('Party as p', 'p.id', 's.partyId')
          .select(['s.id', 's.kind', 's.language', 's.productSkill', 'p.timeZone'])
          .select((eb) =>
            fragment<string[]>`ARRAY(${eb
              .selectFrom('SessionOffer as o')
              .select((o) => fragment<string>`${o.ref('o.agentId')}::text`.as('agentId'))
              .whereRef('o.sessionId', '=', 's.id')
              .where('o.status', 'in', ['DECLINED', 'EXPIRED'])})`.as('refusedBy'),
          )
          .where((eb) =>
            eb.or([
              eb.and([eb('s.kind', '=', 'CALL'), eb('s.state', '=', 'SCHEDULED'), eb('s.notBefore', '<=', now), eb.or([eb('s.mode', '=', 'AGENT'), eb('s.handedOffAt', 'is not', null)])]),
              eb.and([eb('s.kind', '=', 'VIDEO'), eb('s.state', '=', 'WAITING'), eb('s.assignedAgentId', 'is', null)]),
            ]),
          )
          .where((eb) => eb.not(eb.exists(eb.selectFrom('SessionOffer as o').select('o.id').whereRef('o.sessionId', '=', 's.id').where('o.status', '=', 'PENDING'))))
          .orderBy('s.priority', 'desc')
          .orderBy('s.notBefore', 'asc')
          .limit(100),
        'routing-waiting',
      );
      if (waiting.length === 0) return [];

      // Available agents with nothing on hand: no session in which they are busy and no pending offer.
      const free = await rows(
        sql,
        build
          .selectFrom('User as u')
          .select(['u.id as userId', 'u.languages', 'u.skills'])
          .where((eb) => eb('u.id', '=', eb.fn.any(eb.val(available))))
          .where((eb) => fragment<boolean>`'AGENT' = ANY(${eb.ref('u.roles')})`)
          .where('u.disabledAt', 'is', null)
          .where((eb) => eb.not(eb.exists(eb.selectFrom('VerificationSession as s').select('s.id').whereRef('s.assignedAgentId', '=', 'u.id').where('s.state', 'in', AGENT_BUSY_STATES))))
          .where((eb) => eb.not(eb.exists(eb.selectFrom('SessionOffer as o').select('o.id').whereRef('o.agentId', '=', 'u.id').where('o.status', '=', 'PENDING'))))
          .orderBy('u.id'),
        'routing-free-agents',
      );
      const candidates: AgentCandidate[] = free.map((agent) => ({ ...agent, presence: 'available', activeSessions: 0 }));

      const picks: { sessionId: string; agentId: string; kind: 'CALL' | 'VIDEO' }[] = [];
      for (const session of waiting) {
        if (candidates.length === 0) break;
        // Nothing is dialled outside the party's calling hours; the due job defers such sessions.
        if (session.kind === 'CALL' && !isWithinCallingHours(now, session.timeZone, this.settings.callingHours)) continue;
        const need = { language: session.language, productSkill: session.productSkill };
        const refused = new Set(session.refusedBy);
        // Once every eligible agent has declined, start over rather than leave the party waiting.
        const agentId = selectAgent(candidates, need, refused, this.random) ?? selectAgent(candidates, need, new Set(), this.random);
        if (!agentId) continue;
        candidates.splice(candidates.findIndex((c) => c.userId === agentId), 1);
        picks.push({ sessionId: session.id, agentId, kind: session.kind });
      }
      if (picks.length === 0) return [];
      // A session may have changed since it was read (cancelled, the party gone): offer only those still
      // routable, locked as they are, so a change that comes now waits for this round and withdraws the
      // offer. An offer on a cancelled session would hold its agent for the whole window.
      const routable = await rows(
        sql,
        build
          .selectFrom('VerificationSession as s')
          .select('s.id')
          .where((eb) => eb('s.id', '=', eb.fn.any(eb.val(picks.map((p) => p.sessionId)))))
          .where((eb) =>
            eb.or([
              eb.and([eb('s.kind', '=', 'CALL'), eb('s.state', '=', 'SCHEDULED')]),
              eb.and([eb('s.kind', '=', 'VIDEO'), eb('s.state', '=', 'WAITING'), eb('s.assignedAgentId', 'is', null)]),
            ]),
          )
          .orderBy('s.id')
          .forShare(),
        'routing-picks-lock',
      );
      const stillRoutable = new Set(routable.map((r) => r.id));
      const kept = picks.filter((p) => stillRoutable.has(p.sessionId));
      if (kept.length === 0) return [];
      // The round's offers and their audit events, one insert each. The agent's window starts now,
      // not when the round was asked for: the wait for the routing lock and the reads above are not
      // the agent's time (`now` decides only what is due).
      const offeredAt = new Date();
      const expiresAt = new Date(offeredAt.getTime() + this.settings.offerTimeoutMs);
      const made = kept.map((p) => ({ ...p, id: randomUUID(), expiresAt }));
      await insertOffers(sql, made, offeredAt, expiresAt);
      await insertAuditMany(
        sql,
        made.map((p) => ({
          actor: { type: 'SYSTEM', id: 'dispatcher' },
          entity: { type: 'session', id: p.sessionId },
          event: { action: 'offer.created', v: 1, data: { sessionId: p.sessionId, agentId: p.agentId, expiresAt: expiresAt.toISOString() } },
        })),
      );
      return made;
    });

    // The agents first: their window is running; the waiting parties' places can follow.
    for (const offer of offers) {
      this.realtime.toAgent(offer.agentId, 'offer:new', { v: 1, offerId: offer.id, sessionId: offer.sessionId, kind: offer.kind, expiresAt: offer.expiresAt.toISOString() });
      this.realtime.toSupervisors('offer:changed', { v: 1, offerId: offer.id, sessionId: offer.sessionId, agentId: offer.agentId, status: 'PENDING' });
    }
    await this.announceQueue();
    // A timeout job lost here (Redis down) is covered by the sweep's expireOverdue.
    await this.queues.enqueueMany('offer-timeout', offers.map((offer) => ({ payload: { offerId: offer.id }, jobId: `offer-${offer.id}`, delayMs: this.settings.offerTimeoutMs })));
    if (offers.length > 0) this.log.info({ offers: offers.length }, 'offered sessions to agents');
    return offers.length;
  }

  /** Video parties waiting for an agent, in the order they will be served. */
  private async waitingQueue(): Promise<string[]> {
    // Read after every routing round, so SQL on the pool.
    const waiting = await rows(
      sqlAutocommit(this.db),
      build
        .selectFrom('VerificationSession')
        .select('id')
        .where('kind', '=', 'VIDEO')
        .where('state', '=', 'WAITING')
        .where('assignedAgentId', 'is', null)
        .orderBy('priority', 'desc')
        .orderBy('notBefore', 'asc')
        .orderBy('id', 'asc')
        .limit(1000),
      'routing-waiting-queue',
    );
    return waiting.map((w) => w.id);
  }

  /** 1 = next in line; 0 = not waiting (an agent is on the way or it is under way). */
  async waitingPosition(sessionId: string): Promise<number> {
    return (await this.waitingQueue()).indexOf(sessionId) + 1;
  }

  /** Tells every waiting party their place in the queue. */
  async announceQueue(): Promise<void> {
    const queue = await this.waitingQueue();
    queue.forEach((sessionId, index) => this.realtime.toParty(sessionId, 'waiting:position', { v: 1, position: index + 1 }));
  }

  /** The agent takes the session: calls are dialled now, video agents join the waiting party. */
  async accept(offerId: string, agentId: string, requestId?: string): Promise<JoinGrant> {
    // The offer, its session's kind and the agent's name (for the join grant), in one statement.
    const offer = await first(
      sqlAutocommit(this.db),
      build
        .selectFrom('SessionOffer as o')
        .innerJoin('VerificationSession as s', 's.id', 'o.sessionId')
        .innerJoin('User as u', 'u.id', 'o.agentId')
        .select(['o.sessionId', 's.kind', 'u.displayName'])
        .where('o.id', '=', offerId)
        .where('o.agentId', '=', agentId),
      'offer-for-accept',
    );
    if (!offer) throw new AppError('NOT_FOUND', 'No such offer for you');
    const claim = async (sql: Sql) => {
      if (!(await acceptOffer(sql, offerId, agentId, new Date()))) throw new AppError('OFFER_NOT_AVAILABLE');
      await insertAudit(sql, {
        actor: { type: 'USER', id: agentId },
        entity: { type: 'session', id: offer.sessionId },
        event: { action: 'offer.resolved', v: 1, data: { sessionId: offer.sessionId, agentId, status: 'ACCEPTED' } },
        requestId,
      });
    };

    let room: string;
    if (offer.kind === 'CALL') {
      const applied = await this.engine.apply(offer.sessionId, { type: 'OFFER_ACCEPTED', agentId }, {
        actor: { type: 'USER', id: agentId },
        requestId,
        data: { assignedAgentId: agentId },
        inTx: claim,
      });
      room = applied.attempt!.roomName;
    } else {
      room = await this.db.$transaction(async (tx) => {
        await claim(sqlIn(tx));
        const roomName = await assignAgent(tx, offer.sessionId, agentId, { waitingVideo: true });
        if (roomName === undefined) throw new AppError('OFFER_NOT_AVAILABLE', 'The party is no longer waiting');
        return roomName;
      });
      const session = await this.db.verificationSession.findUniqueOrThrow({ where: { id: offer.sessionId } });
      this.engine.announce(session);
    }
    this.realtime.toAgent(agentId, 'offer:closed', { v: 1, offerId, status: 'ACCEPTED' });
    this.realtime.toSupervisors('offer:changed', { v: 1, offerId, sessionId: offer.sessionId, agentId, status: 'ACCEPTED' });
    // The offer is settled: its timeout job has nothing left to do (it would find nothing pending).
    void this.queues.cancel('offer-timeout', `offer-${offerId}`);
    return this.joinGrant(offer.sessionId, offer.kind, room, agentId, offer.displayName);
  }

  async joinGrant(sessionId: string, kind: 'CALL' | 'VIDEO', room: string, agentId: string, displayName?: string): Promise<JoinGrant> {
    if (!this.platform || !this.settings.livekitUrl) throw new AppError('SERVICE_UNAVAILABLE', 'LiveKit is not configured');
    const name = displayName ?? (await this.db.user.findUniqueOrThrow({ where: { id: agentId }, select: { displayName: true } })).displayName;
    const token = await this.platform.agentToken({ room, identity: agentIdentity(agentId), displayName: name, ttlSeconds: 600 });
    return { sessionId, kind, room, livekitUrl: this.settings.livekitUrl, token };
  }

  /**
   * A supervisor gives a session to a specific agent: before anyone took it, as a direct offer; once
   * under way, by handing it over (the new agent joins and writes; the previous one no longer can).
   */
  async reassign(sessionId: string, agentId: string, supervisorId: string, requestId?: string): Promise<VerificationSession> {
    const agent = await this.db.user.findFirst({ where: { id: agentId, roles: { has: 'AGENT' }, disabledAt: null } });
    if (!agent) throw new AppError('VALIDATION_FAILED', 'Invalid body: agentId', { errors: [{ in: 'body', field: 'agentId', message: 'is not an active agent' }] });
    const now = new Date();
    const { session, offer, withdrawn } = await this.db.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${ROUTING_LOCK})`;
      const current = await tx.verificationSession.findUnique({ where: { id: sessionId } });
      if (!current) throw new AppError('NOT_FOUND', `No session ${sessionId}`);
      if (['COMPLETED', 'EXHAUSTED', 'CANCELLED', 'EXPIRED', 'ESCALATED'].includes(current.state)) {
        throw new AppError('SESSION_STATE_CONFLICT', `A ${current.state} session cannot be reassigned`);
      }
      const withdrawn = await withdrawPendingOffers(sqlIn(tx), sessionId, now);
      const unstarted = (current.kind === 'CALL' && current.state === 'SCHEDULED') || (current.kind === 'VIDEO' && current.state === 'WAITING' && !current.assignedAgentId);
      if (unstarted) {
        // The window starts once the routing lock is held, as in a routing round.
        const offeredAt = new Date();
        const expiresAt = new Date(offeredAt.getTime() + this.settings.offerTimeoutMs);
        const offer = await createOffer(tx, { sessionId, agentId, offeredAt, expiresAt });
        await appendAudit(tx, {
          actor: { type: 'USER', id: supervisorId },
          entity: { type: 'session', id: sessionId },
          event: { action: 'offer.created', v: 1, data: { sessionId, agentId, expiresAt: expiresAt.toISOString() } },
          requestId,
        });
        return { session: current, offer, withdrawn };
      }
      if ((await assignAgent(tx, sessionId, agentId, { version: current.version })) === undefined) throw new AppError('SESSION_STATE_CONFLICT', 'The session changed meanwhile; retry');
      await appendAudit(tx, {
        actor: { type: 'USER', id: supervisorId },
        entity: { type: 'session', id: sessionId },
        event: { action: 'session.reassigned', v: 1, data: { fromAgentId: current.assignedAgentId, toAgentId: agentId } },
        requestId,
      });
      return { session: await tx.verificationSession.findUniqueOrThrow({ where: { id: sessionId } }), offer: undefined, withdrawn };
    });
    for (const w of withdrawn) {
      this.realtime.toAgent(w.agentId, 'offer:closed', { v: 1, offerId: w.id, status: 'WITHDRAWN' });
      this.realtime.toSupervisors('offer:changed', { v: 1, offerId: w.id, sessionId, agentId: w.agentId, status: 'WITHDRAWN' });
    }
    if (offer) {
      this.realtime.toAgent(agentId, 'offer:new', { v: 1, offerId: offer.id, sessionId, kind: session.kind, expiresAt: offer.expiresAt.toISOString() });
      this.realtime.toSupervisors('offer:changed', { v: 1, offerId: offer.id, sessionId, agentId, status: 'PENDING' });
      await this.queues.enqueue('offer-timeout', { offerId: offer.id }, { jobId: `offer-${offer.id}`, delayMs: this.settings.offerTimeoutMs });
    } else {
      this.engine.announce(session);
      this.realtime.toAgent(agentId, 'session:changed', { v: 1, sessionId, state: session.state, version: session.version });
    }
    return session;
  }

  async decline(offerId: string, agentId: string, requestId?: string): Promise<void> {
    await this.close(offerId, 'DECLINED', { agentId, requestId });
  }

  /** The offer-timeout job: the agent did not answer in time. */
  async expire(offerId: string): Promise<void> {
    await this.close(offerId, 'EXPIRED', { dueBy: new Date() });
  }

  /** Expires offers whose timeout job was lost (a crash before it was queued, Redis data loss). */
  async expireOverdue(now = new Date()): Promise<number> {
    const overdue = await this.db.sessionOffer.findMany({ where: { status: 'PENDING', expiresAt: { lte: now } }, select: { id: true }, take: 500 });
    let expired = 0;
    for (const { id } of overdue) if (await this.close(id, 'EXPIRED', { dueBy: now })) expired += 1;
    return expired;
  }

  /** An agent went away: their pending offers go to someone else. */
  async withdrawFrom(agentId: string): Promise<void> {
    const pending = await this.db.sessionOffer.findMany({ where: { agentId, status: 'PENDING' }, select: { id: true } });
    for (const { id } of pending) await this.close(id, 'WITHDRAWN', {});
  }

  private async close(offerId: string, status: 'DECLINED' | 'EXPIRED' | 'WITHDRAWN', opts: { agentId?: string; requestId?: string | undefined; dueBy?: Date }): Promise<boolean> {
    const closed = await this.db.$transaction(async (tx) => {
      const offer = await closeOffer(tx, offerId, status, { ...(opts.agentId ? { agentId: opts.agentId } : {}), ...(opts.dueBy ? { dueBy: opts.dueBy } : {}) });
      if (!offer) return undefined;
      await appendAudit(tx, {
        actor: opts.agentId ? { type: 'USER', id: opts.agentId } : { type: 'SYSTEM', id: 'dispatcher' },
        entity: { type: 'session', id: offer.sessionId },
        event: { action: 'offer.resolved', v: 1, data: { sessionId: offer.sessionId, agentId: offer.agentId, status } },
        requestId: opts.requestId,
      });
      return offer;
    });
    if (opts.agentId && !closed) throw new AppError('OFFER_NOT_AVAILABLE');
    if (!closed) return false;
    this.realtime.toAgent(closed.agentId, 'offer:closed', { v: 1, offerId, status });
    this.realtime.toSupervisors('offer:changed', { v: 1, offerId, sessionId: closed.sessionId, agentId: closed.agentId, status });
    await this.fill();
    return true;
  }
}
