// Part of the session sweep: dials whose worker died mid-call are concluded or dialled again.
import type { AttemptFailure } from '../retry-policy.js';
import { orphanedAfterMs, tryApply, type SessionJobContext } from './context.js';
import { failDial } from './dial-outcome.js';
import { recordAnsweredIfUnknown, releaseDialClaim } from '../verification.repository.js';

/**
 * A worker that died while dialling leaves its attempt claimed and the session waiting for an
 * outcome that never comes. Once the claim is older than any live dial can be, decide from what
 * was recorded and what LiveKit saw: an outcome already written is applied; a call that reached
 * the phone is concluded from its SIP status; an attempt with no trace of a call (no participant
 * in the room, none recorded, no unprocessed webhook about the room) is released and dialled again.
 * A call is never placed twice while LiveKit shows it was placed.
 */
export async function recoverInterruptedDials(ctx: SessionJobContext, now = new Date()): Promise<number> {
  const orphanedBefore = new Date(now.getTime() - orphanedAfterMs(ctx.settings));
  const claimed = await ctx.db.attempt.findMany({
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
        if (await tryApply(ctx, session.id, { type: 'CALL_ANSWERED' }, session.version)) recovered += 1;
        continue;
      }
      if (attempt.dialOutcome) {
        await failDial(ctx, session, attempt.id, attempt.dialOutcome as Exclude<AttemptFailure, 'NO_SHOW' | 'DISCONNECTED'>, now);
        recovered += 1;
        continue;
      }
      const unprocessed = await ctx.db.liveKitEvent.count({ where: { roomName: attempt.roomName, processedAt: null } });
      if (unprocessed > 0) continue; // what LiveKit told us is not applied yet
      const live = ctx.platform ? await ctx.platform.listParticipants(attempt.roomName) : undefined;
      const liveParty = live?.find((p) => p.role === 'PARTY');
      const statuses = [...attempt.participants.map((p) => p.sipCallStatus), liveParty?.sipCallStatus];
      if (statuses.some((st) => st === 'active' || st === 'hangup')) {
        if ((await recordAnsweredIfUnknown(ctx.db, attempt.id)) && (await tryApply(ctx, session.id, { type: 'CALL_ANSWERED' }, session.version))) recovered += 1;
      } else if (liveParty) {
        continue; // still ringing: LiveKit ends it at the ringing timeout
      } else if (attempt.participants.length > 0) {
        // The call reached the network and ended unanswered; the exact SIP status died with the worker.
        ctx.log.warn({ sessionId: session.id, attemptId: attempt.id }, 'concluding a dial interrupted by a crash as unanswered');
        await failDial(ctx, session, attempt.id, 'NO_ANSWER', now);
        recovered += 1;
      } else {
        if (!attempt.dialClaimedAt || !(await releaseDialClaim(ctx.db, attempt.id, attempt.dialClaimedAt, true))) continue;
        ctx.log.warn({ sessionId: session.id, attemptId: attempt.id }, 'a dial was interrupted before the call was placed; dialling again');
        await ctx.queues.enqueue('session-dial', { sessionId: session.id, attemptId: attempt.id }, { jobId: `dial-${attempt.id}-recover-${attempt.dialClaimedAt!.getTime()}` });
        recovered += 1;
      }
    } catch (error) {
      ctx.log.warn({ attemptId: attempt.id, err: error }, 'could not recover an interrupted dial; the next sweep retries');
    }
  }
  return recovered;
}
