import { describe, expect, it } from 'vitest';
import { backoffDelayMs, backoffSchedule, type BackoffPolicy } from '../../server/auth/backoff.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
// The shipped defaults: LOGIN_MAX_FAILURES=5, LOGIN_BACKOFF_SECONDS=30, LOGIN_LOCKOUT_MINUTES=15.
const ACCOUNT: BackoffPolicy = { freeFailures: 5, firstDelayMs: 30 * SECOND, maxDelayMs: 15 * MINUTE };

describe('backoffDelayMs', () => {
  it.each<[number, number]>([
    [0, 0],
    [1, 0],
    [4, 0],
    [5, 30 * SECOND],
    [6, 60 * SECOND],
    [7, 2 * MINUTE],
    [8, 4 * MINUTE],
    [9, 8 * MINUTE],
    [10, 15 * MINUTE],
    [11, 15 * MINUTE],
    [1_000_000, 15 * MINUTE],
  ])('failure %i waits %i ms', (failures, wait) => {
    expect(backoffDelayMs(failures, ACCOUNT)).toBe(wait);
  });

  it('starts waiting at the first failure when no try is free, and never exceeds a ceiling below the first wait', () => {
    expect(backoffDelayMs(1, { freeFailures: 1, firstDelayMs: SECOND, maxDelayMs: MINUTE })).toBe(SECOND);
    expect(backoffDelayMs(0, { freeFailures: 1, firstDelayMs: SECOND, maxDelayMs: MINUTE })).toBe(0);
    expect(backoffDelayMs(3, { freeFailures: 1, firstDelayMs: 2 * MINUTE, maxDelayMs: MINUTE })).toBe(MINUTE);
  });
});

describe('backoffSchedule', () => {
  it('lists the wait of every failure up to the first at the ceiling', () => {
    expect(backoffSchedule(ACCOUNT)).toEqual([0, 0, 0, 0, 30 * SECOND, 60 * SECOND, 2 * MINUTE, 4 * MINUTE, 8 * MINUTE, 15 * MINUTE]);
  });

  it('agrees with backoffDelayMs for every failure, reading the last entry past its end', () => {
    for (const policy of [ACCOUNT, { freeFailures: 20, firstDelayMs: SECOND, maxDelayMs: 24 * 60 * MINUTE }, { freeFailures: 1, firstDelayMs: 3 * SECOND, maxDelayMs: 3 * SECOND }]) {
      const schedule = backoffSchedule(policy);
      for (let failures = 1; failures <= schedule.length + 5; failures += 1) {
        expect(schedule[Math.min(failures, schedule.length) - 1], `${JSON.stringify(policy)} failure ${failures}`).toBe(backoffDelayMs(failures, policy));
      }
    }
  });
});
