// The composition root: config -> infrastructure -> feature modules -> HTTP, sockets, workers. Tests
// build the same graph through createFacesign() with their own config; running this file starts a server.
//
// How a feature plugs in: its folder has a `<feature>.module.ts` whose function takes the shared
// context (server/infrastructure.ts: config, log, db, redis, queues, object store, the realtime
// emitter, the domain events, the job registry, the LiveKit signal bus) and the public services of
// the features it needs, and returns its services and what it contributes (health checks, raw
// routers, socket handlers, a stop hook). Inside, it registers its job handlers, its step of the
// session sweep and its repeating jobs with the job registry (a catalog queue without exactly one
// handler stops start-up), and subscribes to the domain events it reacts to (an event without a
// subscriber stops start-up too). Its routes go in the route table, http/api-routes.ts.
// This file decides nothing: it only orders the construction.
import type { Server } from 'node:http';
import { pathToFileURL } from 'node:url';
import type { Redis } from 'ioredis';
import type { DestinationStream } from 'pino';
import type { Express } from 'express';
import { ConfigError, loadConfig, type Config } from './config.js';
import { logProcessFailures, type Logger } from './logging.js';
import type { Db } from './db/client.js';
import { DatabaseRoleError } from './db/roles.js';
import { createInfrastructure } from './infrastructure.js';
import { apiRoutes } from './http/api-routes.js';
import { closeGracefully, consoleSettingsOf, createHttpServer, listen } from './http/http-server.js';
import { authModule } from './auth/auth.module.js';
import { UserAdmin } from './users/users.service.js';
import { realtimeModule } from './realtime/realtime.module.js';
import { sessionWatchPermission } from './realtime/permissions.js';
import type { Realtime } from './realtime/realtime.server.js';
import type { PresenceService } from './realtime/presence.js';
import { livekitModule, type LiveKit } from './livekit/livekit.module.js';
import type { LiveKitSignal } from './livekit/livekit-events.service.js';
import { queueDashboardRouter } from './jobs/dashboard.routes.js';
import { workerPolicy } from './jobs/catalog.js';
import { startWorkers, type JobQueues } from './jobs/queues.js';
import { recordingsModule } from '../recordings/recordings.module.js';
import { loanFilesModule } from './loan-files/loan-files.module.js';
import type { LosWebhookService } from './loan-files/los-webhooks.service.js';
import { verificationModule } from './verification/verification.module.js';
import type { SessionEngine } from './verification/session-engine.js';
import type { Dispatcher } from './verification/dispatcher.js';
import type { SessionJobs } from './verification/session-jobs.js';
import type { SchedulingService } from './verification/scheduling.service.js';
import type { PartyJoinService } from './verification/party-join.service.js';
import { checklistsModule } from './checklists/checklists.module.js';
import { reviewsModule } from './reviews/reviews.module.js';
import { automatedCallsModule } from './automated-calls/automated-calls.module.js';
import type { AutomatedCalls } from './automated-calls/automated-call.service.js';
import type { CallRoomConnector } from './automated-calls/call-room.js';
import { supervisionModule } from './supervision/supervision.module.js';
import type { AgentDepartures } from './supervision/agent-departures.service.js';
import { metricsRegistry, metricsRouter } from './metrics/prometheus.js';
import type { EventLag } from './metrics/event-lag.js';
import type { SigningIdentity } from './signing/signing-identity.js';
import type { AuditCheckpoints } from './audit/checkpoint.service.js';

export interface FacesignOptions {
  logDestination?: DestinationStream;
  /** The platform signing identity; by default loaded as configured (config.signing). */
  signing?: SigningIdentity;
  /** How automated calls join their rooms; by default LiveKit's real-time SDK (tests on the simulator pass its bot). */
  callRoomConnector?: CallRoomConnector;
}

export interface Facesign {
  config: Config;
  log: Logger;
  db: Db;
  redis: Redis;
  server: Server;
  /** The express application; its route table is what the OpenAPI document must describe. */
  app: Express;
  queues: JobQueues;
  /** The platform signer and the keyring of current and retired verification keys. */
  signing: SigningIdentity;
  /** Signed tree heads over the audit log, and inclusion proofs under them. */
  auditCheckpoints: AuditCheckpoints;
  realtime: Realtime;
  verification: { engine: SessionEngine; dispatcher: Dispatcher; jobs: SessionJobs; scheduling: SchedulingService; presence: PresenceService; departures: AgentDepartures; los: LosWebhookService; partyJoin: PartyJoinService };
  automatedCalls: AutomatedCalls;
  /** Present when LiveKit is configured. */
  livekit: LiveKit | undefined;
  /** The lag of LiveKit events processed on this node (histogram on /metrics; listeners for benchmarks). */
  eventLag: EventLag;
  /** Subscribes to LiveKit-derived changes (after commit). */
  onLiveKitSignals(listener: (signals: LiveKitSignal[]) => Promise<void>): void;
  /** Starts listening; resolves with the base URL. */
  listen(): Promise<string>;
  /** Graceful: stop accepting, let in-flight requests finish (up to the grace period), close pools. */
  stop(): Promise<void>;
}

export async function createFacesign(config: Config, options: FacesignOptions = {}): Promise<Facesign> {
  const infra = await createInfrastructure(config, options);
  const { log, db, queues, eventLag, events, jobs, auditLog } = infra;
  const { auth, apiKeys, limiter, links, close: closeAuth } = authModule(infra);
  const realtime = realtimeModule(infra, auth);
  const ctx = { ...infra, realtime };
  const { livekit, intake } = livekitModule(infra);
  const recordings = recordingsModule(ctx, { auth, recorder: livekit?.recordings });
  const loanFiles = loanFilesModule(infra, { auth, contractRetention: recordings.contractRetention });
  const verification = verificationModule(ctx, { livekit, los: loanFiles.los, contracts: loanFiles.contracts, links });
  const checklists = await checklistsModule(ctx, verification);
  const { reviews, reviewDesk } = reviewsModule(infra, { ...verification, checklists });
  const automatedCalls = automatedCallsModule(infra, { ...verification, checklists, callRoomConnector: options.callRoomConnector });
  const supervision = supervisionModule(ctx, { routing: verification.dispatcher });
  events.assertSubscribed();
  const handlers = jobs.handlers();

  const contributions = [recordings.contribution, loanFiles.contribution];
  const checks = [...infra.checks, ...contributions.flatMap((c) => c.checks ?? [])];
  const routes = apiRoutes({
    ...recordings, ...loanFiles, ...verification, ...supervision, checklists, reviews, reviewDesk, auth, apiKeys, limiter, links, db, checks, auditLog,
    readinessPolicy: { env: config.env, metricsToken: config.metrics.token },
    users: new UserAdmin(db, realtime.connections, events),
    consoleSettings: consoleSettingsOf(config),
    keyring: infra.signing.keyring,
  });
  const rawRouters = [
    { path: '/admin/queues', router: queueDashboardRouter(queues, auth) },
    { path: '/metrics', router: metricsRouter(metricsRegistry(db, supervision.operations, { eventLag }), config.metrics.token) },
    ...contributions.flatMap((c) => c.rawRouters ?? []),
  ];
  const { server, app } = createHttpServer({ config, log, authenticator: auth, routes, rawRouters, checks, intake, eventLag });
  realtime.attach(server, { canWatchSession: sessionWatchPermission(db), ...verification.socketHandlers, ...supervision.socketHandlers });

  const policy = workerPolicy({ automatedCallConcurrency: config.automatedCalls.concurrency, dialRatePerSecond: config.verification.dialRatePerSecond });
  const workers = config.roles.worker
    ? startWorkers({ redisUrl: config.redis.url, prefix: config.redis.prefix, lockMs: config.jobs.lockMs, ...policy }, handlers, log)
    : undefined;
  const scheduleTimer = workers ? await jobs.keepScheduled(queues, log, config.jobs.reconcileIntervalMs) : undefined;

  let stopping: Promise<void> | undefined;
  return {
    config, log, db, redis: infra.redis, queues, signing: infra.signing, auditCheckpoints: infra.auditCheckpoints, eventLag,
    server,
    app,
    realtime,
    verification: { ...verification, jobs: verification.sessionJobs, presence: infra.presence, departures: supervision.departures, los: loanFiles.los },
    automatedCalls,
    livekit,
    onLiveKitSignals: (listener) => infra.signals.listen(listener),
    listen: () => listen(server, config.http),
    stop: () =>
      (stopping ??= (async () => {
        log.info('shutting down');
        // The consoles' sockets are upgraded connections, which closing the server does not end.
        await closeGracefully(server, config.http.shutdownGraceMs, () => realtime.disconnectAll());
        clearInterval(scheduleTimer);
        // Workers first: a job finishing during shutdown may still emit to sockets.
        await workers?.close();
        for (const contribution of contributions) await contribution.stop?.();
        await realtime.close();
        await closeAuth();
        await infra.close();
        log.info('stopped');
      })()),
  };
}

async function run(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(78);
    }
    throw error;
  }
  const facesign = await createFacesign(config).catch((error: unknown) => {
    if (!(error instanceof DatabaseRoleError)) throw error;
    console.error(error.message);
    process.exit(78);
  });
  logProcessFailures(facesign.log);
  const url = await facesign.listen();
  if (config.roles.api) facesign.log.info({ url, env: config.env, roles: config.roles }, 'facesign listening');
  else facesign.log.info({ probes: url, env: config.env, roles: config.roles }, 'facesign worker running');
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      facesign.stop().then(
        () => process.exit(0),
        (err: unknown) => {
          facesign.log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await run();
}
