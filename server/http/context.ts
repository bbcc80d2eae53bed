// Per-request context: a request id (accepted from X-Request-Id when it is safe, else generated),
// a child logger carrying it, and the authenticated principal once known.
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
}

declare module 'express-serve-static-core' {
  interface Request {
    ctx: RequestContext;
  }
}

const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{8,64}$/;

/**
 * Starts a request outside or inside express alike: its id (taken from X-Request-Id when safe), a child
 * logger carrying it, the baseline security headers, and one access-log line when the response is done.
 */
export function beginRequest(log: Logger, req: IncomingMessage, res: ServerResponse, path: () => string): { requestId: string; log: Logger } {
  const incoming = req.headers['x-request-id'];
  const requestId = typeof incoming === 'string' && SAFE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
  const child = log.child({ requestId });
  res.setHeader('X-Request-Id', requestId);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  const started = process.hrtime.bigint();
  res.on('finish', () => {
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    child.info({ method: req.method, path: path(), status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request');
  });
  return { requestId, log: child };
}

export function requestContext(log: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    req.ctx = beginRequest(log, req, res, () => req.path);
    next();
  };
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    const raw = part.slice(eq + 1).trim();
    try {
      out[name] = decodeURIComponent(raw);
    } catch {
      out[name] = raw;
    }
  }
  return out;
}
