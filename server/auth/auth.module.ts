// Sign-in for people (login sessions, rate limits), LOS API keys and borrower links.
import type { Infrastructure } from '../infrastructure.js';
import { ApiKeyService } from './api-keys.service.js';
import { AuthService } from './auth.service.js';
import { BorrowerLinks } from './borrower-links.service.js';
import { LoginSessionCache } from './login-session-cache.js';
import { RateLimiter } from './rate-limiter.js';

export function authModule({ config, db, redis, events, log }: Infrastructure) {
  const apiKeys = new ApiKeyService(db);
  const limiter = new RateLimiter(redis);
  const sessions = new LoginSessionCache({ redisUrl: config.redis.url, prefix: config.redis.prefix, publisher: redis, log, ...config.auth.sessionCache });
  sessions.start();
  // Every node drops what it holds of a revoked session or a changed user before anything else reacts.
  events.subscribeCommitted('login-sessions.ended', ({ loginSessionIds }) => sessions.revoke({ loginSessionIds }));
  events.subscribeCommitted('user.access-changed', ({ userId }) => sessions.revoke({ userId }));
  return {
    apiKeys,
    limiter,
    auth: new AuthService({ db, limiter, apiKeys, settings: config.auth, events, sessions }),
    links: new BorrowerLinks(db, config.verification.otp),
    /** Ends the revocation subscription (at shutdown). */
    close: () => sessions.close(),
  };
}
