// Retention dates as a pure rule. A recording is evidence for as long as the loan can be disputed:
// counted from the loan's maturity (its last repayment) when the LOS told us one, otherwise from
// the moment facesign verified the file. Calendar arithmetic is in UTC so every node and every
// time zone agrees on the same instant.

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
