// facesign on the real livekit-server and livekit-sip, for benchmarks: the real stack of the test tier
// (dev/real-livekit) with its SIPp phone answering every number by a script the bench chooses; an
// api-only facesign node in this process (its event-lag listener and database are the bench's) and
// worker-only nodes in processes of their own (bench/support/worker-node.ts), so that each role's CPU
// is read apart; a private Redis for facesign, so that its commands can be counted; its own database
// cloned from the bench's migrated template; s3rver; and, unless asked otherwise, an answerer that
// replies to LiveKit Egress's API at once (facesign's other LiveKit calls pass through it).
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig, type Env } from '../../server/config.js';
import { createFacesign, type Facesign } from '../../server/main.js';
import { sqlPool } from '../../server/db/client.js';
import { startS3Server } from '../../dev/s3-server.js';
import { startRealLiveKit, type RealLiveKit } from '../../dev/real-livekit/stack.js';
import { freePort, startPrivateRedis, type PrivateRedis } from '../../test/reliability/support/infra.js';
import { cloneDatabase } from '../../test/support/databases.js';
import { benchEnv, benchUsers, migratedTemplate, BENCH_BUCKET, type BenchUser, type BenchUserInput } from './stack.js';
import { startWorkerNode, type WorkerNode } from './worker-nodes.js';
import { watchPoolWaits } from './pool-wait.js';
import { startEgressAnswerer, type EgressAnswerer } from './egress-answerer.js';

export interface RealBenchStackOptions {
  /** The SIPp phone answers every call after this many seconds, talks for `holdSeconds`, then hangs up. */
  answerAfterSeconds: number;
  holdSeconds: number;
  /** Worker-only facesign nodes (processes). */
  workers: number;
  /**
   * Recording starts: 'answer' — answered at once by bench/support/egress-answerer.ts, nothing recorded;
   * 'livekit' — through livekit-server's egress RPC to the real stack's audio egress stand-in, which
   * records; 'none' — livekit-server with no egress, which holds each request until the SDK gives up.
   */
  egress: 'answer' | 'livekit' | 'none';
  env?: Partial<Record<keyof Env, string>>;
}

export interface RealBenchStack {
  real: RealLiveKit;
  sipTrunkId: string;
  /** The api-only node, in this process. */
  api: Facesign;
  url: string;
  apiPool: ReturnType<typeof watchPoolWaits>;
  workers: WorkerNode[];
  egressAnswerer: EgressAnswerer | undefined;
  redis: PrivateRedis;
  /** facesign's database name (for pg_stat_database) and a URL to it for the bench's own reads. */
  databaseName: string;
  databaseUrl: string;
  errors: string[];
  users(count: number, input: BenchUserInput): Promise<BenchUser[]>;
  stop(): Promise<void>;
}

export async function startRealBenchStack(options: RealBenchStackOptions): Promise<RealBenchStack> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: Error) => console.error(`  cleanup: ${error.message}`));
  };
  try {
    const real = await startRealLiveKit({
      phoneScript: { outcome: 'answer', answerAfterSeconds: options.answerAfterSeconds, hangUpAfterSeconds: options.holdSeconds },
      // Enough RTP ports for every call that can be up at once in the bench.
      sipRtpPorts: 400,
      egress: options.egress === 'livekit',
    });
    cleanups.push(() => real.stop());
    const sipTrunkId = await real.createTrunk();
    const egressAnswerer = options.egress === 'answer' ? await startEgressAnswerer(real.url) : undefined;
    if (egressAnswerer) cleanups.push(() => egressAnswerer.stop());
    const redis = await startPrivateRedis();
    cleanups.push(() => redis.stop());
    const database = await cloneDatabase(await migratedTemplate());
    cleanups.push(() => database.drop());
    const s3Dir = await mkdtemp(join(tmpdir(), 'facesign-bench-s3-'));
    cleanups.push(() => rm(s3Dir, { recursive: true, force: true }));
    const s3 = await startS3Server({ directory: s3Dir, buckets: [BENCH_BUCKET] });
    cleanups.push(() => s3.stop());
    const env: Partial<Record<keyof Env, string>> = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
      ...benchEnv({ databaseUrl: database.appUrl, redisUrl: redis.url, redisPrefix: `bench-${randomUUID().slice(0, 12)}`, s3Endpoint: s3.endpoint }),
      LIVEKIT_URL: egressAnswerer?.url ?? real.url,
      // Join grants point clients at livekit-server itself, never at the egress answerer in front of its API.
      LIVEKIT_PUBLIC_URL: real.wsUrl,
      LIVEKIT_API_KEY: real.apiKey,
      LIVEKIT_API_SECRET: real.apiSecret,
      LIVEKIT_SIP_TRUNK_ID: sipTrunkId,
      LIVEKIT_MEDIA: 'livekit',
      ...options.env,
    };
    const errors: string[] = [];
    const logs = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (/"level":"(error|fatal)"/.test(line) && errors.length < 100) errors.push(line);
        done();
      },
    });
    const api = await createFacesign(loadConfig({ ...env, FACESIGN_ROLES: 'api', PORT: String(await freePort()) }), { logDestination: logs });
    cleanups.push(() => api.stop());
    const apiPool = watchPoolWaits(sqlPool(api.db));
    const url = await api.listen();
    const workers: WorkerNode[] = [];
    for (let i = 0; i < options.workers; i += 1) {
      const worker = await startWorkerNode(env);
      workers.push(worker);
      cleanups.push(() => worker.stop());
    }
    return {
      real,
      sipTrunkId,
      api,
      url,
      apiPool,
      workers,
      egressAnswerer,
      redis,
      databaseName: database.name,
      databaseUrl: database.appUrl,
      errors,
      users: benchUsers(api.db),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
