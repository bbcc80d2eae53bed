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
 *   minMonthsAfterMaturity months, and never before verifiedAt (the recording cannot be due
 *   before it existed as evidence; a loan that ended long before verification is due at once).
 * - Without one: verifiedAt + yearsWithoutMaturity years.
 */
export function retainUntil(input: RetainUntilInput): Date {
  const { verifiedAt, maturityDate, rules } = input;
  assertValidDate(verifiedAt, 'verifiedAt');
  assertCount(rules.yearsAfterMaturity, 'yearsAfterMaturity');
  assertCount(rules.minMonthsAfterMaturity, 'minMonthsAfterMaturity');
  assertCount(rules.yearsWithoutMaturity, 'yearsWithoutMaturity');
  if (maturityDate === null) return addYearsUtc(verifiedAt, rules.yearsWithoutMaturity);
  assertValidDate(maturityDate, 'maturityDate');
  const byYears = addYearsUtc(maturityDate, rules.yearsAfterMaturity);
  const byMonths = addMonthsUtc(maturityDate, rules.minMonthsAfterMaturity);
  return new Date(later(later(byYears, byMonths), verifiedAt).getTime());
}
