// Applies session transitions. One transaction per event: a conditional update on (state, version),
// the effects that are database writes, and the audit event. Effects that reach outside (LiveKit,
// queues, sockets, the LOS) run after commit; each is safe to repeat and the sweeper re-queues work a
// lost job left behind, so a crash never loses a session.
import { randomUUID } from 'node:crypto';
import type { Db, Tx } from '../db/client.js';
import type { Attempt, VerificationSession } from '../db/generated/prisma/client.js';
import type { Logger } from '../logging.js';
import { AppError } from '../http/errors.js';
import { appendAudit, type AuditEntry } from '../audit/audit.service.js';
import type { JobQueues } from '../jobs/queues.js';
import type { RealtimeEmitter } from '../realtime/events.js';
import { roomNameFor } from '../livekit/identities.js';
import type { VideoPlatform } from '../livekit/video-platform.js';
import type { RecordingService } from '../../recordings/recording.service.js';
import { InvalidTransition, TERMINAL_STATES, transition, type LosEventType, type SessionEffect, type SessionEvent, type Transition } from './session-state.js';
import { recomputeLoanFileStatus, standingOf } from './loan-file-status.js';
import type { LosEventInput } from '../loan-files/los-webhooks.js';

/** Where verification results go (the LOS outbox); recorded in the transaction, sent after commit. */
export interface LosEventSink {
  record(tx: Tx, event: LosEventInput): Promise<string>;
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
  data?: Partial<Pick<VerificationSession, 'assignedAgentId' | 'decidedById' | 'decisionNote' | 'endReason' | 'lastDialOutcome' | 'notBefore'>>;
  /** Runs inside the transaction before the state changes (e.g. claiming the offer being accepted). */
  inTx?: (tx: Tx, session: VerificationSession) => Promise<void>;
}

export interface Applied {
  session: VerificationSession;
  transition: Transition;
  attempt: Attempt | undefined;
}

export class SessionEngine {
  /** Set by the dispatcher: an agent became free, or a session needs one. */
  onRoutingNeeded: () => Promise<void> = async () => undefined;
  /** Runs inside the transaction that completes a session (review sampling, wired in main.ts). */
  onCompletedInTx: (tx: Tx, session: VerificationSession, loanFile: { amount: { toFixed(d: number): string } }) => Promise<void> = async () => undefined;

  constructor(
    private readonly db: Db,
    private readonly queues: JobQueues,
    private readonly realtime: RealtimeEmitter,
    private readonly los: LosEventSink,
    private readonly media: { platform: VideoPlatform; recordings: RecordingService } | undefined,
    private readonly settings: EngineSettings,
    private readonly log: Logger,
  ) {}

  async apply(sessionId: string, event: SessionEvent, ctx: ApplyContext): Promise<Applied> {
    const after: (() => Promise<void>)[] = [];
    const applied = await this.db.$transaction(async (tx) => {
      // The session, its loan file and its latest attempt in one query.
      const found = await tx.verificationSession.findUnique({ where: { id: sessionId }, include: { loanFile: true, attempts: { orderBy: { number: 'desc' }, take: 1 } } });
      if (!found) throw new AppError('NOT_FOUND', `No session ${sessionId}`);
      const { attempts: latest, ...current } = found;
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
      await ctx.inTx?.(tx, current);

      const now = new Date();
      let attempt = latest[0] ?? null;
      let attemptCount = current.attemptCount;
      if (t.effects.some((e) => e.type === 'openAttempt')) {
        const id = randomUUID();
        attemptCount += 1;
        attempt = await tx.attempt.create({
          data: { id, sessionId, number: attemptCount, roomName: roomNameFor(id), agentId: ctx.data?.assignedAgentId ?? current.assignedAgentId },
        });
      }

      const [session] = await tx.verificationSession.updateManyAndReturn({
        where: { id: sessionId, state: current.state, version: current.version },
        data: {
          ...ctx.data,
          state: t.next,
          version: { increment: 1 },
          attemptCount,
          ...(t.outcome ? { outcome: t.outcome } : {}),
          ...(TERMINAL_STATES.has(t.next) ? { completedAt: now } : {}),
          ...scheduleFields(t.effects, event),
        },
      });
      if (!session) throw new AppError('SESSION_STATE_CONFLICT', 'The session changed while this was being applied; retry');

      for (const effect of t.effects) {
        await this.inTransaction(tx, effect, { session, attempt, loanFile: current.loanFile, now }, after);
      }
      await appendAudit(tx, {
        actor: ctx.actor,
        entity: { type: 'session', id: sessionId },
        event: {
          action: 'session.transitioned',
          v: 1,
          data: { from: current.state, to: t.next, event: event.type, version: session.version, ...(t.outcome ? { outcome: t.outcome } : {}), ...detailOf(event) },
        },
        requestId: ctx.requestId,
      });
      if (t.next === 'COMPLETED') await this.onCompletedInTx(tx, session, current.loanFile);
      // Moving between open states (due, dialling, retry pending…) leaves a file in verification as it is.
      const stillOpen = standingOf(current) === 'PENDING' && standingOf(session) === 'PENDING' && current.loanFile.status === 'IN_VERIFICATION';
      if (current.state !== t.next && !stillOpen) await recomputeLoanFileStatus(tx, current.loanFileId, ctx.actor, ctx.requestId);
      return { session, transition: t, attempt: attempt ?? undefined };
    });

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
        this.log.error({ sessionId, err: { message: (error as Error).message } }, 'a session effect failed after commit');
      }
    }
    return applied;
  }

  /** Tells everyone following the session that it changed (they refetch over HTTP). */
  announce(session: Pick<VerificationSession, 'id' | 'state' | 'version' | 'assignedAgentId'>): void {
    const payload = { v: 1 as const, sessionId: session.id, state: session.state, version: session.version };
    // Watchers, supervisors and the assigned agent in one broadcast (a socket in several gets it once).
    this.realtime.toSessionWatchers(session.id, 'session:changed', payload, { andSupervisors: true, ...(session.assignedAgentId ? { andAgent: session.assignedAgentId } : {}) });
    this.realtime.toParty(session.id, 'session:changed', payload);
  }

  private async inTransaction(
    tx: Tx,
    effect: SessionEffect,
    ctx: { session: VerificationSession; attempt: Attempt | null; loanFile: { id: string; externalRef: string }; now: Date },
    after: (() => Promise<void>)[],
  ): Promise<void> {
    const { session, attempt, now } = ctx;
    switch (effect.type) {
      case 'openAttempt':
        return; // done above, before the state changed
      case 'dial':
        if (attempt) after.push(() => this.queues.enqueue('session-dial', { sessionId: session.id, attemptId: attempt.id }, { jobId: `dial-${attempt.id}` }));
        return;
      case 'startRecording':
        if (!attempt) return;
        await tx.attempt.update({ where: { id: attempt.id }, data: { recordingStartedAt: now, ...(session.kind === 'CALL' ? { answeredAt: now } : {}) } });
        after.push(() => this.startRecording(session.id, attempt.id));
        return;
      case 'stopRecording':
        if (attempt && this.media) {
          const media = this.media;
          after.push(() => media.recordings.stopForAttempt(attempt.id));
        }
        return;
      case 'endAttempt':
        if (attempt) await tx.attempt.updateMany({ where: { id: attempt.id, endedAt: null }, data: { endedAt: now, endReason: effect.reason } });
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
        after.push(() => this.onRoutingNeeded());
        return;
      case 'withdrawOffers': {
        const pending = await tx.sessionOffer.findMany({ where: { sessionId: session.id, status: 'PENDING' } });
        await tx.sessionOffer.updateMany({ where: { sessionId: session.id, status: 'PENDING' }, data: { status: 'WITHDRAWN', resolvedAt: now } });
        after.push(async () => {
          for (const offer of pending) this.realtime.toAgent(offer.agentId, 'offer:closed', { v: 1, offerId: offer.id, status: 'WITHDRAWN' });
        });
        return;
      }
      case 'notifyLos': {
        const deliveryId = await this.los.record(tx, {
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

  private async startRecording(sessionId: string, attemptId: string): Promise<void> {
    if (!this.media) return;
    try {
      await this.media.recordings.startForAttempt(attemptId);
    } catch (firstError) {
      try {
        await this.media.recordings.startForAttempt(attemptId);
      } catch {
        this.realtime.toSupervisors('alert', { v: 1, kind: 'recording_not_started', sessionId, message: 'The recording could not be started' });
        throw firstError;
      }
    }
  }
}

function scheduleFields(effects: SessionEffect[], event: SessionEvent): Partial<VerificationSession> {
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
      return { detail: event.reason.slice(0, 200) };
    case 'RESCHEDULED':
      return { detail: event.notBefore.toISOString() };
    default:
      return {};
  }
}

function losData(event: LosEventType, session: VerificationSession): LosEventInput['data'] {
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
