// Links committed audit events into the hash chain. Appends (audit.service.ts) only insert rows;
// here, one sealer at a time across every process (a transaction-scoped advisory lock) reads the
// chain head and the unsealed rows in insertion order, hashes each onto its predecessor and stores
// the links in one statement. A row that commits late, after rows inserted after it were sealed,
// simply joins the chain later: the chain's order is chainSeq, and it never forks.
import type { Logger } from 'pino';
import { sql as fragment } from 'kysely';
import { sqlAutocommit, sqlIn, type Db } from '../db/client.js';
import { build, first, rows } from '../db/typed-sql.js';
import { GENESIS_HASH, hashAuditRow } from './audit.service.js';
import { onAuditAppended } from './audit-appended.js';

/** The advisory lock one sealer at a time holds (transaction-scoped) while it links rows. */
export const AUDIT_CHAIN_LOCK = 7_241_001;
const BATCH = 500;

/**
 * Seals every committed unsealed event and returns how many it sealed. With `wait`, queues for the
 * lock (to read a fully sealed chain, e.g. before an export); without, returns 0 at once when
 * another sealer holds it.
 */
export async function sealAuditChain(db: Db, options: { wait?: boolean } = {}): Promise<number> {
  // The periodic sealer runs on every node several times a second while events are written, and often
  // finds nothing: one read on the pool (the chainSeq index) answers that, instead of a transaction
  // taking the lock.
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
      const links = fragment<{ seq: string; prev: string; hash: string; pos: string }>`unnest(${seqs}::bigint[], ${prevs}::text[], ${hashes}::text[], ${positions}::bigint[])`;
      await rows(
        sqlIn(tx),
        build
          .updateTable('AuditEvent as a')
          .from(links.as<'u'>(fragment`u(seq, prev, hash, pos)`))
          .set((eb) => ({ prevHash: eb.ref('u.prev'), hash: eb.ref('u.hash'), chainSeq: eb.ref('u.pos') }))
          .whereRef('a.seq', '=', 'u.seq'),
      );
      return pending.length;
    });
    sealed += batch;
    if (batch < BATCH) return sealed;
  }
}

async function anythingUnsealed(db: Db): Promise<boolean> {
  const found = await first(
    sqlAutocommit(db),
    build.selectNoFrom((eb) => eb.exists(eb.selectFrom('AuditEvent').select(eb.lit(1).as('one')).where('chainSeq', 'is', null)).$castTo<boolean>().as('pending')),
    'audit-anything-unsealed',
  );
  return found?.pending === true;
}

/**
 * An idle process looks for unsealed events no more often than this: appends in the process wake the
 * sealer at once (audit-appended.ts), and this bounds how long an event written elsewhere (a
 * command-line tool, a process with no sealer) waits.
 */
export const IDLE_SEAL_MAX_MS = 5_000;

/**
 * Runs the sealer in this process: every `intervalMs` while there are events to seal, backing off to
 * IDLE_SEAL_MAX_MS while there are none, and back to `intervalMs` as soon as this process appends an
 * event. Every node may run one; only one seals at a time.
 */
export class AuditSealer {
  private timer: NodeJS.Timeout | undefined;
  private dueAt = 0;
  private running: Promise<void> | undefined;
  private stopped = false;
  private failing = false;
  private delayMs: number;
  private woken = false;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
    private readonly intervalMs: number,
  ) {
    this.delayMs = intervalMs;
  }

  start(): void {
    this.stopped = false;
    this.unsubscribe ??= onAuditAppended(() => this.wake());
    this.schedule(this.intervalMs);
  }

  /** An event was appended here: look within `intervalMs`, and keep looking that often for a while. */
  private wake(): void {
    this.delayMs = this.intervalMs;
    this.woken = true;
    if (this.stopped || this.running || this.dueAt <= Date.now() + this.intervalMs) return;
    clearTimeout(this.timer);
    this.schedule(this.intervalMs);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.dueAt = Date.now() + delayMs;
    this.timer = setTimeout(() => {
      this.running = this.tick().finally(() => {
        this.running = undefined;
        this.schedule(this.delayMs);
      });
    }, delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    this.woken = false;
    try {
      const sealed = await sealAuditChain(this.db);
      // Found nothing: wait longer next time, unless this process appended meanwhile.
      this.delayMs = sealed > 0 || this.woken ? this.intervalMs : Math.min(Math.max(this.intervalMs, IDLE_SEAL_MAX_MS), this.delayMs * 2);
      if (this.failing) this.log.info('the audit sealer is sealing again');
      this.failing = false;
    } catch (error) {
      // Unsealed events are committed and wait for the next round; say so once, not every tick.
      if (!this.failing) this.log.warn({ err: error }, 'could not seal audit events; retrying');
      this.failing = true;
      this.delayMs = this.intervalMs;
    }
  }

  /** Stops the timer, lets a running round finish, then seals what is left (best effort). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    clearTimeout(this.timer);
    await this.running;
    await sealAuditChain(this.db).catch(() => undefined);
  }
}
