// The face-match assist over HTTP: the session's results for the desk and reviewers, and the two face
// crops (each read audited, like the snapshots they come from).
import { z } from 'zod';
import { defineRoute, type RouteDefinition } from '../server/http/route.js';
import { binaryBody, idParam, timestamp } from '../server/shared/schemas.js';
import { requireUser } from '../server/auth/principal.js';
import { defineStreamingRoute, streamToClient } from './playback.routes.js';
import { faceMatchDto, type FaceMatchService } from './face-match.service.js';
import { FACE_MATCH_RESULTS } from './face-matcher.js';

const faceMatchSchema = z
  .object({
    id: z.uuid(),
    sessionId: z.uuid(),
    idCaptureId: z.uuid(),
    liveCaptureId: z.uuid(),
    status: z.enum(['PENDING', 'DONE', 'FAILED']),
    result: z.enum(FACE_MATCH_RESULTS).nullable(),
    score: z.number().nullable().meta({ description: 'Similarity in [0, 1]; null unless each image shows exactly one face' }),
    thresholds: z.object({ matchAt: z.number(), noMatchBelow: z.number() }),
    model: z.object({ name: z.string(), version: z.string() }).nullable(),
    faceCounts: z.object({ id: z.number().int().nullable(), live: z.number().int().nullable() }),
    crops: z.object({ id: z.string().nullable(), live: z.string().nullable() }),
    createdAt: timestamp,
    completedAt: timestamp.nullable(),
  })
  .meta({ id: 'FaceMatch' });

const cropParams = idParam.extend({ side: z.enum(['id', 'live'], { message: 'must be id or live' }) });

export function faceMatchRoutes(faceMatches: FaceMatchService): RouteDefinition[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/sessions/:id/face-matches',
      summary: "The session's face-match assist results (ID_FRONT against FACE), newest first",
      tags: ['captures'],
      access: { roles: ['AGENT', 'SUPERVISOR', 'AUDITOR', 'ADMIN'] },
      params: idParam,
      responses: { 200: { description: 'Face matches', schema: z.object({ items: z.array(faceMatchSchema) }) } },
      async handler({ params, ctx }) {
        const rows = await faceMatches.list(params.id, requireUser(ctx.principal));
        return { status: 200, body: { items: rows.map(faceMatchDto) } };
      },
    }),
    defineStreamingRoute({
      path: '/api/face-matches/:id/crops/:side',
      summary: 'The face crop the model found on the ID (id) or in the live snapshot (live), as JPEG; every read is audited',
      tags: ['captures'],
      roles: ['AGENT', 'SUPERVISOR', 'AUDITOR', 'ADMIN'],
      params: cropParams,
      responses: { 200: { description: 'The crop', contentTypes: { 'image/jpeg': binaryBody } } },
      async handler({ params, principal, req, res }) {
        const { match, key } = await faceMatches.authorizeCrop(params.id, params.side, principal);
        if (req.method === 'HEAD') {
          res.status(200).type('image/jpeg').setHeader('Cache-Control', 'no-store').end();
          return;
        }
        const crop = await faceMatches.openCrop(match, params.side, key, principal, req.ctx.requestId);
        res
          .status(200)
          .type('image/jpeg')
          .setHeader('Content-Length', String(crop.contentLength))
          .setHeader('Cache-Control', 'no-store')
          .setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
        await streamToClient(crop.body, res, req.ctx.log);
      },
    }),
  ];
}
