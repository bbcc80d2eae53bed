// Applies session transitions. Each event is read in one statement and written in one: a conditional
// update on (state, version) that, only when it matches, also opens or ends the attempt and appends the
// audit event. Transitions with more to write in the database (a claim first, recording, offers, the
// LOS outbox, the loan file's status, review sampling) run that statement and those writes in one
// transaction. Effects that reach outside (LiveKit, queues, sockets, the LOS) run after commit; each is
// safe to repeat and the sweeper re-queues work a lost job left behind, so a crash never loses a
// session. Every call and video goes through here several times, so this is SQL on the shared pool
// (see `sqlTransaction`), not Prisma.
import { randomUUID } from 'node:crypto';
import { sqlAutocommit, sqlTransaction, type Db, type Sql } from '../db/client.js';
import type { Logger } from '../logging.js';
import { AppError } from '../shared/errors.js';
import type { AuditEntry } from '../audit/audit.service.js';
import type { JobQueues } from '../jobs/queues.js';
import type { RealtimeEmitter } from '../realtime/events.js';
import type { VideoPlatform } from '../livekit/video-platform.js';
import { recordingStartJobId, type RecordingService } from '../../recordings/recording.service.js';
import { InvalidTransition, TERMINAL_STATES, transition, type LosEventType, type SessionEffect, type SessionEvent, type Transition } from './session-state.js';
import { recomputeLoanFileStatus } from './loan-file-status.js';
import { markRecordingRequested, readForTransition, withdrawPendingOffers, writeTransition, type Attempt, type Session } from './verification.repository.js';
import { standingOf } from './loan-file-standing.js';
import type { DomainEvents } from '../events/domain-events.js';
import type { LosEventInput } from '../loan-files/los-webhooks.service.js';

/** Where verification results go (the LOS outbox); recorded in the transaction, sent after commit. */
export interface LosEventSink {
  record(sql: Sql, event: LosEventInput): Promise<string>;
  dispatch(deliveryId: string): Promise<void>;
}

export interface EngineSettings {
  noShowTimeoutMs: number;
}

export interface ApplyContext {
  actor: AuditEntry['actor'];
  requestId?: string | undefined;
  /** Refuse unless the session is still at this version (a stale job or a concurrent click). */
  expectVersion?: number;
  /** Extra session fields written with the transition (e.g. the assigned agent, the decision note). */
  data?: Partial<Pick<Session, 'assignedAgentId' | 'decidedById' | 'decisionNote' | 'endReason' | 'lastDialOutcome' | 'notBefore'>>;
  /** Runs inside the transaction before the state changes (e.g. claiming the offer being accepted). */
  inTx?: (sql: Sql, session: Session) => Promise<void>;
}

export interface Applied {
  session: Session;
  transition: Transition;
  attempt: Attempt | undefined;
}

export interface SessionEngineOptions {
  db: Db;
  queues: JobQueues;
  realtime: RealtimeEmitter;
  los: LosEventSink;
  media: { platform: VideoPlatform; recordings: RecordingService } | undefined;
  settings: EngineSettings;
  log: Logger;
  /** Where a completion is published in its transaction, and a need for routing after commit. */
  events: DomainEvents;
}

export class SessionEngine {

  private readonly db: Db;
  private readonly queues: JobQueues;
  private readonly realtime: RealtimeEmitter;
  private readonly los: LosEventSink;
  private readonly media: { platform: VideoPlatform; recordings: RecordingService } | undefined;
  private readonly settings: EngineSettings;
  private readonly log: Logger;
  private readonly events: DomainEvents;

  constructor(options: SessionEngineOptions) {
    this.db = options.db;
    this.queues = options.queues;
    this.realtime = options.realtime;
    this.los = options.los;
    this.media = options.media;
    this.settings = options.settings;
    this.log = options.log;
    this.events = options.events;
  }

  async apply(sessionId: string, event: SessionEvent, ctx: ApplyContext): Promise<Applied> {
    const after: (() => Promise<void>)[] = [];
    // Read outside any transaction: every write below is conditional on the (state, version) read here.
    const read = await readForTransition(sqlAutocommit(this.db), sessionId);
    if (!read) throw new AppError('NOT_FOUND', `No session ${sessionId}`);
    const { current, loanFile, latest } = read;
    if (ctx.expectVersion !== undefined && current.version !== ctx.expectVersion) {
      throw new AppError('SESSION_STATE_CONFLICT', `The session is at version ${current.version}, not ${ctx.expectVersion}`);
    }
    let t: Transition;
    try {
      t = transition({ state: current.state, kind: current.kind }, event);
    } catch (error) {
      if (error instanceof InvalidTransition) throw new AppError('SESSION_STATE_CONFLICT', `${event.type} is not possible while the session is ${current.state}`);
      throw error;
    }
    const now = new Date();
    const opens = t.effects.some((e) => e.type === 'openAttempt');
    const ends = t.effects.find((e): e is Extract<SessionEffect, { type: 'endAttempt' }> => e.type === 'endAttempt');
    const open = opens ? { id: randomUUID(), number: current.attemptCount + 1, agentId: ctx.data?.assignedAgentId ?? current.assignedAgentId } : undefined;
    // Moving between open states (due, dialling, retry pending…) leaves a file in verification as it is.
    const stillOpen = standingOf(current) === 'PENDING' && standingOf({ state: t.next, outcome: t.outcome ?? current.outcome }) === 'PENDING' && loanFile.status === 'IN_VERIFICATION';
    const recompute = current.state !== t.next && !stillOpen;
    // Most transitions are this one statement (no BEGIN/COMMIT); the rest wrap it in a transaction
    // with the writes that need one (a claim before it, effects with statements of their own after).
    const needsTransaction = ctx.inTx !== undefined || recompute || t.next === 'COMPLETED' || t.effects.some((e) => EFFECTS_WITH_STATEMENTS.has(e.type));
    const write = async (sql: Sql): Promise<Applied> => {
      await ctx.inTx?.(sql, current);
      const written = await writeTransition(sql, {
        current,
        write: {
          ...ctx.data,
          state: t.next,
          attemptCount: open ? open.number : current.attemptCount,
          ...(t.outcome ? { outcome: t.outcome } : {}),
          ...(TERMINAL_STATES.has(t.next) ? { completedAt: now } : {}),
          ...scheduleFields(t.effects, event),
        },
        now,
        open,
        end: ends && latest ? { attemptId: latest.id, reason: ends.reason } : undefined,
        audit: {
          actor: ctx.actor,
          entity: { type: 'session', id: sessionId },
          event: {
            action: 'session.transitioned',
            v: 1,
            data: { from: current.state, to: t.next, event: event.type, version: current.version + 1, ...(t.outcome ? { outcome: t.outcome } : {}), ...detailOf(event) },
          },
          requestId: ctx.requestId,
        },
      });
      if (!written) throw new AppError('SESSION_STATE_CONFLICT', 'The session changed while this was being applied; retry');
      const { session } = written;
      const attempt = written.opened ?? latest;
      for (const effect of t.effects) {
        await this.inTransaction(sql, effect, { session, attempt, loanFile, now }, after);
      }
      if (t.next === 'COMPLETED') await this.events.publish(sql, { type: 'session.completed', session, loanFile });
      if (recompute) await recomputeLoanFileStatus(sql, current.loanFileId, ctx.actor, ctx.requestId);
      return { session, transition: t, attempt };
    };
    const applied = needsTransaction ? await sqlTransaction(this.db, write) : await write(sqlAutocommit(this.db));

    this.announce(applied.session);
    if (applied.transition.next === 'EXHAUSTED') {
      const s = applied.session;
      this.realtime.toSupervisors('alert', { v: 1, kind: 'retries_exhausted', sessionId: s.id, message: `No attempt reached the party (${s.attemptCount} of ${s.maxAttempts} made${s.lastDialOutcome ? `, last: ${s.lastDialOutcome}` : ''}); the session is exhausted` });
    }
    for (const run of after) {
      try {
        await run();
      } catch (error) {
        // The sweeper and the reconciler pick up what failed here; say so loudly.
        this.log.error({ sessionId, err: error }, 'a session effect failed after commit');
      }
    }
    return applied;
  }

  /** Tells everyone following the session that it changed (they refetch over HTTP). */
  announce(session: Pick<Session, 'id' | 'state' | 'version' | 'assignedAgentId'>): void {
    const payload = { v: 1 as const, sessionId: session.id, state: session.state, version: session.version };
    // Watchers, supervisors and the assigned agent in one broadcast (a socket in several gets it once).
    this.realtime.toSessionWatchers(session.id, 'session:changed', payload, { andSupervisors: true, ...(session.assignedAgentId ? { andAgent: session.assignedAgentId } : {}) });
    this.realtime.toParty(session.id, 'session:changed', payload);
  }

  private async inTransaction(
    sql: Sql,
    effect: SessionEffect,
    ctx: { session: Session; attempt: Attempt | undefined; loanFile: { id: string; externalRef: string }; now: Date },
    after: (() => Promise<void>)[],
  ): Promise<void> {
    const { session, attempt, now } = ctx;
    switch (effect.type) {
      case 'openAttempt':
      case 'endAttempt':
        return; // written with the state change (writeTransition)
      case 'dial':
        if (attempt) after.push(() => this.queues.enqueue('session-dial', { sessionId: session.id, attemptId: attempt.id }, { jobId: `dial-${attempt.id}` }));
        return;
      case 'startRecording':
        if (!attempt) return;
        await markRecordingRequested(sql, attempt.id, now, session.kind === 'CALL');
        after.push(() => this.startRecording(session.id, attempt.id));
        return;
      case 'stopRecording':
        if (attempt && this.media) {
          const media = this.media;
          after.push(() => media.recordings.stopForAttempt(attempt.id));
        }
        return;
      case 'closeRoom':
        if (attempt && this.media) {
          const media = this.media;
          after.push(() => media.platform.deleteRoom(attempt.roomName));
        }
        return;
      case 'scheduleDue':
        after.push(() =>
          this.queues.enqueue('session-due', { sessionId: session.id }, { jobId: `due-${session.id}-${session.version}`, delayMs: Math.max(0, effect.at.getTime() - Date.now()) }),
        );
        return;
      case 'scheduleNoShow':
        after.push(() =>
          this.queues.enqueue(
            'session-no-show',
            { sessionId: session.id, version: session.version },
            { jobId: `noshow-${session.id}-${session.version}`, delayMs: this.settings.noShowTimeoutMs },
          ),
        );
        return;
      case 'routeToAgent':
      case 'releaseAgent':
        after.push(() => this.events.publishCommitted({ type: 'routing.needed' }));
        return;
      case 'withdrawOffers': {
        const pending = await withdrawPendingOffers(sql, session.id, now);
        after.push(async () => {
          for (const offer of pending) this.realtime.toAgent(offer.agentId, 'offer:closed', { v: 1, offerId: offer.id, status: 'WITHDRAWN' });
        });
        return;
      }
      case 'notifyLos': {
        const deliveryId = await this.los.record(sql, {
          type: effect.event,
          loanFileId: ctx.loanFile.id,
          externalRef: ctx.loanFile.externalRef,
          data: losData(effect.event, session),
        });
        after.push(() => this.los.dispatch(deliveryId));
        return;
      }
    }
  }

  /**
   * Queues the recording's start (the 'recording-start' job retries it and alerts supervisors): the
   * caller, often a dial job, must not wait for LiveKit's egress. A job lost before it reached Redis
   * is queued again by the recordings' sweep, which finds the attempt's `recordingStartedAt` set.
   */
  private async startRecording(sessionId: string, attemptId: string): Promise<void> {
    if (!this.media) return;
    await this.queues.enqueue('recording-start', { sessionId, attemptId }, { jobId: recordingStartJobId(attemptId) });
  }
}

/** Effects that write with statements of their own (so the transition runs in a transaction). */
const EFFECTS_WITH_STATEMENTS: ReadonlySet<SessionEffect['type']> = new Set(['startRecording', 'withdrawOffers', 'notifyLos']);

function scheduleFields(effects: SessionEffect[], event: SessionEvent): Partial<Session> {
  const due = effects.find((e): e is Extract<SessionEffect, { type: 'scheduleDue' }> => e.type === 'scheduleDue');
  if (!due) return event.type === 'RETRY_DUE' ? { nextAttemptAt: null } : {};
  return event.type === 'RESCHEDULED' ? { notBefore: due.at, nextAttemptAt: null } : { nextAttemptAt: due.at };
}

function detailOf(event: SessionEvent): { detail?: string } {
  switch (event.type) {
    case 'DIAL_FAILED':
    case 'NO_SHOW':
      return { detail: event.retry.kind === 'retry' ? `retry at ${event.retry.notBefore.toISOString()}` : event.retry.reason };
    case 'CANCELLED':
    case 'HANDED_TO_PERSON':
      return { detail: event.reason.slice(0, 200) };
    case 'RESCHEDULED':
      return { detail: event.notBefore.toISOString() };
    default:
      return {};
  }
}

function losData(event: LosEventType, session: Session): LosEventInput['data'] {
  return {
    sessionId: session.id,
    partyId: session.partyId,
    kind: session.kind,
    state: session.state,
    outcome: session.outcome,
    attempts: session.attemptCount,
    endReason: session.endReason,
    event,
  };
}
