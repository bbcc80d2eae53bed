// The only wiring file: config -> clients -> services -> http. Tests build the same graph through
// createFacesign() with their own config; running this file starts a server.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import type { DestinationStream } from 'pino';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger, type Logger } from './logging.js';
import { createDb, type Db } from './db/client.js';
import { createHttpApp } from './http/app.js';
import { AuthService } from './auth/auth.service.js';
import { ApiKeyService } from './auth/api-keys.service.js';
import { RateLimiter } from './auth/rate-limiter.js';
import { authRoutes } from './auth/auth.routes.js';
import { LoanFileService } from './loan-files/loan-files.service.js';
import { loanFileRoutes } from './loan-files/loan-files.routes.js';
import { healthRoutes, type DependencyCheck } from './health/readiness.js';
import { WebhookReceiver } from 'livekit-server-sdk';
import { LiveKitPlatform, type VideoPlatform } from './livekit/video-platform.js';
import { LiveKitEventIntake, LiveKitEventProcessor, type LiveKitSignal } from './livekit/livekit-events.service.js';
import { LiveKitReconciler } from './livekit/reconciler.js';
import { liveKitWebhookRouter } from './livekit/webhook.routes.js';
import { JobQueues, startWorkers } from './jobs/queues.js';
import { createS3Client, RecordingStore } from '../recordings/object-store.js';
import { RecordingService } from '../recordings/recording.service.js';

export interface FacesignOptions {
  logDestination?: DestinationStream;
}

export interface Facesign {
  config: Config;
  log: Logger;
  db: Db;
  redis: Redis;
  server: Server;
  queues: JobQueues;
  /** Present when LiveKit is configured. */
  livekit: { platform: VideoPlatform; processor: LiveKitEventProcessor; reconciler: LiveKitReconciler; recordings: RecordingService } | undefined;
  /** Subscribes to LiveKit-derived changes (after commit). */
  onLiveKitSignals(listener: (signals: LiveKitSignal[]) => Promise<void>): void;
  /** Starts listening; resolves with the base URL. */
  listen(): Promise<string>;
  /** Graceful: stop accepting, let in-flight requests finish (up to the grace period), close pools. */
  stop(): Promise<void>;
}

export async function createFacesign(config: Config, options: FacesignOptions = {}): Promise<Facesign> {
  const log = createLogger({ level: config.log.level, ...(options.logDestination ? { destination: options.logDestination } : {}) });
  const db = createDb(config.database);
  const redis = new Redis(config.redis.url, { keyPrefix: `${config.redis.prefix}:`, maxRetriesPerRequest: 2, lazyConnect: true });
  redis.on('error', (err) => log.warn({ err: { message: err.message } }, 'redis connection error'));
  await redis.connect().catch((err: Error) => log.error({ err: { message: err.message } }, 'redis unreachable at start-up'));
  const s3 = createS3Client(config.s3);
  const recordingStore = new RecordingStore(s3, config.s3.bucket);
  const videoPlatform = config.livekit
    ? new LiveKitPlatform(config.livekit, { bucket: config.s3.bucket, region: config.s3.region, forcePathStyle: config.s3.forcePathStyle })
    : undefined;
  const queues = new JobQueues({ redisUrl: config.redis.url, prefix: config.redis.prefix });

  const apiKeys = new ApiKeyService(db);
  const auth = new AuthService(db, new RateLimiter(redis), apiKeys, config.auth);
  const loanFiles = new LoanFileService(db);

  const signalListeners: ((signals: LiveKitSignal[]) => Promise<void>)[] = [];
  const emitSignals = async (signals: LiveKitSignal[]) => {
    for (const listener of signalListeners) await listener(signals);
  };
  let livekit: Facesign['livekit'];
  let intake: LiveKitEventIntake | undefined;
  if (config.livekit && videoPlatform) {
    const processor = new LiveKitEventProcessor(db, emitSignals);
    const recordings = new RecordingService(db, videoPlatform);
    const reconciler = new LiveKitReconciler(db, videoPlatform, processor, recordings, emitSignals, log);
    livekit = { platform: videoPlatform, processor, reconciler, recordings };
    intake = new LiveKitEventIntake(db, queues, new WebhookReceiver(config.livekit.apiKey, config.livekit.apiSecret), log);
  }

  const checks: DependencyCheck[] = [
    { name: 'postgres', required: true, check: async () => void (await db.$queryRaw`SELECT 1`) },
    { name: 'redis', required: true, check: async () => void (await redis.ping()) },
    { name: 'objectStorage', required: true, check: (signal) => recordingStore.ping(signal) },
    { name: 'livekit', required: Boolean(videoPlatform), check: videoPlatform ? () => videoPlatform.ping() : undefined },
  ];

  const app = createHttpApp({
    log,
    authenticator: auth,
    publicUrl: config.http.publicUrl,
    trustProxy: config.http.trustProxy,
    routes: [...healthRoutes(checks), ...authRoutes(auth, apiKeys, db), ...loanFileRoutes(loanFiles)],
    rawRouters: [{ path: '/livekit/webhook', router: liveKitWebhookRouter(intake) }],
  });

  const workers = config.roles.worker
    ? startWorkers(
        { redisUrl: config.redis.url, prefix: config.redis.prefix, concurrency: { 'livekit-event': 8, 'livekit-reconcile': 1 } },
        {
          'livekit-event': async ({ eventId }) => {
            await livekit?.processor.process(eventId);
          },
          'livekit-reconcile': async () => {
            await livekit?.reconciler.runOnce();
          },
        },
        log,
      )
    : undefined;
  if (workers && livekit) {
    await queues.schedule('livekit-reconcile', config.jobs.reconcileIntervalMs, {}).catch((err: Error) => {
      log.error({ err: { message: err.message } }, 'could not schedule the LiveKit reconciler');
    });
  }
  const server = createServer(app);

  let stopping: Promise<void> | undefined;
  return {
    config,
    log,
    db,
    redis,
    server,
    queues,
    livekit,
    onLiveKitSignals: (listener) => void signalListeners.push(listener),
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.http.port, config.http.host, () => {
          const { port } = server.address() as AddressInfo;
          const host = config.http.host.includes(':') ? `[${config.http.host}]` : config.http.host;
          resolve(`http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`);
        });
      }),
    stop: () =>
      (stopping ??= (async () => {
        log.info('shutting down');
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const force = setTimeout(() => server.closeAllConnections(), config.http.shutdownGraceMs);
        if (server.listening) await closed;
        clearTimeout(force);
        await workers?.close();
        await queues.close();
        await Promise.allSettled([db.$disconnect(), redis.quit()]);
        s3.destroy();
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
  const facesign = await createFacesign(config);
  if (config.roles.api) {
    const url = await facesign.listen();
    facesign.log.info({ url, env: config.env, roles: config.roles }, 'facesign listening');
  } else {
    facesign.log.info({ env: config.env, roles: config.roles }, 'facesign worker running');
  }
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
