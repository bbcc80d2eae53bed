// What the background jobs do to sessions. Every handler re-reads the session and acts only if it is
// still in the state the job was meant for, so duplicated, late or re-delivered jobs are harmless.
// Dialling claims the attempt with a conditional update before calling LiveKit: one dial per attempt,
// however many workers receive the job.
import type { Db } from '../db/client.js';
import type { Logger } from '../logging.js';
import { AppError } from '../http/errors.js';
import { appendAudit } from '../audit/audit.service.js';
import type { JobQueues } from '../jobs/queues.js';
import type { LiveKitSignal } from '../livekit/livekit-events.service.js';
import { sipPartyIdentity } from '../livekit/identities.js';
import { isPresent } from '../livekit/participants.js';
import type { VideoPlatform } from '../livekit/video-platform.js';
import { isWithinCallingHours, nextAllowedInstant, type CallingHours } from './calling-hours.js';
import { decideRetry, DEFAULT_RETRY_POLICY, type AttemptFailure, type RetryDecision } from './retry-policy.js';
import type { Dispatcher } from './dispatcher.js';
import type { SessionEngine } from './session-engine.js';
import type { SessionEvent } from './session-state.js';

const SYSTEM = { type: 'SYSTEM', id: 'scheduler' } as const;

export interface SessionJobSettings {
  callingHours: CallingHours;
  reconnectGraceMs: number;
}

export class SessionJobs {
  constructor(
    private readonly db: Db,
    private readonly engine: SessionEngine,
    private readonly dispatcher: Dispatcher,
    private readonly queues: JobQueues,
    private readonly platform: VideoPlatform | undefined,
    private readonly settings: SessionJobSettings,
    private readonly log: Logger,
    private readonly inviter?: { invite(sessionId: string, template: 'missed'): Promise<void> },
  ) {}

  /** Applies an event if the session still allows it; a conflict means someone else already moved it on. */
  private async tryApply(sessionId: string, event: SessionEvent, expectVersion?: number): Promise<boolean> {
    try {
      await this.engine.apply(sessionId, event, { actor: SYSTEM, ...(expectVersion !== undefined ? { expectVersion } : {}) });
      return true;
    } catch (error) {
      if (error instanceof AppError && (error.code === 'SESSION_STATE_CONFLICT' || error.code === 'NOT_FOUND')) return false;
      throw error;
    }
  }

  async due(sessionId: string, now = new Date()): Promise<void> {
    let session = await this.db.verificationSession.findUnique({ where: { id: sessionId }, include: { party: { select: { timeZone: true } } } });
    if (!session) return;
    if (session.state === 'RETRY_PENDING') {
      if (session.nextAttemptAt && session.nextAttemptAt > now) return this.requeueDue(sessionId, session.version, session.nextAttemptAt);
      if (!(await this.tryApply(sessionId, { type: 'RETRY_DUE' }, session.version))) return;
      session = await this.db.verificationSession.findUniqueOrThrow({ where: { id: sessionId }, include: { party: { select: { timeZone: true } } } });
    }
    if (session.state !== 'SCHEDULED') return;
    if (session.notBefore > now) return this.requeueDue(sessionId, session.version, session.notBefore);

    if (session.kind === 'VIDEO') {
      await this.tryApply(sessionId, { type: 'APPOINTMENT_DUE' }, session.version);
      return;
    }
    if (!isWithinCallingHours(now, session.party.timeZone, this.settings.callingHours)) {
      const next = nextAllowedInstant(now, session.party.timeZone, this.settings.callingHours);
      if (!next || next > session.deadline) {
        await this.tryApply(sessionId, { type: 'DEADLINE_PASSED' });
        return;
      }
      await this.defer(sessionId, session.version, session.notBefore, next, 'outside_calling_hours');
      return;
    }
    await this.dispatcher.fill(now);
  }

  private async requeueDue(sessionId: string, version: number, at: Date): Promise<void> {
    await this.queues.enqueue('session-due', { sessionId }, { jobId: `due-${sessionId}-${version}-${at.getTime()}`, delayMs: Math.max(0, at.getTime() - Date.now()) });
  }

  /** Moves a call's not-before to the party's next calling window (no state change). */
  private async defer(sessionId: string, version: number, from: Date, to: Date, reason: string): Promise<void> {
    const moved = await this.db.$transaction(async (tx) => {
      const { count } = await tx.verificationSession.updateMany({ where: { id: sessionId, state: 'SCHEDULED', version }, data: { notBefore: to, version: { increment: 1 } } });
      if (count === 0) return false;
      await appendAudit(tx, {
        actor: SYSTEM,
        entity: { type: 'session', id: sessionId },
        event: { action: 'session.deferred', v: 1, data: { from: from.toISOString(), to: to.toISOString(), reason } },
      });
      return true;
    });
    if (moved) await this.requeueDue(sessionId, version + 1, to);
  }

  /** Places the call of an accepted session, exactly once per attempt. */
  async dial(sessionId: string, attemptId: string, now = new Date()): Promise<void> {
    const claimed = await this.db.attempt.updateMany({ where: { id: attemptId, sessionId, dialClaimedAt: null, endedAt: null }, data: { dialClaimedAt: now } });
    if (claimed.count === 0) return; // another worker has it, or it is over
    const session = await this.db.verificationSession.findUniqueOrThrow({ where: { id: sessionId }, include: { party: true } });
    if (session.state !== 'DISPATCHING') return;
    const attempt = await this.db.attempt.findUniqueOrThrow({ where: { id: attemptId } });

    if (!isWithinCallingHours(now, session.party.timeZone, this.settings.callingHours)) {
      // The window closed between the offer and the dial: not a failure of the party's.
      const next = nextAllowedInstant(now, session.party.timeZone, this.settings.callingHours);
      const retry: RetryDecision = next && next <= session.deadline ? { kind: 'retry', notBefore: next, countsAgainstLimit: false } : { kind: 'exhausted', reason: 'deadline_passed' };
      await this.tryApply(sessionId, { type: 'DIAL_FAILED', retry });
      return;
    }
    if (!this.platform) {
      await this.failDial(session, attemptId, 'TRUNK_UNAVAILABLE', now);
      return;
    }

    let result: Awaited<ReturnType<VideoPlatform['dial']>>;
    try {
      await this.platform.createRoom({ name: attempt.roomName, maxParticipants: 3, metadata: { sessionId, attemptId } });
      result = await this.platform.dial({ room: attempt.roomName, phoneE164: session.party.phoneE164, identity: sipPartyIdentity(attemptId) });
    } catch (error) {
      // Never dial the same attempt twice: an unexpected error fails the attempt, the retry is a new one.
      this.log.warn({ sessionId, attemptId, err: { message: (error as Error).message } }, 'dial failed unexpectedly');
      await this.failDial(session, attemptId, 'CARRIER_FAILURE', now);
      return;
    }
    if (result.outcome === 'ANSWERED') {
      await this.db.attempt.update({ where: { id: attemptId }, data: { dialOutcome: 'ANSWERED', sipCallId: result.sipCallId } });
      await this.tryApply(sessionId, { type: 'CALL_ANSWERED' });
      return;
    }
    this.log.info({ sessionId, attemptId, outcome: result.outcome, sipStatusCode: result.sipStatusCode }, 'call not answered');
    await this.failDial(session, attemptId, result.outcome, now);
  }

  private async failDial(session: { id: string; deadline: Date; maxAttempts: number; party: { timeZone: string } }, attemptId: string, failure: Exclude<AttemptFailure, 'NO_SHOW' | 'DISCONNECTED'>, now: Date): Promise<void> {
    await this.db.attempt.update({ where: { id: attemptId }, data: { dialOutcome: failure } });
    await this.db.verificationSession.update({ where: { id: session.id }, data: { lastDialOutcome: failure } });
    const retry = await this.retryDecision(session, failure, now);
    await this.tryApply(session.id, { type: 'DIAL_FAILED', retry });
  }

  /** The retry policy's decision, moved into the party's calling hours and checked against the deadline. */
  private async retryDecision(session: { id: string; deadline: Date; maxAttempts: number; party: { timeZone: string } }, failure: AttemptFailure, now: Date): Promise<RetryDecision> {
    const attempts = await this.db.attempt.findMany({ where: { sessionId: session.id }, select: { dialOutcome: true, endReason: true } });
    const kindOf = (a: { dialOutcome: string | null; endReason: string | null }): string | null => (a.endReason === 'no_show' ? 'NO_SHOW' : a.endReason === 'party_disconnected' ? 'DISCONNECTED' : a.dialOutcome);
    const sameKind = attempts.filter((a) => kindOf(a) === failure).length + (failure === 'NO_SHOW' || failure === 'DISCONNECTED' ? 1 : 0);
    const counted = attempts.filter((a) => {
      const k = kindOf(a);
      return k !== null && k !== 'ANSWERED' && DEFAULT_RETRY_POLICY.countsAgainstLimit[k as AttemptFailure];
    }).length + (failure === 'NO_SHOW' || failure === 'DISCONNECTED' ? 1 : 0);
    const decision = decideRetry({ failure, failuresOfThisKind: Math.max(1, sameKind), countedAttempts: counted, maxAttempts: session.maxAttempts, now, deadline: session.deadline });
    if (decision.kind !== 'retry') return decision;
    const inHours = nextAllowedInstant(decision.notBefore, session.party.timeZone, this.settings.callingHours);
    if (!inHours || inHours > session.deadline) return { kind: 'exhausted', reason: 'deadline_passed' };
    return { ...decision, notBefore: inHours };
  }

  async noShow(sessionId: string, version: number, now = new Date()): Promise<void> {
    const session = await this.db.verificationSession.findUnique({ where: { id: sessionId }, include: { party: { select: { timeZone: true } } } });
    if (!session || session.state !== 'DISPATCHING' || session.version !== version) return;
    const retry = await this.retryDecision(session, 'NO_SHOW', now);
    const applied = await this.tryApply(sessionId, { type: 'NO_SHOW', retry }, version);
    // Tell the party when we will try again, with a fresh link.
    if (applied && retry.kind === 'retry') await this.inviter?.invite(sessionId, 'missed');
  }

  async deadline(sessionId: string): Promise<void> {
    await this.tryApply(sessionId, { type: 'DEADLINE_PASSED' });
  }

  /** The party dropped out of a video session: unless they are back by now, the attempt is over. */
  async reconnectGrace(sessionId: string, attemptId: string): Promise<void> {
    const session = await this.db.verificationSession.findUnique({ where: { id: sessionId } });
    if (!session || session.state !== 'IN_PROGRESS') return;
    const current = await this.db.attempt.findFirst({ where: { sessionId }, orderBy: { number: 'desc' }, include: { participants: { where: { kind: 'PARTY' } } } });
    if (!current || current.id !== attemptId) return;
    // Ending a live attempt must not rest on webhooks that may be late: ask LiveKit who is in the room.
    const live = this.platform ? await this.platform.listParticipants(current.roomName) : undefined;
    const back = live ? live.some((p) => p.role === 'PARTY') : current.participants.some((p) => isPresent(p));
    if (back) return; // back within the grace: same attempt
    await this.tryApply(sessionId, { type: 'RECONNECT_GRACE_EXPIRED' }, session.version);
  }

  /** Turns what LiveKit reported into session events. */
  async onLiveKitSignals(signals: LiveKitSignal[]): Promise<void> {
    for (const signal of signals) {
      const attempt = await this.db.attempt.findUnique({ where: { id: signal.attemptId }, include: { session: true } });
      if (!attempt) continue;
      const session = attempt.session;
      const latest = await this.db.attempt.findFirst({ where: { sessionId: session.id }, orderBy: { number: 'desc' }, select: { id: true } });
      if (latest?.id !== attempt.id) continue; // news about an earlier attempt changes nothing

      if (signal.kind === 'room-finished') {
        if (session.state === 'IN_PROGRESS') await this.tryApply(session.id, { type: 'CONVERSATION_ENDED' }, session.version);
        continue;
      }
      if (signal.kind !== 'participant') continue;
      if (signal.role === 'PARTY' && session.kind === 'CALL') {
        if (signal.sipCallStatus === 'ringing' && session.state === 'DISPATCHING') await this.tryApply(session.id, { type: 'CALL_RINGING' }, session.version);
        else if (!signal.present && session.state === 'IN_PROGRESS') await this.tryApply(session.id, { type: 'CONVERSATION_ENDED' }, session.version);
      } else if (signal.role === 'PARTY' && session.kind === 'VIDEO') {
        if (!signal.present && session.state === 'IN_PROGRESS') {
          await this.queues.enqueue(
            'session-reconnect-grace',
            { sessionId: session.id, attemptId: attempt.id },
            { jobId: `grace-${attempt.id}-${Date.now()}`, delayMs: this.settings.reconnectGraceMs },
          );
        }
      } else if (signal.role === 'AGENT' && session.kind === 'VIDEO' && signal.present && session.state === 'WAITING') {
        if (session.assignedAgentId && signal.identity === `agent-${session.assignedAgentId}`) {
          await this.tryApply(session.id, { type: 'AGENT_JOINED', agentId: session.assignedAgentId }, session.version);
        }
      }
    }
  }

  /**
   * Re-queues work whose job was lost (a Redis restart, a crash between commit and enqueue): due
   * sessions, retries, accepted calls never dialled, overdue deadlines. Idempotent; runs on a schedule.
   */
  async sweep(now = new Date()): Promise<{ requeued: number }> {
    let requeued = 0;
    const due = await this.db.verificationSession.findMany({
      where: {
        OR: [
          { state: 'SCHEDULED', notBefore: { lte: now } },
          { state: 'RETRY_PENDING', nextAttemptAt: { lte: now } },
        ],
      },
      select: { id: true, version: true },
      take: 500,
    });
    for (const s of due) {
      await this.queues.enqueue('session-due', { sessionId: s.id }, { jobId: `due-${s.id}-${s.version}-sweep` });
      requeued += 1;
    }
    const undialled = await this.db.attempt.findMany({
      where: { dialClaimedAt: null, endedAt: null, startedAt: { lt: new Date(now.getTime() - 30_000) }, session: { kind: 'CALL', state: 'DISPATCHING' } },
      select: { id: true, sessionId: true },
      take: 500,
    });
    for (const a of undialled) {
      await this.queues.enqueue('session-dial', { sessionId: a.sessionId, attemptId: a.id }, { jobId: `dial-${a.id}-sweep` });
      requeued += 1;
    }
    const overdue = await this.db.verificationSession.findMany({
      where: { deadline: { lte: now }, state: { in: ['SCHEDULED', 'DISPATCHING', 'RINGING', 'WAITING', 'RETRY_PENDING'] } },
      select: { id: true },
      take: 500,
    });
    for (const s of overdue) {
      await this.deadline(s.id);
      requeued += 1;
    }
    await this.dispatcher.fill(now);
    return { requeued };
  }
}
