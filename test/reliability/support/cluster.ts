// A facesign deployment on loopback for the fault-injection suite: a private PostgreSQL and Redis,
// an in-process s3rver and LiveKit simulator (they live in the test process, so they survive every
// kill and count what really happened), and API and worker nodes as child processes.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { SipClient } from 'livekit-server-sdk';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient, type Db } from '../../../server/db/client.js';
import { createUser, type NewUser } from '../../../server/users/users.service.js';
import { startLiveKitSimulator, type RunningLiveKitSimulator } from '../../../dev/livekit-sim/index.js';
import { startS3Server, S3RVER_CREDENTIALS, type RunningS3Server } from '../../../dev/s3-server.js';
import { asRole, ensureLocalAppLogin, ensureOwnerRole, LOCAL_APP_ROLE, LOCAL_OWNER_ROLE } from '../../../dev/local-database.js';
import { ApiClient } from '../../support/api-client.js';
import { freePort, startPrivatePostgres, startPrivateRedis, startTcpProxy, type PrivatePostgres, type PrivateRedis, type TcpProxy } from './infra.js';
import { FacesignNode, type Role } from './node-process.js';

const run = promisify(execFile);
export const BUCKET = 'facesign-reliability';

export interface ClusterOptions {
  apis: number;
  workers: number;
  env?: Record<string, string>;
}

export interface Cluster {
  pg: PrivatePostgres;
  redis: PrivateRedis;
  s3: RunningS3Server;
  /** facesign reaches the object store through this proxy (LiveKit egress goes direct), so it can be stopped for facesign alone. */
  s3Proxy: TcpProxy;
  sim: RunningLiveKitSimulator;
  db: Db;
  apis: FacesignNode[];
  workers: FacesignNode[];
  env: Record<string, string>;
  /** A new node of this role with the cluster's settings (not started). */
  node(role: Role, name: string, port?: number): FacesignNode;
  /** How many calls the simulator placed to this number. */
  callsTo(phone: string): number;
  signIn(api: FacesignNode, user: Partial<NewUser> & Pick<NewUser, 'roles'>): Promise<{ client: ApiClient; userId: string }>;
  los(api: FacesignNode): Promise<ApiClient>;
  stop(): Promise<void>;
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const [pg, redis] = await Promise.all([startPrivatePostgres(), startPrivateRedis()]);
  // As in production: a non-superuser owner migrates, the nodes connect as a member of facesign_app.
  await ensureOwnerRole(pg.adminUrl);
  await pg.sql(`CREATE DATABASE facesign OWNER ${LOCAL_OWNER_ROLE}`);
  const databaseUrl = pg.databaseUrl('facesign');
  const ownerUrl = asRole(databaseUrl, LOCAL_OWNER_ROLE);
  const appUrl = asRole(databaseUrl, LOCAL_APP_ROLE);
  await run('npx', ['prisma', 'migrate', 'deploy'], { env: { ...process.env, MIGRATION_DATABASE_URL: ownerUrl }, cwd: new URL('../../../', import.meta.url).pathname });
  await ensureLocalAppLogin(ownerUrl, appUrl);
  const s3Dir = await mkdtemp(join(tmpdir(), 'facesign-rel-s3-'));
  const s3 = await startS3Server({ directory: s3Dir, buckets: [BUCKET] });
  const s3Proxy = await startTcpProxy(s3.port);
  const sim = await startLiveKitSimulator({ timeScale: 0.01 });
  const trunk = await new SipClient(sim.url, sim.apiKey, sim.apiSecret).createSipOutboundTrunk('reliability trunk', 'sip.carrier.test', ['+10000000000']);

  const env: Record<string, string> = {
    DATABASE_URL: appUrl,
    DATABASE_POOL_SIZE: '6',
    REDIS_URL: redis.url,
    REDIS_PREFIX: `rel-${randomUUID().slice(0, 8)}`,
    S3_ENDPOINT: s3Proxy.url,
    EGRESS_S3_ENDPOINT: s3.endpoint,
    S3_BUCKET: BUCKET,
    S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    S3_FORCE_PATH_STYLE: 'true',
    LIVEKIT_URL: sim.url,
    LIVEKIT_API_KEY: sim.apiKey,
    LIVEKIT_API_SECRET: sim.apiSecret,
    LIVEKIT_SIP_TRUNK_ID: trunk.sipTrunkId,
    SIP_RINGING_TIMEOUT_SECONDS: '5',
    ROOM_EMPTY_TIMEOUT_SECONDS: '10',
    CALLING_HOURS: '00:00-24:00',
    CALLING_DAYS: 'MON,TUE,WED,THU,FRI,SAT,SUN',
    DIAL_RATE_PER_SECOND: '100',
    OFFER_TIMEOUT_SECONDS: '5',
    RECONCILE_INTERVAL_SECONDS: '2',
    WORKER_LOCK_SECONDS: '3',
    REVIEW_SAMPLE_PERCENT: '0',
    SHUTDOWN_GRACE_MS: '1000',
    PUBLIC_URL: 'http://localhost:3000',
    ...options.env,
  };
  // The test's own connection: patient transactions, since the machine is busy with the cluster.
  const db = new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl, max: 10 }), transactionOptions: { maxWait: 30_000, timeout: 30_000 } });
  const node = (role: Role, name: string, port?: number) => new FacesignNode({ name, role, env, ...(port ? { port } : {}) });
  const apis: FacesignNode[] = [];
  for (let i = 0; i < options.apis; i += 1) apis.push(node('api', `api-${i + 1}`, await freePort()));
  const workers = Array.from({ length: options.workers }, (_, i) => node('worker', `worker-${i + 1}`));
  // Start one node first: it publishes the checklist templates, which the others then find done.
  const [first, ...rest] = [...apis, ...workers];
  try {
    await first?.start().ready();
    await Promise.all(rest.map((n) => n.start().ready()));
  } catch (error) {
    await Promise.allSettled([...apis, ...workers].map((n) => n.kill()));
    await Promise.allSettled([sim.stop(), s3Proxy.stop(), s3.stop(), redis.stop(), pg.stop()]);
    throw error;
  }
  // LiveKit posts every webhook to every URL it knows; intake dedupes on the event id.
  sim.control.setWebhookUrls(apis.map((a) => `${a.url}/livekit/webhook`));

  let users = 0;
  const signIn: Cluster['signIn'] = async (api, input) => {
    users += 1;
    const email = input.email ?? `rel-user${users}-${randomUUID().slice(0, 6)}@bank.test`;
    const password = 'correct horse battery staple';
    const user = await createUser(db, { displayName: `Reliability User ${users}`, email, password, ...input });
    const client = new ApiClient(api.url);
    // Like a person at the login page: a 5xx (a busy machine, a node restarting) is tried again.
    for (let attempt = 1; ; attempt += 1) {
      const res = await client.login(email, password);
      if (res.status === 200) break;
      if (res.status < 500 || attempt >= 5) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
    return { client, userId: user.id };
  };
  return {
    pg,
    redis,
    s3,
    s3Proxy,
    sim,
    db,
    apis,
    workers,
    env,
    node,
    signIn,
    callsTo: (phone) => sim.control.state().calls.filter((c) => c.phoneNumber === phone).length,
    async los(api) {
      const { client: admin } = await signIn(api, { roles: ['ADMIN'] });
      const key = await admin.post<{ key: string }>('/api/api-keys', { name: 'LOS', scopes: ['loan-files:read', 'loan-files:write', 'sessions:read', 'sessions:write'] });
      return new ApiClient(api.url).withApiKey(key.body.key);
    },
    async stop() {
      await Promise.allSettled([...apis, ...workers].map((n) => n.stop()));
      await db.$disconnect().catch(() => undefined);
      await sim.stop();
      await s3Proxy.stop();
      await s3.stop();
      await rm(s3Dir, { recursive: true, force: true });
      await Promise.allSettled([redis.stop(), pg.stop()]);
    },
  };
}
