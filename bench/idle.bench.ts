// Idle cost: the CPU an api-only node and a worker-only node spend per second while nothing happens,
// on the compiled server (tsc into a temporary directory, run on plain Node with production
// defaults for every interval), against a bare Node process holding an HTTP server, a Redis
// connection and a PostgreSQL connection open. Each node runs in a process of its own; its CPU is
// read from /proc/<pid>/stat over the window, after a warm-up, together with the PostgreSQL
// transactions their database saw.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { SipClient } from 'livekit-server-sdk';
import { startS3Server, S3RVER_CREDENTIALS } from '../dev/s3-server.js';
import { freePort } from '../test/reliability/support/infra.js';
import { adminSql, cloneDatabase, createMigratedTemplate, dropStaleDatabases, TEMPLATE_PREFIX } from '../test/support/databases.js';
import { startReadyChild } from './support/child.js';
import { compileServer } from './support/compiled-node.js';
import type { BenchResult } from './support/report.js';
import { loadContext, round, sleep } from './support/stats.js';

export interface IdleBenchOptions {
  warmupSeconds: number;
  windowSeconds: number;
  /** 'compiled' (the default) runs dist-like output on plain Node; 'tsx' the sources under the loader. */
  runtime: 'compiled' | 'tsx';
}

export const IDLE_TARGET_MS_PER_S = 5;

const REPO = new URL('../', import.meta.url).pathname;

function cpuMs(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const tick = 10; // CLK_TCK is 100 on Linux
  return (Number(fields[11]) + Number(fields[12])) * tick;
}

/** Times the main thread went to sleep and was woken again (its voluntary context switches). */
function wakeups(pid: number): number {
  const status = readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8');
  return Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

// For profiling an idle node: IDLE_NODE_FLAGS adds Node flags (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p"),
// IDLE_EXTRA_ENV (JSON) overrides facesign's environment (e.g. {"RECONCILE_INTERVAL_SECONDS":"3600"}).
function startNode(entry: string[], env: Record<string, string>, readyPattern: RegExp): Promise<{ child: ChildProcess; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [...(process.env.IDLE_NODE_FLAGS?.split(' ') ?? []), ...entry], { cwd: REPO, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node ${entry.join(' ')} was not ready in 120 s: ${out.slice(-2000)}`)), 120_000);
    child.once('exit', (code) => reject(new Error(`node ${entry.join(' ')} exited with ${code}: ${out.slice(-2000)}`)));
    const onData = (s: Buffer) => {
      out += s.toString('utf8');
      if (!readyPattern.test(out)) return;
      clearTimeout(timer);
      // Keep draining its output (an idle node logs next to nothing), without holding it.
      out = '';
      resolve({
        child,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await exited;
        },
      });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
  });
}

async function transactions(client: pg.Client, database: string): Promise<number> {
  const { rows } = await client.query<{ n: string }>('SELECT (xact_commit + xact_rollback)::text AS n FROM pg_stat_database WHERE datname = $1', [database]);
  return Number(rows[0]?.n ?? 0);
}

// A Node process that holds what an idle node holds, and does nothing: the floor of the runtime.
const BARE_NODE = `
import { createServer } from 'node:http';
import { Redis } from 'ioredis';
import pg from 'pg';
const redis = new Redis(process.env.REDIS_URL);
const db = new pg.Client({ connectionString: process.env.DATABASE_URL });
await db.connect();
await redis.ping();
createServer((_q, s) => s.end()).listen(0, '127.0.0.1', () => console.log('bare node ready'));
`;

export async function idleBench(options: IdleBenchOptions): Promise<BenchResult> {
  mkdirSync(join(REPO, 'bench/results'), { recursive: true });
  const before = loadContext();
  // Inside the repository, so that the compiled files resolve node_modules as dist/ does (gitignored).
  const build = options.runtime === 'compiled' ? await mkdtemp(join(REPO, 'bench/results/idle-build-')) : undefined;
  const s3Dir = await mkdtemp(join(tmpdir(), 'facesign-bench-s3-'));
  const cleanups: (() => Promise<unknown>)[] = [() => rm(s3Dir, { recursive: true, force: true })];
  if (build) cleanups.push(() => rm(build, { recursive: true, force: true }));
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL_ADMIN ?? 'postgresql://postgres@127.0.0.1:5432/postgres' });
  const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const observer = new Redis(redisUrl);
  try {
    if (build) {
      console.log('  compiling the server (tsc) into a temporary directory');
      await compileServer(build);
    }
    await dropStaleDatabases();
    const templateName = `${TEMPLATE_PREFIX}${process.pid}_idle`;
    await createMigratedTemplate(templateName);
    cleanups.push(() => adminSql(`DROP DATABASE IF EXISTS "${templateName}" WITH (FORCE)`));
    const database = await cloneDatabase(templateName);
    cleanups.push(() => database.drop());
    const s3 = await startS3Server({ directory: s3Dir, buckets: ['facesign-idle'] });
    cleanups.push(() => s3.stop());
    await admin.connect();
    cleanups.push(() => admin.end());

    const apiPort = await freePort();
    const sim = await startReadyChild<{ url: string }>('dev/livekit-sim/main.ts', ['--port', '0', '--api-key', 'idle-key', '--api-secret', 'idle-secret-0123456789abcdef0123', '--webhook-url', `http://127.0.0.1:${apiPort}/livekit/webhook`]);
    cleanups.push(() => sim.stop());
    const { sipTrunkId } = await new SipClient(sim.ready.url, 'idle-key', 'idle-secret-0123456789abcdef0123').createSipOutboundTrunk('idle trunk', 'sip.carrier.test', ['+10000000000']);
    const prefix = `bench-idle-${randomUUID().slice(0, 8)}`;
    cleanups.push(async () => {
      for (let cursor = '0'; ; ) {
        const [next, keys] = await observer.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        if (keys.length > 0) await observer.del(...keys);
        cursor = next;
        if (cursor === '0') break;
      }
    });
    // Production defaults for every interval (sealer, reconciler, sweeps, worker locks).
    const env = {
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      DATABASE_URL: database.appUrl,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
      S3_ENDPOINT: s3.endpoint,
      S3_BUCKET: 'facesign-idle',
      S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true',
      LIVEKIT_URL: sim.ready.url,
      LIVEKIT_API_KEY: 'idle-key',
      LIVEKIT_API_SECRET: 'idle-secret-0123456789abcdef0123',
      LIVEKIT_SIP_TRUNK_ID: sipTrunkId,
      SHUTDOWN_GRACE_MS: '2000',
      ...(process.env.IDLE_EXTRA_ENV ? (JSON.parse(process.env.IDLE_EXTRA_ENV) as Record<string, string>) : {}),
    };
    const entry = build ? [join(build, 'server/main.js')] : [...process.execArgv, join(REPO, 'server/main.ts')];
    const ready = /facesign (listening|worker running)/;
    const baselineEntry = ['--input-type=module', '-e', BARE_NODE];

    console.log(`  starting an api node, a worker node and a bare Node process (${options.runtime})`);
    const api = await startNode(entry, { ...env, PORT: String(apiPort), FACESIGN_ROLES: 'api' }, ready);
    cleanups.push(() => api.stop());
    const worker = await startNode(entry, { ...env, PORT: String(await freePort()), FACESIGN_ROLES: 'worker' }, ready);
    cleanups.push(() => worker.stop());
    const bare = await startNode(baselineEntry, { REDIS_URL: redisUrl, DATABASE_URL: database.appUrl }, /bare node ready/);
    cleanups.push(() => bare.stop());

    console.log(`  warm-up ${options.warmupSeconds} s, then ${options.windowSeconds} s idle`);
    await sleep(options.warmupSeconds * 1000);
    const pids = { api: api.child.pid!, worker: worker.child.pid!, bare: bare.child.pid! };
    const cpu0 = { api: cpuMs(pids.api), worker: cpuMs(pids.worker), bare: cpuMs(pids.bare) };
    const woken0 = { api: wakeups(pids.api), worker: wakeups(pids.worker), bare: wakeups(pids.bare) };
    const tx0 = await transactions(admin, database.name);
    const started = performance.now();
    await sleep(options.windowSeconds * 1000);
    const seconds = (performance.now() - started) / 1000;
    const cpu1 = { api: cpuMs(pids.api), worker: cpuMs(pids.worker), bare: cpuMs(pids.bare) };
    const woken1 = { api: wakeups(pids.api), worker: wakeups(pids.worker), bare: wakeups(pids.bare) };
    const tx1 = await transactions(admin, database.name);
    const perSecond = (ms: number) => round(ms / seconds, 2);
    const apiMs = perSecond(cpu1.api - cpu0.api);
    const workerMs = perSecond(cpu1.worker - cpu0.worker);
    const bareMs = perSecond(cpu1.bare - cpu0.bare);
    const worst = Math.max(apiMs, workerMs);
    const after = loadContext();
    return {
      name: 'idle',
      setup: `${options.runtime === 'compiled' ? 'compiled server on plain Node' : 'sources under tsx'}, one api-only and one worker-only node on one database (LiveKit simulator configured, production intervals), ${options.warmupSeconds} s warm-up, ${round(seconds, 1)} s window`,
      facesign: {
        apiCpuMsPerSecond: apiMs,
        workerCpuMsPerSecond: workerMs,
        apiWakeupsPerSecond: round((woken1.api - woken0.api) / seconds, 1),
        workerWakeupsPerSecond: round((woken1.worker - woken0.worker) / seconds, 1),
        postgresTransactionsPerSecond: round((tx1 - tx0) / seconds, 2),
      },
      baseline: { what: 'a bare Node process holding an HTTP server, a Redis and a PostgreSQL connection', cpuMsPerSecond: bareMs, wakeupsPerSecond: round((woken1.bare - woken0.bare) / seconds, 1) },
      ratio: { value: round(worst / IDLE_TARGET_MS_PER_S, 2), of: `the busier idle node's CPU per second ÷ the ${IDLE_TARGET_MS_PER_S} ms/s target` },
      target: { text: `≤ ${IDLE_TARGET_MS_PER_S} ms of CPU per second for each idle node`, met: worst <= IDLE_TARGET_MS_PER_S },
      load: { before, after },
      notes: [
        'PostgreSQL transactions are those of the nodes\' own database (pg_stat_database, both nodes together)',
        'CPU is user + system time from /proc/<pid>/stat in 10 ms ticks; other processes on the machine do not count, but on a loaded machine each wake-up costs more (caches, contention): compare with the wake-ups, which do not depend on load',
        'wake-ups are the main thread\'s voluntary context switches (/proc/<pid>/task/<pid>/status): each timer or I/O that wakes the event loop',
      ],
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => console.error(`  idle cleanup: ${(error as Error).message}`));
    observer.disconnect();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string, fallback: number) => (process.argv.includes(`--${name}`) ? Number(process.argv[process.argv.indexOf(`--${name}`) + 1]) : fallback);
  const result = await idleBench({ warmupSeconds: arg('warmup', 30), windowSeconds: arg('seconds', 60), runtime: process.argv.includes('--tsx') ? 'tsx' : 'compiled' });
  console.log(JSON.stringify(result, null, 2));
  process.exit(0);
}
