// How long a facesign node's queries wait for a connection of its PostgreSQL pool (DATABASE_POOL_SIZE):
// every checkout (Prisma's and the hot statements' alike go through pool.connect) is timed, and the
// number of callers already queued is noted at each. Measurement only: the pool behaves as before.
import type pg from 'pg';
import { percentile, round } from './stats.js';

export interface PoolWaitReport {
  poolSize: number;
  checkouts: number;
  /** Checkouts that took longer than 2 ms (waited for a connection to come free, or for a new one). */
  checkoutsWaited: number;
  checkoutWaitP50Ms: number;
  checkoutWaitP99Ms: number;
  checkoutWaitMaxMs: number;
  /** The most callers queued for a connection at once. */
  maxQueued: number;
  /** The most connections open at once. */
  maxOpen: number;
}

type Done = (err: Error | undefined, client: pg.PoolClient | undefined, release: (err?: Error | boolean) => void) => void;

export function watchPoolWaits(pool: pg.Pool): { report(): PoolWaitReport; reset(): void } {
  let waits: number[] = [];
  let maxQueued = 0;
  let maxOpen = 0;
  const original = pool.connect.bind(pool) as (done?: Done) => Promise<pg.PoolClient> | undefined;
  const note = (started: number) => {
    waits.push(performance.now() - started);
    maxOpen = Math.max(maxOpen, pool.totalCount);
  };
  const timed = (done?: Done) => {
    const started = performance.now();
    maxQueued = Math.max(maxQueued, pool.waitingCount);
    if (done) {
      return original((err, client, release) => {
        note(started);
        done(err, client, release);
      });
    }
    return original()!.then((client) => {
      note(started);
      return client;
    });
  };
  (pool as unknown as { connect: typeof timed }).connect = timed;
  return {
    reset() {
      waits = [];
      maxQueued = pool.waitingCount;
      maxOpen = pool.totalCount;
    },
    report() {
      return {
        poolSize: pool.options.max ?? 10,
        checkouts: waits.length,
        checkoutsWaited: waits.filter((w) => w > 2).length,
        checkoutWaitP50Ms: round(percentile(waits, 50), 2),
        checkoutWaitP99Ms: round(percentile(waits, 99), 1),
        checkoutWaitMaxMs: round(waits.reduce((a, b) => Math.max(a, b), 0), 1),
        maxQueued,
        maxOpen,
      };
    },
  };
}
