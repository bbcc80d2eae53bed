// Retention over HTTP: read a recording's retention, place or release a legal hold, delete a
// recording whose retention is over. Users only (no API-key scope): evidence is not the LOS's to
// destroy or freeze.
import { z } from 'zod';
import { defineRoute, type RouteDefinition } from '../server/http/route.js';
import { idParam, isoOrNull, timestamp } from '../server/shared/schemas.js';
import { actorOf } from '../server/audit/audit.service.js';
import type { Role } from '../server/db/generated/prisma/enums.js';
import type { RecordingRetention, RetentionService } from './retention.service.js';

const READERS: Role[] = ['SUPERVISOR', 'AUDITOR', 'ADMIN'];
const HOLDERS: Role[] = ['AUDITOR', 'ADMIN'];
const DELETERS: Role[] = ['ADMIN'];

export const recordingRetentionSchema = z
  .object({
    recordingId: z.uuid(),
    state: z.enum(['REQUESTED', 'ACTIVE', 'ENDING', 'UPLOADED', 'VERIFIED', 'RETAINED', 'FAILED', 'DELETED']),
    retainUntil: timestamp.nullable().meta({ description: 'Not deletable before this instant; null until retention is applied' }),
    legalHold: z.boolean(),
    legalHoldReason: z.string().nullable(),
    objectLockMode: z.enum(['COMPLIANCE', 'GOVERNANCE']).nullable(),
    enforcedBy: z.enum(['object_lock', 'facesign']).nullable().meta({
      description: 'object_lock: the object store enforces the date too (S3 Object Lock); facesign: facesign alone refuses deletion',
    }),
    deletedAt: timestamp.nullable(),
  })
  .meta({ id: 'RecordingRetention' });

export const legalHoldBody = z
  .object({
    hold: z.boolean(),
    reason: z.string().trim().min(1, 'must not be empty').max(500, 'must be at most 500 characters'),
  })
  .meta({ id: 'LegalHold' });

function present(view: RecordingRetention): z.input<typeof recordingRetentionSchema> {
  return {
    recordingId: view.recordingId,
    state: view.state,
    retainUntil: isoOrNull(view.retainUntil),
    legalHold: view.legalHold,
    legalHoldReason: view.legalHoldReason,
    objectLockMode: view.objectLockMode === 'COMPLIANCE' || view.objectLockMode === 'GOVERNANCE' ? view.objectLockMode : null,
    enforcedBy: view.enforcedBy,
    deletedAt: isoOrNull(view.deletedAt),
  };
}

export function retentionRoutes(service: RetentionService): RouteDefinition[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/recordings/:id/retention',
      summary: "A recording's retain-until date, legal hold and who enforces them",
      tags: ['recordings'],
      access: { roles: READERS },
      params: idParam,
      responses: { 200: { description: 'The retention', schema: recordingRetentionSchema } },
      async handler({ params }) {
        return { status: 200, body: present(await service.view(params.id)) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/recordings/:id/legal-hold',
      summary: 'Place or release a legal hold (audited); a held recording is never deleted',
      tags: ['recordings'],
      access: { roles: HOLDERS },
      params: idParam,
      body: legalHoldBody,
      responses: { 200: { description: 'The retention after the change', schema: recordingRetentionSchema } },
      async handler({ params, body, ctx }) {
        const view = await service.setLegalHold(params.id, body.hold, body.reason, actorOf(ctx.principal), ctx.requestId);
        return { status: 200, body: present(view) };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/recordings/:id',
      summary: 'Delete a recording whose retention is over and that is not on hold (refused otherwise, naming the date or the hold)',
      tags: ['recordings'],
      access: { roles: DELETERS },
      params: idParam,
      responses: { 204: { description: 'Deleted (or already deleted)' } },
      async handler({ params, ctx }) {
        await service.delete(params.id, actorOf(ctx.principal), ctx.requestId);
        return { status: 204 };
      },
    }),
  ];
}
