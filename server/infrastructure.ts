// The clients every feature shares, and the composition tools features plug into: the domain-event
// dispatcher, the job registry and the LiveKit signal bus. Built first by createFacesign (main.ts).
import { Redis } from 'ioredis';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DestinationStream } from 'pino';
import type { Config } from './config.js';
import { createLogger, type Logger } from './logging.js';
import { AuditSealer } from './audit/audit-sealer.service.js';
import { AuditCheckpoints } from './audit/checkpoint.service.js';
import { AuditLog } from './audit/audit-log.service.js';
import { HttpTimestampAuthority } from './audit/tsa.js';
import { createDb, type Db } from './db/client.js';
import { checkDatabaseRole } from './db/roles.js';
import { DomainEvents } from './events/domain-events.js';
import { JobRegistry } from './jobs/registry.js';
import { JobQueues } from './jobs/queues.js';
import { LiveKitPlatform, type VideoPlatform } from './livekit/video-platform.js';
import { LiveKitSignalBus } from './livekit/signal-bus.js';
import { EventLag } from './metrics/event-lag.js';
import { PresenceService } from './realtime/presence.js';
import type { Realtime } from './realtime/realtime.server.js';
import type { DependencyCheck } from './health/health.routes.js';
import { loadSigningIdentity, type SigningIdentity } from './signing/signing-identity.js';
import { createS3Client, RecordingStore } from '../recordings/object-store.js';
import type { Router } from 'express';

export interface Infrastructure {
  config: Config;
  log: Logger;
  signing: SigningIdentity;
  db: Db;
  redis: Redis;
  s3: S3Client;
  store: RecordingStore;
  queues: JobQueues;
  /** Present when LiveKit is configured. */
  platform: VideoPlatform | undefined;
  auditCheckpoints: AuditCheckpoints;
  /** Reads the audit log for auditors (GET /api/audit-events). */
  auditLog: AuditLog;
  eventLag: EventLag;
  presence: PresenceService;
  events: DomainEvents;
  jobs: JobRegistry;
  signals: LiveKitSignalBus;
  /** Readiness of the shared dependencies (features add their own). */
  checks: DependencyCheck[];
  /** Closes the queues, the audit sealer (with a last tree head) and the clients; after workers and sockets. */
  close(): Promise<void>;
}

/** What a feature module is given: the shared infrastructure and the realtime emitter. */
export interface FeatureContext extends Infrastructure {
  realtime: Realtime;
}

/** What a feature module may hand back besides its services. */
export interface Contribution {
  checks?: DependencyCheck[];
  /** Express routers mounted before the API routes (raw bodies, dashboards). */
  rawRouters?: { path: string; router: Router }[];
  /** Runs at shutdown, after the workers stopped. */
  stop?: () => Promise<void>;
}

export async function createInfrastructure(config: Config, options: { logDestination?: DestinationStream; signing?: SigningIdentity }): Promise<Infrastructure> {
  const log = createLogger({ level: config.log.level, ...(options.logDestination ? { destination: options.logDestination } : {}) });
  const signing = options.signing ?? (await loadSigningIdentity(config.signing, config.env, log));
  const db = createDb(config.database);
  try {
    await checkDatabaseRole(db, config.env, log);
  } catch (error) {
    await db.$disconnect();
    throw error;
  }
  const auditSealer = new AuditSealer(db, log, config.audit.sealIntervalMs);
  auditSealer.start();
  const redis = new Redis(config.redis.url, { keyPrefix: `${config.redis.prefix}:`, maxRetriesPerRequest: 2, lazyConnect: true });
  redis.on('error', (err) => log.warn({ err }, 'redis connection error'));
  await redis.connect().catch((err: Error) => log.error({ err }, 'redis unreachable at start-up'));
  const s3 = createS3Client(config.s3);
  const store = new RecordingStore(s3, config.s3.bucket, config.recordings.sse);
  const auditCheckpoints = new AuditCheckpoints({ db, store, signer: signing.signer, settings: {
    objectLockMode: config.recordings.objectLockMode,
    retentionYears: config.audit.headRetentionYears,
    tsa: config.audit.tsa.url ? new HttpTimestampAuthority(config.audit.tsa.url) : undefined,
  }, log });
  const queues = new JobQueues({ redisUrl: config.redis.url, prefix: config.redis.prefix });
  const platform = config.livekit ? new LiveKitPlatform(config.livekit, { bucket: config.s3.bucket, region: config.s3.region, forcePathStyle: config.s3.forcePathStyle }) : undefined;
  const jobs = new JobRegistry();
  jobs.handle('audit-checkpoint', async () => void (await auditCheckpoints.checkpoint()));
  jobs.repeat('audit-checkpoint', config.audit.checkpointIntervalMs);

  return {
    config,
    log,
    signing,
    db,
    redis,
    s3,
    store,
    queues,
    platform,
    auditCheckpoints,
    auditLog: new AuditLog(db),
    eventLag: new EventLag(),
    presence: new PresenceService(redis),
    events: new DomainEvents(),
    jobs,
    signals: new LiveKitSignalBus(log),
    checks: [
      { name: 'postgres', required: true, check: async () => void (await db.$queryRaw`SELECT 1`) },
      { name: 'redis', required: true, check: async () => void (await redis.ping()) },
      { name: 'objectStorage', required: true, check: (signal) => store.ping(signal) },
      { name: 'livekit', required: Boolean(platform), check: platform ? () => platform.ping() : undefined },
    ],
    close: async () => {
      await queues.close();
      await auditSealer.stop();
      // What was sealed since the last head gets one now, so a clean stop leaves nothing unanchored.
      // Bounded: an object store that stopped answering must not hold the shutdown for its timeouts.
      let checkpointTimer: NodeJS.Timeout | undefined;
      await Promise.race([
        auditCheckpoints.checkpoint().catch((err: unknown) => log.error({ err }, 'could not publish an audit tree head at shutdown')),
        new Promise<void>((resolve) => (checkpointTimer = setTimeout(() => {
          log.warn('no audit tree head published at shutdown: the object store did not answer in time');
          resolve();
        }, Math.max(1000, config.http.shutdownGraceMs)))),
      ]);
      clearTimeout(checkpointTimer);
      await Promise.allSettled([db.$disconnect(), redis.quit()]);
      s3.destroy();
    },
  };
}
