// The node's HTTP server: the API and console pages on an api node, only probes and metrics on a
// worker-only node. The LiveKit webhook is answered before express (see livekit/webhook.routes.ts).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express, Router } from 'express';
import type { Config } from '../config.js';
import type { Logger } from '../logging.js';
import type { Authenticator } from '../auth/authenticator.js';
import { healthRoutes, type DependencyCheck } from '../health/health.routes.js';
import type { LiveKitEventIntake } from '../livekit/livekit-events.service.js';
import { liveKitWebhookInterceptor } from '../livekit/webhook.routes.js';
import type { EventLag } from '../metrics/event-lag.js';
import { metricsRouter, workerMetricsRegistry } from '../metrics/prometheus.js';
import { answerClientError, createHttpApp } from './app.js';
import { consolePagesRouter, objectStoreOrigins, type ConsoleSettings } from './console-pages.js';
import type { RouteDefinition } from './route.js';

export function consoleSettingsOf(config: Config): ConsoleSettings {
  return {
    dir: config.console.dir,
    media: config.console.media,
    livekitUrl: config.livekit ? config.console.livekitPublicUrl : undefined,
    mediaOrigins: config.recordings.playback.mode === 'presigned' ? objectStoreOrigins(config.s3) : [],
  };
}

export interface HttpServerParts {
  config: Config;
  log: Logger;
  authenticator: Authenticator;
  routes: RouteDefinition[];
  rawRouters: { path: string; router: Router }[];
  checks: DependencyCheck[];
  intake: LiveKitEventIntake | undefined;
  eventLag: EventLag;
}

export function createHttpServer({ config, log, authenticator, routes, rawRouters, checks, intake, eventLag }: HttpServerParts): { server: Server; app: Express } {
  const common = { log, authenticator, publicUrl: config.http.publicUrl, trustProxy: config.http.trustProxy, hsts: config.env === 'production' };
  const app = createHttpApp({ ...common, routes, pages: consolePagesRouter(consoleSettingsOf(config)), rawRouters });
  const interceptWebhook = liveKitWebhookInterceptor(intake, log, { hsts: config.env === 'production' });
  // A worker-only node listens for its probes (/healthz, /readyz) and its own event lag (/metrics)
  // alone: the API and the LiveKit webhook stay with the api role.
  const probesOnly = config.roles.api
    ? undefined
    : createHttpApp({
        ...common,
        routes: healthRoutes(checks, { env: config.env, metricsToken: config.metrics.token }),
        rawRouters: [{ path: '/metrics', router: metricsRouter(workerMetricsRegistry(eventLag), config.metrics.token) }],
      });
  const server = createServer((req, res) => {
    if (probesOnly) probesOnly(req, res);
    else if (!interceptWebhook(req, res)) app(req, res);
  });
  server.on('clientError', answerClientError);
  return { server, app };
}

/** Starts listening; resolves with the base URL. */
export function listen(server: Server, http: Config['http']): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(http.port, http.host, () => {
      const { port } = server.address() as AddressInfo;
      const host = http.host.includes(':') ? `[${http.host}]` : http.host;
      resolve(`http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`);
    });
  });
}

/**
 * Stops accepting and lets requests in flight finish for up to `graceMs`; then their connections are
 * closed, busy or not (a client that keeps a keep-alive connection busy, like LiveKit with a backlog
 * of webhooks, would otherwise hold the shutdown forever). `endUpgraded` ends the upgraded (socket)
 * connections, which neither close() nor the force ends.
 */
export async function closeGracefully(server: Server, graceMs: number, endUpgraded: () => void): Promise<void> {
  // Read before close(): from then on `listening` is false, and nothing would be waited for.
  const listening = server.listening;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  endUpgraded();
  const force = setTimeout(() => server.closeAllConnections(), graceMs);
  if (listening) await closed;
  clearTimeout(force);
}
