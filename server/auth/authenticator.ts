// What the HTTP layer asks of authentication: who sent this request (a login session cookie or an API
// key), and whether a cookie session's CSRF token matches. AuthService implements it.
import type { Request } from 'express';
import type { Principal } from './principal.js';

export interface Authenticator {
  authenticate(req: Request): Promise<{ principal: Principal; via: 'cookie' | 'bearer' } | null>;
  checkCsrf(principal: Extract<Principal, { kind: 'user' }>, token: string | undefined): boolean;
}
