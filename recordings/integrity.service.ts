// Integrity re-checks: years after finalize, the stored object must still hash to what was recorded
// then. A check never repairs or re-hashes the record (the hash taken at finalize is the evidence);
// it writes down that it looked and what it saw, and alerts supervisors when the object is gone or
// differs.
import { sqlAutocommit, type Db } from '../server/db/client.js';
import type { AuditActor } from '../server/audit/audit.actions.js';
import { appendAudit } from '../server/audit/audit.service.js';
import type { Logger } from '../server/logging.js';
import type { RealtimeEmitter } from '../server/realtime/events.js';
import { sha256OfStream } from './hash.js';
import type { RecordingStore } from './object-store.js';
import type { RecordingState } from './recording-state.js';
import { leastRecentlyChecked, markIntegrityChecked, STORED_STATES as STORED } from './recording.repository.js';

export type IntegrityResult =
  | {
      recordingId: string;
      result: 'ok' | 'mismatch' | 'missing';
      /** The hash taken at finalize. */
      expectedSha256: string;
      /** What the store holds now; null when the object is missing. */
      actualSha256: string | null;
      actualBytes: bigint | null;
      checkedAt: Date;
    }
  /** No such recording, or it holds no stored object to check (not yet verified, failed, deleted). */
  | { recordingId: string; result: 'not_stored'; state: RecordingState | null };

export interface CheckRequest {
  actor?: AuditActor;
  requestId?: string;
}

export interface IntegrityCheckerOptions {
  db: Db;
  store: RecordingStore;
  realtime: RealtimeEmitter;
  log: Logger;
}

export class IntegrityChecker {
  private readonly db: Db;
  private readonly store: RecordingStore;
  private readonly realtime: RealtimeEmitter;
  private readonly log: Logger;

  constructor(options: IntegrityCheckerOptions) {
    this.db = options.db;
    this.store = options.store;
    this.realtime = options.realtime;
    this.log = options.log;
  }

  /** Throws when the store cannot be read (retry later); nothing is recorded then. */
  async recheck(recordingId: string, request: CheckRequest = {}): Promise<IntegrityResult> {
    const rec = await this.db.recording.findUnique({ where: { id: recordingId }, include: { attempt: { select: { sessionId: true } } } });
    if (!rec || !STORED.includes(rec.state) || rec.sha256 === null) return { recordingId, result: 'not_stored', state: rec?.state ?? null };
    const expectedSha256 = rec.sha256;

    const head = await this.store.head(rec.objectKey);
    const actual = head ? await sha256OfStream((await this.store.read(rec.objectKey)).body) : undefined;
    const result = !actual ? 'missing' : actual.sha256 === expectedSha256 ? 'ok' : 'mismatch';
    const checkedAt = new Date();

    const recorded = await this.db.$transaction(async (tx) => {
      // Conditional on still being stored: retention may have deleted the object while we hashed,
      // and that is not a missing recording.
      if (!(await markIntegrityChecked(tx, rec.id, checkedAt))) return false;
      await appendAudit(tx, {
        actor: request.actor ?? { type: 'SYSTEM', id: 'recording-integrity' },
        entity: { type: 'recording', id: rec.id },
        event: { action: 'recording.integrity_checked', v: 1, data: { result, sha256: actual?.sha256 ?? null } },
        ...(request.requestId ? { requestId: request.requestId } : {}),
      });
      return true;
    });
    if (!recorded) {
      const now = await this.db.recording.findUnique({ where: { id: rec.id }, select: { state: true } });
      return { recordingId, result: 'not_stored', state: now?.state ?? null };
    }

    if (result !== 'ok') {
      this.log.error({ recordingId: rec.id, result }, 'recording integrity check failed');
      this.realtime.toSupervisors('alert', {
        v: 1,
        kind: 'recording_integrity',
        sessionId: rec.attempt.sessionId,
        message: result === 'missing' ? 'A stored recording is missing from the object store' : 'A stored recording no longer matches the hash taken when it was verified',
      });
    }
    return { recordingId, result, expectedSha256, actualSha256: actual?.sha256 ?? null, actualBytes: actual?.bytes ?? null, checkedAt };
  }

  /**
   * Re-checks `n` stored recordings, drawn at random from the 4n least recently checked: every
   * recording comes round in time, and which of them are checked next cannot be told in advance.
   * Sequential, because each check streams a whole object. A check that throws does not stop the
   * others; the failures are thrown together at the end so the job shows as failed.
   */
  async sample(n: number, random: () => number = Math.random): Promise<IntegrityResult[]> {
    if (n <= 0) return [];
    const seed = random().toString();
    // Ties (above all the never-checked) are broken by a seeded shuffle, not by id order.
    const pool = await leastRecentlyChecked(sqlAutocommit(this.db), n * 4, seed);
    const picked = pickRandom(pool, n, random);

    const results: IntegrityResult[] = [];
    const errors: unknown[] = [];
    for (const id of picked) {
      try {
        results.push(await this.recheck(id));
      } catch (error) {
        this.log.warn({ recordingId: id, err: error }, 'integrity check could not read the recording');
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, `${errors.length} of ${picked.length} integrity checks could not run`);
    return results;
  }
}

/** A partial Fisher–Yates shuffle: `n` distinct items, each subset equally likely. */
function pickRandom<T>(items: T[], n: number, random: () => number): T[] {
  const pool = [...items];
  const count = Math.min(n, pool.length);
  for (let i = 0; i < count; i += 1) {
    const j = i + Math.floor(random() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j] as T, pool[i] as T];
  }
  return pool.slice(0, count);
}
