// Per-request context: a request id (accepted from X-Request-Id when it is safe, else generated),
// a child logger carrying it, and the authenticated principal once known. Logs name a request by its
// route template (/api/join/:token), never by a raw path that may carry a borrower's link token.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../logging.js';
import type { Principal } from '../auth/principal.js';

export interface RequestContext {
  requestId: string;
  log: Logger;
  principal?: Principal;
  /** How the principal authenticated: cookie sessions need CSRF checks, API keys do not. */
  via?: 'cookie' | 'bearer';
  /** The matched route's template, e.g. /api/join/:token; set by the route helper. */
  route?: string;
}

declare module 'express-serve-static-core' {
  interface Request {
    ctx: RequestContext;
  }
}

const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Long opaque segments look like credentials (link tokens are 43 base64url characters); ids (UUIDs) are not secret. */
const OPAQUE = /^[A-Za-z0-9_-]{32,}$/;

/**
 * A path as logs and problem+json may show it: the segment after /join/ (the borrower link's token,
 * in the page and the API) becomes :token, and any other long opaque segment :redacted. For paths no
 * route matched (404s, static files), where there is no template to log instead.
 */
export function redactPath(path: string): string {
  const segments = path.split('/');
  return segments
    .map((segment, i) => {
      if (i > 0 && segments[i - 1] === 'join' && segment !== '') return ':token';
      return OPAQUE.test(segment) && !UUID.test(segment) ? ':redacted' : segment;
    })
    .join('/');
}

/** Strict-Transport-Security for production: a year, subdomains included (PUBLIC_URL is https there). */
export const HSTS = 'max-age=31536000; includeSubDomains';

export interface RequestContextOptions {
  /** Send HSTS on every response (production). */
  hsts?: boolean;
}

/**
 * Starts a request outside or inside express alike: its id (taken from X-Request-Id when safe), a child
 * logger carrying it, the baseline security headers, and one access-log line when the response is done.
 */
export function beginRequest(log: Logger, req: IncomingMessage, res: ServerResponse, path: () => string, options: RequestContextOptions = {}): { requestId: string; log: Logger } {
  const incoming = req.headers['x-request-id'];
  const requestId = typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
  const child = log.child({ requestId });
  res.setHeader('X-Request-Id', requestId);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  if (options.hsts) res.setHeader('Strict-Transport-Security', HSTS);
  const started = process.hrtime.bigint();
  res.on('finish', () => {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    child.info({ method: req.method, path: path(), status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request');
  });
  return { requestId, log: child };
}

export function requestContext(log: Logger, options: RequestContextOptions = {}) {
  return (req: Request, res: Response, next: NextFunction): void => {
    // originalUrl: inside a mounted router req.path has lost the mount prefix by the time the response ends.
    req.ctx = beginRequest(log, req, res, () => req.ctx.route ?? redactPath(req.originalUrl.split('?')[0] ?? '/'), options);
    next();
  };
}
