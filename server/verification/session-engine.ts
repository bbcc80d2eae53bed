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
import type { Attempt, VerificationSession } from '../db/generated/prisma/client.js';
import type { Logger } from '../logging.js';
import { AppError } from '../shared/errors.js';
import { auditInsertSql, auditRowsParam, type AuditEntry } from '../audit/audit.service.js';
import type { JobQueues } from '../jobs/queues.js';
import type { RealtimeEmitter } from '../realtime/events.js';
import { roomNameFor } from '../livekit/identities.js';
import type { VideoPlatform } from '../livekit/video-platform.js';
import type { RecordingService } from '../../recordings/recording.service.js';
import { InvalidTransition, TERMINAL_STATES, transition, type LosEventType, type SessionEffect, type SessionEvent, type Transition } from './session-state.js';
import { recomputeLoanFileStatus } from './loan-file-status.js';
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
  data?: Partial<Pick<VerificationSession, 'assignedAgentId' | 'decidedById' | 'decisionNote' | 'endReason' | 'lastDialOutcome' | 'notBefore'>>;
  /** Runs inside the transaction before the state changes (e.g. claiming the offer being accepted). */
  inTx?: (sql: Sql, session: VerificationSession) => Promise<void>;
}

export interface Applied {
  session: VerificationSession;
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
  announce(session: Pick<VerificationSession, 'id' | 'state' | 'version' | 'assignedAgentId'>): void {
    const payload = { v: 1 as const, sessionId: session.id, state: session.state, version: session.version };
    // Watchers, supervisors and the assigned agent in one broadcast (a socket in several gets it once).
    this.realtime.toSessionWatchers(session.id, 'session:changed', payload, { andSupervisors: true, ...(session.assignedAgentId ? { andAgent: session.assignedAgentId } : {}) });
    this.realtime.toParty(session.id, 'session:changed', payload);
  }

  private async inTransaction(
    sql: Sql,
    effect: SessionEffect,
    ctx: { session: VerificationSession; attempt: Attempt | undefined; loanFile: { id: string; externalRef: string }; now: Date },
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

/** Effects that write with statements of their own (so the transition runs in a transaction). */
const EFFECTS_WITH_STATEMENTS: ReadonlySet<SessionEffect['type']> = new Set(['startRecording', 'withdrawOffers', 'notifyLos']);

/** The Attempt columns that are timestamps (a row read as JSON carries them as strings). */
const ATTEMPT_TIMES = ['startedAt', 'answeredAt', 'endedAt', 'dialClaimedAt', 'recordingStartedAt'] as const satisfies readonly (keyof Attempt)[];

function attemptFromJson(json: Record<string, unknown> | null): Attempt | undefined {
  if (!json) return undefined;
  const attempt = { ...json } as Record<string, unknown>;
  for (const key of ATTEMPT_TIMES) attempt[key] = typeof json[key] === 'string' ? new Date(json[key]) : null;
  return attempt as unknown as Attempt;
}

/** What a transition needs, in one statement: the session, its loan file and its latest attempt. */
async function readForTransition(sql: Sql, sessionId: string) {
  const [found] = await sql.query<VerificationSession & { loanFileStatus: string; loanFileRef: string; loanFileAmount: string; latestAttempt: Record<string, unknown> | null }>({
    name: 'engine-read',
    text: `SELECT s.*, lf."status"::text AS "loanFileStatus", lf."externalRef" AS "loanFileRef", round(lf."amount", 2)::text AS "loanFileAmount",
        (SELECT to_jsonb(a) FROM "Attempt" a WHERE a."sessionId" = s."id" ORDER BY a."number" DESC LIMIT 1) AS "latestAttempt"
      FROM "VerificationSession" s JOIN "LoanFile" lf ON lf."id" = s."loanFileId" WHERE s."id" = $1::uuid`,
    values: [sessionId],
  });
  if (!found) return undefined;
  const { loanFileStatus, loanFileRef, loanFileAmount, latestAttempt, ...current } = found;
  return { current: current as VerificationSession, loanFile: { id: current.loanFileId, externalRef: loanFileRef, status: loanFileStatus, amount: loanFileAmount }, latest: attemptFromJson(latestAttempt) };
}

/** The session columns a transition writes (names from this list only: they are spliced into SQL). */
const WRITABLE = ['state', 'attemptCount', 'outcome', 'completedAt', 'notBefore', 'nextAttemptAt', 'assignedAgentId', 'decidedById', 'decisionNote', 'endReason', 'lastDialOutcome'] as const;
type SessionWrite = Partial<Pick<VerificationSession, (typeof WRITABLE)[number]>>;

/**
 * A transition's writes as one statement: the conditional update on (state, version) and, only when
 * it matched, the attempt it opens or ends and its audit event. Nothing is written (undefined) when
 * someone else moved the session first.
 */
export async function writeTransition(
  sql: Sql,
  input: {
    current: Pick<VerificationSession, 'id' | 'state' | 'version'>;
    write: SessionWrite;
    now: Date;
    open: { id: string; number: number; agentId: string | null } | undefined;
    end: { attemptId: string; reason: string } | undefined;
    audit: AuditEntry;
  },
): Promise<{ session: VerificationSession; opened: Attempt | undefined } | undefined> {
  const { current, write, now, open, end } = input;
  const values: unknown[] = [current.id, current.state, current.version, now.toISOString(), auditRowsParam([input.audit], now).json];
  const param = (value: unknown) => `$${values.push(value instanceof Date ? value.toISOString() : value)}`;
  const columns = WRITABLE.filter((c) => write[c] !== undefined);
  const set = columns.map((c) => `"${c}" = ${param(write[c])}`);
  const ctes = [
    `updated AS (UPDATE "VerificationSession" SET ${[...set, '"version" = "version" + 1', '"updatedAt" = $4::timestamptz'].join(', ')}
      WHERE "id" = $1::uuid AND "state"::text = $2 AND "version" = $3::int RETURNING *)`,
    `audited AS (${auditInsertSql(5, 'EXISTS (SELECT 1 FROM updated)')})`,
  ];
  if (open) {
    ctes.push(`opened AS (INSERT INTO "Attempt" ("id", "sessionId", "number", "roomName", "agentId")
      SELECT ${param(open.id)}::uuid, updated."id", ${param(open.number)}::int, ${param(roomNameFor(open.id))}, ${param(open.agentId)}::uuid FROM updated RETURNING *)`);
  }
  if (end) {
    ctes.push(`ended AS (UPDATE "Attempt" SET "endedAt" = $4::timestamptz, "endReason" = ${param(end.reason)}
      WHERE "id" = ${param(end.attemptId)}::uuid AND "endedAt" IS NULL AND EXISTS (SELECT 1 FROM updated))`);
  }
  const [row] = await sql.query<VerificationSession & { openedAttempt: Record<string, unknown> | null }>({
    text: `WITH ${ctes.join(',\n    ')}
    SELECT updated.*, ${open ? '(SELECT to_jsonb(opened) FROM opened)' : 'NULL::jsonb'} AS "openedAttempt" FROM updated`,
    values,
  });
  if (!row) return undefined;
  const { openedAttempt, ...session } = row;
  return { session: session as VerificationSession, opened: attemptFromJson(openedAttempt) };
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
    case 'HANDED_TO_PERSON':
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
