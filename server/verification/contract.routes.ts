// The session's contract, for staff (desk, review) and for the borrower's join page: what is to be
// signed (hash, whether the document itself was supplied), the page presented and the page the
// borrower is on, the signing; and the PDF itself.
import type { Request } from 'express';
import { z } from 'zod';
import { defineRoute, type RouteDefinition } from '../http/route.js';
import { sendInlinePdf } from '../http/pdf-response.js';
import { AppError } from '../shared/errors.js';
import { binaryBody, idParam, timestamp } from '../shared/schemas.js';
import { requireUser } from '../auth/principal.js';
import type { BorrowerLinks } from '../auth/borrower-links.service.js';
import type { RateLimiter } from '../auth/rate-limiter.js';
import type { ContractService } from '../loan-files/contracts.service.js';
import type { ContractPresentation } from './contract-presentation.service.js';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
export const signingSchema = z
  .object({
    id: z.uuid(),
    documentHash: sha256,
    recordingOffsetMs: z.number().int().describe('Into the recording of the attempt, when the code was accepted'),
    confirmedAt: timestamp,
    attemptId: z.uuid(),
  })
  .meta({ id: 'SigningConfirmation' });

const pageFields = {
  presentedPage: z.number().int().nullable().describe('The page the agent last presented (1-based)'),
  presentedAt: timestamp.nullable(),
  partyPage: z.number().int().nullable().describe("The page the borrower's screen last showed"),
  partyPageAt: timestamp.nullable(),
};

const sessionContractSchema = z
  .object({
    sessionId: z.uuid(),
    documentHash: sha256.nullable().describe('null: there is no contract to sign in this session'),
    documentStored: z.boolean().describe('The LOS supplied the document itself, not only its hash'),
    sizeBytes: z.number().int().nullable(),
    ...pageFields,
    signing: signingSchema.nullable().describe('null: the party has not signed'),
  })
  .meta({ id: 'SessionContract' });

const partyContractSchema = z
  .object({
    documentHash: sha256.nullable(),
    documentStored: z.boolean(),
    sizeBytes: z.number().int().nullable(),
    presentedPage: z.number().int().nullable(),
    signedAt: timestamp.nullable(),
  })
  .meta({ id: 'PartyContract' });

const STAFF = ['AGENT', 'SUPERVISOR', 'ADMIN', 'AUDITOR'] as const;
const tokenParam = z.object({ token: z.string().max(128) });

export function sessionContractRoutes(presentation: ContractPresentation, contracts: ContractService): RouteDefinition[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/sessions/:id/contract',
      summary: "The session's contract: its hash (or that there is none), the page presented, the page the borrower is on, and the signing",
      tags: ['sessions'],
      access: { roles: [...STAFF] },
      params: idParam,
      responses: { 200: { description: 'The contract view', schema: sessionContractSchema } },
      async handler({ params, ctx }) {
        const session = await presentation.sessionForStaff(params.id, requireUser(ctx.principal));
        return { status: 200, body: await presentation.view(session), headers: { 'Cache-Control': 'no-store' } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/sessions/:id/contract/content',
      summary: "The PDF of the session's contract (when the LOS supplied the document)",
      tags: ['sessions'],
      access: { roles: [...STAFF] },
      params: idParam,
      responses: { 200: { description: 'The PDF', contentTypes: { 'application/pdf': binaryBody } } },
      async handler({ params, ctx, req }) {
        const principal = requireUser(ctx.principal);
        const session = await presentation.sessionForStaff(params.id, principal);
        const document = await presentation.documentOf(session);
        const reader = { actor: { type: 'USER' as const, id: principal.userId }, via: 'session' as const, sessionId: session.id };
        return { status: 200, respond: (res) => sendInlinePdf(req, res, { ...document, name: 'contract' }, () => contracts.open(document, { ...reader, requestId: req.ctx.requestId }), ctx.log) };
      },
    }),
  ];
}

export function partyContractRoutes(links: BorrowerLinks, presentation: ContractPresentation, contracts: ContractService, limiter: RateLimiter, ratePerMinute = 60): RouteDefinition[] {
  const asParty = async (req: Request, token: string) => {
    const wait = await limiter.hit(`join:ip:${req.ip ?? 'unknown'}`, ratePerMinute, 60);
    if (wait > 0) throw new AppError('RATE_LIMITED', 'Too many requests from this address', { retryAfterSeconds: wait });
    return links.authenticateParty(token, req.get('x-party-token'));
  };
  return [
    defineRoute({
      method: 'get',
      path: '/api/join/:token/contract',
      summary: 'The contract the borrower signs in the call: its hash, whether the document can be shown, the page the agent presents (X-Party-Token)',
      tags: ['borrower'],
      access: 'public',
      params: tokenParam,
      responses: { 200: { description: 'The contract', schema: partyContractSchema } },
      async handler({ params, req }) {
        const { session } = await asParty(req, params.token);
        const view = await presentation.view(session);
        return {
          status: 200,
          body: { documentHash: view.documentHash, documentStored: view.documentStored, sizeBytes: view.sizeBytes, presentedPage: view.presentedPage, signedAt: view.signing?.confirmedAt ?? null },
          headers: { 'Cache-Control': 'no-store' },
        };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/join/:token/contract/content',
      summary: 'The PDF of the contract the borrower signs (X-Party-Token)',
      tags: ['borrower'],
      access: 'public',
      params: tokenParam,
      responses: { 200: { description: 'The PDF', contentTypes: { 'application/pdf': binaryBody } } },
      async handler({ params, req, ctx }) {
        const { session } = await asParty(req, params.token);
        const document = await presentation.documentOf(session);
        // The borrower is named by the session, as every other borrower action in the audit log.
        const reader = { actor: { type: 'BORROWER' as const, id: session.id }, via: 'join' as const, sessionId: session.id };
        return { status: 200, respond: (res) => sendInlinePdf(req, res, { ...document, name: 'contract' }, () => contracts.open(document, { ...reader, requestId: req.ctx.requestId }), ctx.log) };
      },
    }),
  ];
}
