// What the background jobs do to sessions. Every handler re-reads the session and acts only if it is
// still in the state the job was meant for, so duplicated, late or re-delivered jobs are harmless.
// Dialling claims the attempt with a conditional update before calling LiveKit: one dial per attempt,
// however many workers receive the job.
import { sqlPool, type Db } from '../db/client.js';
import type { DialOutcome } from '../db/generated/prisma/enums.js';
import type { Logger } from '../logging.js';
import { AppError } from '../http/errors.js';
import { appendAudit } from '../audit/audit.service.js';
import type { JobQueues } from '../jobs/queues.js';
import type { LiveKitSignal } from '../livekit/livekit-events.service.js';
import { sipPartyIdentity } from '../livekit/identities.js';
import { isPresent } from '../livekit/participants.js';
import type { VideoPlatform } from '../livekit/video-platform.js';
import { isWithinCallingHours, nextAllowedInstant, type CallingHours } from './calling-hours.js';
import { decideRetry, DEFAULT_RETRY_POLICY, retryInCallingHours, type AttemptFailure, type RetryDecision } from './retry-policy.js';
import type { Dispatcher } from './dispatcher.js';
import type { ApplyContext, SessionEngine } from './session-engine.js';
import type { SessionEvent } from './session-state.js';

const SYSTEM = { type: 'SYSTEM', id: 'scheduler' } as const;

interface DueView {
  id: string;
  kind: 'CALL' | 'VIDEO';
  /** AUTOMATED_CALL with no hand-off yet: dialled with no agent. */
  automated: boolean;
  state: string;
  version: number;
  notBefore: Date;
  nextAttemptAt: Date | null;
  deadline: Date;
  maxAttempts: number;
  party: { timeZone: string };
}

export interface SessionJobSettings {
  callingHours: CallingHours;
  reconnectGraceMs: number;
  /** How long a job stays with a dead worker before another takes it (WORKER_LOCK_SECONDS). */
  workerLockMs: number;
  /** The longest a live dial can take (LiveKit's ringing timeout); a claim older than this plus the lock is orphaned. */
  ringingTimeoutMs: number;
}

/** Sweep job ids change this often, so a sweep job that failed never blocks a later one. */
const SWEEP_BUCKET_MS = 60_000;

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

  /** A call was answered, just before CALL_ANSWERED is applied (set in main.ts: an automated call queues its script). */
  onCallAnswered: (sessionId: string, attemptId: string) => Promise<void> = async () => undefined;

  /** Applies an event if the session still allows it; a conflict means someone else already moved it on. */
  private async tryApply(sessionId: string, event: SessionEvent, expectVersion?: number, data?: ApplyContext['data']): Promise<boolean> {
    try {
      await this.engine.apply(sessionId, event, { actor: SYSTEM, ...(expectVersion !== undefined ? { expectVersion } : {}), ...(data ? { data } : {}) });
      return true;
    } catch (error) {
      if (error instanceof AppError && (error.code === 'SESSION_STATE_CONFLICT' || error.code === 'NOT_FOUND')) return false;
      throw error;
    }
  }

  /** What the due job needs of a session (SQL on the pool: every session falls due at least once). */
  private async dueView(sessionId: string): Promise<DueView | undefined> {
    const { rows } = await sqlPool(this.db).query<Omit<DueView, 'party'> & { timeZone: string }>({
      name: 'session-due-view',
      text: `SELECT s."id", s."kind"::text AS "kind", s."state"::text AS "state", s."version", s."notBefore", s."nextAttemptAt", s."deadline", s."maxAttempts", p."timeZone",
          (s."mode" = 'AUTOMATED_CALL' AND s."handedOffAt" IS NULL) AS "automated"
        FROM "VerificationSession" s JOIN "Party" p ON p."id" = s."partyId" WHERE s."id" = $1::uuid`,
      values: [sessionId],
    });
    if (!rows[0]) return undefined;
    const { timeZone, ...session } = rows[0];
    return { ...session, party: { timeZone } };
  }

  async due(sessionId: string, now = new Date()): Promise<void> {
    let session = await this.dueView(sessionId);
    if (!session) return;
    if (session.state === 'RETRY_PENDING') {
      if (session.nextAttemptAt && session.nextAttemptAt > now) return this.requeueDue(sessionId, session.version, session.nextAttemptAt);
      if (!(await this.tryApply(sessionId, { type: 'RETRY_DUE' }, session.version))) return;
      session = await this.dueView(sessionId);
      if (!session) return;
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
    if (session.automated) {
      // No agent to offer it to: the call is placed now, through the same paced dial job.
      await this.tryApply(sessionId, { type: 'AUTOMATED_CALL_DUE' }, session.version);
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
  async dial(sessionId: string, attemptId: string, now = new Date(), opts: { finalTry?: boolean } = {}): Promise<void> {
    // The claim and what the dial needs, in one statement on the pool.
    const { rows } = await sqlPool(this.db).query<{ roomName: string; id: string; state: string; deadline: Date; maxAttempts: number; timeZone: string; phoneE164: string }>({
      name: 'attempt-dial-claim',
      text: `WITH claimed AS (
          UPDATE "Attempt" SET "dialClaimedAt" = $3::timestamptz
          WHERE "id" = $1::uuid AND "sessionId" = $2::uuid AND "dialClaimedAt" IS NULL AND "endedAt" IS NULL RETURNING "roomName"
        )
        SELECT c."roomName", s."id", s."state"::text AS "state", s."deadline", s."maxAttempts", p."timeZone", p."phoneE164"
        FROM claimed c, "VerificationSession" s JOIN "Party" p ON p."id" = s."partyId" WHERE s."id" = $2::uuid`,
      values: [attemptId, sessionId, now.toISOString()],
    });
    const claimed = rows[0];
    if (!claimed) return; // another worker has it, or it is over
    const session = { id: claimed.id, state: claimed.state, deadline: claimed.deadline, maxAttempts: claimed.maxAttempts, party: { timeZone: claimed.timeZone, phoneE164: claimed.phoneE164 } };
    if (session.state !== 'DISPATCHING') return;
    const attempt = { roomName: claimed.roomName };

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

    try {
      await this.platform.createRoom({ name: attempt.roomName, maxParticipants: 3, metadata: { sessionId, attemptId } });
    } catch (error) {
      // LiveKit itself is unreachable and no call was placed: our outage, not the party's. Give the
      // claim back and let the job retry; after the last try the attempt fails without counting.
      this.log.warn({ sessionId, attemptId, err: error }, 'LiveKit unreachable before dialling');
      if (opts.finalTry) {
        await this.failDial(session, attemptId, 'TRUNK_UNAVAILABLE', now);
        return;
      }
      await this.db.attempt.updateMany({ where: { id: attemptId, dialClaimedAt: now, dialOutcome: null }, data: { dialClaimedAt: null } });
      throw error;
    }
    // From here the call may have been placed: what it came to is written even through a database outage.
    const recordBy = new Date(now.getTime() + this.orphanedAfterMs() - this.settings.workerLockMs);
    let result: Awaited<ReturnType<VideoPlatform['dial']>>;
    // The phone rings: LiveKit sends no webhook for it, the dial itself sees it.
    let ringing: Promise<unknown> = Promise.resolve();
    const onCallStatus = (status: string) => {
      if (status !== 'ringing') return;
      ringing = this.tryApply(sessionId, { type: 'CALL_RINGING' }).catch((error: Error) => {
        this.log.warn({ sessionId, attemptId, err: error }, 'could not mark the call ringing');
      });
    };
    try {
      result = await this.platform.dial({ room: attempt.roomName, phoneE164: session.party.phoneE164, identity: sipPartyIdentity(attemptId), onCallStatus });
    } catch (error) {
      // Never dial the same attempt twice: an unexpected error fails the attempt, the retry is a new
      // one. An error here is LiveKit's or ours, never the party's, so it does not use up an attempt.
      this.log.warn({ sessionId, attemptId, err: error }, 'dial failed unexpectedly');
      await ringing;
      await this.failDial(session, attemptId, 'TRUNK_UNAVAILABLE', now, recordBy);
      return;
    }
    await ringing;
    if (result.outcome === 'ANSWERED') {
      await this.recordDialOutcome(attemptId, { dialOutcome: 'ANSWERED', sipCallId: result.sipCallId }, recordBy);
      // Told first: an automated call's script must not wait for the answer's after-commit effects
      // (starting the recording can take seconds); it waits for the state change itself.
      await this.onCallAnswered(sessionId, attemptId);
      await this.tryApply(sessionId, { type: 'CALL_ANSWERED' });
      return;
    }
    this.log.info({ sessionId, attemptId, outcome: result.outcome, sipStatusCode: result.sipStatusCode }, 'call not answered');
    await this.failDial(session, attemptId, result.outcome, now, recordBy);
  }

  /** How long after its claim a dial with no outcome is the sweep's: its worker must be gone by then. */
  private orphanedAfterMs(): number {
    return this.settings.ringingTimeoutMs + 2 * this.settings.workerLockMs;
  }

  /**
   * Writes a placed call's outcome, retrying through a database outage until `until`. Left to the
   * sweep instead, a claimed attempt with no outcome and no trace of the call (its webhooks lost in
   * the same outage, the busy call already gone from LiveKit) would look never dialled and be dialled
   * again. `until` stays one worker lock short of the sweep's orphan age.
   */
  private async recordDialOutcome(attemptId: string, data: { dialOutcome: DialOutcome; sipCallId?: string | null }, until: Date): Promise<void> {
    for (let delayMs = 200; ; delayMs = Math.min(delayMs * 2, 2_000)) {
      try {
        await sqlPool(this.db).query({
          name: 'attempt-dial-outcome',
          text: `UPDATE "Attempt" SET "dialOutcome" = $2::"DialOutcome", "sipCallId" = COALESCE($3, "sipCallId") WHERE "id" = $1::uuid`,
          values: [attemptId, data.dialOutcome, data.sipCallId ?? null],
        });
        return;
      } catch (error) {
        if (Date.now() + delayMs >= until.getTime()) throw error;
        this.log.warn({ attemptId, err: error }, 'could not record a dial outcome yet; retrying');
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  }

  private async failDial(session: { id: string; deadline: Date; maxAttempts: number; party: { timeZone: string } }, attemptId: string, failure: Exclude<AttemptFailure, 'NO_SHOW' | 'DISCONNECTED'>, now: Date, recordBy = now): Promise<void> {
    // Written first and on its own: a crash before the transition leaves the outcome for the sweep to apply.
    await this.recordDialOutcome(attemptId, { dialOutcome: failure }, recordBy);
    const retry = await this.retryDecision(session, failure, now);
    if (!(await this.tryApply(session.id, { type: 'DIAL_FAILED', retry }, undefined, { lastDialOutcome: failure }))) {
      await this.db.verificationSession.update({ where: { id: session.id }, data: { lastDialOutcome: failure } });
    }
  }

  /** The retry policy's decision, moved into the party's calling hours and checked against the deadline. */
  private async retryDecision(session: { id: string; deadline: Date; maxAttempts: number; party: { timeZone: string } }, failure: AttemptFailure, now: Date): Promise<RetryDecision> {
    const { rows: attempts } = await sqlPool(this.db).query<{ dialOutcome: string | null; endReason: string | null }>({
      name: 'attempt-outcomes',
      text: `SELECT "dialOutcome"::text AS "dialOutcome", "endReason" FROM "Attempt" WHERE "sessionId" = $1::uuid`,
      values: [session.id],
    });
    const kindOf = (a: { dialOutcome: string | null; endReason: string | null }): string | null => (a.endReason === 'no_show' ? 'NO_SHOW' : a.endReason === 'party_disconnected' ? 'DISCONNECTED' : a.dialOutcome);
    const sameKind = attempts.filter((a) => kindOf(a) === failure).length + (failure === 'NO_SHOW' || failure === 'DISCONNECTED' ? 1 : 0);
    const counted = attempts.filter((a) => {
      const k = kindOf(a);
      return k !== null && k !== 'ANSWERED' && DEFAULT_RETRY_POLICY.countsAgainstLimit[k as AttemptFailure];
    }).length + (failure === 'NO_SHOW' || failure === 'DISCONNECTED' ? 1 : 0);
    const decision = decideRetry({ failure, failuresOfThisKind: Math.max(1, sameKind), countedAttempts: counted, maxAttempts: session.maxAttempts, now, deadline: session.deadline });
    return retryInCallingHours(decision, session.party.timeZone, this.settings.callingHours, session.deadline);
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

  /**
   * A worker that died while dialling leaves its attempt claimed and the session waiting for an
   * outcome that never comes. Once the claim is older than any live dial can be, decide from what
   * was recorded and what LiveKit saw: an outcome already written is applied; a call that reached
   * the phone is concluded from its SIP status; an attempt with no trace of a call (no participant
   * in the room, none recorded, no unprocessed webhook about the room) is released and dialled again.
   * A call is never placed twice while LiveKit shows it was placed.
   */
  async recoverInterruptedDials(now = new Date()): Promise<number> {
    const orphanedBefore = new Date(now.getTime() - this.orphanedAfterMs());
    const claimed = await this.db.attempt.findMany({
      where: { dialClaimedAt: { lt: orphanedBefore }, session: { kind: 'CALL', state: { in: ['DISPATCHING', 'RINGING'] } } },
      include: { participants: { where: { kind: 'PARTY' } }, session: { include: { party: { select: { timeZone: true } } } } },
      take: 200,
    });
    let recovered = 0;
    for (const attempt of claimed) {
      const { session } = attempt;
      if (attempt.number !== session.attemptCount) continue; // an earlier attempt: the session moved on
      try {
        if (attempt.dialOutcome === 'ANSWERED') {
          if (await this.tryApply(session.id, { type: 'CALL_ANSWERED' }, session.version)) recovered += 1;
          continue;
        }
        if (attempt.dialOutcome) {
          await this.failDial(session, attempt.id, attempt.dialOutcome as Exclude<AttemptFailure, 'NO_SHOW' | 'DISCONNECTED'>, now);
          recovered += 1;
          continue;
        }
        const unprocessed = await this.db.liveKitEvent.count({ where: { roomName: attempt.roomName, processedAt: null } });
        if (unprocessed > 0) continue; // what LiveKit told us is not applied yet
        const live = this.platform ? await this.platform.listParticipants(attempt.roomName) : undefined;
        const liveParty = live?.find((p) => p.role === 'PARTY');
        const statuses = [...attempt.participants.map((p) => p.sipCallStatus), liveParty?.sipCallStatus];
        if (statuses.some((st) => st === 'active' || st === 'hangup')) {
          const { count } = await this.db.attempt.updateMany({ where: { id: attempt.id, dialOutcome: null }, data: { dialOutcome: 'ANSWERED' } });
          if (count > 0 && (await this.tryApply(session.id, { type: 'CALL_ANSWERED' }, session.version))) recovered += 1;
        } else if (liveParty) {
          continue; // still ringing: LiveKit ends it at the ringing timeout
        } else if (attempt.participants.length > 0) {
          // The call reached the network and ended unanswered; the exact SIP status died with the worker.
          this.log.warn({ sessionId: session.id, attemptId: attempt.id }, 'concluding a dial interrupted by a crash as unanswered');
          await this.failDial(session, attempt.id, 'NO_ANSWER', now);
          recovered += 1;
        } else {
          const released = await this.db.attempt.updateMany({
            where: { id: attempt.id, dialClaimedAt: attempt.dialClaimedAt, dialOutcome: null },
            data: { dialClaimedAt: null, endedAt: null },
          });
          if (released.count === 0) continue;
          this.log.warn({ sessionId: session.id, attemptId: attempt.id }, 'a dial was interrupted before the call was placed; dialling again');
          await this.queues.enqueue('session-dial', { sessionId: session.id, attemptId: attempt.id }, { jobId: `dial-${attempt.id}-recover-${attempt.dialClaimedAt!.getTime()}` });
          recovered += 1;
        }
      } catch (error) {
        this.log.warn({ attemptId: attempt.id, err: error }, 'could not recover an interrupted dial; the next sweep retries');
      }
    }
    return recovered;
  }

  /** Turns what LiveKit reported into session events. */
  async onLiveKitSignals(signals: LiveKitSignal[]): Promise<void> {
    for (const signal of signals) {
      // Several signals per call: the attempt's session and whether it is the latest, in one statement.
      const [session] = (
        await sqlPool(this.db).query<{ id: string; kind: 'CALL' | 'VIDEO'; state: string; version: number; assignedAgentId: string | null; latest: boolean }>({
          name: 'signal-attempt-session',
          text: `SELECT s."id", s."kind"::text AS "kind", s."state"::text AS "state", s."version", s."assignedAgentId",
              a."number" = (SELECT max(l."number") FROM "Attempt" l WHERE l."sessionId" = s."id") AS "latest"
            FROM "Attempt" a JOIN "VerificationSession" s ON s."id" = a."sessionId" WHERE a."id" = $1::uuid`,
          values: [signal.attemptId],
        })
      ).rows;
      if (!session?.latest) continue; // news about an earlier attempt changes nothing

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
            { sessionId: session.id, attemptId: signal.attemptId },
            { jobId: `grace-${signal.attemptId}-${Date.now()}`, delayMs: this.settings.reconnectGraceMs },
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
    const bucket = Math.floor(now.getTime() / SWEEP_BUCKET_MS);
    for (const s of due) {
      await this.queues.enqueue('session-due', { sessionId: s.id }, { jobId: `due-${s.id}-${s.version}-sweep-${bucket}` });
      requeued += 1;
    }
    const undialled = await this.db.attempt.findMany({
      where: { dialClaimedAt: null, endedAt: null, startedAt: { lt: new Date(now.getTime() - this.settings.workerLockMs) }, session: { kind: 'CALL', state: 'DISPATCHING' } },
      select: { id: true, sessionId: true },
      take: 500,
    });
    for (const a of undialled) {
      await this.queues.enqueue('session-dial', { sessionId: a.sessionId, attemptId: a.id }, { jobId: `dial-${a.id}-sweep-${bucket}` });
      requeued += 1;
    }
    requeued += await this.recoverInterruptedDials(now);
    // An offer whose timeout job was lost would hold its session and its agent forever.
    requeued += await this.dispatcher.expireOverdue(now);
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
