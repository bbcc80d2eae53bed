import { z } from 'zod';
import { defineRoute, type RouteDefinition } from '../http/route.js';
import { idParam, timestamp } from '../shared/schemas.js';
import { requireUser } from '../auth/principal.js';
import type { DeskService } from './desk.service.js';
import { deskSessionSchema } from './desk.schema.js';

const timeZone = z
  .string()
  .max(64)
  .refine((tz) => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }, 'must be an IANA time zone such as Asia/Shanghai');

export function deskRoutes(desk: DeskService): RouteDefinition[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/agent/desk',
      summary: "The signed-in agent's desk: live sessions, today's handled sessions, and those still to come (scheduled today, or waiting for their next attempt); each session in one list",
      tags: ['agent'],
      access: { roles: ['AGENT'] },
      query: z.object({ timeZone: timeZone.default('UTC') }),
      responses: {
        200: {
          description: 'Desk',
          schema: z.object({
            day: z.object({ start: timestamp, end: timestamp }),
            active: z.array(deskSessionSchema),
            today: z.array(deskSessionSchema),
            upcoming: z.array(deskSessionSchema),
          }),
        },
      },
      async handler({ query, ctx }) {
        return { status: 200, body: await desk.desk(requireUser(ctx.principal).userId, query.timeZone), headers: { 'Cache-Control': 'no-store' } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/agent/sessions/:id',
      summary: 'One session as the desk shows it (its assigned agent, supervisors and admins)',
      tags: ['agent'],
      access: { roles: ['AGENT', 'SUPERVISOR', 'ADMIN'] },
      params: idParam,
      responses: { 200: { description: 'Session', schema: deskSessionSchema } },
      async handler({ params, ctx }) {
        const principal = requireUser(ctx.principal);
        const manager = principal.roles.includes('SUPERVISOR') || principal.roles.includes('ADMIN');
        return { status: 200, body: await desk.session(params.id, { userId: principal.userId, manager }), headers: { 'Cache-Control': 'no-store' } };
      },
    }),
  ];
}
