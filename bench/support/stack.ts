// Starts facesign for a benchmark the way the integration tests do: its own database cloned from a
// migrated template, its own Redis key prefix, an in-process s3rver, the LiveKit simulator in a process
// of its own (so that its CPU is not counted as facesign's), the app on a free port. Users and their console sign-ins are written in bulk (setup is not what is measured).
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { SipClient } from 'livekit-server-sdk';
import { loadConfig, type Env } from '../../server/config.js';
import { createFacesign, type Facesign } from '../../server/main.js';
import type { Db } from '../../server/db/client.js';
import { hashPassword } from '../../server/auth/password.js';
import { newToken, sha256Hex } from '../../server/auth/tokens.js';
import { SESSION_COOKIE } from '../../server/auth/auth.service.js';
import type { Role } from '../../server/db/generated/prisma/enums.js';
import { startS3Server, S3RVER_CREDENTIALS, type RunningS3Server } from '../../dev/s3-server.js';
import { freePort } from '../../test/reliability/support/infra.js';
import { startReadyChild } from './child.js';
import { postgresPart, redisPart, type CpuPart } from './machine-cpu.js';
import { adminSql, cloneDatabase, createMigratedTemplate, dropStaleDatabases, TEMPLATE_PREFIX } from '../../test/support/databases.js';

export const BENCH_BUCKET = 'facesign-bench';

let template: string | undefined;

/** One migrated template per benchmark run (named after this process, like the test runner's). */
export async function migratedTemplate(): Promise<string> {
  if (template) return template;
  await dropStaleDatabases();
  const name = `${TEMPLATE_PREFIX}${process.pid}`;
  await createMigratedTemplate(name);
  template = name;
  return name;
}

export async function dropTemplate(): Promise<void> {
  if (template) await adminSql(`DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`);
  template = undefined;
}

/**
 * The settings every bench's facesign shares: its database, Redis and s3rver, no review sampling, no
 * reconciler in the way, calling hours always open and logins never throttled.
 */
export function benchEnv(input: { databaseUrl: string; redisUrl: string; redisPrefix: string; s3Endpoint: string }): Record<string, string> {
  return {
    DATABASE_URL: input.databaseUrl,
    DATABASE_POOL_SIZE: '10',
    REDIS_URL: input.redisUrl,
    REDIS_PREFIX: input.redisPrefix,
    S3_ENDPOINT: input.s3Endpoint,
    S3_BUCKET: BENCH_BUCKET,
    S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    S3_FORCE_PATH_STYLE: 'true',
    SHUTDOWN_GRACE_MS: '2000',
    RECONCILE_INTERVAL_SECONDS: '3600',
    REVIEW_SAMPLE_PERCENT: '0',
    LOGIN_RATE_PER_MINUTE: '10000',
    CALLING_HOURS: '00:00-24:00',
    CALLING_DAYS: 'MON,TUE,WED,THU,FRI,SAT,SUN',
  };
}

/** A signed-in console user, without going through the login route (its scrypt is not under test). */
export interface BenchUser {
  id: string;
  cookie: string;
  csrfToken: string;
}

export interface BenchUserInput {
  roles: Role[];
  languages?: string[];
  skills?: string[];
}

/** Creates console users with a login session each, straight in the database. */
export function benchUsers(db: Db): (count: number, input: BenchUserInput) => Promise<BenchUser[]> {
  let passwordHash: string | undefined;
  let created = 0;
  return async (count, input) => {
    passwordHash ??= await hashPassword('bench password, never used to sign in');
    const hash = passwordHash;
    const rows = Array.from({ length: count }, () => {
      created += 1;
      return { id: randomUUID(), email: `bench${created}-${randomUUID().slice(0, 6)}@bank.test`, displayName: `Bench User ${created}`, passwordHash: hash, roles: input.roles, languages: input.languages ?? [], skills: input.skills ?? [] };
    });
    await db.user.createMany({ data: rows });
    const sessions = rows.map((r) => ({ userId: r.id, token: newToken(), csrf: newToken() }));
    await db.loginSession.createMany({
      data: sessions.map((s) => ({ userId: s.userId, tokenHash: sha256Hex(s.token), csrfTokenHash: sha256Hex(s.csrf), expiresAt: new Date(Date.now() + 12 * 3_600_000) })),
    });
    return sessions.map((s) => ({ id: s.userId, cookie: `${SESSION_COOKIE}=${s.token}`, csrfToken: s.csrf }));
  };
}

/** The LiveKit simulator, in a process of its own so that its work is not counted as facesign's. */
export interface BenchSimulator {
  url: string;
  apiKey: string;
  apiSecret: string;
  pid: number;
}

export interface BenchStack {
  url: string;
  facesign: Facesign;
  sim: BenchSimulator;
  /** Where facesign sends LiveKit API calls (a proxy in front of the simulator when one is given). */
  sipTrunkId: string;
  /** Error log lines the server wrote (the first 100). */
  errors: string[];
  /** The environment facesign was configured from, for starting another node (e.g. the compiled build) on the same stack. */
  env: Readonly<Record<string, string>>;
  users(count: number, input: BenchUserInput): Promise<BenchUser[]>;
  /** The stack's processes for CPU accounting: this process (facesign), PostgreSQL and Redis when local, the simulator. */
  cpuParts(): Promise<CpuPart[]>;
  /** Starts a worker-only facesign node on the same database and Redis (stopped with the stack). */
  workerNode(): Promise<Facesign>;
  stop(): Promise<void>;
}

export interface StackOptions {
  env?: Partial<Record<keyof Env, string>>;
  /** Put something (e.g. a timing proxy) between facesign and the simulator: gets the simulator URL, returns the URL facesign uses. */
  livekitFront?: (simUrl: string) => Promise<{ url: string; stop(): Promise<void> }>;
}

export async function startStack(options: StackOptions = {}): Promise<BenchStack> {
  const database = await cloneDatabase(await migratedTemplate());
  const s3Dir = await mkdtemp(join(tmpdir(), 'facesign-bench-s3-'));
  const s3: RunningS3Server = await startS3Server({ directory: s3Dir, buckets: [BENCH_BUCKET] });
  // facesign's port is chosen first: the simulator is told where to post webhooks when it starts.
  const port = await freePort();
  const simKeys = { apiKey: 'bench-key', apiSecret: `bench-secret-${randomUUID()}` };
  const simChild = await startReadyChild<{ url: string }>('dev/livekit-sim/main.ts', [
    '--port', '0', '--api-key', simKeys.apiKey, '--api-secret', simKeys.apiSecret, '--time-scale', '0.01', '--webhook-url', `http://127.0.0.1:${port}/livekit/webhook`,
  ]);
  const sim: BenchSimulator = { url: simChild.ready.url, ...simKeys, pid: simChild.pid };
  const front = options.livekitFront ? await options.livekitFront(sim.url) : undefined;
  const { sipTrunkId } = await new SipClient(sim.url, sim.apiKey, sim.apiSecret).createSipOutboundTrunk('bench trunk', 'sip.carrier.test', ['+10000000000']);
  const prefix = `bench-${randomUUID().slice(0, 12)}`;
  // Logs are written (their cost is part of the server's); only errors are kept, for the report.
  const errors: string[] = [];
  const discard = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (/"level":"(error|fatal)"/.test(line) && errors.length < 100) errors.push(line);
      done();
    },
  });
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    PORT: String(port),
    LOG_LEVEL: 'info',
    ...benchEnv({ databaseUrl: database.appUrl, redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379', redisPrefix: prefix, s3Endpoint: s3.endpoint }),
    LIVEKIT_URL: front?.url ?? sim.url,
    LIVEKIT_API_KEY: sim.apiKey,
    LIVEKIT_API_SECRET: sim.apiSecret,
    LIVEKIT_SIP_TRUNK_ID: sipTrunkId,
    ...options.env,
  };
  const config = loadConfig(env);
  const facesign = await createFacesign(config, { logDestination: discard });
  const url = await facesign.listen();
  const workerNodes: Facesign[] = [];

  return {
    url,
    facesign,
    sim,
    sipTrunkId,
    errors,
    env,
    users: benchUsers(facesign.db),
    async cpuParts() {
      const [{ pid }] = await facesign.db.$queryRaw<[{ pid: number }]>`SELECT pg_backend_pid() AS pid`;
      const parts: (CpuPart | undefined)[] = [
        { name: 'facesign', pids: [process.pid] },
        postgresPart(pid),
        redisPart(await facesign.redis.info('server')),
        { name: 'simulator', pids: [sim.pid] },
      ];
      return parts.filter((part): part is CpuPart => part !== undefined);
    },
    async workerNode() {
      const node = await createFacesign({ ...config, roles: { api: false, worker: true } }, { logDestination: discard });
      workerNodes.push(node);
      return node;
    },
    async stop() {
      // After the workers stopped (they would write their keys again), with a client of no prefix.
      await Promise.all(workerNodes.map((node) => node.stop()));
      await facesign.stop();
      const redis = new Redis(config.redis.url);
      for (let cursor = '0'; ; ) {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
        if (cursor === '0') break;
      }
      await redis.quit();
      await front?.stop();
      await simChild.stop();
      await s3.stop();
      await rm(s3Dir, { recursive: true, force: true });
      await database.drop();
    },
  };
}

/** Report notes about errors the server logged during a benchmark. */
export function serverErrors(lines: string[]): string[] {
  if (lines.length === 0) return ['the server logged no errors'];
  return [`the server logged ${lines.length === 100 ? '100+' : lines.length} error line(s); first: ${lines[0]!.slice(0, 600)}`];
}
