// Operations figures over a range of calendar days in one time zone, computed in Postgres: each figure
// is one aggregate query over an indexed timestamp, so a dashboard over a year of sessions stays cheap.
//
// What each figure means (the dashboard and /metrics say the same):
// - ended sessions: sessions that reached an end state, on the local day they ended (completedAt);
//   a COMPLETED session counts under its outcome, the others under their state.
// - handle time: conversations (attempts whose recording started) that ended, from the start of the
//   recording to the end of the attempt; counted on the day the attempt started.
// - queue wait: video attempts, from the borrower entering the waiting room (the attempt opens) to the
//   agent joining (the recording starts); counted on the day the attempt started.
// - no-show rate: video appointments the borrower missed (NO_SHOW transitions in the audit log) over
//   those plus the appointments they came to (video attempts opened).
// - dial outcomes: call attempts by their dial outcome (the day the attempt started).
import type { Db } from '../db/client.js';
import { Prisma } from '../db/client.js';
import type { DialOutcome } from '../db/generated/prisma/enums.js';

export const ENDED_CATEGORIES = ['PASSED', 'FAILED', 'EXHAUSTED', 'EXPIRED', 'CANCELLED'] as const;
export type EndedCategory = (typeof ENDED_CATEGORIES)[number];
export const DIAL_OUTCOMES: readonly DialOutcome[] = ['ANSWERED', 'BUSY', 'NO_ANSWER', 'DECLINED', 'INVALID_NUMBER', 'CARRIER_FAILURE', 'TRUNK_UNAVAILABLE', 'RATE_LIMITED'];

export interface DayRange {
  /** First local day, YYYY-MM-DD. */
  from: string;
  /** Last local day (inclusive), YYYY-MM-DD. */
  to: string;
  timeZone: string;
}

export interface OperationsFigures {
  from: string;
  to: string;
  timeZone: string;
  days: ({ date: string; total: number } & Record<EndedCategory, number>)[];
  totals: { total: number } & Record<EndedCategory, number>;
  handleTime: { conversations: number; averageSeconds: number | null };
  queueWait: { waits: number; averageSeconds: number | null };
  noShow: { appointments: number; noShows: number; rate: number | null };
  dialOutcomes: { outcome: DialOutcome; count: number }[];
}

/** Every calendar day from `from` to `to` inclusive (YYYY-MM-DD, no time zone involved). */
export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`); t <= Date.parse(`${to}T00:00:00Z`); t += 86_400_000) days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}

const round = (n: number | null, digits = 1) => (n === null ? null : Math.round(n * 10 ** digits) / 10 ** digits);
const zeroes = () => Object.fromEntries(ENDED_CATEGORIES.map((c) => [c, 0])) as Record<EndedCategory, number>;

export class OperationsMetrics {
  constructor(private readonly db: Db) {}

  async figures(range: DayRange): Promise<OperationsFigures> {
    const tz = range.timeZone;
    // [start, end) as instants: local midnight of the first day to local midnight after the last.
    const start = Prisma.sql`(${range.from}::date::timestamp AT TIME ZONE ${tz})`;
    const end = Prisma.sql`((${range.to}::date + 1)::timestamp AT TIME ZONE ${tz})`;
    const [ended, attempts, noShows, dials] = await Promise.all([
      this.db.$queryRaw<{ day: string; category: string; n: number }[]>`
        SELECT to_char(("completedAt" AT TIME ZONE ${tz})::date, 'YYYY-MM-DD') AS day,
               CASE WHEN state = 'COMPLETED' THEN outcome::text ELSE state::text END AS category,
               count(*)::int AS n
          FROM "VerificationSession"
         WHERE "completedAt" >= ${start} AND "completedAt" < ${end}
           AND state IN ('COMPLETED', 'EXHAUSTED', 'EXPIRED', 'CANCELLED')
         GROUP BY 1, 2`,
      // One pass over the range's attempts with their session's kind.
      this.db.$queryRaw<{ conversations: number; handle: number | null; videoAttempts: number; waits: number; wait: number | null }[]>`
        SELECT count(*) FILTER (WHERE a."recordingStartedAt" IS NOT NULL AND a."endedAt" IS NOT NULL)::int AS conversations,
               (avg(extract(epoch FROM (a."endedAt" - a."recordingStartedAt"))) FILTER (WHERE a."recordingStartedAt" IS NOT NULL AND a."endedAt" IS NOT NULL))::float8 AS handle,
               count(*) FILTER (WHERE s.kind = 'VIDEO')::int AS "videoAttempts",
               count(*) FILTER (WHERE s.kind = 'VIDEO' AND a."recordingStartedAt" IS NOT NULL)::int AS waits,
               (avg(extract(epoch FROM (a."recordingStartedAt" - a."startedAt"))) FILTER (WHERE s.kind = 'VIDEO' AND a."recordingStartedAt" IS NOT NULL))::float8 AS wait
          FROM "Attempt" a JOIN "VerificationSession" s ON s.id = a."sessionId"
         WHERE a."startedAt" >= ${start} AND a."startedAt" < ${end}`,
      this.db.$queryRaw<{ n: number }[]>`
        SELECT count(*)::int AS n
          FROM "AuditEvent"
         WHERE action = 'session.transitioned' AND "occurredAt" >= ${start} AND "occurredAt" < ${end}
           AND data->>'event' = 'NO_SHOW'`,
      // Only the dial job sets a dial outcome, and only call attempts are dialled.
      this.db.$queryRaw<{ outcome: DialOutcome; n: number }[]>`
        SELECT "dialOutcome" AS outcome, count(*)::int AS n
          FROM "Attempt"
         WHERE "startedAt" >= ${start} AND "startedAt" < ${end} AND "dialOutcome" IS NOT NULL
         GROUP BY 1`,
    ]);
    const stats = attempts[0];

    const byDay = new Map(daysBetween(range.from, range.to).map((date) => [date, { date, total: 0, ...zeroes() }]));
    const totals = { total: 0, ...zeroes() };
    for (const row of ended) {
      const day = byDay.get(row.day);
      const category = row.category as EndedCategory;
      if (!day || !(ENDED_CATEGORIES as readonly string[]).includes(category)) continue;
      day[category] += row.n;
      day.total += row.n;
      totals[category] += row.n;
      totals.total += row.n;
    }
    const appointments = (stats?.videoAttempts ?? 0) + (noShows[0]?.n ?? 0);
    const dialCounts = new Map(dials.map((d) => [d.outcome, d.n]));
    return {
      from: range.from,
      to: range.to,
      timeZone: tz,
      days: [...byDay.values()],
      totals,
      handleTime: { conversations: stats?.conversations ?? 0, averageSeconds: round(stats?.handle ?? null) },
      queueWait: { waits: stats?.waits ?? 0, averageSeconds: round(stats?.wait ?? null) },
      noShow: { appointments, noShows: noShows[0]?.n ?? 0, rate: appointments === 0 ? null : round((noShows[0]?.n ?? 0) / appointments, 4) },
      dialOutcomes: DIAL_OUTCOMES.map((outcome) => ({ outcome, count: dialCounts.get(outcome) ?? 0 })),
    };
  }
}
