// The active-liveness assist over HTTP: the session's checks, for the desk and reviewers.
import { z } from 'zod';
import { defineRoute, type RouteDefinition } from '../server/http/route.js';
import { idParam, timestamp } from '../server/shared/schemas.js';
import { requireUser } from '../server/auth/principal.js';
import { livenessCheckDto, type LivenessService } from './liveness.service.js';
import { LIVENESS_MOVEMENTS, LIVENESS_RESULTS } from './liveness-check.js';

const frameSchema = z.object({
  faceCount: z.number().int().nullable(),
  measures: z
    .object({
      yawDeg: z.number().meta({ description: 'Estimated head yaw in degrees; positive: turned to the party’s own left' }),
      pitch: z.number().meta({ description: 'Nose-tip height between eye line (0) and chin (1)' }),
      ear: z.number().meta({ description: 'Eye aspect ratio, mean of both eyes' }),
      mouth: z.number().meta({ description: 'Inner-lip height over mouth width' }),
    })
    .nullable()
    .meta({ description: 'Null unless the frame shows exactly one face' }),
});

export const livenessCheckSchema = z
  .object({
    id: z.uuid(),
    sessionId: z.uuid(),
    beforeCaptureId: z.uuid(),
    actionCaptureId: z.uuid(),
    promptId: z.string().nullable(),
    movement: z.enum(LIVENESS_MOVEMENTS).nullable().meta({ description: 'What the prompt asks for; null when face landmarks cannot check it' }),
    status: z.enum(['PENDING', 'DONE', 'FAILED']),
    result: z.enum(LIVENESS_RESULTS).nullable(),
    before: frameSchema,
    action: frameSchema,
    thresholds: z.object({ yawChangeDeg: z.number(), pitchChange: z.number(), eyesClosedBelow: z.number(), eyesOpenAt: z.number(), mouthOpenAt: z.number(), mouthClosedBelow: z.number() }),
    model: z.object({ name: z.string(), version: z.string() }).nullable(),
    failure: z.string().nullable(),
    createdAt: timestamp,
    completedAt: timestamp.nullable(),
  })
  .meta({ id: 'LivenessCheck' });

export function livenessRoutes(liveness: LivenessService): RouteDefinition[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/sessions/:id/liveness-checks',
      summary: "The session's active-liveness assist results (LIVENESS_BEFORE against LIVENESS_ACTION), newest first",
      tags: ['captures'],
      access: { roles: ['AGENT', 'SUPERVISOR', 'AUDITOR', 'ADMIN'] },
      params: idParam,
      responses: { 200: { description: 'Liveness checks', schema: z.object({ items: z.array(livenessCheckSchema) }) } },
      async handler({ params, ctx }) {
        const rows = await liveness.list(params.id, requireUser(ctx.principal));
        return { status: 200, body: { items: rows.map(livenessCheckDto) } };
      },
    }),
  ];
}
