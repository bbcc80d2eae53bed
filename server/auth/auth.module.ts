// Sign-in for people (login sessions, rate limits), LOS API keys and borrower links.
import type { Infrastructure } from '../infrastructure.js';
import { ApiKeyService } from './api-keys.service.js';
import { AuthService } from './auth.service.js';
import { BorrowerLinks } from './borrower-links.service.js';
import { RateLimiter } from './rate-limiter.js';

export function authModule({ config, db, redis, events }: Infrastructure) {
  const apiKeys = new ApiKeyService(db);
  const limiter = new RateLimiter(redis);
  return {
    apiKeys,
    limiter,
    auth: new AuthService({ db, limiter, apiKeys, settings: config.auth, events }),
    links: new BorrowerLinks(db, config.verification.otp),
  };
}
