// 'session-due': a session reached its not-before (or retry) time. A video session's appointment
// opens; a call is offered to an agent (or dialled, when automated) inside the party's calling hours,
// or moved to the next window.
import { sqlAutocommit } from '../../db/client.js';
import { build, first } from '../../db/typed-sql.js';
import { appendAudit } from '../../audit/audit.service.js';
import { isWithinCallingHours, nextAllowedInstant } from '../calling-hours.js';
import { SYSTEM, tryApply, type SessionJobContext } from './context.js';
import { deferNotBefore } from '../verification.repository.js';
import type { SessionKind, SessionState } from '../../db/generated/prisma/enums.js';

interface DueView {
  id: string;
  kind: SessionKind;
  /** AUTOMATED_CALL with no hand-off yet: dialled with no agent. */
  automated: boolean;
  state: SessionState;
  version: number;
  notBefore: Date;
  nextAttemptAt: Date | null;
  deadline: Date;
  maxAttempts: number;
  party: { timeZone: string };
}

/** What the due job needs of a session (SQL on the pool: every session falls due at least once). */
async function dueView(ctx: SessionJobContext, sessionId: string): Promise<DueView | undefined> {
  const row = await first(
    sqlAutocommit(ctx.db),
    build
      .selectFrom('VerificationSession as s')
      .innerJoin('Party as p', 'p.id', 's.partyId')
      .select(['s.id', 's.kind', 's.state', 's.version', 's.notBefore', 's.nextAttemptAt', 's.deadline', 's.maxAttempts', 'p.timeZone'])
      .select((eb) => eb.and([eb('s.mode', '=', 'AUTOMATED_CALL'), eb('s.handedOffAt', 'is', null)]).$castTo<boolean>().as('automated'))
      .where('s.id', '=', sessionId),
    'session-due-view',
  );
  if (!row) return undefined;
  const { timeZone, ...session } = row;
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
    if (!(await deferNotBefore(tx, sessionId, version, to))) return false;
    await appendAudit(tx, {
      actor: SYSTEM,
      entity: { type: 'session', id: sessionId },
      event: { action: 'session.deferred', v: 1, data: { from: from.toISOString(), to: to.toISOString(), reason } },
    });
    return true;
  });
  if (moved) await requeueDue(ctx, sessionId, version + 1, to);
}
