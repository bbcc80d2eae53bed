// The loan file's contract document. The upload carries raw PDF bytes, which the app's JSON body
// parser would refuse, so it is an express Router mounted before body parsing:
//
//   rawRouters: [{ path: '/api/loan-files', router: contractUploadRouter(contracts, auth) }]
//
// It answers only PUT /api/loan-files/:id/contract and passes every other request on; contractRoutes
// documents it and serves the reads.
import express, { type Router } from 'express';
import { z } from 'zod';
import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { AppError, validationError } from '../shared/errors.js';
import { rawBodyReader } from '../http/raw-body.js';
import { sendInlinePdf } from '../http/pdf-response.js';
import { accessExtension, defineRoute, type RouteDefinition } from '../http/route.js';
import type { Authenticator } from '../auth/authenticator.js';
import { binaryBody, idParam, timestamp } from '../shared/schemas.js';
import { actorOf } from '../audit/audit.service.js';
import { isAllowed, type Access } from '../auth/principal.js';
import type { Role } from '../db/generated/prisma/enums.js';
import { contractDto, type ContractService } from './contracts.service.js';

const READERS: Role[] = ['SUPERVISOR', 'ADMIN', 'AUDITOR'];
const UPLOAD_ACCESS: Exclude<Access, 'public'> = { roles: ['SUPERVISOR', 'ADMIN'], apiKeyScope: 'loan-files:write' };

export const contractDocumentSchema = z
  .object({
    id: z.uuid(),
    loanFileId: z.uuid(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/).describe('SHA-256 of the PDF, computed by facesign'),
    sizeBytes: z.number().int(),
    uploadedAt: timestamp,
    contentUrl: z.string(),
  })
  .meta({ id: 'ContractDocument' });

/** Mount at `/api/loan-files` in createHttpApp's rawRouters; errors reach the problem+json handler. */
export function contractUploadRouter(contracts: ContractService, authenticator: Authenticator): Router {
  const router = express.Router();
  const readBody = rawBodyReader(contracts.maxBytes, 'contract');

  router.put('/:id/contract', async (req, res) => {
    const auth = await authenticator.authenticate(req);
    if (!auth) throw new AppError('UNAUTHENTICATED', 'Sign in, or send an API key as "Authorization: Bearer <key>"');
    req.ctx.principal = auth.principal;
    req.ctx.via = auth.via;
    if (!isAllowed(auth.principal, UPLOAD_ACCESS)) {
      throw new AppError('FORBIDDEN', `PUT /api/loan-files/:id/contract is not allowed for this ${auth.principal.kind === 'apiKey' ? 'API key' : 'role'}`);
    }
    if (auth.via === 'cookie' && auth.principal.kind === 'user' && !authenticator.checkCsrf(auth.principal, req.get('x-csrf-token'))) throw new AppError('CSRF_TOKEN_INVALID');
    const params = idParam.safeParse(req.params);
    if (!params.success) throw validationError('params', params.error);
    await contracts.prepareUpload(params.data.id);
    if (!req.is('application/pdf')) throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the contract as application/pdf');
    const declared = Number(req.get('content-length'));
    if (Number.isFinite(declared) && declared > contracts.maxBytes) throw new AppError('PAYLOAD_TOO_LARGE', `A contract may be at most ${contracts.maxBytes} bytes`);
    const bytes = await readBody(req, res);
    const { created, document } = await contracts.save(params.data.id, bytes, { actor: actorOf(auth.principal), requestId: req.ctx.requestId });
    res.status(created ? 201 : 200).type('application/json').send(JSON.stringify(contractDocumentSchema.parse(contractDto(document))));
  });
  return router;
}

const fetchRequestSchema = z
  .object({
    url: z.string().max(2048).describe('Where facesign fetches the PDF: https, a host in CONTRACT_FETCH_ALLOWED_HOSTS'),
    sha256: z.string().regex(/^[0-9a-fA-F]{64}$/).describe("The PDF's SHA-256 as the LOS computed it; a document with another hash is refused and nothing is stored"),
  })
  .strict()
  .meta({ id: 'ContractFetchRequest' });

export function contractRoutes(contracts: ContractService): RouteDefinition[] {
  return [
    uploadDocumentation,
    defineRoute({
      method: 'post',
      path: '/api/loan-files/:id/contract/fetch',
      summary: "Have facesign fetch the loan file's contract (a PDF) from a URL, with its SHA-256; it becomes the current contract as an upload does",
      tags: ['loan-files'],
      access: UPLOAD_ACCESS,
      params: idParam,
      body: fetchRequestSchema,
      responses: {
        201: { description: 'Fetched, hash checked, stored; now the current contract', schema: contractDocumentSchema },
        200: { description: 'Already the current contract', schema: contractDocumentSchema },
      },
      async handler({ params, body, ctx }) {
        const { created, document } = await contracts.fetchAndSave(params.id, body, { actor: actorOf(ctx.principal), requestId: ctx.requestId });
        return { status: created ? 201 : 200, body: contractDto(document) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/loan-files/:id/contract',
      summary: "The loan file's current contract document (the newest upload): its SHA-256 and size",
      tags: ['loan-files'],
      access: { roles: READERS, apiKeyScope: 'loan-files:read' },
      params: idParam,
      responses: { 200: { description: 'The current contract', schema: contractDocumentSchema } },
      async handler({ params }) {
        return { status: 200, body: contractDto(await contracts.currentOr404(params.id)), headers: { 'Cache-Control': 'no-store' } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/loan-files/:id/contract/content',
      summary: "The current contract's PDF",
      tags: ['loan-files'],
      access: { roles: READERS, apiKeyScope: 'loan-files:read' },
      params: idParam,
      responses: { 200: { description: 'The PDF', contentTypes: { 'application/pdf': binaryBody } } },
      async handler({ params, req, ctx }) {
        const document = await contracts.currentOr404(params.id);
        const reader = { actor: actorOf(ctx.principal), via: 'loan_file' as const, sessionId: null };
        return { status: 200, respond: (res) => sendInlinePdf(req, res, { ...document, name: 'contract' }, () => contracts.open(document, { ...reader, requestId: req.ctx.requestId }), ctx.log) };
      },
    }),
  ];
}

/** The upload is served by contractUploadRouter; this only puts it in the OpenAPI document. */
const uploadDocumentation: RouteDefinition = {
  mount() {},
  document(registry: OpenAPIRegistry) {
    registry.registerPath({
      method: 'put',
      path: '/api/loan-files/{id}/contract',
      summary: "Upload the loan file's contract (a PDF); it becomes the current contract that video sessions scheduled from now on bind",
      description:
        'The body is the raw PDF (Content-Type: application/pdf, at most CONTRACT_MAX_BYTES). Its type is decided by its content, and its SHA-256 is computed by facesign. The same bytes as the current contract answer 200 and change nothing. Cookie sessions send X-CSRF-Token.',
      tags: ['loan-files'],
      security: [{ cookieSession: [] }, { apiKey: ['loan-files:write'] }],
      'x-facesign-access': accessExtension(UPLOAD_ACCESS),
      request: { params: idParam, body: { required: true, content: { 'application/pdf': { schema: binaryBody } } } },
      responses: {
        201: { description: 'Stored; now the current contract', content: { 'application/json': { schema: contractDocumentSchema } } },
        200: { description: 'Already the current contract', content: { 'application/json': { schema: contractDocumentSchema } } },
        default: { description: 'Error', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } },
      },
    });
  },
};
