// How a dial that did not connect is written down and what it means for the session: the attempt's
// outcome first (a crash before the transition leaves it for the sweep to apply), then DIAL_FAILED
// with the retry policy's decision, moved into the party's calling hours.
import { sqlAutocommit } from '../../db/client.js';
import { build, rows } from '../../db/typed-sql.js';
import { recordDialOutcome as writeDialOutcome, setLastDialOutcome } from '../verification.repository.js';
import type { DialOutcome } from '../../db/generated/prisma/enums.js';
import { decideRetry, DEFAULT_RETRY_POLICY, retryInCallingHours, type AttemptFailure, type RetryDecision } from '../retry-policy.js';
import { tryApply, type SessionJobContext } from './context.js';

export interface DialledSession {
  id: string;
  deadline: Date;
  maxAttempts: number;
  party: { timeZone: string };
}

/**
 * Writes a placed call's outcome, retrying through a database outage until `until`. Left to the
 * sweep instead, a claimed attempt with no outcome and no trace of the call (its webhooks lost in
 * the same outage, the busy call already gone from LiveKit) would look never dialled and be dialled
 * again. `until` stays one worker lock short of the sweep's orphan age.
 */
export async function recordDialOutcome(ctx: SessionJobContext, attemptId: string, data: { dialOutcome: DialOutcome; sipCallId?: string | null }, until: Date): Promise<void> {
  for (let delayMs = 200; ; delayMs = Math.min(delayMs * 2, 2_000)) {
    try {
      await writeDialOutcome(sqlAutocommit(ctx.db), attemptId, data.dialOutcome, data.sipCallId ?? null);
      return;
    } catch (error) {
      if (Date.now() + delayMs >= until.getTime()) throw error;
      ctx.log.warn({ attemptId, err: error }, 'could not record a dial outcome yet; retrying');
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

export async function failDial(ctx: SessionJobContext, session: DialledSession, attemptId: string, failure: Exclude<AttemptFailure, 'NO_SHOW' | 'DISCONNECTED'>, now: Date, recordBy = now): Promise<void> {
  // Written first and on its own: a crash before the transition leaves the outcome for the sweep to apply.
  await recordDialOutcome(ctx, attemptId, { dialOutcome: failure }, recordBy);
  const retry = await retryDecision(ctx, session, failure, now);
  if (!(await tryApply(ctx, session.id, { type: 'DIAL_FAILED', retry }, undefined, { lastDialOutcome: failure }))) {
    await setLastDialOutcome(ctx.db, session.id, failure);
  }
}

/** The retry policy's decision, moved into the party's calling hours and checked against the deadline. */
export async function retryDecision(ctx: SessionJobContext, session: DialledSession, failure: AttemptFailure, now: Date): Promise<RetryDecision> {
  const attempts = await rows(sqlAutocommit(ctx.db), build.selectFrom('Attempt').select(['dialOutcome', 'endReason']).where('sessionId', '=', session.id), 'attempt-outcomes');
  const kindOf = (a: { dialOutcome: string | null; endReason: string | null }): string | null => (a.endReason === 'no_show' ? 'NO_SHOW' : a.endReason === 'party_disconnected' ? 'DISCONNECTED' : a.dialOutcome);
  const sameKind = attempts.filter((a) => kindOf(a) === failure).length + (failure === 'NO_SHOW' || failure === 'DISCONNECTED' ? 1 : 0);
  const counted =
    attempts.filter((a) => {
      const k = kindOf(a);
      return k !== null && k !== 'ANSWERED' && DEFAULT_RETRY_POLICY.countsAgainstLimit[k as AttemptFailure];
    }).length + (failure === 'NO_SHOW' || failure === 'DISCONNECTED' ? 1 : 0);
  const decision = decideRetry({ failure, failuresOfThisKind: Math.max(1, sameKind), countedAttempts: counted, maxAttempts: session.maxAttempts, now, deadline: session.deadline });
  return retryInCallingHours(decision, session.party.timeZone, ctx.settings.callingHours, session.deadline);
}
