// Who is calling. A browser user (cookie session) or the lender's LOS (API key).
import { z } from 'zod';
import { AppError } from '../shared/errors.js';
import type { Role } from '../db/generated/prisma/enums.js';

export const API_SCOPES = ['loan-files:read', 'loan-files:write', 'sessions:read', 'sessions:write'] as const;
export const apiScopeSchema = z.enum(API_SCOPES);
export type ApiScope = z.infer<typeof apiScopeSchema>;
export const roleSchema = z.enum(['AGENT', 'SUPERVISOR', 'AUDITOR', 'ADMIN']);

export type Principal =
  | { kind: 'user'; userId: string; roles: Role[]; loginSessionId: string; csrfTokenHash: string }
  | { kind: 'apiKey'; apiKeyId: string; scopes: ApiScope[] };

/** Who may call a route: 'public', or user roles ('any' = every signed-in user) and/or one API-key scope. */
export type Access = 'public' | { roles?: readonly Role[] | 'any'; apiKeyScope?: ApiScope };

export function isAllowed(principal: Principal, access: Exclude<Access, 'public'>): boolean {
  if (principal.kind === 'apiKey') {
    return access.apiKeyScope !== undefined && principal.scopes.includes(access.apiKeyScope);
  }
  if (access.roles === undefined) return false;
  if (access.roles === 'any') return true;
  return principal.roles.some((r) => (access.roles as readonly Role[]).includes(r));
}

export function principalScope(principal: Principal): string {
  return principal.kind === 'apiKey' ? `api-key:${principal.apiKeyId}` : `user:${principal.userId}`;
}

export type UserPrincipal = Extract<Principal, { kind: 'user' }>;

/** For routes open to users only: narrows the principal, or refuses an API key. */
export function requireUser(principal: Principal | undefined): UserPrincipal {
  if (principal?.kind !== 'user') throw new AppError('FORBIDDEN', 'Only signed-in users can do this');
  return principal;
}
