// Retention as pure rules: the dates, and what retaining, recomputing and deleting a recording take.
// A recording is evidence for as long as the loan can be disputed: counted from the loan's maturity
// (its last repayment) when the LOS told us one, otherwise from the moment facesign verified the
// file. Calendar arithmetic is in UTC so every node and every time zone agrees on the same instant.
// retention.service.ts applies these decisions to the rows and the object store.
import type { RecordingState } from './recording-state.js';

export interface RetentionRules {
  /** e.g. 5: keep recordings five years after the loan ends. */
  yearsAfterMaturity: number;
  /** e.g. 6: 双录 rules ask for at least product end + 6 months, whatever the years rule says. */
  minMonthsAfterMaturity: number;
  /** When the maturity is unknown, a long fixed period from verification (never "forever"). */
  yearsWithoutMaturity: number;
  /**
   * The floor, e.g. 36: whatever the maturity date says, a recording is kept at least this many
   * months after verification. A maturity date is data someone can change (or get wrong); evidence
   * must not become deletable the moment it was made because of it.
   */
  minMonthsAfterVerification: number;
}

export interface RetainUntilInput {
  verifiedAt: Date;
  maturityDate: Date | null;
  rules: RetentionRules;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysInMonth(year: number, monthIndex: number): number {
  return monthIndex === 1 && isLeapYear(year) ? 29 : (DAYS_IN_MONTH[monthIndex] ?? 31);
}

function assertValidDate(date: Date, name: string): void {
  if (Number.isNaN(date.getTime())) throw new RangeError(`${name} is not a valid date`);
}

function assertCount(value: number, name: string): void {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
}

/**
 * Adds calendar months in UTC, keeping the time of day. A day that the target month lacks is
 * clamped to its last day (31 Jan + 1 month = 28/29 Feb), so the result never spills into the month
 * after: a retention period must not silently grow by a few days, nor shrink.
 */
export function addMonthsUtc(date: Date, months: number): Date {
  assertValidDate(date, 'date');
  if (!Number.isInteger(months)) throw new RangeError(`months must be an integer, got ${months}`);
  const monthsSinceYearZero = date.getUTCFullYear() * 12 + date.getUTCMonth() + months;
  const year = Math.floor(monthsSinceYearZero / 12);
  const monthIndex = monthsSinceYearZero - year * 12;
  const day = Math.min(date.getUTCDate(), daysInMonth(year, monthIndex));
  const out = new Date(date.getTime());
  // setUTCFullYear rather than Date.UTC: Date.UTC maps years 0–99 to 1900–1999.
  out.setUTCFullYear(year, monthIndex, day);
  return out;
}

/** Calendar years as twelve months: 29 Feb + 1 year = 28 Feb. */
export function addYearsUtc(date: Date, years: number): Date {
  if (!Number.isInteger(years)) throw new RangeError(`years must be an integer, got ${years}`);
  return addMonthsUtc(date, years * 12);
}

const later = (a: Date, b: Date): Date => (a.getTime() >= b.getTime() ? a : b);

/**
 * The instant before which a recording must not be deleted.
 * - With a maturity date: the later of maturity + yearsAfterMaturity years and maturity +
 *   minMonthsAfterMaturity months.
 * - Without one: verifiedAt + yearsWithoutMaturity years.
 * - Either way, never before verifiedAt + minMonthsAfterVerification months (the floor): a loan
 *   that ended long before verification, or a maturity date set into the past, does not make
 *   fresh evidence deletable.
 */
export function retainUntil(input: RetainUntilInput): Date {
  const { verifiedAt, maturityDate, rules } = input;
  assertValidDate(verifiedAt, 'verifiedAt');
  assertCount(rules.yearsAfterMaturity, 'yearsAfterMaturity');
  assertCount(rules.minMonthsAfterMaturity, 'minMonthsAfterMaturity');
  assertCount(rules.yearsWithoutMaturity, 'yearsWithoutMaturity');
  assertCount(rules.minMonthsAfterVerification, 'minMonthsAfterVerification');
  const floor = addMonthsUtc(verifiedAt, rules.minMonthsAfterVerification);
  if (maturityDate === null) return later(addYearsUtc(verifiedAt, rules.yearsWithoutMaturity), floor);
  assertValidDate(maturityDate, 'maturityDate');
  const byYears = addYearsUtc(maturityDate, rules.yearsAfterMaturity);
  const byMonths = addMonthsUtc(maturityDate, rules.minMonthsAfterMaturity);
  return new Date(later(later(byYears, byMonths), floor).getTime());
}

export interface RetentionCut {
  /** How many of the recordings would be kept for a shorter time. */
  recordings: number;
  /** The largest cut: the date one recording has under the current maturity, and would have under the new one. */
  from: Date;
  to: Date;
}

/**
 * Whether moving a loan's maturity from `from` to `to` shortens the retention of any of its
 * recordings, given when each was verified (a recording not verified yet counts as verified now, the
 * earliest it can be). Null when no recording loses a day. Moving a maturity earlier shortens; so
 * can removing one, or supplying one where there was none, depending on the dates.
 */
export function retentionCut(input: { from: Date | null; to: Date | null; verifiedAt: readonly Date[]; rules: RetentionRules }): RetentionCut | null {
  let cut: RetentionCut | null = null;
  let recordings = 0;
  for (const verifiedAt of input.verifiedAt) {
    const before = retainUntil({ verifiedAt, maturityDate: input.from, rules: input.rules });
    const after = retainUntil({ verifiedAt, maturityDate: input.to, rules: input.rules });
    if (after.getTime() >= before.getTime()) continue;
    recordings += 1;
    if (!cut || before.getTime() - after.getTime() > cut.from.getTime() - cut.to.getTime()) cut = { recordings, from: before, to: after };
  }
  return cut ? { ...cut, recordings } : null;
}

// Enforcement: who keeps a recording from being deleted early, and the store calls that takes.

export type ObjectLockMode = 'COMPLIANCE' | 'GOVERNANCE';
export type RetentionEnforcer = 'object_lock' | 'facesign';
export type Enforcement = { enforcedBy: 'object_lock'; mode: ObjectLockMode } | { enforcedBy: 'facesign'; mode: null };

export type StoreAction = { kind: 'retention'; until: Date; mode: ObjectLockMode } | { kind: 'legal-hold'; on: boolean };

/** The Object Lock mode a row records, or null for anything else (facesign alone enforces). */
export const lockModeOf = (mode: string | null): ObjectLockMode | null => (mode === 'COMPLIANCE' || mode === 'GOVERNANCE' ? mode : null);

/** Object Lock enforces retention only when the bucket has it and the operator did not turn it off. */
export function decideEnforcement(bucketHasObjectLock: boolean, configured: ObjectLockMode | 'off'): Enforcement {
  if (configured === 'off' || !bucketHasObjectLock) return { enforcedBy: 'facesign', mode: null };
  return { enforcedBy: 'object_lock', mode: configured };
}

/**
 * The store calls that retaining a recording takes, and the lock mode the row then records (null
 * when the store enforces nothing for this object). Object Lock refuses a retain-until date in the
 * past, and such a recording is due anyway, so no retention is applied to it; its hold still is.
 */
export function planRetention(input: { enforcement: Enforcement; retainUntil: Date; legalHold: boolean; now: Date }): {
  actions: StoreAction[];
  lockMode: ObjectLockMode | null;
} {
  const { enforcement } = input;
  if (enforcement.enforcedBy === 'facesign') return { actions: [], lockMode: null };
  const actions: StoreAction[] = [];
  if (input.retainUntil.getTime() > input.now.getTime()) actions.push({ kind: 'retention', until: input.retainUntil, mode: enforcement.mode });
  if (input.legalHold) actions.push({ kind: 'legal-hold', on: true });
  return { actions, lockMode: actions.some((a) => a.kind === 'retention') ? enforcement.mode : null };
}

/**
 * The retain-until date retain() applies: the rule's, unless the store already locks the object
 * longer: a try that placed its lock and died before its row committed while the rule said a later
 * date, or the bucket's default retention stamped on upload. A lock is never shortened (S3 refuses
 * it for COMPLIANCE, so retain would fail on every sweep, and facesign never asks), so the row
 * takes the store's date and never says less than the store enforces.
 */
export function retentionDate(rule: Date, storeLockedUntil: Date | undefined): Date {
  return storeLockedUntil && storeLockedUntil.getTime() > rule.getTime() ? storeLockedUntil : rule;
}

/**
 * Whether a legal hold change must also be sent to the store: the object must be final (verified
 * or retained; earlier it may not exist yet, and retain() applies the hold later), and the store
 * must speak Object Lock, now or when this recording was retained.
 */
export function mirrorsLegalHold(rec: { state: RecordingState; objectLockMode: string | null }, enforcement: Enforcement): boolean {
  if (rec.state !== 'VERIFIED' && rec.state !== 'RETAINED') return false;
  return enforcement.enforcedBy === 'object_lock' || rec.objectLockMode !== null;
}

export interface RecomputePlan {
  /** The retain-until the row will say. */
  to: Date;
  /** Sent to the store first: Object Lock set to a later date. */
  extendLock: { until: Date; mode: ObjectLockMode } | null;
  /** The row's objectLockMode afterwards. */
  lockMode: ObjectLockMode | null;
}

/**
 * A retained recording's date after its loan's maturity changed. The date follows the rule, except
 * that an object lock is only ever extended: S3 refuses to shorten a COMPLIANCE lock, and facesign
 * never uses the governance bypass, so the row never claims an earlier date than the store enforces.
 * Without a lock (facesign enforces) the date may move earlier, e.g. when a loan is repaid early.
 * A recording the store did not lock because its date had passed gets a lock once the date is ahead.
 */
export function planRecompute(input: { current: Date; rule: Date; lockMode: ObjectLockMode | null; enforcement: Enforcement; now: Date }): RecomputePlan {
  const { current, rule, lockMode, enforcement, now } = input;
  if (lockMode !== null) {
    return rule.getTime() > current.getTime() ? { to: rule, extendLock: { until: rule, mode: lockMode }, lockMode } : { to: current, extendLock: null, lockMode };
  }
  if (enforcement.enforcedBy === 'object_lock' && rule.getTime() > now.getTime() && rule.getTime() !== current.getTime()) {
    return { to: rule, extendLock: { until: rule, mode: enforcement.mode }, lockMode: enforcement.mode };
  }
  return { to: rule, extendLock: null, lockMode: null };
}

/** Why a recording may not be deleted at `now`, or null when it may. A hold outranks any date. */
export function deletionRefusal(rec: { state: RecordingState; retainUntil: Date | null; legalHold: boolean }, now: Date): string | null {
  if (rec.legalHold) return 'The recording is on legal hold; it cannot be deleted until the hold is released';
  if (rec.state !== 'RETAINED' || rec.retainUntil === null) {
    return `Retention has not been applied to this recording (state ${rec.state}); only retained recordings can be deleted`;
  }
  if (rec.retainUntil.getTime() > now.getTime()) {
    return `The recording is retained until ${rec.retainUntil.toISOString()}; it cannot be deleted before then`;
  }
  return null;
}
