import { z } from 'zod';
import { defineRoute, type RouteDefinition } from '../http/route.js';
import { idParam, iso, isoOrNull, timestamp } from '../shared/schemas.js';
import type { Role } from '../db/generated/prisma/enums.js';
import type { LosWebhookDelivery } from '../db/generated/prisma/client.js';
import { losEventSchema, type LosWebhookService } from './los-webhooks.service.js';
import { actorOf } from '../audit/audit.service.js';

const READERS: Role[] = ['SUPERVISOR', 'ADMIN', 'AUDITOR'];

export const losWebhookDeliverySchema = z
  .object({
    id: z.uuid().meta({ description: 'Also the event id the LOS receives' }),
    type: z.string(),
    loanFileId: z.uuid(),
    status: z.enum(['PENDING', 'DELIVERED', 'FAILED']),
    attempts: z.number().int().meta({ description: 'Attempts in the current schedule; a manual redelivery starts again at 0' }),
    lastStatusCode: z.number().int().nullable(),
    lastError: z.string().nullable(),
    nextAttemptAt: timestamp.nullable(),
    deliveredAt: timestamp.nullable(),
    createdAt: timestamp,
    // The event as sent; only with ?include=payload.
    payload: losEventSchema.optional(),
  })
  .meta({ id: 'LosWebhookDelivery' });

const listQuery = z.object({
  include: z.enum(['payload']).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

function deliveryDto(row: LosWebhookDelivery, includePayload: boolean): z.input<typeof losWebhookDeliverySchema> {
  return {
    id: row.id,
    type: row.eventType,
    loanFileId: row.loanFileId,
    status: row.status,
    attempts: row.attempts,
    lastStatusCode: row.lastStatusCode,
    lastError: row.lastError,
    nextAttemptAt: isoOrNull(row.nextAttemptAt),
    deliveredAt: isoOrNull(row.deliveredAt),
    createdAt: iso(row.createdAt),
    // record() validated it against this schema before storing it; the response schema checks again.
    ...(includePayload ? { payload: row.payload as z.input<typeof losEventSchema> } : {}),
  };
}

export function losWebhookRoutes(service: LosWebhookService): RouteDefinition[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/loan-files/:id/webhook-deliveries',
      summary: "The loan file's outbound LOS webhook deliveries, newest first",
      tags: ['loan-files'],
      access: { roles: READERS, apiKeyScope: 'loan-files:read' },
      params: idParam,
      query: listQuery,
      responses: { 200: { description: 'The delivery log', schema: z.object({ items: z.array(losWebhookDeliverySchema) }) } },
      async handler({ params, query }) {
        const rows = await service.list(params.id, { limit: query.limit });
        return { status: 200, body: { items: rows.map((r) => deliveryDto(r, query.include === 'payload')) } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/webhook-deliveries/:id/redeliver',
      summary: 'Send a failed (or delivered) LOS webhook again, with a fresh retry schedule',
      tags: ['loan-files'],
      access: { roles: ['ADMIN'] },
      params: idParam,
      responses: { 202: { description: 'Queued (or already pending)', schema: losWebhookDeliverySchema } },
      async handler({ params, ctx }) {
        return { status: 202, body: deliveryDto(await service.redeliver(params.id, { actor: actorOf(ctx.principal), requestId: ctx.requestId }), false) };
      },
    }),
  ];
}
