// The Prisma client over node-postgres (@prisma/adapter-pg): no query-engine binary is needed.
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient, Prisma } from './generated/prisma/client.js';

export { Prisma, PrismaClient };
export type Db = PrismaClient;
export type Tx = Prisma.TransactionClient;

const pools = new WeakMap<Db, pg.Pool>();

export function createDb(options: { url: string; poolSize: number }): Db {
  // Prisma and the few hot statements that skip it (sqlPool) share one pool of connections.
  const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize, allowExitOnIdle: true });
  // An idle connection the server closed (a restart, a dropped database) is discarded by the pool and
  // replaced on next use; the pool reports it as an 'error' event, which with no listener would end
  // the process. Queries on a broken connection still fail to their callers.
  pool.on('error', () => undefined);
  // $disconnect() ends the pool too.
  const adapter = new PrismaPg(pool, { disposeExternalPool: true });
  // Prisma's defaults (2 s to get a connection for a transaction, 5 s to finish it) turn a burst of
  // load — more concurrent writers than pooled connections, all waiting their turn on the audit
  // chain — into 500s for writes that would have committed a moment later (seen in bench/: 200 agents
  // saving answers at once on a pool of 10). Waiting longer is the right answer for a write the user
  // is waiting on; a transaction still cannot hold its connection for more than 15 s.
  const db = new PrismaClient({ adapter, transactionOptions: { maxWait: 10_000, timeout: 15_000 } });
  pools.set(db, pool);
  return db;
}

/**
 * The connection pool under `db`, for the statements on a hot path where Prisma's own work per call
 * (about 0.6 ms of CPU on a small server, more than the statement) is what limits throughput. Use a
 * named statement with a fixed shape (arrays, not a variable number of parameters); everything else
 * goes through Prisma.
 */
export function sqlPool(db: Db): pg.Pool {
  const pool = pools.get(db);
  if (!pool) throw new Error('this Prisma client was not created by createDb');
  return pool;
}

/**
 * A statement runner for SQL that must work in both kinds of transaction: one Prisma opened (`sqlIn`)
 * and one on a connection of the shared pool (`sqlTransaction`, the hot paths). Write such statements
 * so that both drivers read them the same way: parameters cast in SQL (`$1::uuid`, `$2::timestamptz`
 * with an ISO string, never a Date), results cast to plain types (enums and numerics `::text`; int8
 * `::int` where it fits).
 */
export interface Sql {
  query<R = Record<string, unknown>>(statement: { name?: string; text: string; values?: readonly unknown[] }): Promise<R[]>;
}

/** `Sql` over a pg pool or one of its connections. */
function sqlOn(target: pg.Pool | pg.PoolClient): Sql {
  return { query: async <R>(statement: { name?: string; text: string; values?: readonly unknown[] }) => (await target.query({ ...statement, values: statement.values ? [...statement.values] : [] })).rows as R[] };
}

/** Statements on the shared pool outside a transaction: each commits on its own (one round trip). */
export function sqlAutocommit(db: Db): Sql {
  return sqlOn(sqlPool(db));
}

/** SQL inside a Prisma interactive transaction. */
export function sqlIn(tx: Tx): Sql {
  return { query: <R>(statement: { text: string; values?: readonly unknown[] }) => tx.$queryRawUnsafe<R[]>(statement.text, ...(statement.values ?? [])) };
}

/**
 * Runs `fn` in a transaction on one connection of the shared pool: BEGIN, `fn`, COMMIT; ROLLBACK when
 * it throws. A fraction of the CPU of a Prisma interactive transaction (about 0.2 ms against 1.4 ms for
 * BEGIN, one read, COMMIT on a small server), for the transactions every call goes through.
 */
export async function sqlTransaction<T>(db: Db, fn: (sql: Sql) => Promise<T>): Promise<T> {
  const client = await sqlPool(db).connect();
  const sql = sqlOn(client);
  let broken: Error | undefined;
  // A checked-out connection has no error listener of the pool's. When the server goes away while this
  // transaction holds it (a restart, a crash, a terminated backend), pg emits 'error' on the client, and
  // with no listener that ends the process. The statement in flight, or the next one, fails on its own
  // and reaches the caller; the connection is then discarded instead of returned. The listener stays:
  // a discarded connection may report more errors while it closes.
  const onError = (error: Error) => {
    broken ??= error;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN');
    const result = await fn(sql);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    // A connection that cannot even roll back is closed rather than returned to the pool.
    await client.query('ROLLBACK').catch((rollbackError: Error) => (broken = rollbackError));
    throw error;
  } finally {
    if (!broken) client.removeListener('error', onError);
    client.release(broken);
  }
}

/** True when `error` is a unique-constraint violation (Prisma's P2002, PostgreSQL's 23505). */
export function isUniqueViolation(error: unknown): boolean {
  if (error instanceof Prisma.PrismaClientKnownRequestError) return error.code === 'P2002';
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';
}
