// Every write to Recording, and the locked reads a write depends on. A recording's invariant lives
// here: its state and version change together, only by an update conditional on the (state, version)
// the caller read, and every other write (a bound egress, a counted finalize try, an integrity check)
// is conditional on what makes it still true. `false` or undefined means someone else changed the row
// first: the caller looks again or reports what they left.
//
// The row locks and the reads Prisma cannot express are SQL built with Kysely over the schema's types
// (`build`, server/db/typed-sql.ts) and run through `Sql` (`sqlIn(tx)` inside a Prisma transaction);
// the rest goes through Prisma and takes the caller's client or transaction. None of these functions
// opens a transaction.
import { sql as fragment } from 'kysely';
import { sqlIn, type Db, type Sql, type Tx } from '../server/db/client.js';
import type { Prisma, Recording } from '../server/db/generated/prisma/client.js';
import { build, first, rows } from '../server/db/typed-sql.js';
import type { RecordingState } from './recording-state.js';

type Client = Tx | Db;

/** The row a conditional write was decided on. */
type Seen = Pick<Recording, 'id' | 'state' | 'version'>;

/** The states in which facesign holds a hash of a stored object. */
export const STORED_STATES: RecordingState[] = ['VERIFIED', 'RETAINED'];

// ---------------------------------------------------------------------------------------------
// Start and egress

/** The attempt's recording row, created on first use (the key is the attempt: asking again is harmless). */
export async function ensureRecording(db: Client, row: { attemptId: string; audioOnly: boolean; objectKey: string }): Promise<Recording> {
  return db.recording.upsert({ where: { attemptId: row.attemptId }, create: row, update: {} });
}

/** Binds LiveKit's egress to a row that has none yet (a bound egress is never replaced). */
export async function bindEgress(tx: Client, recordingId: string, egressId: string): Promise<boolean> {
  const { count } = await tx.recording.updateMany({ where: { id: recordingId, egressId: null }, data: { egressId } });
  return count > 0;
}

/** What an egress observation writes besides state and version. */
export type EgressFields = Pick<Prisma.RecordingUpdateManyMutationInput, 'egressStartedAt' | 'egressEndedAt' | 'reportedSize' | 'reportedDurationMs' | 'location' | 'objectKey' | 'failureReason'>;

/** Moves the recording to what LiveKit reports, from the (state, version) read. */
export async function advanceFromEgress(tx: Client, seen: Seen, to: RecordingState, fields: EgressFields): Promise<boolean> {
  const { count } = await tx.recording.updateMany({ where: { id: seen.id, state: seen.state, version: seen.version }, data: { ...fields, state: to, version: { increment: 1 } } });
  return count > 0;
}

// ---------------------------------------------------------------------------------------------
// Finalize

/**
 * Counts a finalize try of an UPLOADED recording. Not a state change: the version stays, so a
 * concurrent finalizer is not made to lose by it.
 */
export async function countFinalizeAttempt(db: Client, recordingId: string): Promise<void> {
  await db.recording.updateMany({ where: { id: recordingId, state: 'UPLOADED' }, data: { finalizeAttempts: { increment: 1 } } });
}

export type FinalizeVerdict = { kind: 'verified'; sha256: string; sizeBytes: bigint; contentType: string | null; at: Date } | { kind: 'failed'; reason: string };

/** UPLOADED to VERIFIED (with what the store holds) or FAILED (with why), from the version read. */
export async function writeFinalizeVerdict(tx: Client, seen: Pick<Recording, 'id' | 'version'>, verdict: FinalizeVerdict): Promise<boolean> {
  const { count } = await tx.recording.updateMany({
    where: { id: seen.id, state: 'UPLOADED', version: seen.version },
    data:
      verdict.kind === 'verified'
        ? { state: 'VERIFIED', version: { increment: 1 }, sha256: verdict.sha256, sizeBytes: verdict.sizeBytes, contentType: verdict.contentType, verifiedAt: verdict.at }
        : { state: 'FAILED', version: { increment: 1 }, failureReason: verdict.reason },
  });
  return count > 0;
}

// ---------------------------------------------------------------------------------------------
// Integrity

/**
 * The `limit` stored recordings checked least recently (the never-checked first), ties broken by a
 * shuffle seeded with `seed` rather than by id order.
 */
export async function leastRecentlyChecked(sql: Sql, limit: number, seed: string): Promise<string[]> {
  const found = await rows(
    sql,
    build
      .selectFrom('Recording')
      .select(fragment<string>`id::text`.as('id'))
      .where('state', 'in', STORED_STATES)
      .where('sha256', 'is not', null)
      .orderBy(fragment`"lastIntegrityCheckAt" ASC NULLS FIRST`)
      .orderBy(fragment`md5(id::text || ${seed})`)
      .limit(limit),
  );
  return found.map((r) => r.id);
}

/**
 * Notes an integrity check. Conditional on still being stored: retention may have deleted the object
 * while it was hashed, and that is not a missing recording.
 */
export async function markIntegrityChecked(tx: Client, recordingId: string, at: Date): Promise<boolean> {
  const { count } = await tx.recording.updateMany({ where: { id: recordingId, state: { in: STORED_STATES } }, data: { lastIntegrityCheckAt: at } });
  return count > 0;
}

// ---------------------------------------------------------------------------------------------
// Retention

/**
 * VERIFIED to RETAINED with its retain-until date, only while the loan file's maturity is still the
 * one the date was computed from (`maturity`, YYYY-MM-DD or null). The FOR SHARE lock on the loan file
 * makes a concurrent maturity change wait for this commit (its recomputation then sees RETAINED), or
 * this write notices the change and the caller computes again.
 */
export async function markRetained(
  tx: Tx,
  seen: Pick<Recording, 'id' | 'version'>,
  basis: { loanFileId: string; maturity: string | null },
  retention: { until: Date; lockMode: string | null },
): Promise<boolean> {
  const current = await first(
    sqlIn(tx),
    build
      .selectFrom('LoanFile')
      .select((eb) => fragment<string | null>`${eb.ref('maturityDate')}::text`.as('maturity'))
      .where('id', '=', basis.loanFileId)
      .forShare(),
  );
  if ((current?.maturity ?? null) !== basis.maturity) return false;
  const { count } = await tx.recording.updateMany({
    where: { id: seen.id, state: 'VERIFIED', version: seen.version },
    data: { state: 'RETAINED', retainUntil: retention.until, objectLockMode: retention.lockMode, version: { increment: 1 } },
  });
  return count > 0;
}

/** A RETAINED recording's date (and lock mode) as the rule now says, from the version read. */
export async function changeRetention(tx: Client, seen: Pick<Recording, 'id' | 'version'>, retention: { until: Date; lockMode: string | null }): Promise<boolean> {
  const { count } = await tx.recording.updateMany({
    where: { id: seen.id, state: 'RETAINED', version: seen.version },
    data: { retainUntil: retention.until, objectLockMode: retention.lockMode, version: { increment: 1 } },
  });
  return count > 0;
}

/** Places (with its reason) or releases a legal hold, from the version read; never on a deleted recording. */
export async function writeHold(tx: Client, seen: Pick<Recording, 'id' | 'version'>, hold: { on: boolean; reason: string | null }): Promise<boolean> {
  const { count } = await tx.recording.updateMany({
    where: { id: seen.id, version: seen.version, state: { not: 'DELETED' } },
    data: { legalHold: hold.on, legalHoldReason: hold.reason, version: { increment: 1 } },
  });
  return count > 0;
}

/**
 * Locks the recording's row for its deletion until the transaction ends: 'wait' for a lock another
 * transaction holds, or 'skip' the row. False when there is no such row, or ('skip') it is locked.
 */
export async function lockForDeletion(tx: Tx, recordingId: string, lock: 'wait' | 'skip'): Promise<boolean> {
  const query = build.selectFrom('Recording').select('id').where('id', '=', recordingId).forUpdate();
  const locked = await first(sqlIn(tx), lock === 'skip' ? query.skipLocked() : query);
  return locked !== undefined;
}

/** RETAINED, not on hold and at the version read, to DELETED. */
export async function markDeleted(tx: Client, seen: Pick<Recording, 'id' | 'version'>, at: Date): Promise<boolean> {
  const { count } = await tx.recording.updateMany({
    where: { id: seen.id, state: 'RETAINED', legalHold: false, version: seen.version },
    data: { state: 'DELETED', deletedAt: at, version: { increment: 1 } },
  });
  return count > 0;
}

