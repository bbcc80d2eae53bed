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
import { sql as fragment } from 'kysely';
import { sqlAutocommit, type Db } from '../db/client.js';
import type { DialOutcome } from '../db/generated/prisma/enums.js';
import { build, rows } from '../db/typed-sql.js';

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
    const start = fragment<Date>`(${range.from}::date::timestamp AT TIME ZONE ${tz}::text)`;
    const end = fragment<Date>`((${range.to}::date + 1)::timestamp AT TIME ZONE ${tz}::text)`;
    const sql = sqlAutocommit(this.db);
    const [ended, attempts, noShows, dials] = await Promise.all([
      rows(
        sql,
        build
          .selectFrom('VerificationSession')
          .select((eb) => [
            fragment<string>`to_char((${eb.ref('completedAt')} AT TIME ZONE ${tz}::text)::date, 'YYYY-MM-DD')`.as('day'),
            eb.case().when('state', '=', 'COMPLETED').then(fragment<string>`${eb.ref('outcome')}::text`).else(fragment<string>`${eb.ref('state')}::text`).end().as('category'),
            eb.cast<number>(eb.fn.countAll(), 'integer').as('n'),
          ])
          .where('completedAt', '>=', start)
          .where('completedAt', '<', end)
          .where('state', 'in', ['COMPLETED', 'EXHAUSTED', 'EXPIRED', 'CANCELLED'])
          .groupBy([fragment`1`, fragment`2`]),
      ),
      // One pass over the range's attempts with their session's kind.
      rows(
        sql,
        build
          .selectFrom('Attempt as a')
          .innerJoin('VerificationSession as s', 's.id', 'a.sessionId')
          .select((eb) => {
            const conversation = eb.and([eb('a.recordingStartedAt', 'is not', null), eb('a.endedAt', 'is not', null)]);
            const video = eb('s.kind', '=', 'VIDEO');
            const videoWait = eb.and([eb('s.kind', '=', 'VIDEO'), eb('a.recordingStartedAt', 'is not', null)]);
            const seconds = (from: 'a.recordingStartedAt' | 'a.startedAt', to: 'a.endedAt' | 'a.recordingStartedAt') => fragment<number>`extract(epoch FROM (${eb.ref(to)} - ${eb.ref(from)}))`;
            return [
              eb.cast<number>(eb.fn.countAll().filterWhere(conversation), 'integer').as('conversations'),
              eb.cast<number | null>(eb.fn.avg(seconds('a.recordingStartedAt', 'a.endedAt')).filterWhere(conversation), 'float8').as('handle'),
              eb.cast<number>(eb.fn.countAll().filterWhere(video), 'integer').as('videoAttempts'),
              eb.cast<number>(eb.fn.countAll().filterWhere(videoWait), 'integer').as('waits'),
              eb.cast<number | null>(eb.fn.avg(seconds('a.startedAt', 'a.recordingStartedAt')).filterWhere(videoWait), 'float8').as('wait'),
            ];
          })
          .where('a.startedAt', '>=', start)
          .where('a.startedAt', '<', end),
      ),
      rows(
        sql,
        build
          .selectFrom('AuditEvent')
          .select((eb) => eb.cast<number>(eb.fn.countAll(), 'integer').as('n'))
          .where('action', '=', 'session.transitioned')
          .where('occurredAt', '>=', start)
          .where('occurredAt', '<', end)
          .where((eb) => eb(fragment<string>`${eb.ref('data')}->>'event'`, '=', 'NO_SHOW')),
      ),
      // Only the dial job sets a dial outcome, and only call attempts are dialled.
      rows(
        sql,
        build
          .selectFrom('Attempt')
          .select((eb) => ['dialOutcome as outcome', eb.cast<number>(eb.fn.countAll(), 'integer').as('n')])
          .where('startedAt', '>=', start)
          .where('startedAt', '<', end)
          .where('dialOutcome', 'is not', null)
          .groupBy(fragment`1`),
      ),
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
