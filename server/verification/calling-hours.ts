// When a party may be contacted, judged in the party's own time zone. Pure: the time is always passed in.
//
// A day's window is the pair of instants its local start and end map to. Local times that do not exist
// (a spring-forward gap) map to the first instant after the gap; local times that occur twice (fall-back)
// map to the earlier one. Working on instants rather than on wall-clock readings keeps the three functions
// consistent with one another on DST days: a window never reopens in a repeated hour and never has a hole.

export interface CallingHours {
  /** 'HH:MM' local wall-clock time in the party's zone. */
  start: string;
  /** 'HH:MM', exclusive; '24:00' means the end of the day. */
  end: string;
  /** 0 = Sunday … 6 = Saturday. */
  days: number[];
  /** 'YYYY-MM-DD' local dates on which nothing is allowed. */
  holidays: string[];
}

/** Calling hours by default: 09:00–20:00 in the party's time zone, Monday–Saturday, no holidays. */
export const DEFAULT_CALLING_HOURS: CallingHours = {
  start: '09:00',
  end: '20:00',
  days: [1, 2, 3, 4, 5, 6],
  holidays: [],
};

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** How far ahead the functions below look, in local days. */
export const DEFAULT_HORIZON_DAYS = 400;

export function isWithinCallingHours(at: Date, timeZone: string, hours: CallingHours): boolean {
  return windowContaining(at.getTime(), timeZone, compile(hours)) !== undefined;
}

/** `now` itself when allowed; otherwise the first allowed instant after it; undefined if none within `horizonDays` (default 400). */
export function nextAllowedInstant(
  now: Date,
  timeZone: string,
  hours: CallingHours,
  horizonDays: number = DEFAULT_HORIZON_DAYS,
): Date | undefined {
  const rules = compile(hours);
  const nowMs = now.getTime();
  if (windowContaining(nowMs, timeZone, rules) !== undefined) return new Date(nowMs);
  const today = localDayOf(nowMs, timeZone);
  for (let offset = 0; offset <= horizonDays; offset++) {
    const window = dayWindow(today + offset, timeZone, rules);
    // `now` is outside every window, so the first non-empty window starting after it is the answer.
    if (window && window.start > nowMs) return new Date(window.start);
  }
  return undefined;
}

/**
 * The end of the allowed window containing `at` (so a caller can avoid starting a call that would run past it);
 * undefined if `at` is not allowed. Windows that touch (an all-day window followed by another allowed day) are
 * one window: the party can be reached without interruption across midnight. A stretch that is still open
 * `DEFAULT_HORIZON_DAYS` days after `at`'s day (an always-open policy) is cut off there: the end returned
 * is then the end of that last day, itself an allowed instant.
 */
export function windowEndAt(at: Date, timeZone: string, hours: CallingHours): Date | undefined {
  const rules = compile(hours);
  const containing = windowContaining(at.getTime(), timeZone, rules);
  if (!containing) return undefined;
  let { day, end } = containing;
  // Bounded so that an always-open policy still answers; a call never lasts that long.
  for (let i = 0; i < DEFAULT_HORIZON_DAYS; i++) {
    const next = dayWindow(day + 1, timeZone, rules);
    if (!next || next.start > end) break;
    day += 1;
    end = next.end;
  }
  return new Date(end);
}

// ---- rules ------------------------------------------------------------------------------------------

interface CompiledHours {
  startMinute: number;
  endMinute: number;
  days: ReadonlySet<number>;
  holidays: ReadonlySet<string>;
}

function compile(hours: CallingHours): CompiledHours {
  const startMinute = parseClock(hours.start, 'start');
  const endMinute = parseClock(hours.end, 'end');
  if (startMinute >= 24 * 60) throw new RangeError(`calling hours start must be before 24:00, got ${hours.start}`);
  if (startMinute >= endMinute) {
    throw new RangeError(`calling hours start ${hours.start} must be before end ${hours.end} (windows do not span midnight)`);
  }
  for (const day of hours.days) {
    if (!Number.isInteger(day) || day < 0 || day > 6) throw new RangeError(`calling day must be 0..6, got ${day}`);
  }
  for (const holiday of hours.holidays) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(holiday)) throw new RangeError(`holiday must be YYYY-MM-DD, got ${holiday}`);
  }
  return { startMinute, endMinute, days: new Set(hours.days), holidays: new Set(hours.holidays) };
}

function parseClock(value: string, which: 'start' | 'end'): number {
  const match = /^(\d{2}):(\d{2})$/.exec(value);
  const hour = Number(match?.[1]);
  const minute = Number(match?.[2]);
  const valid = match !== null && ((hour < 24 && minute < 60) || (hour === 24 && minute === 0));
  if (!valid) throw new RangeError(`calling hours ${which} must be HH:MM, got ${value}`);
  return hour * 60 + minute;
}

// ---- windows ----------------------------------------------------------------------------------------
// A "day" is a local calendar date counted as whole days since 1970-01-01, so that date arithmetic is integer
// arithmetic and the weekday and ISO date fall out of a UTC Date.

interface DayWindow {
  day: number;
  start: number;
  end: number;
}

/** The allowed window of a local date, or undefined if the date is not a calling day or the window is empty. */
function dayWindow(day: number, timeZone: string, rules: CompiledHours): DayWindow | undefined {
  const date = new Date(day * DAY_MS);
  if (!rules.days.has(date.getUTCDay())) return undefined;
  if (rules.holidays.has(date.toISOString().slice(0, 10))) return undefined;
  const start = instantOfLocal(day * DAY_MS + rules.startMinute * MINUTE_MS, timeZone);
  const end = instantOfLocal(day * DAY_MS + rules.endMinute * MINUTE_MS, timeZone);
  // Both ends inside one spring-forward gap: that day's window does not exist.
  return start < end ? { day, start, end } : undefined;
}

function windowContaining(atMs: number, timeZone: string, rules: CompiledHours): DayWindow | undefined {
  const today = localDayOf(atMs, timeZone);
  // A window belongs to the date it starts on, which is normally the date of every instant in it. Not when a
  // clock falls back across midnight: St. John's went from 00:01 back to 23:01 the day before (1987–2010), so
  // a window opening at 00:00 on the new day contained instants that read as the old day.
  for (const day of [today, today + 1]) {
    const window = dayWindow(day, timeZone, rules);
    if (window && window.start <= atMs && atMs < window.end) return window;
  }
  return undefined;
}

// ---- time zones -------------------------------------------------------------------------------------

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/** The local wall-clock reading of an instant, expressed as if it were a UTC timestamp (whole seconds). */
function wallClockOf(instantMs: number, timeZone: string): number {
  const fields: Partial<Record<Intl.DateTimeFormatPartTypes, number>> = {};
  for (const part of formatterFor(timeZone).formatToParts(instantMs)) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  const { year = NaN, month = NaN, day = NaN, hour = NaN, minute = NaN, second = NaN } = fields;
  // Some ICU versions print midnight as 24 even with h23.
  return Date.UTC(year, month - 1, day, hour % 24, minute, second);
}

/** Local time minus UTC at an instant; sub-second parts are ignored because the formatter drops them. */
function offsetAt(instantMs: number, timeZone: string): number {
  const wholeSecond = Math.floor(instantMs / 1000) * 1000;
  return wallClockOf(wholeSecond, timeZone) - wholeSecond;
}

function localDayOf(instantMs: number, timeZone: string): number {
  return Math.floor((instantMs + offsetAt(instantMs, timeZone)) / DAY_MS);
}

/**
 * The instant a local wall-clock time (given as if it were UTC) occurs: the earlier one when it occurs twice,
 * the first instant after the gap when it does not occur at all.
 */
function instantOfLocal(wallMs: number, timeZone: string): number {
  // The instant lies within about 14 hours of the wall time, so offsets a day either side bracket any transition
  // that can affect it (zones do not change offset twice within two days).
  const offsetBefore = offsetAt(wallMs - DAY_MS, timeZone);
  const offsetAfter = offsetAt(wallMs + DAY_MS, timeZone);
  const candidates = [wallMs - offsetBefore, wallMs - offsetAfter]
    .filter((instant) => offsetAt(instant, timeZone) === wallMs - instant)
    .sort((a, b) => a - b);
  if (candidates[0] !== undefined) return candidates[0];
  // In a gap: the clock jumps forward at some instant between the two readings; find it.
  return firstOffsetChange(wallMs - offsetAfter, wallMs - offsetBefore, timeZone);
}

/** The first whole second in (from, to] whose offset differs from the offset at `from`. */
function firstOffsetChange(from: number, to: number, timeZone: string): number {
  const initial = offsetAt(from, timeZone);
  let lo = Math.floor(from / 1000);
  let hi = Math.ceil(to / 1000);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetAt(mid * 1000, timeZone) === initial) lo = mid;
    else hi = mid;
  }
  return hi * 1000;
}

/** The local calendar day containing `at` in `timeZone`, as [start, end) instants (23 or 25 hours on DST days). */
export function localDayBounds(at: Date, timeZone: string): { start: Date; end: Date } {
  const day = localDayOf(at.getTime(), timeZone);
  return { start: new Date(instantOfLocal(day * DAY_MS, timeZone)), end: new Date(instantOfLocal((day + 1) * DAY_MS, timeZone)) };
}
