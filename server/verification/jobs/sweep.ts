// The sessions' step of the periodic 'session-sweep' job.
import { deadline } from './deadline.js';
import { recoverInterruptedDials } from './dial-recovery.js';
import type { SessionJobContext } from './context.js';

/** Sweep job ids change this often, so a sweep job that failed never blocks a later one. */
const SWEEP_BUCKET_MS = 60_000;

/**
 * Re-queues work whose job was lost (a Redis restart, a crash between commit and enqueue): due
 * sessions, retries, accepted calls never dialled, overdue deadlines. Idempotent; runs on a schedule.
 */
export async function sweep(ctx: SessionJobContext, now = new Date()): Promise<{ requeued: number }> {
  let requeued = 0;
  const due = await ctx.db.verificationSession.findMany({
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
    await ctx.queues.enqueue('session-due', { sessionId: s.id }, { jobId: `due-${s.id}-${s.version}-sweep-${bucket}` });
    requeued += 1;
  }
  const undialled = await ctx.db.attempt.findMany({
    where: { dialClaimedAt: null, endedAt: null, startedAt: { lt: new Date(now.getTime() - ctx.settings.workerLockMs) }, session: { kind: 'CALL', state: 'DISPATCHING' } },
    select: { id: true, sessionId: true },
    take: 500,
  });
  for (const a of undialled) {
    await ctx.queues.enqueue('session-dial', { sessionId: a.sessionId, attemptId: a.id }, { jobId: `dial-${a.id}-sweep-${bucket}` });
    requeued += 1;
  }
  requeued += await recoverInterruptedDials(ctx, now);
  // An offer whose timeout job was lost would hold its session and its agent forever.
  requeued += await ctx.dispatcher.expireOverdue(now);
  const overdue = await ctx.db.verificationSession.findMany({
    where: { deadline: { lte: now }, state: { in: ['SCHEDULED', 'DISPATCHING', 'RINGING', 'WAITING', 'RETRY_PENDING'] } },
    select: { id: true },
    take: 500,
  });
  for (const s of overdue) {
    await deadline(ctx, s.id);
    requeued += 1;
  }
  await ctx.dispatcher.fill(now);
  return { requeued };
}
