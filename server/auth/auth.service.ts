// Browser logins: e-mail + password, an HttpOnly session cookie and a CSRF token, both stored only
// as hashes. Guessing is throttled with backoff (backoff.ts), per account and per client address, and
// never locks an account hard: see login().
import type { Request } from 'express';
import type { DomainEvents } from '../events/domain-events.js';
import { sql as fragment } from 'kysely';
import { sqlAutocommit, type Db, type Tx } from '../db/client.js';
import { build, first, rows } from '../db/typed-sql.js';
import type { Role } from '../db/generated/prisma/enums.js';
import { AppError } from '../shared/errors.js';
import { parseCookies } from '../shared/cookies.js';
import type { Authenticator } from './authenticator.js';
import { appendAudit, type AuditEntry } from '../audit/audit.service.js';
import { DUMMY_PASSWORD_HASH, verifyPassword } from './password.js';
import { newToken, sameHash, sha256Hex } from './tokens.js';
import type { Principal } from './principal.js';
import type { RateLimiter, ThrottleBucket } from './rate-limiter.js';
import type { ApiKeyService } from './api-keys.service.js';
import { backoffSchedule } from './backoff.js';
import type { CachedLoginSession, LoginSessionCache } from './login-session-cache.js';

export const SESSION_COOKIE = 'fs_session';
export const CSRF_COOKIE = 'fs_csrf';

export interface AuthSettings {
  sessionTtlMs: number;
  cookieSecure: boolean;
  /** Wrong passwords an account (or one familiar client of it) may have before attempts are held back. */
  loginMaxFailures: number;
  /** Wrong passwords one client address may have, on any accounts, before it is held back. */
  loginClientMaxFailures: number;
  /** The first wait; each further failure doubles it, up to `loginBackoffMaxMs`. */
  loginBackoffMs: number;
  loginBackoffMaxMs: number;
  loginRatePerMinute: number;
}

export interface LoginResult {
  sessionToken: string;
  csrfToken: string;
  expiresAt: Date;
  user: { id: string; email: string; displayName: string; roles: Role[]; locale: string };
}

const TOUCH_INTERVAL_MS = 60_000;
/** An account's failures are forgotten a day after its latest one (or at a successful sign-in). */
const ACCOUNT_FAILURES_KEPT_MS = 24 * 3_600_000;
/** A client's failures are counted per hour: an office behind one address is not held back for a week of typos. */
const CLIENT_FAILURE_WINDOW_MS = 3_600_000;
/** A client address its owner signed in from within this time is familiar (see login()). */
const FAMILIAR_CLIENT_MS = 30 * 86_400_000;

const sessionEnded = () => new AppError('UNAUTHENTICATED', 'Your session has ended; sign in again');
const accountKey = (email: string) => `login:account:${sha256Hex(email)}`;
const normalEmail = (email: string) => email.trim().toLowerCase();

export interface AuthServiceOptions {
  db: Db;
  limiter: RateLimiter;
  apiKeys: ApiKeyService;
  settings: AuthSettings;
  /** Where revoked login sessions are announced (their consoles' sockets end). */
  events: DomainEvents;
  /** Login sessions kept in this process for HTTP requests; without it every request reads the database. */
  sessions?: LoginSessionCache | undefined;
}

export class AuthService implements Authenticator {
  /** Called after login sessions were revoked (committed), to end their live connections. */
  private readonly accountSchedule: number[];
  private readonly clientSchedule: number[];

  private readonly db: Db;
  private readonly limiter: RateLimiter;
  private readonly apiKeys: ApiKeyService;
  private readonly settings: AuthSettings;
  private readonly events: DomainEvents;
  private readonly sessions: LoginSessionCache | undefined;

  constructor({ db, limiter, apiKeys, settings, events, sessions }: AuthServiceOptions) {
    this.db = db;
    this.sessions = sessions;
    this.limiter = limiter;
    this.apiKeys = apiKeys;
    this.settings = settings;
    this.events = events;
    const backoff = { firstDelayMs: settings.loginBackoffMs, maxDelayMs: settings.loginBackoffMaxMs };
    this.accountSchedule = backoffSchedule({ ...backoff, freeFailures: settings.loginMaxFailures });
    this.clientSchedule = backoffSchedule({ ...backoff, freeFailures: settings.loginClientMaxFailures });
  }

  /**
   * Throttling, in this order: requests per client address per minute (429); a client address with too
   * many wrong passwords on any accounts waits (429); an account with too many wrong passwords waits
   * (423), except from a client address its owner signed in from before, which has a count of its own —
   * so strangers' guesses cannot keep the owner out. Every wait doubles with each further failure.
   * Addresses without an account, or with a disabled one, get exactly the same answers and counts
   * (and a password hash of the same cost), so the answers do not tell which accounts exist.
   */
  async login(input: { email: string; password: string; ip: string; userAgent?: string | undefined; requestId: string }): Promise<LoginResult> {
    const wait = await this.limiter.hit(`login:ip:${input.ip}`, this.settings.loginRatePerMinute, 60);
    if (wait > 0) throw new AppError('RATE_LIMITED', 'Too many login attempts from this address', { retryAfterSeconds: wait });

    const email = normalEmail(input.email);
    const ip = input.ip.slice(0, 64);
    const found = await this.db.user.findUnique({
      where: { email },
      include: { loginSessions: { where: { ipAddress: ip, createdAt: { gt: new Date(Date.now() - FAMILIAR_CLIENT_MS) } }, select: { id: true }, take: 1 } },
    });
    const user = found && !found.disabledAt ? found : null;
    const client: ThrottleBucket = { key: `login:client:${ip}`, field: '' };
    const familiar = user !== null && user.loginSessions.length > 0;
    const account: ThrottleBucket = { key: accountKey(email), field: familiar ? `client:${ip}:` : '' };

    const attempt = await this.limiter.reserveAttempt([client, account], this.accountSchedule, ACCOUNT_FAILURES_KEPT_MS);
    if (attempt.held && attempt.bucket === 0) {
      throw new AppError('RATE_LIMITED', 'Too many failed logins from this address', { retryAfterSeconds: attempt.retryAfterSeconds });
    }
    if (attempt.held) {
      throw new AppError('ACCOUNT_LOCKED', 'Too many failed logins for this account; try again later', { retryAfterSeconds: attempt.retryAfterSeconds });
    }

    if (!(await verifyPassword(input.password, user?.passwordHash ?? DUMMY_PASSWORD_HASH)) || !user) {
      await this.limiter.countFailure(client, this.clientSchedule, CLIENT_FAILURE_WINDOW_MS);
      if (user) {
        await this.db.$transaction((tx) =>
          appendAudit(tx, {
            actor: { type: 'USER', id: user.id },
            entity: { type: 'user', id: user.id },
            event: { action: 'auth.login_failed', v: 1, data: { failedCount: attempt.failures, locked: attempt.delayMs > 0 } },
            requestId: input.requestId,
          }),
        );
      }
      throw new AppError('INVALID_CREDENTIALS');
    }
    await this.limiter.forgive(account);

    const now = new Date();
    const sessionToken = newToken();
    const csrfToken = newToken();
    const expiresAt = new Date(now.getTime() + this.settings.sessionTtlMs);
    await this.db.$transaction(async (tx) => {
      const session = await tx.loginSession.create({
        data: {
          userId: user.id,
          tokenHash: sha256Hex(sessionToken),
          csrfTokenHash: sha256Hex(csrfToken),
          expiresAt,
          ipAddress: ip,
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

  /**
   * An administrator lifts the sign-in hold on an account (its own count and those of its familiar
   * clients). The hold lives in Redis: it is lifted inside the audit's transaction, so a failure to
   * lift it leaves no audit row claiming it was.
   */
  async unlock(userId: string, actor: AuditEntry['actor'], requestId: string): Promise<void> {
    const user = await this.db.user.findUnique({ where: { id: userId }, select: { email: true } });
    if (!user) throw new AppError('NOT_FOUND', 'No such user');
    await this.db.$transaction(async (tx) => {
      await appendAudit(tx, { actor, entity: { type: 'user', id: userId }, event: { action: 'user.unlocked', v: 1, data: {} }, requestId });
      await this.limiter.forget(accountKey(user.email));
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
    const revoked = await this.db.$transaction(async (tx) => {
      const { count } = await tx.loginSession.updateMany({ where: { id: sessionId, revokedAt: null }, data: { revokedAt: new Date() } });
      if (count === 0) return false;
      await appendAudit(tx, {
        actor: { type: 'USER', id: principal.userId },
        entity: { type: 'login_session', id: sessionId },
        event: { action, v: 1, data: { loginSessionId: sessionId } },
        requestId,
      });
      return true;
    });
    // Its sockets would otherwise stay connected: a socket authenticates once, at the handshake.
    if (revoked) await this.events.publishCommitted({ type: 'login-sessions.ended', loginSessionIds: [sessionId] });
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
    return { principal: await this.authenticateSessionToken(token, { cached: true }), via: 'cookie' };
  }

  /**
   * Resolves a session cookie's token (HTTP requests and socket handshakes alike). `cached`: an HTTP
   * request may be answered from this process's cache of login sessions, which every revocation
   * clears on every node (login-session-cache.ts); sockets re-read the database on each event, as
   * their defence against a missed disconnect.
   */
  async authenticateSessionToken(token: string, options: { cached?: boolean } = {}): Promise<Extract<Principal, { kind: 'user' }>> {
    const tokenHash = sha256Hex(token);
    const cache = options.cached && this.sessions?.enabled ? this.sessions : undefined;
    let session = await cache?.get(tokenHash);
    if (!session) {
      const generation = cache?.mark();
      session = await this.readSession(tokenHash);
      if (cache && generation !== undefined) cache.put(tokenHash, session, generation);
    }
    const now = new Date();
    if (session.expiresAt <= now) throw sessionEnded();
    if (now.getTime() - session.lastSeenAt.getTime() > TOUCH_INTERVAL_MS) {
      // At most once a minute per session, and only by the first request to see it due (on any node).
      await rows(
        sqlAutocommit(this.db),
        build
          .updateTable('LoginSession')
          .set({ lastSeenAt: now })
          .where('id', '=', session.id)
          .where('lastSeenAt', '<', new Date(now.getTime() - TOUCH_INTERVAL_MS)),
        'login-session-touch',
      );
      session.lastSeenAt = now;
    }
    return { kind: 'user', userId: session.userId, roles: session.roles, loginSessionId: session.id, csrfTokenHash: session.csrfTokenHash };
  }

  /** A live session from the database (one named statement on the shared pool), or UNAUTHENTICATED. */
  private async readSession(tokenHash: string): Promise<CachedLoginSession> {
    const row = await first(
      sqlAutocommit(this.db),
      build
        .selectFrom('LoginSession as s')
        .innerJoin('User as u', 'u.id', 's.userId')
        // An enum array comes back as its literal text unless cast to text[].
        .select((eb) => ['s.id', 's.revokedAt', 's.expiresAt', 's.lastSeenAt', 's.csrfTokenHash', 'u.id as userId', fragment<Role[]>`${eb.ref('u.roles')}::text[]`.as('roles'), 'u.disabledAt'])
        .where('s.tokenHash', '=', tokenHash),
      'login-session-by-token',
    );
    if (!row || row.revokedAt || row.expiresAt <= new Date() || row.disabledAt) throw sessionEnded();
    const { id, userId, roles, csrfTokenHash, expiresAt, lastSeenAt } = row;
    return { id, userId, roles, csrfTokenHash, expiresAt, lastSeenAt };
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

/**
 * Revokes every live login session of a user (in the caller's transaction, e.g. the one disabling the
 * account); returns how many were revoked. This module writes LoginSession; other features call this.
 */
export async function revokeUserSessions(tx: Tx, userId: string, at: Date): Promise<number> {
  const { count } = await tx.loginSession.updateMany({ where: { userId, revokedAt: null }, data: { revokedAt: at } });
  return count;
}
