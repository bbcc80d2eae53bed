// The browser pages (agent-console/ built by Vite) and the little they need to know at run time.
// Express serves the built assets itself: hashed files under /assets are cached for a year, the two
// HTML entries (console and borrower join page) never are, and every page gets a strict CSP that lets
// it reach only this origin and LiveKit.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import express, { type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { defineRoute, type RouteDefinition } from './route.js';

export interface ConsoleSettings {
  dir: string;
  media: 'livekit' | 'simulated';
  /** LiveKit as browsers reach it; undefined when LiveKit is not configured. */
  livekitUrl: string | undefined;
  /** Where presigned recording URLs point (PLAYBACK_MODE=presigned): the player loads media from there. */
  mediaOrigins?: string[];
}

/** The origins presigned S3 URLs use: the endpoint (path style) or bucket.host (virtual-hosted), else AWS. */
export function objectStoreOrigins(s3: { endpoint: string | undefined; bucket: string; region: string; forcePathStyle: boolean }): string[] {
  if (!s3.endpoint) return [`https://${s3.bucket}.s3.${s3.region}.amazonaws.com`, `https://${s3.bucket}.s3.amazonaws.com`];
  const endpoint = new URL(s3.endpoint);
  return s3.forcePathStyle ? [endpoint.origin] : [`${endpoint.protocol}//${s3.bucket}.${endpoint.host}`];
}

const clientConfigSchema = z
  .object({
    media: z.enum(['livekit', 'simulated', 'none']).describe("'simulated': the dev LiveKit simulator, no real media; 'none': LiveKit is not configured"),
    livekitUrl: z.string().nullable(),
    locales: z.array(z.enum(['zh-CN', 'en'])),
  })
  .meta({ id: 'ClientConfig' });

export function clientConfigRoutes(settings: ConsoleSettings): RouteDefinition[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/client-config',
      summary: 'What the browser pages need to know: how media works here and which languages they speak',
      tags: ['console'],
      access: 'public',
      responses: { 200: { description: 'Client configuration', schema: clientConfigSchema } },
      handler: async () => ({
        status: 200,
        body: {
          media: settings.livekitUrl === undefined ? 'none' : settings.media,
          livekitUrl: settings.livekitUrl ?? null,
          locales: ['zh-CN', 'en'],
        },
      }),
    }),
  ];
}

/** Origins a page may connect to: itself, and LiveKit over http(s) (simulator control, validation) and ws(s). */
export function pageCsp(livekitUrl: string | undefined, mediaOrigins: string[] = []): string {
  const connect = ["'self'"];
  if (livekitUrl) {
    const origin = new URL(livekitUrl);
    const secure = origin.protocol === 'https:' || origin.protocol === 'wss:';
    connect.push(`${secure ? 'https' : 'http'}://${origin.host}`, `${secure ? 'wss' : 'ws'}://${origin.host}`);
  }
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    ["media-src 'self' blob:", ...mediaOrigins].join(' '),
    `connect-src ${connect.join(' ')}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; ');
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>facesign</title>
<p>The browser console has not been built. Run <code>npm run build:console</code> (the demo does this for you).</p>`;

/** Serves the built pages; API paths fall through to the API's own 404. */
export function consolePagesRouter(settings: ConsoleSettings): Router {
  const router = express.Router();
  const csp = pageCsp(settings.livekitUrl, settings.mediaOrigins);
  router.use(
    '/assets',
    express.static(join(settings.dir, 'assets'), { immutable: true, maxAge: '365d', index: false, fallthrough: false }),
  );
  const page = (file: 'index.html' | 'join.html') => (_req: Request, res: Response) => {
    const path = join(settings.dir, file);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Security-Policy', csp);
    if (!existsSync(path)) {
      res.status(503).type('html').send(NOT_BUILT);
      return;
    }
    res.sendFile(path);
  };
  router.get('/favicon.svg', (_req, res) => res.sendFile(join(settings.dir, 'favicon.svg'), (err) => err && res.status(404).end()));
  // Any /join address is the borrower's: a link cut short in an SMS (no token, part of it, extra
  // characters) gets the join page, which explains it, never the staff sign-in.
  router.get(/^\/join(?:\/.*)?$/, page('join.html'));
  router.get(/^\/(?!api\/|api$|livekit\/|admin\/|healthz$|readyz$|metrics$).*/, page('index.html'));
  return router;
}
