import { DIAL_OUTCOMES, type DialFailureOutcome } from '../livekit/dial-outcome.js';
import { nextAllowedInstant, type CallingHours } from './calling-hours.js';

// Whether and when to try a session again after a failed attempt. Pure: the time is always passed in.
// decideRetry applies the backoff and the limits; retryInCallingHours then moves `notBefore` into the
// party's calling hours and checks the deadline again.

// Every way a call can fail (dial-outcome.ts), plus the video party's two: not coming and dropping out.
export const ATTEMPT_FAILURES = [...DIAL_OUTCOMES.filter((o): o is DialFailureOutcome => o !== 'ANSWERED'), 'NO_SHOW', 'DISCONNECTED'] as const;
export type AttemptFailure = (typeof ATTEMPT_FAILURES)[number];

export interface RetryPolicy {
  /** The n-th failure of a kind waits the n-th delay; the last delay repeats. 'never' ends the session. */
  backoffMs: Record<AttemptFailure, number[] | 'never'>;
  /** Whether a failure of this kind uses up one of the party's attempts. */
  countsAgainstLimit: Record<AttemptFailure, boolean>;
}

export type RetryDecision =
  | { kind: 'retry'; notBefore: Date; countsAgainstLimit: boolean }
  | { kind: 'exhausted'; reason: string };

/** Three attempts per session: MAX_DIAL_ATTEMPTS's default. */
export const DEFAULT_MAX_ATTEMPTS = 3;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

// An unanswered phone is tried again after 30 min, then 2 h, then a day; a busy line is retried sooner
// (10 min, 30 min, 2 h) than one nobody answered.
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  backoffMs: {
    BUSY: [10 * MINUTE, 30 * MINUTE, 2 * HOUR],
    NO_ANSWER: [30 * MINUTE, 2 * HOUR, DAY],
    DECLINED: [2 * HOUR, DAY],
    INVALID_NUMBER: 'never', // redialling cannot fix the number; the lender must correct it
    CARRIER_FAILURE: [5 * MINUTE, 30 * MINUTE, 2 * HOUR],
    TRUNK_UNAVAILABLE: [MINUTE, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR],
    RATE_LIMITED: [MINUTE, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR],
    NO_SHOW: [30 * MINUTE, 2 * HOUR, DAY],
    DISCONNECTED: [0, 10 * MINUTE, 30 * MINUTE], // a dropped call is usually the line, not the party
  },
  countsAgainstLimit: {
    BUSY: true,
    NO_ANSWER: true,
    DECLINED: true,
    INVALID_NUMBER: true,
    CARRIER_FAILURE: true,
    // Our own trunk or our carrier's rate limit failed: the party never had a chance to answer.
    TRUNK_UNAVAILABLE: false,
    RATE_LIMITED: false,
    NO_SHOW: true,
    DISCONNECTED: true,
  },
};

export interface RetryInput {
  failure: AttemptFailure;
  /** Failures of this kind so far on the session, including this one (>= 1). */
  failuresOfThisKind: number;
  /** Attempts that counted against the limit, including this one if it counts. */
  countedAttempts: number;
  maxAttempts: number;
  now: Date;
  deadline: Date;
  policy?: RetryPolicy;
}

export function decideRetry(input: RetryInput): RetryDecision {
  const { failure, failuresOfThisKind, countedAttempts, maxAttempts, now, deadline } = input;
  const policy = input.policy ?? DEFAULT_RETRY_POLICY;
  if (!Number.isInteger(failuresOfThisKind) || failuresOfThisKind < 1) {
    throw new RangeError(`failuresOfThisKind must be a positive integer, got ${failuresOfThisKind}`);
  }

  const backoff = policy.backoffMs[failure];
  // An empty list is read as 'never': there is no delay to wait.
  const delayMs = backoff === 'never' ? undefined : backoff[Math.min(failuresOfThisKind, backoff.length) - 1];
  if (delayMs === undefined) return { kind: 'exhausted', reason: `not_retryable:${failure}` };

  const countsAgainstLimit = policy.countsAgainstLimit[failure];
  if (countsAgainstLimit && countedAttempts >= maxAttempts) {
    return { kind: 'exhausted', reason: `max_attempts_reached:${maxAttempts}` };
  }

  const notBefore = new Date(now.getTime() + delayMs);
  if (notBefore.getTime() > deadline.getTime()) return { kind: 'exhausted', reason: 'deadline_passed' };

  return { kind: 'retry', notBefore, countsAgainstLimit };
}

/**
 * A retry moved to the first instant at or after its backoff that lies inside the party's calling
 * hours; exhausted when no such instant comes before the deadline.
 */
export function retryInCallingHours(decision: RetryDecision, timeZone: string, hours: CallingHours, deadline: Date): RetryDecision {
  if (decision.kind !== 'retry') return decision;
  const inHours = nextAllowedInstant(decision.notBefore, timeZone, hours);
  if (!inHours || inHours.getTime() > deadline.getTime()) return { kind: 'exhausted', reason: 'deadline_passed' };
  return { ...decision, notBefore: inHours };
}
