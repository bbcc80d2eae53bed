import { z } from 'zod';
import { defineRoute, type RouteDefinition } from '../http/route.js';
import { timestamp } from '../shared/schemas.js';
import { auditActionSchema } from './audit.actions.js';
import type { AuditLog } from './audit-log.service.js';

const ACTIONS = auditActionSchema.options.map((option) => option.shape.action.value) as [string, ...string[]];
const SEQ = /^[1-9][0-9]{0,17}$/;

export const auditEventQuery = z
  .object({
    entityType: z.string().regex(/^[a-z][a-z_]{0,39}$/, 'must be an entity type such as loan_file, party, user or session').optional(),
    entityId: z.string().min(1).max(64).optional().meta({ description: 'Needs entityType' }),
    action: z.enum(ACTIONS, { message: 'must be an audited action, such as loan_file.updated' }).optional(),
    requestId: z.string().min(1).max(64).optional().meta({ description: 'The X-Request-Id of the request that wrote the events' }),
    after: z.string().regex(SEQ, 'must be the seq of an event (nextAfter of the previous page)').optional().meta({ description: 'nextAfter of the previous page: only events written after that one' }),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .refine((q) => q.entityId === undefined || q.entityType !== undefined, { path: ['entityType'], message: 'is required with entityId' });

const auditEventPage = z
  .object({
    items: z.array(
      z.object({
        seq: z.string().describe('Position in the order events were written; pages follow it'),
        id: z.uuid(),
        occurredAt: timestamp,
        recordedAt: timestamp,
        actorType: z.enum(['USER', 'API_KEY', 'BORROWER', 'SYSTEM']),
        actorId: z.string().nullable(),
        action: z.string(),
        actionVersion: z.number().int(),
        entityType: z.string(),
        entityId: z.string(),
        requestId: z.string().nullable(),
        data: z.record(z.string(), z.unknown()),
        chainSeq: z.string().nullable().describe('Position in the hash chain; null until the sealer links the event'),
        prevHash: z.string().nullable(),
        hash: z.string().nullable(),
      }),
    ),
    nextAfter: z.string().nullable().describe('Pass as after for the next page; null on the last page'),
  })
  .meta({ id: 'AuditEventPage' });

export function auditRoutes(auditLog: AuditLog): RouteDefinition[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/audit-events',
      summary: 'Audit events by entity, action or request, oldest first, a page at a time (reading is not audited)',
      tags: ['reviews'],
      access: { roles: ['AUDITOR', 'SUPERVISOR', 'ADMIN'] },
      query: auditEventQuery,
      responses: { 200: { description: 'One page; pass nextAfter back as after for the next', schema: auditEventPage } },
      async handler({ query }) {
        const { after, ...filters } = query;
        return { status: 200, body: await auditLog.events({ ...filters, after: after === undefined ? undefined : BigInt(after) }) };
      },
    }),
  ];
}
