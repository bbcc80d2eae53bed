// Applies session transitions. One transaction per event: a conditional update on (state, version),
// the effects that are database writes, and the audit event. Effects that reach outside (LiveKit,
// queues, sockets, the LOS) run after commit; each is safe to repeat and the sweeper re-queues work a
// lost job left behind, so a crash never loses a session. Every call and video goes through here
// several times, so the transaction is SQL on the shared pool (see `sqlTransaction`), not Prisma.
import { randomUUID } from 'node:crypto';
import { sqlTransaction, type Db, type Sql } from '../db/client.js';
import type { Attempt, VerificationSession } from '../db/generated/prisma/client.js';
import type { Logger } from '../logging.js';
import { AppError } from '../http/errors.js';
import { insertAudit, type AuditEntry } from '../audit/audit.service.js';
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
  data?: Partial<Pick<VerificationSession, 'assignedAgentId' | 'decidedById' | 'decisionNote' | 'endReason' | 'lastDialOutcome' | 'notBefore'>>;
  /** Runs inside the transaction before the state changes (e.g. claiming the offer being accepted). */
  inTx?: (sql: Sql, session: VerificationSession) => Promise<void>;
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
  onCompletedInTx: (sql: Sql, session: VerificationSession, loanFile: { amount: string }) => Promise<void> = async () => undefined;

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
    const applied = await sqlTransaction(this.db, async (sql) => {
      const [found] = await sql.query<VerificationSession & { loanFileStatus: string; loanFileRef: string; loanFileAmount: string }>({
        name: 'engine-session',
        text: `SELECT s.*, lf."status"::text AS "loanFileStatus", lf."externalRef" AS "loanFileRef", round(lf."amount", 2)::text AS "loanFileAmount"
          FROM "VerificationSession" s JOIN "LoanFile" lf ON lf."id" = s."loanFileId" WHERE s."id" = $1::uuid`,
        values: [sessionId],
      });
      if (!found) throw new AppError('NOT_FOUND', `No session ${sessionId}`);
      const { loanFileStatus, loanFileRef, loanFileAmount, ...current } = found;
      const loanFile = { id: current.loanFileId, externalRef: loanFileRef, status: loanFileStatus, amount: loanFileAmount };
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
      await ctx.inTx?.(sql, current);

      const now = new Date();
      let attemptCount = current.attemptCount;
      let attempt: Attempt | null;
      if (t.effects.some((e) => e.type === 'openAttempt')) {
        const id = randomUUID();
        attemptCount += 1;
        [attempt = null] = await sql.query<Attempt>({
          name: 'engine-attempt-open',
          text: `INSERT INTO "Attempt" ("id", "sessionId", "number", "roomName", "agentId") VALUES ($1::uuid, $2::uuid, $3::int, $4, $5::uuid) RETURNING *`,
          values: [id, sessionId, attemptCount, roomNameFor(id), ctx.data?.assignedAgentId ?? current.assignedAgentId],
        });
      } else {
        [attempt = null] = await sql.query<Attempt>({
          name: 'engine-attempt-latest',
          text: `SELECT * FROM "Attempt" WHERE "sessionId" = $1::uuid ORDER BY "number" DESC LIMIT 1`,
          values: [sessionId],
        });
      }

      const [session] = await updateSession(sql, current, {
        ...ctx.data,
        state: t.next,
        attemptCount,
        ...(t.outcome ? { outcome: t.outcome } : {}),
        ...(TERMINAL_STATES.has(t.next) ? { completedAt: now } : {}),
        ...scheduleFields(t.effects, event),
      }, now);
      if (!session) throw new AppError('SESSION_STATE_CONFLICT', 'The session changed while this was being applied; retry');

      for (const effect of t.effects) {
        await this.inTransaction(sql, effect, { session, attempt, loanFile, now }, after);
      }
      await insertAudit(sql, {
        actor: ctx.actor,
        entity: { type: 'session', id: sessionId },
        event: {
          action: 'session.transitioned',
          v: 1,
          data: { from: current.state, to: t.next, event: event.type, version: session.version, ...(t.outcome ? { outcome: t.outcome } : {}), ...detailOf(event) },
        },
        requestId: ctx.requestId,
      });
      if (t.next === 'COMPLETED') await this.onCompletedInTx(sql, session, loanFile);
      // Moving between open states (due, dialling, retry pending…) leaves a file in verification as it is.
      const stillOpen = standingOf(current) === 'PENDING' && standingOf(session) === 'PENDING' && loanFile.status === 'IN_VERIFICATION';
      if (current.state !== t.next && !stillOpen) await recomputeLoanFileStatus(sql, current.loanFileId, ctx.actor, ctx.requestId);
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
    sql: Sql,
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
        await sql.query({
          name: 'engine-attempt-recording',
          text: `UPDATE "Attempt" SET "recordingStartedAt" = $2::timestamptz, "answeredAt" = CASE WHEN $3::boolean THEN $2::timestamptz ELSE "answeredAt" END WHERE "id" = $1::uuid`,
          values: [attempt.id, now.toISOString(), session.kind === 'CALL'],
        });
        after.push(() => this.startRecording(session.id, attempt.id));
        return;
      case 'stopRecording':
        if (attempt && this.media) {
          const media = this.media;
          after.push(() => media.recordings.stopForAttempt(attempt.id));
        }
        return;
      case 'endAttempt':
        if (attempt) {
          await sql.query({
            name: 'engine-attempt-end',
            text: `UPDATE "Attempt" SET "endedAt" = $2::timestamptz, "endReason" = $3 WHERE "id" = $1::uuid AND "endedAt" IS NULL`,
            values: [attempt.id, now.toISOString(), effect.reason],
          });
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
        after.push(() => this.onRoutingNeeded());
        return;
      case 'withdrawOffers': {
        const pending = await sql.query<{ id: string; agentId: string }>({
          name: 'engine-offers-withdraw',
          text: `UPDATE "SessionOffer" SET "status" = 'WITHDRAWN', "resolvedAt" = $2::timestamptz WHERE "sessionId" = $1::uuid AND "status" = 'PENDING' RETURNING "id", "agentId"`,
          values: [session.id, now.toISOString()],
        });
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

/** The session columns a transition writes (names from this list only: they are spliced into SQL). */
const WRITABLE = ['state', 'attemptCount', 'outcome', 'completedAt', 'notBefore', 'nextAttemptAt', 'assignedAgentId', 'decidedById', 'decisionNote', 'endReason', 'lastDialOutcome'] as const;
type SessionWrite = Partial<Pick<VerificationSession, (typeof WRITABLE)[number]>>;

/** The conditional update on (state, version): no row when someone else moved the session first. */
function updateSession(sql: Sql, current: Pick<VerificationSession, 'id' | 'state' | 'version'>, write: SessionWrite, now: Date): Promise<VerificationSession[]> {
  const columns = WRITABLE.filter((c) => write[c] !== undefined);
  const values = columns.map((c) => {
    const v = write[c];
    return v instanceof Date ? v.toISOString() : v;
  });
  return sql.query<VerificationSession>({
    text: `UPDATE "VerificationSession" SET ${columns.map((c, i) => `"${c}" = $${i + 5}`).join(', ')}, "version" = "version" + 1, "updatedAt" = $4::timestamptz
      WHERE "id" = $1::uuid AND "state"::text = $2 AND "version" = $3::int RETURNING *`,
    values: [current.id, current.state, current.version, now.toISOString(), ...values],
  });
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
