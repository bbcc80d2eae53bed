// Links committed audit events into the hash chain. Appends (audit.service.ts) only insert rows;
// here, one sealer at a time across every process (a transaction-scoped advisory lock) reads the
// chain head and the unsealed rows in insertion order, hashes each onto its predecessor and stores
// the links in one statement. A row that commits late, after rows inserted after it were sealed,
// simply joins the chain later: the chain's order is chainSeq, and it never forks.
import type { Logger } from 'pino';
import { sqlPool, type Db } from '../db/client.js';
import { GENESIS_HASH, hashAuditRow } from './audit.service.js';

const AUDIT_CHAIN_LOCK = 7_241_001;
const BATCH = 500;

/**
 * Seals every committed unsealed event and returns how many it sealed. With `wait`, queues for the
 * lock (to read a fully sealed chain, e.g. before an export); without, returns 0 at once when
 * another sealer holds it.
 */
export async function sealAuditChain(db: Db, options: { wait?: boolean } = {}): Promise<number> {
  // The periodic sealer runs on every node several times a second, and mostly finds nothing: one
  // read on the pool (the chainSeq index) answers that, instead of a transaction taking the lock.
  if (!options.wait && !(await anythingUnsealed(db))) return 0;
  let sealed = 0;
  for (;;) {
    const batch = await db.$transaction(async (tx) => {
      if (options.wait) {
        await tx.$executeRaw`SELECT pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK})`;
      } else {
        const [lock] = await tx.$queryRaw<{ locked: boolean }[]>`SELECT pg_try_advisory_xact_lock(${AUDIT_CHAIN_LOCK}) AS locked`;
        if (!lock?.locked) return 0;
      }
      const pending = await tx.auditEvent.findMany({ where: { chainSeq: null }, orderBy: { seq: 'asc' }, take: BATCH });
      if (pending.length === 0) return 0;
      const head = await tx.auditEvent.findFirst({ where: { chainSeq: { not: null } }, orderBy: { chainSeq: 'desc' }, select: { hash: true, chainSeq: true } });
      let prevHash = head?.hash ?? GENESIS_HASH;
      let position = head?.chainSeq ?? 0n;
      const seqs: string[] = [];
      const prevs: string[] = [];
      const hashes: string[] = [];
      const positions: string[] = [];
      for (const row of pending) {
        position += 1n;
        const hash = hashAuditRow({ ...row, prevHash });
        seqs.push(row.seq.toString());
        prevs.push(prevHash);
        hashes.push(hash);
        positions.push(position.toString());
        prevHash = hash;
      }
      await tx.$executeRaw`
        UPDATE "AuditEvent" AS a SET "prevHash" = u.prev, "hash" = u.hash, "chainSeq" = u.pos
        FROM unnest(${seqs}::bigint[], ${prevs}::text[], ${hashes}::text[], ${positions}::bigint[]) AS u(seq, prev, hash, pos)
        WHERE a.seq = u.seq`;
      return pending.length;
    });
    sealed += batch;
    if (batch < BATCH) return sealed;
  }
}

async function anythingUnsealed(db: Db): Promise<boolean> {
  const { rows } = await sqlPool(db).query<{ pending: boolean }>({
    name: 'audit-anything-unsealed',
    text: `SELECT EXISTS (SELECT 1 FROM "AuditEvent" WHERE "chainSeq" IS NULL) AS "pending"`,
  });
  return rows[0]?.pending === true;
}

/** Runs the sealer every `intervalMs` in this process; every node may run one, only one seals at a time. */
export class AuditSealer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private failing = false;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly intervalMs: number,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => {
        this.running = undefined;
        this.schedule();
      });
    }, this.intervalMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      await sealAuditChain(this.db);
      if (this.failing) this.log.info('the audit sealer is sealing again');
      this.failing = false;
    } catch (error) {
      // Unsealed events are committed and wait for the next round; say so once, not every tick.
      if (!this.failing) this.log.warn({ err: error }, 'could not seal audit events; retrying');
      this.failing = true;
    }
  }

  /** Stops the timer, lets a running round finish, then seals what is left (best effort). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await sealAuditChain(this.db).catch(() => undefined);
  }
}
