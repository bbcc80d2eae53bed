// 'session-dial': places the call of an accepted session, exactly once per attempt. The attempt is
// claimed with a conditional update before LiveKit is called: one dial per attempt, however many
// workers receive the job.
import { sqlAutocommit } from '../../db/client.js';
import { claimDial, releaseDialClaim } from '../verification.repository.js';
import { sipPartyIdentity } from '../../livekit/identities.js';
import type { VideoPlatform } from '../../livekit/video-platform.js';
import { isWithinCallingHours, nextAllowedInstant } from '../calling-hours.js';
import type { RetryDecision } from '../retry-policy.js';
import { orphanedAfterMs, tryApply, type SessionJobContext } from './context.js';
import { failDial, recordDialOutcome } from './dial-outcome.js';

export async function dial(ctx: SessionJobContext, sessionId: string, attemptId: string, now = new Date(), opts: { finalTry?: boolean } = {}): Promise<void> {
  // The claim and what the dial needs, in one statement on the pool.
  const claimed = await claimDial(sqlAutocommit(ctx.db), attemptId, sessionId, now);
  if (!claimed) return; // another worker has it, or it is over
  const session = { id: claimed.id, state: claimed.state, deadline: claimed.deadline, maxAttempts: claimed.maxAttempts, party: { timeZone: claimed.timeZone, phoneE164: claimed.phoneE164 } };
  if (session.state !== 'DISPATCHING') return;
  const attempt = { roomName: claimed.roomName };

  if (!isWithinCallingHours(now, session.party.timeZone, ctx.settings.callingHours)) {
    // The window closed between the offer and the dial: not a failure of the party's.
    const next = nextAllowedInstant(now, session.party.timeZone, ctx.settings.callingHours);
    const retry: RetryDecision = next && next <= session.deadline ? { kind: 'retry', notBefore: next, countsAgainstLimit: false } : { kind: 'exhausted', reason: 'deadline_passed' };
    await tryApply(ctx, sessionId, { type: 'DIAL_FAILED', retry });
    return;
  }
  if (!ctx.platform) {
    await failDial(ctx, session, attemptId, 'TRUNK_UNAVAILABLE', now);
    return;
  }

  try {
    await ctx.platform.createRoom({ name: attempt.roomName, maxParticipants: 3, metadata: { sessionId, attemptId } });
  } catch (error) {
    // LiveKit itself is unreachable and no call was placed: our outage, not the party's. Give the
    // claim back and let the job retry; after the last try the attempt fails without counting.
    ctx.log.warn({ sessionId, attemptId, err: error }, 'LiveKit unreachable before dialling');
    if (opts.finalTry) {
      await failDial(ctx, session, attemptId, 'TRUNK_UNAVAILABLE', now);
      return;
    }
    await releaseDialClaim(ctx.db, attemptId, now);
    throw error;
  }
  // From here the call may have been placed: what it came to is written even through a database outage.
  const recordBy = new Date(now.getTime() + orphanedAfterMs(ctx.settings) - ctx.settings.workerLockMs);
  let result: Awaited<ReturnType<VideoPlatform['dial']>>;
  // The phone rings: LiveKit sends no webhook for it, the dial itself sees it.
  let ringing: Promise<unknown> = Promise.resolve();
  const onCallStatus = (status: string) => {
    if (status !== 'ringing') return;
    ringing = tryApply(ctx, sessionId, { type: 'CALL_RINGING' }).catch((error: Error) => {
      ctx.log.warn({ sessionId, attemptId, err: error }, 'could not mark the call ringing');
    });
  };
  try {
    result = await ctx.platform.dial({ room: attempt.roomName, phoneE164: session.party.phoneE164, identity: sipPartyIdentity(attemptId), onCallStatus });
  } catch (error) {
    // Never dial the same attempt twice: an unexpected error fails the attempt, the retry is a new
    // one. An error here is LiveKit's or ours, never the party's, so it does not use up an attempt.
    ctx.log.warn({ sessionId, attemptId, err: error }, 'dial failed unexpectedly');
    await ringing;
    await failDial(ctx, session, attemptId, 'TRUNK_UNAVAILABLE', now, recordBy);
    return;
  }
  await ringing;
  if (result.outcome === 'ANSWERED') {
    await recordDialOutcome(ctx, attemptId, { dialOutcome: 'ANSWERED', sipCallId: result.sipCallId }, recordBy);
    // Told first: an automated call's script waits for the state change itself, not for the
    // answer's after-commit effects. The recording starts in a job of its own ('recording-start'),
    // so the dial slot is free once the answer is applied.
    await ctx.events.publishCommitted({ type: 'call.answered', sessionId, attemptId });
    await tryApply(ctx, sessionId, { type: 'CALL_ANSWERED' });
    return;
  }
  ctx.log.info({ sessionId, attemptId, outcome: result.outcome, sipStatusCode: result.sipStatusCode }, 'call not answered');
  await failDial(ctx, session, attemptId, result.outcome, now, recordBy);
}
