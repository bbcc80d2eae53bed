// Properties of the retry policy, alone and as the session jobs use it: the backoff first, then moved
// into the party's calling hours and checked against the deadline (retryInCallingHours).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isWithinCallingHours, type CallingHours } from '../../server/verification/calling-hours.js';
import {
  ATTEMPT_FAILURES,
  DEFAULT_RETRY_POLICY,
  decideRetry,
  retryInCallingHours,
  type AttemptFailure,
  type RetryInput,
} from '../../server/verification/retry-policy.js';

const MINUTE = 60_000;
const DAY = 86_400_000;

const failureArb = fc.constantFrom<AttemptFailure>(...ATTEMPT_FAILURES);
const nowArb = fc.integer({ min: Date.parse('2026-01-01T00:00:00Z'), max: Date.parse('2027-12-31T00:00:00Z') }).map((t) => new Date(t));
const inputArb: fc.Arbitrary<RetryInput> = fc
  .record({
    failure: failureArb,
    failuresOfThisKind: fc.integer({ min: 1, max: 12 }),
    countedAttempts: fc.integer({ min: 0, max: 12 }),
    maxAttempts: fc.integer({ min: 1, max: 10 }),
    now: nowArb,
    deadlineAfterMs: fc.integer({ min: -DAY, max: 30 * DAY }),
  })
  .map(({ deadlineAfterMs, ...rest }) => ({ ...rest, deadline: new Date(rest.now.getTime() + deadlineAfterMs) }));

const delaysOf = (failure: AttemptFailure): number[] => {
  const backoff = DEFAULT_RETRY_POLICY.backoffMs[failure];
  return backoff === 'never' ? [] : backoff;
};

describe('decideRetry properties', () => {
  it('a retry is never before now nor after the deadline, and waits one of the policy delays', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const decision = decideRetry(input);
        if (decision.kind !== 'retry') return;
        const wait = decision.notBefore.getTime() - input.now.getTime();
        expect(wait).toBeGreaterThanOrEqual(0);
        expect(decision.notBefore.getTime()).toBeLessThanOrEqual(input.deadline.getTime());
        expect(delaysOf(input.failure)).toContain(wait);
        expect(decision.countsAgainstLimit).toBe(DEFAULT_RETRY_POLICY.countsAgainstLimit[input.failure]);
      }),
      { numRuns: 1000 },
    );
  });

  it('never retries a counted failure once the party used up their attempts', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const decision = decideRetry(input);
        if (DEFAULT_RETRY_POLICY.countsAgainstLimit[input.failure] && input.countedAttempts >= input.maxAttempts) expect(decision.kind).toBe('exhausted');
      }),
      { numRuns: 1000 },
    );
  });

  it("our own trunk's failures never use up the party's attempts: only the deadline stops them", () => {
    fc.assert(
      fc.property(inputArb, fc.constantFrom<AttemptFailure>('TRUNK_UNAVAILABLE', 'RATE_LIMITED'), (input, failure) => {
        const decision = decideRetry({ ...input, failure, countedAttempts: input.maxAttempts + 5, deadline: new Date(input.now.getTime() + 30 * DAY) });
        expect(decision.kind).toBe('retry');
      }),
    );
  });

  it('waits longer (or as long) after each further failure of the same kind', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const far = { ...input, countedAttempts: 0, maxAttempts: 100, deadline: new Date(input.now.getTime() + 365 * DAY) };
        const first = decideRetry(far);
        const second = decideRetry({ ...far, failuresOfThisKind: far.failuresOfThisKind + 1 });
        if (first.kind !== 'retry' || second.kind !== 'retry') {
          expect(first.kind).toBe(second.kind);
          return;
        }
        expect(second.notBefore.getTime()).toBeGreaterThanOrEqual(first.notBefore.getTime());
      }),
      { numRuns: 500 },
    );
  });

  it('a later deadline never turns a retry into giving up', () => {
    fc.assert(
      fc.property(inputArb, fc.integer({ min: 0, max: 30 * DAY }), (input, extra) => {
        const earlier = decideRetry(input);
        const later = decideRetry({ ...input, deadline: new Date(input.deadline.getTime() + extra) });
        if (earlier.kind === 'retry') expect(later).toEqual(earlier);
      }),
      { numRuns: 500 },
    );
  });
});

// ---- with calling hours --------------------------------------------------------------------------------

const ZONES = ['Asia/Shanghai', 'America/New_York', 'Europe/Berlin', 'Australia/Lord_Howe', 'Asia/Kolkata', 'Pacific/Kiritimati', 'America/St_Johns'];
const clock = (minutes: number) => `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
const hoursArb: fc.Arbitrary<CallingHours> = fc
  .tuple(fc.integer({ min: 0, max: 95 }), fc.integer({ min: 1, max: 96 }), fc.subarray([0, 1, 2, 3, 4, 5, 6], { minLength: 1 }), fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 4 }))
  .map(([startStep, length, days, holidayOffsets]) => {
    const start = startStep * 15;
    return {
      start: clock(start),
      end: clock(Math.min(start + length * 15, 24 * 60)),
      days,
      holidays: holidayOffsets.map((offset) => new Date(Date.parse('2026-06-01T00:00:00Z') + offset * DAY).toISOString().slice(0, 10)),
    };
  });

describe('retryInCallingHours properties', () => {
  it('the retry time lies inside calling hours, no earlier than the backoff, no later than the deadline, and is the earliest such minute', () => {
    fc.assert(
      fc.property(inputArb, fc.constantFrom(...ZONES), hoursArb, (input, zone, hours) => {
        const backoff = decideRetry(input);
        const decision = retryInCallingHours(backoff, zone, hours, input.deadline);
        if (backoff.kind !== 'retry') {
          expect(decision).toEqual(backoff);
          return;
        }
        if (decision.kind !== 'retry') {
          expect(decision.reason).toBe('deadline_passed');
          return;
        }
        const at = decision.notBefore.getTime();
        expect(at).toBeGreaterThanOrEqual(backoff.notBefore.getTime());
        expect(at).toBeLessThanOrEqual(input.deadline.getTime());
        expect(isWithinCallingHours(decision.notBefore, zone, hours)).toBe(true);
        expect(decision.countsAgainstLimit).toBe(backoff.countsAgainstLimit);
        if (at > backoff.notBefore.getTime()) {
          // Moved: the instant before was quiet, and so was every minute back to the backoff.
          expect(isWithinCallingHours(new Date(at - 1), zone, hours)).toBe(false);
          for (let t = at - MINUTE; t >= backoff.notBefore.getTime() && t > at - 180 * MINUTE; t -= MINUTE) {
            expect(isWithinCallingHours(new Date(t), zone, hours), new Date(t).toISOString()).toBe(false);
          }
        }
      }),
      { numRuns: 300 },
    );
  }, 60_000);

  it('gives up only when calling hours open after the deadline', () => {
    fc.assert(
      fc.property(inputArb, fc.constantFrom(...ZONES), hoursArb, (input, zone, hours) => {
        const backoff = decideRetry(input);
        if (backoff.kind !== 'retry') return;
        const decision = retryInCallingHours(backoff, zone, hours, input.deadline);
        if (decision.kind === 'retry') return;
        // Every sampled instant between the backoff and the deadline is quiet.
        const from = backoff.notBefore.getTime();
        const to = input.deadline.getTime();
        const step = Math.max(MINUTE, Math.floor((to - from) / 200));
        for (let t = from; t <= to; t += step) expect(isWithinCallingHours(new Date(t), zone, hours), new Date(t).toISOString()).toBe(false);
        expect(isWithinCallingHours(input.deadline, zone, hours)).toBe(false);
      }),
      { numRuns: 300 },
    );
  }, 60_000);
});
