// The SQL layer the hot paths use: transactions on the shared pool commit or roll back as a whole and
// give their connection back either way; the same statements run inside a Prisma transaction; audit
// events written in one insert keep their order (the chain's order).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/harness.js';
import { isUniqueViolation, sqlIn, sqlTransaction } from '../../server/db/client.js';
import { insertAuditMany } from '../../server/audit/audit.service.js';
import { verifySealedChain } from '../support/audit.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.stop();
});

const event = (entityId: string, n: number) => ({
  actor: { type: 'SYSTEM' as const, id: 'test' },
  entity: { type: 'session', id: entityId },
  event: { action: 'session.deferred' as const, v: 1 as const, data: { from: new Date(0).toISOString(), to: new Date(n * 1000).toISOString(), reason: `step ${n}` } },
});

// storage: whether the rows were committed is what the SQL layer's tests are about
async function eventsOf(entityId: string) {
  return t.facesign.db.auditEvent.findMany({ where: { entityId }, orderBy: { seq: 'asc' } });
}

describe('sqlTransaction', () => {
  it('commits everything the function wrote', async () => {
    const entity = randomUUID();
    const ids = await sqlTransaction(t.facesign.db, (sql) => insertAuditMany(sql, [event(entity, 1), event(entity, 2)]));
    expect((await eventsOf(entity)).map((e) => e.id)).toEqual(ids);
  });

  it('rolls everything back when the function throws, and leaves its connection clean', async () => {
    const entity = randomUUID();
    const boom = new Error('refused after writing');
    await expect(
      sqlTransaction(t.facesign.db, async (sql) => {
        await insertAuditMany(sql, [event(entity, 1)]);
        throw boom;
      }),
    ).rejects.toBe(boom);
    // The next transaction (on the same connection: the pool hands out the last one returned) starts
    // clean; had the first been left open, its COMMIT would write the refused event now.
    const after = await sqlTransaction(t.facesign.db, (sql) => sql.query<{ n: number }>({ text: 'SELECT 1 AS n' }));
    expect(after).toEqual([{ n: 1 }]);
    expect(await eventsOf(entity)).toEqual([]);
  });

  it('reports a unique violation from the pool as Prisma reports its own', async () => {
    const entity = randomUUID();
    const [id] = await sqlTransaction(t.facesign.db, (sql) => insertAuditMany(sql, [event(entity, 1)]));
    const error = await sqlTransaction(t.facesign.db, (sql) =>
      sql.query({ text: `INSERT INTO "AuditEvent" ("id", "occurredAt", "actorType", "action", "actionVersion", "entityType", "entityId", "data") VALUES ($1::uuid, now(), 'SYSTEM', 'x', 1, 'session', $2, '{}')`, values: [id, entity] }),
    ).catch((e: unknown) => e);
    expect(isUniqueViolation(error)).toBe(true);
    expect(isUniqueViolation(new Error('other'))).toBe(false);
  });

  it('survives the server dropping its connection mid-transaction: the caller gets the error, the process and the pool carry on', async () => {
    // As when PostgreSQL restarts or crashes while a transaction holds a connection between two
    // statements. With no error listener on the checked-out client, pg's 'error' event ended the
    // process (a worker died this way in the fault-injection suite).
    const entity = randomUUID();
    const error = await sqlTransaction(t.facesign.db, async (sql) => {
      await insertAuditMany(sql, [event(entity, 1)]);
      const [own] = await sql.query<{ pid: number }>({ text: 'SELECT pg_backend_pid() AS pid' });
      // fixture: the fault, the server dropping this transaction's connection
      await t.facesign.db.$queryRawUnsafe('SELECT pg_terminate_backend($1)', own!.pid);
      // The client hears of it while idle, between statements.
      await new Promise((resolve) => setTimeout(resolve, 300));
      return sql.query({ text: 'SELECT 1' });
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(await eventsOf(entity)).toEqual([]); // never committed
    // The broken connection was discarded; the pool hands out working ones.
    for (let i = 0; i < 3; i += 1) {
      expect(await sqlTransaction(t.facesign.db, (sql) => sql.query<{ n: number }>({ text: 'SELECT 1 AS n' }))).toEqual([{ n: 1 }]);
    }
  });
});

describe('the same statements in a Prisma transaction', () => {
  it('write with it and roll back with it', async () => {
    const kept = randomUUID();
    const dropped = randomUUID();
    await t.facesign.db.$transaction((tx) => insertAuditMany(sqlIn(tx), [event(kept, 1)]));
    await t.facesign.db
      .$transaction(async (tx) => {
        await insertAuditMany(sqlIn(tx), [event(dropped, 1)]);
        throw new Error('abort');
      })
      .catch(() => undefined);
    expect(await eventsOf(kept)).toHaveLength(1);
    expect(await eventsOf(dropped)).toEqual([]);
  });
});

describe('insertAuditMany', () => {
  it('stores events in the order given, and they seal into an intact chain', async () => {
    const entity = randomUUID();
    const entries = Array.from({ length: 25 }, (_, i) => event(entity, i));
    const ids = await sqlTransaction(t.facesign.db, (sql) => insertAuditMany(sql, entries));
    const stored = await eventsOf(entity);
    expect(stored.map((e) => e.id)).toEqual(ids);
    expect(stored.map((e) => (e.data as { reason: string }).reason)).toEqual(entries.map((e) => e.event.data.reason));
    expect((await verifySealedChain(t.facesign.db)).ok).toBe(true);
    const sealed = await eventsOf(entity);
    // The chain follows insertion order within the batch.
    expect(sealed.map((e) => e.chainSeq)).toEqual([...sealed.map((e) => e.chainSeq)].sort((a, b) => (a! < b! ? -1 : 1)));
  });
});
