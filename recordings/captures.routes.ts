// Snapshot endpoints. The upload carries raw image bytes, which the app's JSON body parser would
// refuse, so it is an express Router mounted before body parsing:
//
//   rawRouters: [{ path: '/api/sessions', router: captureUploadRouter(captures, auth) }]
//
// It answers only POST /api/sessions/:id/captures and passes every other request on. Listing and
// reading are ordinary routes (captureRoutes), and captureRoutes also documents the upload.
import express, { type Request, type Router } from 'express';
import { z } from 'zod';
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { AppError, validationError } from '../server/shared/errors.js';
import { rawBodyReader } from '../server/http/raw-body.js';
import { accessExtension, defineRoute, type RouteDefinition } from '../server/http/route.js';
import type { Authenticator } from '../server/auth/authenticator.js';
import { binaryBody, idParam, timestamp } from '../server/shared/schemas.js';
import { requireUser, type UserPrincipal } from '../server/auth/principal.js';
import { CAPTURE_KINDS, captureDto, type CaptureService } from './captures.service.js';
import { defineStreamingRoute, streamToClient } from './playback.routes.js';
import { FACE_MATCH_RESULTS } from './face-matcher.js';

const kindQuery = z.object({ kind: z.enum(CAPTURE_KINDS, { message: `must be one of ${CAPTURE_KINDS.join(', ')}` }) });
const UPLOAD_TYPES = ['image/png', 'image/jpeg'];

const faceMatchSummarySchema = z
  .object({
    id: z.uuid(),
    status: z.enum(['PENDING', 'DONE', 'FAILED']),
    result: z.enum(FACE_MATCH_RESULTS).nullable(),
    score: z.number().nullable(),
    thresholds: z.object({ matchAt: z.number(), noMatchBelow: z.number() }),
    model: z.object({ name: z.string(), version: z.string() }).nullable(),
  })
  .meta({ id: 'CaptureFaceMatch', description: 'The newest face-match assist result this ID_FRONT or FACE capture is part of, in the listing (null if none, and always null in the upload answer: the comparison runs afterwards)' });

const captureSchema = z
  .object({
    id: z.uuid(),
    sessionId: z.uuid(),
    attemptId: z.uuid(),
    kind: z.enum(CAPTURE_KINDS),
    contentType: z.enum(['image/png', 'image/jpeg']),
    sizeBytes: z.number().int(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    offsetMs: z.number().int().nullable(),
    capturedById: z.uuid(),
    createdAt: timestamp,
    contentUrl: z.string(),
    faceMatch: faceMatchSummarySchema.nullable(),
  })
  .meta({ id: 'Capture' });

/** Mount at `/api/sessions` in createHttpApp's rawRouters; errors reach the problem+json handler via next(err). */
export function captureUploadRouter(captures: CaptureService, authenticator: Authenticator): Router {
  const router = express.Router();
  const readBody = rawBodyReader(captures.maxBytes, 'snapshot');

  router.post('/:id/captures', async (req, res) => {
    const principal = await authenticateAgent(req, authenticator);
    const params = idParam.safeParse(req.params);
    if (!params.success) throw validationError('params', params.error);
    const query = kindQuery.safeParse(req.query);
    if (!query.success) throw validationError('query', query.error);

    const ticket = await captures.prepareUpload(params.data.id, principal);
    if (!req.is(UPLOAD_TYPES)) throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the snapshot as image/png or image/jpeg');
    const bytes = await readBody(req, res);
    const capture = await captures.save(ticket, query.data.kind, bytes, req.ctx.requestId);
    res.status(201).type('application/json').send(JSON.stringify(captureSchema.parse(captureDto(capture))));
  });
  return router;
}

/** What defineRoute does for a mutation: a signed-in user, and the CSRF header when the cookie authenticated. */
async function authenticateAgent(req: Request, authenticator: Authenticator): Promise<UserPrincipal> {
  const auth = await authenticator.authenticate(req);
  if (!auth) throw new AppError('UNAUTHENTICATED', 'Sign in to upload snapshots');
  req.ctx.principal = auth.principal;
  req.ctx.via = auth.via;
  const principal = requireUser(auth.principal);
  if (auth.via === 'cookie' && !authenticator.checkCsrf(principal, req.get('x-csrf-token'))) throw new AppError('CSRF_TOKEN_INVALID');
  return principal;
}

const binary = binaryBody;

export function captureRoutes(captures: CaptureService): RouteDefinition[] {
  return [
    uploadDocumentation,
    defineRoute({
      method: 'get',
      path: '/api/sessions/:id/captures',
      summary: "The session's ID and face snapshots, oldest first",
      tags: ['captures'],
      access: { roles: ['AGENT', 'SUPERVISOR', 'AUDITOR', 'ADMIN'] },
      params: idParam,
      responses: { 200: { description: 'Snapshots', schema: z.object({ items: z.array(captureSchema) }) } },
      async handler({ params, ctx }) {
        const rows = await captures.list(params.id, requireUser(ctx.principal));
        return { status: 200, body: { items: rows.map((c) => captureDto(c, c.faceMatch)) } };
      },
    }),
    defineStreamingRoute({
      path: '/api/captures/:id/content',
      summary: 'The snapshot image; every read is audited',
      tags: ['captures'],
      roles: ['AGENT', 'SUPERVISOR', 'AUDITOR', 'ADMIN'],
      params: idParam,
      responses: { 200: { description: 'The image', contentTypes: { 'image/png': binary, 'image/jpeg': binary } } },
      async handler({ params, principal, req, res }) {
        const capture = await captures.authorizeRead(params.id, principal);
        res
          .status(200)
          .type(capture.contentType)
          .setHeader('Content-Length', String(capture.sizeBytes))
          .setHeader('Cache-Control', 'no-store')
          .setHeader('Content-Disposition', `inline; filename="${capture.id}.${capture.contentType === 'image/png' ? 'png' : 'jpg'}"`)
          // Opened directly in a tab, the image must not be able to run anything.
          .setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
        // HEAD serves no image, so it reads and audits nothing.
        if (req.method === 'HEAD') {
          res.end();
          return;
        }
        await streamToClient(await captures.open(capture, principal, req.ctx.requestId), res, req.ctx.log);
      },
    }),
  ];
}

/** The upload is served by captureUploadRouter; this only puts it in the OpenAPI document. */
const uploadDocumentation: RouteDefinition = {
  mount() {},
  document(registry: OpenAPIRegistry) {
    registry.registerPath({
      method: 'post',
      path: '/api/sessions/{id}/captures',
      summary: 'Upload an ID or face snapshot taken during the video session (assigned agent, IN_PROGRESS or WRAP_UP)',
      description: 'The body is the raw image. Its type is decided by its content (PNG or JPEG), not by Content-Type or a file name. Cookie sessions send X-CSRF-Token.',
      tags: ['captures'],
      security: [{ cookieSession: [] }],
      // Any signed-in user passes the door; only the session's assigned agent gets further.
      'x-facesign-access': accessExtension({ roles: ['AGENT'] }),
      request: {
        params: idParam,
        query: kindQuery,
        body: { required: true, content: { 'image/png': { schema: binary }, 'image/jpeg': { schema: binary } } },
      },
      responses: {
        201: { description: 'Stored', content: { 'application/json': { schema: captureSchema } } },
        default: { description: 'Error', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
      },
    });
  },
};
