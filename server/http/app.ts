// The express application factory. Usable on port 0 in tests; main.ts supplies the routes and the
// authenticator. Everything under /api speaks JSON in and problem+json on failure.
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../logging.js';
import { redactPath, requestContext } from './context.js';
import { AppError, ERROR_CODES, type ErrorCode } from '../shared/errors.js';
import { toProblem } from './problem.js';
import { API_DOCS_HTML, buildOpenApiDocument } from './openapi.js';
import type { RouteDefinition } from './route.js';
import type { Authenticator } from '../auth/authenticator.js';

export interface HttpAppOptions {
  log: Logger;
  routes: RouteDefinition[];
  authenticator: Authenticator;
  publicUrl: string;
  trustProxy: string;
  /** Routers that must see the raw request (e.g. signed webhooks) are mounted before body parsing. */
  rawRouters?: { path: string; router: express.Router }[];
  /** The browser pages, tried after every API route. */
  pages?: express.Router;
  /** Send Strict-Transport-Security (production, where PUBLIC_URL is https). */
  hsts?: boolean;
}

export function createHttpApp(options: HttpAppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', options.trustProxy);
  app.set('query parser', 'extended');
  app.use(requestContext(options.log, { hsts: options.hsts ?? false }));

  for (const { path, router } of options.rawRouters ?? []) app.use(path, router);

  app.use(express.json({ limit: '1mb', type: ['application/json', 'application/*+json'] }));

  const router = express.Router();
  for (const route of options.routes) route.mount(router, options.authenticator);
  app.use(router);

  const openApi = JSON.stringify(buildOpenApiDocument(options.routes, options.publicUrl));
  app.get('/api/openapi.json', (_req, res) => {
    res.type('application/json').send(openApi);
  });
  app.get('/api/docs', (_req, res) => {
    res.setHeader('Content-Security-Policy', "default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline'");
    res.type('html').send(API_DOCS_HTML);
  });

  if (options.pages) app.use(options.pages);

  app.use((req: Request, _res: Response, next: NextFunction) => {
    next(new AppError('ROUTE_NOT_FOUND', `${req.method} ${redactPath(req.path)} does not exist`));
  });
  app.use(errorHandler);
  return app;
}

interface BodyParserError extends Error {
  type?: string;
  status?: number;
}

function errorHandler(err: unknown, req: Request, res: Response, next: NextFunction): void {
  if (res.headersSent) {
    next(err);
    return;
  }
  let appError: AppError;
  if (err instanceof AppError) {
    appError = err;
  } else if ((err as BodyParserError)?.type === 'entity.parse.failed') {
    appError = new AppError('MALFORMED_BODY', 'The body is not valid JSON');
  } else if ((err as BodyParserError)?.type === 'entity.too.large') {
    appError = new AppError('PAYLOAD_TOO_LARGE', 'The body is larger than 1 MB');
  } else if ((err as BodyParserError)?.status === 400 || (err as BodyParserError)?.status === 415) {
    appError = new AppError('MALFORMED_BODY', 'The body could not be read');
  } else {
    appError = asAppError(err, req.ctx?.log);
  }
  sendProblem(res, appError, redactPath(req.originalUrl.split('?')[0] ?? '/'), req.ctx?.requestId, req.ctx?.log);
}

/** An AppError as is; anything else is logged and becomes INTERNAL, which never shows internals. */
export function asAppError(err: unknown, log: Logger | undefined): AppError {
  if (err instanceof AppError) return err;
  log?.error({ err }, 'unhandled error');
  return new AppError('INTERNAL', 'Something went wrong on our side. Quote the request id when reporting it.');
}

/** Answers with `error` as application/problem+json (the one place errors become responses). */
export function sendProblem(res: ServerResponse, error: AppError, instance: string | undefined, requestId: string | undefined, log: Logger | undefined): void {
  if (error.status >= 500 && error.code !== 'INTERNAL') log?.warn({ code: error.code }, error.message);
  if (error.extra.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(error.extra.retryAfterSeconds));
  const body = JSON.stringify(toProblem(error, instance, requestId));
  res.statusCode = error.status;
  res.setHeader('Content-Type', 'application/problem+json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

const REASONS: Partial<Record<number, string>> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

/**
 * For the HTTP server's 'clientError' event: bytes that never became a request (a broken request
 * line, oversized headers, a stalled upload) still get a problem+json answer, instead of Node's bare
 * status line. Express never sees these, so this is the only place they can be answered.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  // A response already under way on this connection (Node's own check) or a peer gone: just close.
  const inProgress = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (err.code === 'ECONNRESET' || !socket.writable || inProgress) {
    socket.destroy();
    return;
  }
  const code: ErrorCode = err.code === 'HPE_HEADER_OVERFLOW' ? 'HEADERS_TOO_LARGE' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'REQUEST_TIMEOUT' : 'MALFORMED_REQUEST';
  const { status } = ERROR_CODES[code];
  const body = JSON.stringify(toProblem(new AppError(code)));
  socket.end(
    [
      `HTTP/1.1 ${status} ${REASONS[status] ?? 'Bad Request'}`,
      'Content-Type: application/problem+json; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(body)}`,
      'X-Content-Type-Options: nosniff',
      'Connection: close',
      '',
      body,
    ].join('\r\n'),
  );
}
