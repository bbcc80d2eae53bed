// 'session-reconnect-grace': the party dropped out of a video session; unless they are back by now,
// the attempt is over.
import { isPresent } from '../../livekit/participants.js';
import { tryApply, type SessionJobContext } from './context.js';

export async function reconnectGrace(ctx: SessionJobContext, sessionId: string, attemptId: string): Promise<void> {
  const session = await ctx.db.verificationSession.findUnique({ where: { id: sessionId } });
  if (!session || session.state !== 'IN_PROGRESS') return;
  const current = await ctx.db.attempt.findFirst({ where: { sessionId }, orderBy: { number: 'desc' }, include: { participants: { where: { kind: 'PARTY' } } } });
  if (!current || current.id !== attemptId) return;
  // Ending a live attempt must not rest on webhooks that may be late: ask LiveKit who is in the room.
  const live = ctx.platform ? await ctx.platform.listParticipants(current.roomName) : undefined;
  const back = live ? live.some((p) => p.role === 'PARTY') : current.participants.some((p) => isPresent(p));
  if (back) return; // back within the grace: same attempt
  await tryApply(ctx, sessionId, { type: 'RECONNECT_GRACE_EXPIRED' }, session.version);
}
