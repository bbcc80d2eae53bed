// Starts the real facesign graph for one test file: a fresh Postgres database cloned from the
// migrated template, a unique Redis key prefix, an in-process s3rver, the app on port 0.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { loadConfig, type Env } from '../../server/config.js';
import { createFacesign, type Facesign } from '../../server/main.js';
import { createUser, type NewUser } from '../../server/users/users.service.js';
import { startS3Server, S3RVER_CREDENTIALS, type RunningS3Server } from '../../dev/s3-server.js';
import { SipClient } from 'livekit-server-sdk';
import { startLiveKitSimulator, type RunningLiveKitSimulator } from '../../dev/livekit-sim/index.js';
import { startRealLiveKit, type RealLiveKit } from '../../dev/real-livekit/stack.js';
import { SimulatorCallRooms } from './sim-call-rooms.js';
import { cloneDatabase } from './databases.js';
import { ApiClient } from './api-client.js';

export const TEST_BUCKET = 'facesign-test';

export interface TestApp {
  url: string;
  facesign: Facesign;
  /** A superuser on this test's database, for fixtures and tampering; the app connects as appDatabaseUrl. */
  databaseUrl: string;
  /** The application's login role (a member of facesign_app, owns nothing) on this test's database. */
  appDatabaseUrl: string;
  s3: RunningS3Server;
  /** The LiveKit simulator, when started with { livekit: true }; its webhooks go to this app. */
  sim: RunningLiveKitSimulator | undefined;
  /** The real livekit-server, livekit-sip and SIPp phone, when started with { livekit: 'real' }. */
  real: RealLiveKit | undefined;
  /** The outbound SIP trunk created in the simulator or the real livekit-sip (to the SIPp phone). */
  sipTrunkId: string | undefined;
  /** Every log line the app wrote, raw. */
  logs: string[];
  client(): ApiClient;
  /** Creates a user and returns a client signed in as them. */
  signIn(user: Partial<NewUser> & Pick<NewUser, 'roles'>): Promise<ApiClient>;
  /** Stops this facesign process and starts a fresh one on the same database, Redis prefix and port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface TestAppOptions {
  /**
   * true: start the LiveKit simulator (time scaled 100x) and point facesign at it. 'real': start the
   * real livekit-server, livekit-sip and a SIPp phone (dev/real-livekit) instead, in real time.
   */
  livekit?: boolean | 'real';
  /** The simulator's time scale (default SIM_TIME_SCALE); a gentler one where timings must hold under load. */
  simTimeScale?: number;
}

/** 100 simulated seconds pass in one real second. */
export const SIM_TIME_SCALE = 0.01;

export async function startTestApp(env: Partial<Record<keyof Env, string>> = {}, options: TestAppOptions = {}): Promise<TestApp> {
  const database = await cloneDatabase(inject('templateDatabase'));
  const s3Dir = await mkdtemp(join(tmpdir(), 'facesign-s3-'));
  const s3 = await startS3Server({ directory: s3Dir, buckets: [TEST_BUCKET] });
  const timeScale = options.simTimeScale ?? SIM_TIME_SCALE;
  const sim = options.livekit === true ? await startLiveKitSimulator({ timeScale }) : undefined;
  const real = options.livekit === 'real' ? await startRealLiveKit() : undefined;
  const sipTrunkId = sim
    ? (await new SipClient(sim.url, sim.apiKey, sim.apiSecret).createSipOutboundTrunk('test trunk', 'sip.carrier.test', ['+10000000000'])).sipTrunkId
    : await real?.createTrunk();
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    LOG_LEVEL: 'info',
    DATABASE_URL: database.appUrl,
    DATABASE_POOL_SIZE: '8',
    REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_PREFIX: `t-${randomUUID().slice(0, 12)}`,
    S3_ENDPOINT: s3.endpoint,
    S3_BUCKET: TEST_BUCKET,
    S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    S3_FORCE_PATH_STYLE: 'true',
    SHUTDOWN_GRACE_MS: '2000',
    // Tests run the reconciler themselves (runOnce) unless they ask for the schedule.
    RECONCILE_INTERVAL_SECONDS: '3600',
    // Review sampling is by session id; tests that are about reviews turn it on.
    REVIEW_SAMPLE_PERCENT: '0',
    ...(sim
      ? {
          LIVEKIT_URL: sim.url,
          LIVEKIT_API_KEY: sim.apiKey,
          LIVEKIT_API_SECRET: sim.apiSecret,
          LIVEKIT_SIP_TRUNK_ID: sipTrunkId,
          LIVEKIT_MEDIA: 'simulated',
          // Ask about ringing as often, relative to the simulated call, as production does (once a second).
          SIP_CALL_STATUS_POLL_MS: String(Math.max(10, Math.round(1000 * timeScale))),
        }
      : {}),
    ...(real ? { LIVEKIT_URL: real.url, LIVEKIT_API_KEY: real.apiKey, LIVEKIT_API_SECRET: real.apiSecret, LIVEKIT_SIP_TRUNK_ID: sipTrunkId, LIVEKIT_MEDIA: 'livekit' } : {}),
    ...env,
  });
  // Automated calls join rooms through the simulator's bot participant (the simulator carries no media).
  const callRooms = sim ? { callRoomConnector: new SimulatorCallRooms(sim.control) } : {};
  let facesign = await createFacesign(config, { logDestination: destination, ...callRooms });
  const url = await facesign.listen();
  const port = Number(new URL(url).port);
  sim?.control.setWebhookUrls([`${url}/livekit/webhook`]);
  real?.webhooks.setTarget(`${url}/livekit/webhook`);
  let users = 0;

  return {
    url,
    get facesign() {
      return facesign;
    },
    databaseUrl: database.url,
    appDatabaseUrl: database.appUrl,
    s3,
    sim,
    real,
    sipTrunkId,
    logs,
    client: () => new ApiClient(url),
    async signIn(input) {
      users += 1;
      const email = input.email ?? `user${users}-${randomUUID().slice(0, 6)}@bank.test`;
      const password = input.password ?? 'correct horse battery staple';
      await createUser(facesign.db, { displayName: `Test User ${users}`, email, password, ...input });
      const client = new ApiClient(url);
      const res = await client.login(email, password);
      if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
      return client;
    },
    async restart() {
      await facesign.stop();
      facesign = await createFacesign({ ...config, http: { ...config.http, port } }, { logDestination: destination, ...callRooms });
      await facesign.listen();
    },
    async stop() {
      const keys = await facesign.redis.keys(`${config.redis.prefix}:*`).catch(() => []);
      if (keys.length > 0) await facesign.redis.del(...keys.map((k) => k.slice(config.redis.prefix.length + 1)));
      await facesign.stop();
      await sim?.stop();
      await real?.stop();
      await s3.stop();
      await rm(s3Dir, { recursive: true, force: true });
      await database.drop();
    },
  };
}

/**
 * A second facesign node on the test app's database, Redis and store, with its own workers and sockets,
 * listening on a free port; its logs are discarded. The caller stops it.
 */
export async function startSecondNode(t: TestApp): Promise<{ node: Facesign; url: string }> {
  const quiet = new Writable({ write: (_chunk, _enc, done) => done() });
  const node = await createFacesign({ ...t.facesign.config, http: { ...t.facesign.config.http, port: 0 } }, { logDestination: quiet });
  return { node, url: await node.listen() };
}
