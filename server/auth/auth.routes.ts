import { z } from 'zod';
import { defineRoute, type RouteDefinition } from '../http/route.js';
import { idParam, iso, isoOrNull, timestamp } from '../shared/schemas.js';
import { actorOf } from '../audit/audit.service.js';
import type { Db } from '../db/client.js';
import type { AuthService } from './auth.service.js';
import type { ApiKeyService, ApiKeyView } from './api-keys.service.js';
import { apiScopeSchema, requireUser, roleSchema } from './principal.js';

const userSchema = z
  .object({ id: z.uuid(), email: z.string(), displayName: z.string(), roles: z.array(roleSchema), locale: z.string() })
  .meta({ id: 'User' });
const loginBody = z.object({
  email: z.string().trim().min(3).max(254),
  password: z.string().min(1).max(1024),
});
const loginResponse = z.object({ user: userSchema, csrfToken: z.string(), expiresAt: timestamp }).meta({ id: 'LoginResult' });
const sessionView = z
  .object({ id: z.uuid(), createdAt: timestamp, expiresAt: timestamp, lastSeenAt: timestamp, ipAddress: z.string().nullable(), userAgent: z.string().nullable(), current: z.boolean() })
  .meta({ id: 'LoginSession' });
const apiKeyView = z
  .object({
    id: z.uuid(),
    name: z.string(),
    prefix: z.string(),
    scopes: z.array(apiScopeSchema),
    createdAt: timestamp,
    lastUsedAt: timestamp.nullable(),
    expiresAt: timestamp.nullable(),
    revokedAt: timestamp.nullable(),
  })
  .meta({ id: 'ApiKey' });
const createApiKeyBody = z.object({
  name: z.string().trim().min(1).max(120),
  scopes: z.array(apiScopeSchema).min(1).max(10),
  expiresAt: timestamp.optional().refine((v) => v === undefined || new Date(v) > new Date(), 'must be in the future'),
});


const apiKeyDto = (v: ApiKeyView) => ({
  ...v,
  createdAt: iso(v.createdAt),
  lastUsedAt: isoOrNull(v.lastUsedAt),
  expiresAt: isoOrNull(v.expiresAt),
  revokedAt: isoOrNull(v.revokedAt),
});

export function authRoutes(auth: AuthService, apiKeys: ApiKeyService, db: Db): RouteDefinition[] {
  return [
    defineRoute({
      method: 'post',
      path: '/api/auth/login',
      summary: 'Sign in with e-mail and password',
      tags: ['auth'],
      access: 'public',
      body: loginBody,
      responses: { 200: { description: 'Signed in; sets the session and CSRF cookies', schema: loginResponse } },
      async handler({ body, req, ctx }) {
        const result = await auth.login({ ...body, ip: req.ip ?? 'unknown', userAgent: req.get('user-agent'), requestId: ctx.requestId });
        return {
          status: 200,
          body: { user: result.user, csrfToken: result.csrfToken, expiresAt: iso(result.expiresAt) },
          apply: (res) => res.setHeader('Set-Cookie', auth.sessionCookies(result)),
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/auth/logout',
      summary: 'Sign out (revokes this session)',
      tags: ['auth'],
      access: { roles: 'any' },
      responses: { 204: { description: 'Signed out' } },
      async handler({ ctx }) {
        await auth.logout(requireUser(ctx.principal), ctx.requestId);
        return { status: 204, apply: (res) => res.setHeader('Set-Cookie', auth.clearedCookies()) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/auth/me',
      summary: 'The signed-in user',
      tags: ['auth'],
      access: { roles: 'any' },
      responses: { 200: { description: 'The user', schema: userSchema } },
      async handler({ ctx }) {
        const user = await db.user.findUniqueOrThrow({ where: { id: requireUser(ctx.principal).userId } });
        return { status: 200, body: { id: user.id, email: user.email, displayName: user.displayName, roles: user.roles, locale: user.locale } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/auth/sessions',
      summary: "The signed-in user's active sessions",
      tags: ['auth'],
      access: { roles: 'any' },
      responses: { 200: { description: 'Active sessions', schema: z.object({ items: z.array(sessionView) }) } },
      async handler({ ctx }) {
        const principal = requireUser(ctx.principal);
        const sessions = await auth.listSessions(principal.userId);
        return {
          status: 200,
          body: {
            items: sessions.map((s) => ({
              ...s,
              createdAt: iso(s.createdAt),
              expiresAt: iso(s.expiresAt),
              lastSeenAt: iso(s.lastSeenAt),
              current: s.id === principal.loginSessionId,
            })),
          },
        };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/auth/sessions/:id',
      summary: 'Revoke a session (your own; admins: anyone’s)',
      tags: ['auth'],
      access: { roles: 'any' },
      params: idParam,
      responses: { 204: { description: 'Revoked' } },
      async handler({ params, ctx }) {
        await auth.revokeSession(params.id, requireUser(ctx.principal), ctx.requestId);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/api-keys',
      summary: 'Create an API key for the LOS (the key is shown once)',
      tags: ['api-keys'],
      access: { roles: ['ADMIN'] },
      body: createApiKeyBody,
      responses: { 201: { description: 'Created', schema: apiKeyView.extend({ key: z.string() }).meta({ id: 'CreatedApiKey' }) } },
      async handler({ body, ctx }) {
        const created = await apiKeys.create(
          { name: body.name, scopes: body.scopes, expiresAt: body.expiresAt ? new Date(body.expiresAt) : undefined },
          actorOf(ctx.principal),
          ctx.requestId,
        );
        return { status: 201, body: { ...apiKeyDto(created.view), key: created.key } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/api-keys',
      summary: 'List API keys (never their secrets)',
      tags: ['api-keys'],
      access: { roles: ['ADMIN'] },
      responses: { 200: { description: 'Keys', schema: z.object({ items: z.array(apiKeyView) }) } },
      async handler() {
        return { status: 200, body: { items: (await apiKeys.list()).map(apiKeyDto) } };
      },
    }),
    defineRoute({
      method: 'delete',
      path: '/api/api-keys/:id',
      summary: 'Revoke an API key',
      tags: ['api-keys'],
      access: { roles: ['ADMIN'] },
      params: idParam,
      responses: { 204: { description: 'Revoked' } },
      async handler({ params, ctx }) {
        await apiKeys.revoke(params.id, actorOf(ctx.principal), ctx.requestId);
        return { status: 204 };
      },
    }),
  ];
}
