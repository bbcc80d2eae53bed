// 'session-due': a session reached its not-before (or retry) time. A video session's appointment
// opens; a call is offered to an agent (or dialled, when automated) inside the party's calling hours,
// or moved to the next window.
import { sqlPool } from '../../db/client.js';
import { appendAudit } from '../../audit/audit.service.js';
import { isWithinCallingHours, nextAllowedInstant } from '../calling-hours.js';
import { SYSTEM, tryApply, type SessionJobContext } from './context.js';

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

/** What the due job needs of a session (SQL on the pool: every session falls due at least once). */
async function dueView(ctx: SessionJobContext, sessionId: string): Promise<DueView | undefined> {
  const { rows } = await sqlPool(ctx.db).query<Omit<DueView, 'party'> & { timeZone: string }>({
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

export async function due(ctx: SessionJobContext, sessionId: string, now = new Date()): Promise<void> {
  let session = await dueView(ctx, sessionId);
  if (!session) return;
  if (session.state === 'RETRY_PENDING') {
    if (session.nextAttemptAt && session.nextAttemptAt > now) return requeueDue(ctx, sessionId, session.version, session.nextAttemptAt);
    if (!(await tryApply(ctx, sessionId, { type: 'RETRY_DUE' }, session.version))) return;
    session = await dueView(ctx, sessionId);
    if (!session) return;
  }
  if (session.state !== 'SCHEDULED') return;
  if (session.notBefore > now) return requeueDue(ctx, sessionId, session.version, session.notBefore);

  if (session.kind === 'VIDEO') {
    await tryApply(ctx, sessionId, { type: 'APPOINTMENT_DUE' }, session.version);
    return;
  }
  if (!isWithinCallingHours(now, session.party.timeZone, ctx.settings.callingHours)) {
    const next = nextAllowedInstant(now, session.party.timeZone, ctx.settings.callingHours);
    if (!next || next > session.deadline) {
      await tryApply(ctx, sessionId, { type: 'DEADLINE_PASSED' });
      return;
    }
    await defer(ctx, sessionId, session.version, session.notBefore, next, 'outside_calling_hours');
    return;
  }
  if (session.automated) {
    // No agent to offer it to: the call is placed now, through the same paced dial job.
    await tryApply(ctx, sessionId, { type: 'AUTOMATED_CALL_DUE' }, session.version);
    return;
  }
  await ctx.dispatcher.fill(now);
}

async function requeueDue(ctx: SessionJobContext, sessionId: string, version: number, at: Date): Promise<void> {
  await ctx.queues.enqueue('session-due', { sessionId }, { jobId: `due-${sessionId}-${version}-${at.getTime()}`, delayMs: Math.max(0, at.getTime() - Date.now()) });
}

/** Moves a call's not-before to the party's next calling window (no state change). */
async function defer(ctx: SessionJobContext, sessionId: string, version: number, from: Date, to: Date, reason: string): Promise<void> {
  const moved = await ctx.db.$transaction(async (tx) => {
    const { count } = await tx.verificationSession.updateMany({ where: { id: sessionId, state: 'SCHEDULED', version }, data: { notBefore: to, version: { increment: 1 } } });
    if (count === 0) return false;
    await appendAudit(tx, {
      actor: SYSTEM,
      entity: { type: 'session', id: sessionId },
      event: { action: 'session.deferred', v: 1, data: { from: from.toISOString(), to: to.toISOString(), reason } },
    });
    return true;
  });
  if (moved) await requeueDue(ctx, sessionId, version + 1, to);
}
