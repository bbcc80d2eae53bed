// Bull Board over every queue in the catalog, for admins, read-only. Mount it before the JSON parser
// (createHttpApp's rawRouters) at the same path as `basePath`; the page uses it as its <base href>.
// Everything it serves (page, assets, JSON API) ships inside @bull-board/ui: no CDN, works air-gapped.
import express, { type NextFunction, type Request, type Response } from 'express';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { AppError } from '../shared/errors.js';
import type { Authenticator } from '../auth/authenticator.js';
import { isAllowed } from '../auth/principal.js';
import { jobCatalog, type JobName } from './catalog.js';
import type { JobQueues } from './queues.js';

// Same-origin only. Inline styles are for the template's loading spinner and the code viewer; no
// inline or eval'd script is needed.
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "worker-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

// The page template links IBM Plex from Google Fonts; the CSS falls back to system fonts, so we drop
// the link rather than have the browser try (and the CSP refuse) a remote origin on every load.
const REMOTE_FONTS_LINK = /<link[^>]+href="https:\/\/fonts\.googleapis\.com\/[^"]*"[^>]*>/g;

const READ_METHODS = new Set(['GET', 'HEAD']);

/** Bull Board answers its API errors itself (with the raw message); rethrow them to our problem+json handler. */
class ProblemJsonAdapter extends ExpressAdapter {
  override setErrorHandler(): this {
    return super.setErrorHandler((error) => {
      throw error;
    });
  }
}

export function queueDashboardRouter(queues: JobQueues, authenticator: Authenticator, basePath = '/admin/queues'): express.Router {
  const adapter = new ProblemJsonAdapter().setBasePath(basePath);
  createBullBoard({
    // readOnlyMode hides every retry/clean/promote/pause control and makes Bull Board refuse those
    // calls with 405; the method check below refuses them before they reach it anyway.
    queues: (Object.keys(jobCatalog) as JobName[]).map((name) => new BullMQAdapter(queues.queue(name), { readOnlyMode: true })),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: 'facesign jobs' } },
  });
  const board = adapter.getRouter() as express.Express;
  board.disable('x-powered-by');

  const router = express.Router();
  router.use(async (req: Request, res: Response, next: NextFunction) => {
    // Throws UNAUTHENTICATED itself for a bad cookie or API key.
    const auth = await authenticator.authenticate(req);
    if (!auth) throw new AppError('UNAUTHENTICATED', 'Sign in as an administrator to see the job queues');
    if (!isAllowed(auth.principal, { roles: ['ADMIN'] })) throw new AppError('FORBIDDEN', 'The job queues are for administrators');
    // Mutations could not carry our CSRF token, and nobody should drop or replay jobs from here.
    if (!READ_METHODS.has(req.method)) throw new AppError('FORBIDDEN', 'The job queue dashboard is read-only');

    res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    if (req.path.startsWith('/api/')) res.setHeader('Cache-Control', 'no-store');
    const render = res.render.bind(res);
    res.render = (view: string, options?: object) =>
      render(view, options ?? {}, (err: Error | null, html: string) => (err ? next(err) : res.send(html.replace(REMOTE_FONTS_LINK, ''))));
    next();
  });
  router.use(board);
  return router;
}
