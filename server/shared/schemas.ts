// Small schema pieces shared by routes.
import { z } from 'zod';

// Dates, in and out, stay inside what every layer can hold: PostgreSQL has no year 0, and the
// four-digit years of ISO 8601 (what these schemas write back) end with 9999, long before JS Date or
// timestamptz do. Outside that a value is a typo or a probe: a 400 naming the field, not a 500 from
// the database or from a response that no longer fits its own schema. Values facesign computes with
// end sooner, so that what it derives from them (a deadline days later, retention up to two
// centuries after a maturity date) still fits.
export const EARLIEST_DATE = '1900-01-01';
/** The end for instants stored as given (searches, expiry times): the end of four-digit years, in UTC. */
export const LATEST_DATE = '9999-12-31';
/** The end for dates and instants facesign computes with. */
export const LATEST_PLANNED_DATE = '2999-12-31';

const msOf = (day: string, endOfDay: boolean) => Date.parse(`${day}T${endOfDay ? '23:59:59.999' : '00:00:00'}Z`);

/** Unparsable text passes here: the format check has already said what is wrong with it. */
function between(latestDay: string, unit: 'instant' | 'date') {
  const earliest = msOf(EARLIEST_DATE, false);
  const latest = msOf(latestDay, true);
  return [
    (text: string): boolean => {
      const ms = Date.parse(text);
      return Number.isNaN(ms) || (ms >= earliest && ms <= latest);
    },
    `must be between ${EARLIEST_DATE} and ${latestDay}${unit === 'instant' ? ' (UTC)' : ''}`,
  ] as const;
}

/** An instant with its offset, in (and out of) the API. */
export const timestamp = z.iso.datetime({ offset: true }).refine(...between(LATEST_DATE, 'instant'));
/** An instant facesign schedules from (notBefore, deadline). */
export const plannedTimestamp = z.iso.datetime({ offset: true }).refine(...between(LATEST_PLANNED_DATE, 'instant'));
/** A calendar date, YYYY-MM-DD, that facesign computes with (a maturity date, a report day). */
export const calendarDate = (message: string) => {
  const [inRange, rangeMessage] = between(LATEST_PLANNED_DATE, 'date');
  return z.iso.date({ message }).refine((text) => inRange(`${text}T00:00:00Z`), rangeMessage);
};
export const idParam = z.object({ id: z.uuid({ message: 'must be a UUID' }) });
export const iso = (d: Date): string => d.toISOString();
export const isoOrNull = (d: Date | null): string | null => (d ? d.toISOString() : null);
/** Documents a binary body (media, images) in the OpenAPI document. */
export const binaryBody = z.string().meta({ format: 'binary', description: 'binary data' });
