// Administrators manage console users: creating them, roles, disabling, and lifting a sign-in hold.
import { z } from 'zod';
import { defineRoute, type RouteDefinition } from '../http/route.js';
import { idParam } from '../shared/schemas.js';
import type { AuthService } from '../auth/auth.service.js';
import { requireUser, roleSchema } from '../auth/principal.js';
import { localeSchema } from '../loan-files/loan-files.schema.js';
import type { UserAdmin } from './users.service.js';

const userAccount = z
  .object({ id: z.uuid(), email: z.string(), displayName: z.string(), roles: z.array(roleSchema), locale: z.string(), disabled: z.boolean() })
  .meta({ id: 'UserAccount' });
const changeBody = z
  .object({
    roles: z.array(roleSchema).min(1).max(4).optional().describe('The complete new set of roles'),
    disabled: z.boolean().optional().describe('true: the user can no longer sign in, and their sessions are revoked'),
  })
  .refine((b) => b.roles !== undefined || b.disabled !== undefined, 'send roles, disabled or both');

const createBody = z.object({
  email: z.email().max(254).describe('Signs in with this address; stored in lower case'),
  displayName: z.string().trim().min(1).max(120),
  roles: z.array(roleSchema).min(1).max(4),
  password: z.string().min(12, 'at least 12 characters').max(200).describe('The initial password; give it to the user out of band'),
  locale: localeSchema.optional().describe('The console language; zh-CN when absent'),
  languages: z.array(localeSchema).max(2).optional().describe('Languages the agent can run a session in'),
  skills: z.array(z.string().min(1).max(64)).max(20).optional().describe('Products the agent may be offered'),
});

export function userRoutes(users: UserAdmin, auth: AuthService): RouteDefinition[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/users',
      summary: 'List console users',
      tags: ['users'],
      access: { roles: ['ADMIN'] },
      responses: { 200: { description: 'Every console user, by e-mail address', schema: z.object({ items: z.array(userAccount) }) } },
      async handler() {
        return { status: 200, body: { items: await users.list() } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/users',
      summary: 'Create a console user with an initial password (audited as user.created)',
      tags: ['users'],
      access: { roles: ['ADMIN'] },
      body: createBody,
      responses: { 201: { description: 'The new user', schema: userAccount } },
      async handler({ body, ctx }) {
        const actor = { type: 'USER' as const, id: requireUser(ctx.principal).userId };
        return { status: 201, body: await users.create(body, actor, ctx.requestId) };
      },
    }),
    defineRoute({
      method: 'patch',
      path: '/api/users/:id',
      summary: "Change a user's roles, or disable or re-enable them (their open consoles are disconnected)",
      tags: ['users'],
      access: { roles: ['ADMIN'] },
      params: idParam,
      body: changeBody,
      responses: { 200: { description: 'The user as changed', schema: userAccount } },
      async handler({ params, body, ctx }) {
        const actor = { type: 'USER' as const, id: requireUser(ctx.principal).userId };
        return { status: 200, body: await users.update(params.id, body, actor, ctx.requestId) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/users/:id/unlock',
      summary: 'Lift the hold that failed sign-ins put on an account',
      tags: ['users'],
      access: { roles: ['ADMIN'] },
      params: idParam,
      responses: { 204: { description: 'Lifted' } },
      async handler({ params, ctx }) {
        await auth.unlock(params.id, { type: 'USER', id: requireUser(ctx.principal).userId }, ctx.requestId);
        return { status: 204 };
      },
    }),
  ];
}
