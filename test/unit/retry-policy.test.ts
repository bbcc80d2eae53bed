import { describe, expect, expectTypeOf, it } from 'vitest';
import { DIAL_OUTCOMES, type DialFailureOutcome } from '../../server/livekit/dial-outcome.js';
import {
  ATTEMPT_FAILURES,
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_RETRY_POLICY,
  decideRetry,
  type AttemptFailure,
  type RetryInput,
  type RetryPolicy,
} from '../../server/verification/retry-policy.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const now = new Date('2026-05-04T10:00:00.000Z');
const farDeadline = new Date(now.getTime() + 30 * DAY);

const decide = (failure: AttemptFailure, overrides: Partial<RetryInput> = {}) =>
  decideRetry({ failure, failuresOfThisKind: 1, countedAttempts: 1, maxAttempts: DEFAULT_MAX_ATTEMPTS, now, deadline: farDeadline, ...overrides });

const waitOf = (failure: AttemptFailure, overrides: Partial<RetryInput> = {}): number | string => {
  const decision = decide(failure, overrides);
  return decision.kind === 'retry' ? decision.notBefore.getTime() - now.getTime() : decision.reason;
};

describe('decideRetry: the default delays', () => {
  it.each<[AttemptFailure, number, number]>([
    ['BUSY', 1, 10 * MINUTE],
    ['BUSY', 2, 30 * MINUTE],
    ['BUSY', 3, 2 * HOUR],
    ['NO_ANSWER', 1, 30 * MINUTE],
    ['NO_ANSWER', 2, 2 * HOUR],
    ['NO_ANSWER', 3, DAY],
    ['DECLINED', 1, 2 * HOUR],
    ['DECLINED', 2, DAY],
    ['CARRIER_FAILURE', 1, 5 * MINUTE],
    ['CARRIER_FAILURE', 2, 30 * MINUTE],
    ['CARRIER_FAILURE', 3, 2 * HOUR],
    ['NO_SHOW', 1, 30 * MINUTE],
    ['NO_SHOW', 2, 2 * HOUR],
    ['NO_SHOW', 3, DAY],
    ['DISCONNECTED', 1, 0],
    ['DISCONNECTED', 2, 10 * MINUTE],
    ['DISCONNECTED', 3, 30 * MINUTE],
    ['TRUNK_UNAVAILABLE', 1, MINUTE],
    ['TRUNK_UNAVAILABLE', 2, 5 * MINUTE],
    ['TRUNK_UNAVAILABLE', 3, 15 * MINUTE],
    ['TRUNK_UNAVAILABLE', 4, 30 * MINUTE],
    ['TRUNK_UNAVAILABLE', 5, HOUR],
    ['RATE_LIMITED', 1, MINUTE],
    ['RATE_LIMITED', 2, 5 * MINUTE],
    ['RATE_LIMITED', 3, 15 * MINUTE],
    ['RATE_LIMITED', 4, 30 * MINUTE],
    ['RATE_LIMITED', 5, HOUR],
  ])('%s failure #%i waits %i ms', (failure, failuresOfThisKind, wait) => {
    // countedAttempts stays below the limit so that only the delay is under test.
    expect(waitOf(failure, { failuresOfThisKind, countedAttempts: 1 })).toBe(wait);
  });

  it('retries a busy line sooner than one nobody answered', () => {
    for (const n of [1, 2, 3]) {
      expect(waitOf('BUSY', { failuresOfThisKind: n })).toBeLessThan(waitOf('NO_ANSWER', { failuresOfThisKind: n }) as number);
    }
  });

  it.each<[AttemptFailure, number, number]>([
    ['BUSY', 4, 2 * HOUR],
    ['BUSY', 9, 2 * HOUR],
    ['NO_ANSWER', 5, DAY],
    ['DECLINED', 3, DAY],
    ['CARRIER_FAILURE', 7, 2 * HOUR],
    ['DISCONNECTED', 4, 30 * MINUTE],
    ['TRUNK_UNAVAILABLE', 6, HOUR],
    ['RATE_LIMITED', 40, HOUR],
  ])('%s failure #%i repeats the last delay (%i ms)', (failure, failuresOfThisKind, wait) => {
    // maxAttempts is raised so that the limit does not hide the delay.
    expect(waitOf(failure, { failuresOfThisKind, countedAttempts: 1, maxAttempts: 100 })).toBe(wait);
  });

  it('counts the delay from now', () => {
    const later = new Date('2026-12-31T23:55:00.000Z');
    const decision = decide('BUSY', { now: later, deadline: new Date('2027-01-31T00:00:00.000Z') });
    expect(decision).toEqual({ kind: 'retry', notBefore: new Date('2027-01-01T00:05:00.000Z'), countsAgainstLimit: true });
  });
});

describe('decideRetry: the attempt limit', () => {
  it.each<[AttemptFailure, boolean]>([
    ['BUSY', true],
    ['NO_ANSWER', true],
    ['DECLINED', true],
    ['CARRIER_FAILURE', true],
    ['NO_SHOW', true],
    ['DISCONNECTED', true],
    ['TRUNK_UNAVAILABLE', false],
    ['RATE_LIMITED', false],
  ])('%s counts against the limit: %s', (failure, counts) => {
    expect(decide(failure)).toMatchObject({ kind: 'retry', countsAgainstLimit: counts });
  });

  it.each<[AttemptFailure, number, string]>([
    ['BUSY', 2, 'retry'],
    ['BUSY', 3, 'exhausted'],
    ['NO_ANSWER', 3, 'exhausted'],
    ['DECLINED', 3, 'exhausted'],
    ['CARRIER_FAILURE', 4, 'exhausted'],
    ['NO_SHOW', 3, 'exhausted'],
    ['DISCONNECTED', 3, 'exhausted'],
  ])('%s with %i counted attempts of 3 -> %s', (failure, countedAttempts, kind) => {
    const decision = decide(failure, { countedAttempts, failuresOfThisKind: countedAttempts });
    expect(decision.kind).toBe(kind);
    if (decision.kind === 'exhausted') expect(decision.reason).toBe('max_attempts_reached:3');
  });

  it.each<[AttemptFailure]>([['TRUNK_UNAVAILABLE'], ['RATE_LIMITED']])(
    '%s is retried even when the party has used every attempt: it was our fault',
    (failure) => {
      expect(decide(failure, { countedAttempts: 3, failuresOfThisKind: 8 })).toEqual({
        kind: 'retry',
        notBefore: new Date(now.getTime() + HOUR),
        countsAgainstLimit: false,
      });
    },
  );

  it('honours a different maxAttempts', () => {
    expect(decide('NO_ANSWER', { countedAttempts: 3, maxAttempts: 5 }).kind).toBe('retry');
    expect(decide('NO_ANSWER', { countedAttempts: 1, maxAttempts: 1 })).toEqual({ kind: 'exhausted', reason: 'max_attempts_reached:1' });
  });
});

describe('decideRetry: failures that are never retried', () => {
  it('gives up on an invalid number at once, whatever the counts', () => {
    expect(decide('INVALID_NUMBER')).toEqual({ kind: 'exhausted', reason: 'not_retryable:INVALID_NUMBER' });
    expect(decide('INVALID_NUMBER', { maxAttempts: 100 })).toEqual({ kind: 'exhausted', reason: 'not_retryable:INVALID_NUMBER' });
  });

  it('treats an empty list of delays as never', () => {
    const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, backoffMs: { ...DEFAULT_RETRY_POLICY.backoffMs, BUSY: [] } };
    expect(decide('BUSY', { policy })).toEqual({ kind: 'exhausted', reason: 'not_retryable:BUSY' });
  });
});

describe('decideRetry: the deadline', () => {
  it.each<[string, AttemptFailure, number, number, string]>([
    ['a retry due exactly at the deadline is allowed', 'NO_ANSWER', 1, 30 * MINUTE, 'retry'],
    ['a retry due a millisecond after the deadline is not', 'NO_ANSWER', 1, 30 * MINUTE - 1, 'exhausted'],
    ['a next-day retry after a same-day deadline is not', 'NO_ANSWER', 3, 12 * HOUR, 'exhausted'],
    ['an immediate reconnect at the deadline is allowed', 'DISCONNECTED', 1, 0, 'retry'],
    ['a failure that does not count still stops at the deadline', 'RATE_LIMITED', 1, MINUTE - 1, 'exhausted'],
    ['a deadline already passed', 'DISCONNECTED', 1, -MINUTE, 'exhausted'],
  ])('%s', (_case, failure, failuresOfThisKind, deadlineInMs, kind) => {
    // maxAttempts is raised so that the limit does not hide the deadline.
    const decision = decide(failure, { failuresOfThisKind, maxAttempts: 100, deadline: new Date(now.getTime() + deadlineInMs) });
    expect(decision.kind).toBe(kind);
    if (decision.kind === 'exhausted') expect(decision.reason).toBe('deadline_passed');
  });

  it('uses the escalated delay against the deadline', () => {
    const deadline = new Date(now.getTime() + HOUR);
    expect(decide('BUSY', { failuresOfThisKind: 2, deadline }).kind).toBe('retry');
    expect(decide('BUSY', { failuresOfThisKind: 3, deadline })).toEqual({ kind: 'exhausted', reason: 'deadline_passed' });
  });
});

describe('decideRetry: a custom policy', () => {
  it('uses its delays and counting instead of the defaults', () => {
    const policy: RetryPolicy = {
      backoffMs: { ...DEFAULT_RETRY_POLICY.backoffMs, NO_ANSWER: [7 * MINUTE] },
      countsAgainstLimit: { ...DEFAULT_RETRY_POLICY.countsAgainstLimit, NO_ANSWER: false },
    };
    expect(decide('NO_ANSWER', { policy, failuresOfThisKind: 3, countedAttempts: 3 })).toEqual({
      kind: 'retry',
      notBefore: new Date(now.getTime() + 7 * MINUTE),
      countsAgainstLimit: false,
    });
  });

  it('rejects a failure count below one', () => {
    expect(() => decide('BUSY', { failuresOfThisKind: 0 })).toThrow(RangeError);
  });
});

describe('failure kinds', () => {
  it('cover every dial failure the SIP classifier can report', () => {
    expectTypeOf<DialFailureOutcome>().toExtend<AttemptFailure>();
    const dialFailures = DIAL_OUTCOMES.filter((outcome) => outcome !== 'ANSWERED');
    expect(ATTEMPT_FAILURES).toEqual(expect.arrayContaining([...dialFailures]));
  });

  it('all have a default delay rule and a counting rule', () => {
    for (const failure of ATTEMPT_FAILURES) {
      expect(DEFAULT_RETRY_POLICY.backoffMs[failure]).toBeDefined();
      expect(typeof DEFAULT_RETRY_POLICY.countsAgainstLimit[failure]).toBe('boolean');
    }
  });
});
