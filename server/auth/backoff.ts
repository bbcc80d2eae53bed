// How long sign-in attempts are held back after repeated failures: a few free tries, then a wait
// that doubles with every further failure, up to a ceiling. A fixed lock would let anyone who knows an
// address keep its owner out for the whole lock time with a handful of guesses; a backoff starts short,
// and each wait buys the guesser one more try at most. Pure: the Redis throttle applies the schedule.

export interface BackoffPolicy {
  /** Failures allowed before any wait: the failure with this number starts the first wait. */
  freeFailures: number;
  firstDelayMs: number;
  maxDelayMs: number;
}

/** Past this many doublings every policy facesign accepts has reached its ceiling. */
const MAX_DOUBLINGS = 32;

/** The wait imposed by the `failures`-th consecutive failure (0: none). */
export function backoffDelayMs(failures: number, policy: BackoffPolicy): number {
  if (failures < policy.freeFailures) return 0;
  const doublings = Math.min(failures - policy.freeFailures, MAX_DOUBLINGS);
  return Math.min(policy.maxDelayMs, policy.firstDelayMs * 2 ** doublings);
}

/**
 * The waits after the 1st, 2nd, … failure, up to the first one at the ceiling: every later failure
 * waits as long as the last entry. This is the form the Redis script reads.
 */
export function backoffSchedule(policy: BackoffPolicy): number[] {
  const schedule: number[] = [];
  for (let failures = 1; failures <= policy.freeFailures + MAX_DOUBLINGS; failures += 1) {
    const delay = backoffDelayMs(failures, policy);
    schedule.push(delay);
    if (delay >= policy.maxDelayMs) break;
  }
  return schedule;
}
