// Browser logins: e-mail + password, an HttpOnly session cookie and a CSRF token, both stored only
// as hashes. Repeated failures lock the account for a while; a per-IP limiter slows guessing.
import type { Request } from 'express';
import { sqlPool, type Db } from '../db/client.js';
import type { Role } from '../db/generated/prisma/enums.js';
import { AppError } from '../http/errors.js';
import { parseCookies } from '../http/context.js';
import type { Authenticator } from '../http/route.js';
import { appendAudit } from '../audit/audit.service.js';
import { DUMMY_PASSWORD_HASH, verifyPassword } from './password.js';
import { newToken, sameHash, sha256Hex } from './tokens.js';
import type { Principal } from './principal.js';
import type { RateLimiter } from './rate-limiter.js';
import type { ApiKeyService } from './api-keys.service.js';

export const SESSION_COOKIE = 'fs_session';
export const CSRF_COOKIE = 'fs_csrf';

export interface AuthSettings {
  sessionTtlMs: number;
  cookieSecure: boolean;
  loginMaxFailures: number;
  loginLockoutMs: number;
  loginRatePerMinute: number;
}

export interface LoginResult {
  sessionToken: string;
  csrfToken: string;
  expiresAt: Date;
  user: { id: string; email: string; displayName: string; roles: Role[]; locale: string };
}

const TOUCH_INTERVAL_MS = 60_000;

export class AuthService implements Authenticator {
  constructor(
    private readonly db: Db,
    private readonly limiter: RateLimiter,
    private readonly apiKeys: ApiKeyService,
    private readonly settings: AuthSettings,
  ) {}

  async login(input: { email: string; password: string; ip: string; userAgent?: string | undefined; requestId: string }): Promise<LoginResult> {
    const wait = await this.limiter.hit(`login:ip:${input.ip}`, this.settings.loginRatePerMinute, 60);
    if (wait > 0) throw new AppError('RATE_LIMITED', 'Too many login attempts from this address', { retryAfterSeconds: wait });

    const email = input.email.trim().toLowerCase();
    const user = await this.db.user.findUnique({ where: { email } });
    if (!user || user.disabledAt) {
      await verifyPassword(input.password, DUMMY_PASSWORD_HASH);
      throw new AppError('INVALID_CREDENTIALS');
    }
    const now = new Date();
    if (user.lockedUntil && user.lockedUntil > now) {
      throw new AppError('ACCOUNT_LOCKED', 'The account is locked after repeated failed logins; try again later', {
        retryAfterSeconds: Math.ceil((user.lockedUntil.getTime() - now.getTime()) / 1000),
      });
    }
    if (!(await verifyPassword(input.password, user.passwordHash))) {
      await this.recordFailure(user.id, input.requestId);
      throw new AppError('INVALID_CREDENTIALS');
    }

    const sessionToken = newToken();
    const csrfToken = newToken();
    const expiresAt = new Date(now.getTime() + this.settings.sessionTtlMs);
    await this.db.$transaction(async (tx) => {
      await tx.user.update({ where: { id: user.id }, data: { failedLoginCount: 0, lockedUntil: null } });
      const session = await tx.loginSession.create({
        data: {
          userId: user.id,
          tokenHash: sha256Hex(sessionToken),
          csrfTokenHash: sha256Hex(csrfToken),
          expiresAt,
          ipAddress: input.ip.slice(0, 64),
          userAgent: input.userAgent?.slice(0, 256) ?? null,
        },
      });
      await appendAudit(tx, {
        actor: { type: 'USER', id: user.id },
        entity: { type: 'user', id: user.id },
        event: { action: 'auth.login_succeeded', v: 1, data: { loginSessionId: session.id } },
        requestId: input.requestId,
      });
    });
    return {
      sessionToken,
      csrfToken,
      expiresAt,
      user: { id: user.id, email: user.email, displayName: user.displayName, roles: user.roles, locale: user.locale },
    };
  }

  /** Counts a failure atomically; the N-th consecutive one locks the account. */
  private async recordFailure(userId: string, requestId: string): Promise<void> {
    const lockMs = this.settings.loginLockoutMs;
    await this.db.$transaction(async (tx) => {
      const [row] = await tx.$queryRaw<{ failedLoginCount: number; locked: boolean }[]>`
        UPDATE "User"
           SET "failedLoginCount" = "failedLoginCount" + 1,
               "lockedUntil" = CASE WHEN "failedLoginCount" + 1 >= ${this.settings.loginMaxFailures}::int
                                    THEN now() + make_interval(secs => ${lockMs / 1000}::double precision) ELSE "lockedUntil" END,
               "updatedAt" = now()
         WHERE id = ${userId}::uuid
     RETURNING "failedLoginCount", ("failedLoginCount" >= ${this.settings.loginMaxFailures}::int) AS locked`;
      if (!row) return;
      if (row.locked) {
        // The lock restarts the count, so after it expires the user gets the full number of tries again.
        await tx.user.update({ where: { id: userId }, data: { failedLoginCount: 0 } });
      }
      await appendAudit(tx, {
        actor: { type: 'USER', id: userId },
        entity: { type: 'user', id: userId },
        event: { action: 'auth.login_failed', v: 1, data: { failedCount: row.failedLoginCount, locked: row.locked } },
        requestId,
      });
    });
  }

  async logout(principal: Extract<Principal, { kind: 'user' }>, requestId: string): Promise<void> {
    await this.revoke(principal.loginSessionId, principal, requestId, 'auth.logged_out');
  }

  async listSessions(userId: string) {
    return this.db.loginSession.findMany({
      where: { userId, revokedAt: null, expiresAt: { gt: new Date() } },
      orderBy: { createdAt: 'desc' },
      select: { id: true, createdAt: true, expiresAt: true, lastSeenAt: true, ipAddress: true, userAgent: true },
    });
  }

  /** Users revoke their own sessions; admins revoke anyone's. */
  async revokeSession(sessionId: string, principal: Extract<Principal, { kind: 'user' }>, requestId: string): Promise<void> {
    const session = await this.db.loginSession.findUnique({ where: { id: sessionId } });
    const isAdmin = principal.roles.includes('ADMIN');
    if (!session || (session.userId !== principal.userId && !isAdmin)) throw new AppError('NOT_FOUND', 'No such session');
    await this.revoke(sessionId, principal, requestId, 'auth.session_revoked');
  }

  private async revoke(sessionId: string, principal: Extract<Principal, { kind: 'user' }>, requestId: string, action: 'auth.logged_out' | 'auth.session_revoked') {
    await this.db.$transaction(async (tx) => {
      const { count } = await tx.loginSession.updateMany({ where: { id: sessionId, revokedAt: null }, data: { revokedAt: new Date() } });
      if (count === 0) return;
      await appendAudit(tx, {
        actor: { type: 'USER', id: principal.userId },
        entity: { type: 'login_session', id: sessionId },
        event: { action, v: 1, data: { loginSessionId: sessionId } },
        requestId,
      });
    });
  }

  async authenticate(req: Request): Promise<{ principal: Principal; via: 'cookie' | 'bearer' } | null> {
    const authorization = req.get('authorization');
    if (authorization) {
      const match = /^Bearer\s+(\S+)$/i.exec(authorization);
      const principal = match?.[1] ? await this.apiKeys.authenticate(match[1]) : null;
      if (!principal) throw new AppError('UNAUTHENTICATED', 'The API key is invalid, revoked or expired');
      return { principal, via: 'bearer' };
    }
    const token = parseCookies(req.get('cookie'))[SESSION_COOKIE];
    if (!token) return null;
    return { principal: await this.authenticateSessionToken(token), via: 'cookie' };
  }

  /** Resolves a session cookie's token (HTTP requests and socket handshakes alike). */
  async authenticateSessionToken(token: string): Promise<Extract<Principal, { kind: 'user' }>> {
    // Every console request and socket handshake runs this: one named statement on the shared pool.
    const { rows } = await sqlPool(this.db).query<{ id: string; revokedAt: Date | null; expiresAt: Date; lastSeenAt: Date; csrfTokenHash: string; userId: string; roles: Role[]; disabledAt: Date | null }>({
      name: 'login-session-by-token',
      text: `SELECT s."id", s."revokedAt", s."expiresAt", s."lastSeenAt", s."csrfTokenHash", u."id" AS "userId", u."roles"::text[] AS "roles", u."disabledAt"
        FROM "LoginSession" s JOIN "User" u ON u."id" = s."userId" WHERE s."tokenHash" = $1`,
      values: [sha256Hex(token)],
    });
    const session = rows[0];
    const now = new Date();
    if (!session || session.revokedAt || session.expiresAt <= now || session.disabledAt) {
      throw new AppError('UNAUTHENTICATED', 'Your session has ended; sign in again');
    }
    if (now.getTime() - session.lastSeenAt.getTime() > TOUCH_INTERVAL_MS) {
      await this.db.loginSession.updateMany({
        where: { id: session.id, lastSeenAt: { lt: new Date(now.getTime() - TOUCH_INTERVAL_MS) } },
        data: { lastSeenAt: now },
      });
    }
    return { kind: 'user', userId: session.userId, roles: session.roles, loginSessionId: session.id, csrfTokenHash: session.csrfTokenHash };
  }

  checkCsrf(principal: Extract<Principal, { kind: 'user' }>, token: string | undefined): boolean {
    return typeof token === 'string' && token.length > 0 && sameHash(sha256Hex(token), principal.csrfTokenHash);
  }

  sessionCookies(result: { sessionToken: string; csrfToken: string; expiresAt: Date }): string[] {
    const common = `Path=/; SameSite=Strict; Expires=${result.expiresAt.toUTCString()}${this.settings.cookieSecure ? '; Secure' : ''}`;
    return [`${SESSION_COOKIE}=${result.sessionToken}; HttpOnly; ${common}`, `${CSRF_COOKIE}=${result.csrfToken}; ${common}`];
  }

  clearedCookies(): string[] {
    const common = `Path=/; SameSite=Strict; Expires=Thu, 01 Jan 1970 00:00:00 GMT${this.settings.cookieSecure ? '; Secure' : ''}`;
    return [`${SESSION_COOKIE}=; HttpOnly; ${common}`, `${CSRF_COOKIE}=; ${common}`];
  }
}
