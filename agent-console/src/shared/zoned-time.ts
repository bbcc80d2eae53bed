// Wall-clock times in the party's time zone, as a datetime-local input reads and writes them ('YYYY-MM-DDTHH:MM').

function wallClock(instantMs: number, timeZone: string): { text: string; asUtcMs: number } {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' })
      .formatToParts(instantMs)
      .map((p) => [p.type, p.value]),
  );
  const hour = parts.hour === '24' ? '00' : String(parts.hour);
  const text = `${String(parts.year)}-${String(parts.month)}-${String(parts.day)}T${hour}:${String(parts.minute)}`;
  return { text, asUtcMs: Date.parse(`${text}:00Z`) };
}

/** The reading of a clock in `timeZone` at `iso`. */
export function toZonedInput(iso: string, timeZone: string): string {
  return wallClock(new Date(iso).getTime(), timeZone).text;
}

/** The instant a clock in `timeZone` reads `local`; in a spring-forward gap, the instant the gap ends. */
export function fromZonedInput(local: string, timeZone: string): string {
  const asUtc = Date.parse(`${local}:00Z`);
  let instant = asUtc;
  // Two corrections settle on the offset in force at the instant itself.
  for (let i = 0; i < 2; i++) instant = asUtc - (wallClock(instant, timeZone).asUtcMs - instant);
  return new Date(instant).toISOString();
}

/** 'YYYY-MM-DDTHH:MM' shown as a date and time in the page's language (the clock reading, no zone shift). */
export function formatZonedReading(local: string, locale: string): string {
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }).format(new Date(`${local}:00Z`));
}

/** Weekday names for 0 = Sunday … 6 = Saturday, in the page's language. */
export function weekdayNames(days: number[], locale: string): string {
  const format = new Intl.DateTimeFormat(locale, { weekday: 'short', timeZone: 'UTC' });
  // 2023-01-01 was a Sunday.
  return days.map((d) => format.format(new Date(Date.UTC(2023, 0, 1 + d)))).join(locale.startsWith('zh') ? '、' : ', ');
}

/** A time zone as people name it in the page's language ("中国标准时间", "China Standard Time"), or its id. */
export function zoneName(timeZone: string, locale: string): string {
  try {
    const part = new Intl.DateTimeFormat(locale, { timeZone, timeZoneName: 'longGeneric' }).formatToParts(new Date()).find((p) => p.type === 'timeZoneName');
    return part?.value ?? timeZone;
  } catch {
    return timeZone;
  }
}
