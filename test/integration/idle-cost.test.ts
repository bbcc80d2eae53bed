// What an idle node costs comes from what it does while nothing happens: the audit sealer's looks
// for unsealed events and the BullMQ workers' trips to Redis. Both wait for work instead of polling
// for it, and still pick it up at once (bench/idle.bench.ts measures the CPU this saves).
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/harness.js';
import { createDb, sqlPool, type Db } from '../../server/db/client.js';
import { createLogger } from '../../server/logging.js';
import { appendAudit } from '../../server/audit/audit.service.js';
import { AuditSealer, IDLE_SEAL_MAX_MS } from '../../server/audit/audit-sealer.service.js';
import { JobQueues, startWorkers } from '../../server/jobs/queues.js';
import { jobCatalog, type JobHandlers, type JobName } from '../../server/jobs/catalog.js';
import { eventually } from '../support/fixtures.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const log = createLogger({ level: 'silent' });
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.stop();
});

/** A Prisma client on the test database whose pool counts the statements sent straight to it (the sealer's looks). */
function countingDb(url: string): { db: Db; looks: () => number } {
  const db = createDb({ url, poolSize: 2 });
  const pool = sqlPool(db);
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  let looks = 0;
  (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    looks += 1;
    return query(...args);
  };
  return { db, looks: () => looks };
}

describe('an idle node', () => {
  it('has a sealer that backs off while nothing is appended, and seals within its interval once something is', async () => {
    const { db, looks } = countingDb(t.appDatabaseUrl);
    const sealer = new AuditSealer(db, log, 50);
    try {
      sealer.start();
      // Polling every 50 ms would look 60 times in 3 s; backing off (50, 100, 200, ... ms) about 6 times.
      await new Promise((r) => setTimeout(r, 3_000));
      const idleLooks = looks();
      expect(idleLooks).toBeGreaterThan(0);
      expect(idleLooks).toBeLessThanOrEqual(8);
      expect(IDLE_SEAL_MAX_MS).toBeGreaterThanOrEqual(1_000);

      // Its next look is now more than a second away: an append in this process brings it forward.
      const appendedAt = Date.now();
      const { id } = await t.facesign.db.$transaction((tx) =>
        appendAudit(tx, { actor: { type: 'SYSTEM' }, entity: { type: 'test', id: 'idle-wake' }, event: { action: 'auth.logged_out', v: 1, data: { loginSessionId: randomUUID() } } }),
      );
      await eventually(async () => looks() > idleLooks);
      expect(Date.now() - appendedAt).toBeLessThan(800);
      // storage: the sealer linking the row into the chain is what it was woken for
      await eventually(async () => (await t.facesign.db.auditEvent.findUniqueOrThrow({ where: { id } })).chainSeq !== null);
    } finally {
      await sealer.stop();
      await db.$disconnect();
    }
  });

  it('has workers that wait on Redis instead of asking every few seconds, and still take a job at once', async () => {
    const prefix = `t-idle-${randomUUID().slice(0, 8)}`;
    const done: string[] = [];
    const handlers = Object.fromEntries(
      (Object.keys(jobCatalog) as JobName[]).map((name) => [name, async () => void (name === 'session-sweep' ? done.push(name) : undefined)]),
    ) as unknown as JobHandlers;
    const workers = startWorkers({ redisUrl: REDIS_URL, prefix, concurrency: {}, lockMs: 30_000 }, handlers, log);
    const monitor = new Redis(REDIS_URL);
    const queues = new JobQueues({ redisUrl: REDIS_URL, prefix });
    try {
      // Every worker has asked for a job once and is waiting; count what they send from here on.
      await new Promise((r) => setTimeout(r, 2_000));
      const feed = await watchCommands(REDIS_URL, prefix);
      // BullMQ's default (a new fetch every 5 s per queue) sends at least one fetch per queue in 6 s.
      await new Promise((r) => setTimeout(r, 6_000));
      // A command under the prefix is seen, so an empty count means quiet workers, not a deaf watcher.
      await monitor.get(`${prefix}:probe`);
      await new Promise((r) => setTimeout(r, 200));
      const seen = feed.stop();
      expect(seen).toContain('get');
      const fetches = seen.filter((c) => c === 'evalsha' || c === 'eval' || c === 'bzpopmin').length;
      expect(fetches).toBeLessThan(Object.keys(jobCatalog).length);

      const addedAt = Date.now();
      await queues.enqueue('session-sweep', {}, { jobId: `idle-${randomUUID()}` });
      await eventually(async () => done.length > 0);
      expect(Date.now() - addedAt).toBeLessThan(2_000);

      // A delayed job (a retry's backoff, a scheduled call) wakes the idle wait when it falls due, not
      // when the wait ends: one due in 1.5 s, added while the workers wait, runs within a second of it.
      const dueAt = Date.now() + 1_500;
      await queues.enqueue('session-sweep', {}, { jobId: `idle-delayed-${randomUUID()}`, delayMs: 1_500 });
      await eventually(async () => done.length > 1);
      expect(Date.now() - dueAt).toBeGreaterThanOrEqual(-50);
      expect(Date.now() - dueAt).toBeLessThan(1_000);
    } finally {
      await workers.close();
      await queues.close();
      for (let cursor = '0'; ; ) {
        const [next, keys] = await monitor.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
        if (keys.length > 0) await monitor.del(...keys);
        cursor = next;
        if (cursor === '0') break;
      }
      monitor.disconnect();
    }
  }, 30_000);
});

/**
 * The commands Redis runs that name a key under `prefix`, from MONITOR on a plain socket of its own:
 * other test files share this Redis, and a client library's monitor mode can trip over their replies
 * still arriving as it leaves.
 */
async function watchCommands(redisUrl: string, prefix: string): Promise<{ stop(): string[] }> {
  const url = new URL(redisUrl);
  const socket = connect({ host: url.hostname, port: Number(url.port || 6379) });
  const seen: string[] = [];
  let pending = '';
  socket.setEncoding('utf8');
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  socket.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\r\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      // +<time> [<db> <client>] "<command>" "<arg>" ...
      const args = Array.from(line.matchAll(/"((?:[^"\\]|\\.)*)"/g), (m) => m[1]!);
      if (args.length > 0 && args.some((a) => a.startsWith(`${prefix}:`))) seen.push(args[0]!.toLowerCase());
    }
  });
  socket.write('MONITOR\r\n');
  await new Promise((r) => setTimeout(r, 100));
  return {
    stop() {
      socket.destroy();
      return seen;
    },
  };
}
