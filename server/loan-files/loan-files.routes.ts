import { z } from 'zod';
import { defineRoute, type RouteDefinition } from '../http/route.js';
import { idParam } from '../shared/schemas.js';
import { actorOf } from '../audit/audit.service.js';
import { principalScope, type Principal } from '../auth/principal.js';
import type { Role } from '../db/generated/prisma/enums.js';
import type { Caller, LoanFileService } from './loan-files.service.js';
import {
  createLoanFileBody,
  idempotencyHeaders,
  listLoanFilesQuery,
  loanFileSchema,
  partyInput,
  partyPatch,
  partySchema,
  updateLoanFileBody,
} from './loan-files.schema.js';

const READERS: Role[] = ['SUPERVISOR', 'ADMIN', 'AUDITOR'];
const WRITERS: Role[] = ['SUPERVISOR', 'ADMIN'];

function caller(ctx: { principal: Principal | undefined; requestId: string }): Caller {
  return {
    actor: actorOf(ctx.principal),
    requestId: ctx.requestId,
    scope: ctx.principal ? principalScope(ctx.principal) : 'anonymous',
    roles: ctx.principal?.kind === 'user' ? ctx.principal.roles : [],
  };
}

export function loanFileRoutes(service: LoanFileService): RouteDefinition[] {
  return [
    defineRoute({
      method: 'post',
      path: '/api/loan-files',
      summary: 'Create a loan file (idempotent by externalRef and Idempotency-Key)',
      tags: ['loan-files'],
      access: { roles: WRITERS, apiKeyScope: 'loan-files:write' },
      headers: idempotencyHeaders,
      body: createLoanFileBody,
      responses: {
        201: { description: 'Created', schema: loanFileSchema },
        200: { description: 'Already existed with the same terms (or an Idempotency-Key replay)', schema: loanFileSchema },
      },
      async handler({ body, headers, ctx }) {
        const result = await service.create(body, caller(ctx), headers['idempotency-key']);
        return { status: result.status, body: result.body, headers: result.replayed ? { 'Idempotent-Replayed': 'true' } : undefined };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/loan-files',
      summary: 'List loan files, newest first, with cursor pagination',
      tags: ['loan-files'],
      access: { roles: READERS, apiKeyScope: 'loan-files:read' },
      query: listLoanFilesQuery,
      responses: { 200: { description: 'A page', schema: z.object({ items: z.array(loanFileSchema), nextCursor: z.string().nullable() }) } },
      async handler({ query }) {
        return { status: 200, body: await service.list(query) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/loan-files/:id',
      summary: 'Get a loan file with its parties',
      tags: ['loan-files'],
      access: { roles: READERS, apiKeyScope: 'loan-files:read' },
      params: idParam,
      responses: { 200: { description: 'The loan file', schema: loanFileSchema } },
      async handler({ params }) {
        return { status: 200, body: await service.get(params.id) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/loan-files/:id/parties',
      summary: 'Add a party to a loan file',
      tags: ['loan-files'],
      access: { roles: WRITERS, apiKeyScope: 'loan-files:write' },
      params: idParam,
      body: partyInput,
      responses: { 201: { description: 'Added', schema: partySchema } },
      async handler({ params, body, ctx }) {
        return { status: 201, body: await service.addParty(params.id, body, caller(ctx)) };
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/api/loan-files/:id',
      summary: 'Change a loan file\'s maturity date and/or key terms (optionally only at a given version); recording retention is recomputed from the date. Not before the file\'s creation; a change that shortens any recording\'s retention needs an ADMIN and a reason',
      tags: ['loan-files'],
      access: { roles: WRITERS, apiKeyScope: 'loan-files:write' },
      params: idParam,
      body: updateLoanFileBody,
      responses: { 200: { description: 'Updated (or already so)', schema: loanFileSchema } },
      async handler({ params, body, ctx }) {
        return { status: 200, body: await service.update(params.id, body, caller(ctx)) };
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/api/loan-files/:id/parties/:partyId',
      summary: 'Update a party (optionally only at a given version)',
      tags: ['loan-files'],
      access: { roles: WRITERS, apiKeyScope: 'loan-files:write' },
      params: idParam.extend({ partyId: z.uuid({ message: 'must be a UUID' }) }),
      body: partyPatch,
      responses: { 200: { description: 'Updated', schema: partySchema } },
      async handler({ params, body, ctx }) {
        return { status: 200, body: await service.updateParty(params.id, params.partyId, body, caller(ctx)) };
      },
    }),
  ];
}
