// 'session-no-show': an invited video party did not show up in time (only if nothing happened since
// the version the job was queued at). The party is told when we will try again, with a fresh link.
import { tryApply, type SessionJobContext } from './context.js';
import { retryDecision } from './dial-outcome.js';

export async function noShow(ctx: SessionJobContext, sessionId: string, version: number, now = new Date()): Promise<void> {
  const session = await ctx.db.verificationSession.findUnique({ where: { id: sessionId }, include: { party: { select: { timeZone: true } } } });
  if (!session || session.state !== 'DISPATCHING' || session.version !== version) return;
  const retry = await retryDecision(ctx, session, 'NO_SHOW', now);
  const applied = await tryApply(ctx, sessionId, { type: 'NO_SHOW', retry }, version);
  if (applied && retry.kind === 'retry') await ctx.inviter.invite(sessionId, 'missed');
}
