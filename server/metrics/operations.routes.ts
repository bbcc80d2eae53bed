import { z } from 'zod';
import { defineRoute, type RouteDefinition } from '../http/route.js';
import { calendarDate } from '../shared/schemas.js';
import { DIAL_OUTCOMES, ENDED_CATEGORIES, type OperationsMetrics } from './operations.service.js';

/** The longest range one request may ask for: a year and a day (a leap year plus a margin). */
export const MAX_RANGE_DAYS = 366;

const day = calendarDate('must be a calendar date YYYY-MM-DD');

export function isTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

export const operationsQuery = z
  .object({
    from: day,
    to: day,
    timeZone: z.string().min(1).max(64).refine(isTimeZone, 'must be an IANA time zone such as Asia/Shanghai').default('UTC'),
  })
  .superRefine((q, ctx) => {
    const days = (Date.parse(q.to) - Date.parse(q.from)) / 86_400_000 + 1;
    if (days < 1) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must not be before from' });
    else if (days > MAX_RANGE_DAYS) ctx.addIssue({ code: 'custom', path: ['to'], message: `the range may span at most ${MAX_RANGE_DAYS} days` });
  });

const counts = Object.fromEntries(ENDED_CATEGORIES.map((c) => [c, z.number().int()])) as Record<(typeof ENDED_CATEGORIES)[number], z.ZodNumber>;

export const operationsSchema = z
  .object({
    from: z.string(),
    to: z.string(),
    timeZone: z.string(),
    days: z.array(z.object({ date: z.string(), total: z.number().int(), ...counts })),
    totals: z.object({ total: z.number().int(), ...counts }),
    handleTime: z.object({ conversations: z.number().int(), averageSeconds: z.number().nullable() }),
    queueWait: z.object({ waits: z.number().int(), averageSeconds: z.number().nullable() }),
    noShow: z.object({ appointments: z.number().int(), noShows: z.number().int(), rate: z.number().nullable() }),
    dialOutcomes: z.array(z.object({ outcome: z.enum(DIAL_OUTCOMES as [string, ...string[]]), count: z.number().int() })),
  })
  .meta({ id: 'OperationsFigures' });

export function operationsRoutes(metrics: OperationsMetrics): RouteDefinition[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/dashboard/operations',
      summary: 'Sessions per day by outcome, handle time, queue wait, no-show rate and dial outcomes over local calendar days',
      tags: ['dashboard'],
      access: { roles: ['SUPERVISOR', 'AUDITOR', 'ADMIN'] },
      query: operationsQuery,
      responses: { 200: { description: 'The figures; days with nothing are listed with zeroes', schema: operationsSchema } },
      async handler({ query }) {
        return { status: 200, body: await metrics.figures(query), headers: { 'Cache-Control': 'no-store' } };
      },
    }),
  ];
}
