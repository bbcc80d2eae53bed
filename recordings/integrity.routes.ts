import { z } from 'zod';
import { defineRoute, type RouteDefinition } from '../server/http/route.js';
import { idParam, iso, timestamp } from '../server/shared/schemas.js';
import { AppError } from '../server/shared/errors.js';
import { actorOf } from '../server/audit/audit.service.js';
import type { Role } from '../server/db/generated/prisma/enums.js';
import type { IntegrityChecker } from './integrity.service.js';

const CHECKERS: Role[] = ['SUPERVISOR', 'ADMIN', 'AUDITOR'];

export const integrityCheckSchema = z.object({
  recordingId: z.uuid(),
  result: z.enum(['ok', 'mismatch', 'missing']),
  expectedSha256: z.string(),
  actualSha256: z.string().nullable(),
  actualBytes: z.string().nullable(),
  checkedAt: timestamp,
});

export function integrityRoutes(integrity: IntegrityChecker): RouteDefinition[] {
  return [
    defineRoute({
      method: 'post',
      path: '/api/recordings/:id/integrity-check',
      summary: 'Re-hash a stored recording now and compare it with the hash taken when it was verified',
      tags: ['recordings'],
      access: { roles: CHECKERS },
      params: idParam,
      responses: { 200: { description: 'The check ran and was recorded in the audit log (a mismatch or a missing object also alerts supervisors)', schema: integrityCheckSchema } },
      async handler({ params, ctx }) {
        const checked = await integrity.recheck(params.id, { actor: actorOf(ctx.principal), requestId: ctx.requestId });
        if (checked.result === 'not_stored') {
          if (!checked.state) throw new AppError('NOT_FOUND', `No recording ${params.id}`);
          throw new AppError('RECORDING_STATE_CONFLICT', `Recording ${params.id} is ${checked.state}: only VERIFIED and RETAINED recordings hold an object to check`);
        }
        return {
          status: 200,
          body: { ...checked, actualBytes: checked.actualBytes?.toString() ?? null, checkedAt: iso(checked.checkedAt) },
        };
      },
    }),
  ];
}
