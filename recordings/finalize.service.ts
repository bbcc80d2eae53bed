// Finalize: turns an UPLOADED recording into evidence. What LiveKit reported is only a claim, so
// facesign measures what the store actually holds (size, then a streaming SHA-256) and either
// verifies the recording or fails it, which sends the session back for a recapture.
//
// Effectively-once, like every transition here: the write is conditional on state and version, and
// the audit events commit with it, so duplicate jobs or a sweep racing the job change nothing twice.
// An unreachable store is not a verdict: finalize throws and BullMQ retries with backoff, while the
// recording stays UPLOADED in Postgres (and sweep() finds it again if the job itself was lost).
import type { Db, Tx } from '../server/db/client.js';
import type { Recording } from '../server/db/generated/prisma/client.js';
import { appendAudit } from '../server/audit/audit.service.js';
import { requireRecapture } from '../server/verification/verification.repository.js';
import { countFinalizeAttempt, writeFinalizeVerdict } from './recording.repository.js';
import type { Logger } from '../server/logging.js';
import type { RealtimeEmitter } from '../server/realtime/events.js';
import { sha256OfStream } from './hash.js';
import type { RecordingStore } from './object-store.js';

export type FinalizeResult =
  | { outcome: 'verified'; recording: Recording }
  | { outcome: 'failed'; recording: Recording; reason: string }
  /** Not UPLOADED (not yet, already finalized, or no such recording): nothing was done. */
  | { outcome: 'skipped'; recording: Recording | null };

/** The one job id for a recording's finalize, so the owner's enqueue and the sweep's coincide. */
export function finalizeJobId(recordingId: string): string {
  return `recording-finalize-${recordingId}`;
}

type Verdict = { kind: 'verified'; sha256: string; sizeBytes: bigint; contentType: string | null } | { kind: 'failed'; reason: string };

const ACTOR = { type: 'SYSTEM', id: 'recording-finalize' } as const;

export interface RecordingFinalizerOptions {
  db: Db;
  store: RecordingStore;
  realtime: RealtimeEmitter;
  log: Logger;
}

export class RecordingFinalizer {
  private readonly db: Db;
  private readonly store: RecordingStore;
  private readonly realtime: RealtimeEmitter;
  private readonly log: Logger;

  constructor(options: RecordingFinalizerOptions) {
    this.db = options.db;
    this.store = options.store;
    this.realtime = options.realtime;
    this.log = options.log;
  }

  /** Throws when the store cannot be read (retry later); every other outcome is a result. */
  async finalize(recordingId: string): Promise<FinalizeResult> {
    const rec = await this.db.recording.findUnique({ where: { id: recordingId } });
    if (rec?.state !== 'UPLOADED') return { outcome: 'skipped', recording: rec };
    // Counted before the store is touched, so tries that crash the worker mid-hash count too. Not a
    // state change: the version stays, and a concurrent finalizer is not made to lose by it.
    await countFinalizeAttempt(this.db, rec.id);

    let verdict: Verdict;
    try {
      verdict = await this.inspect(rec);
    } catch (error) {
      this.log.warn({ recordingId: rec.id, attempt: rec.finalizeAttempts + 1, err: error }, 'could not read the recording from the store; finalize will be retried');
      throw error;
    }

    const applied = await this.db.$transaction((tx) => this.apply(tx, rec, verdict));
    if (!applied) {
      // Someone else finalized it between our read and our write: report what they left.
      return { outcome: 'skipped', recording: await this.db.recording.findUnique({ where: { id: rec.id } }) };
    }
    if (verdict.kind === 'verified') return { outcome: 'verified', recording: applied.recording };
    this.realtime.toSupervisors('alert', {
      v: 1,
      kind: 'recording_failed',
      sessionId: applied.sessionId,
      message: `Recording of attempt ${applied.attemptNumber} failed verification (${verdict.reason}); the session needs a recapture`,
    });
    return { outcome: 'failed', recording: applied.recording, reason: verdict.reason };
  }

  /**
   * UPLOADED recordings untouched for `olderThanMs` (their finalize job may have been lost with
   * Redis). Returns ids rather than enqueueing, so the finalizer needs no queue: the caller enqueues
   * `recording-finalize` with finalizeJobId(id), which BullMQ ignores while that job still exists
   * (waiting, retrying or running a long hash), so a sweep never starts a second hash.
   */
  async sweep(now = new Date(), olderThanMs = 60_000, limit = 500): Promise<string[]> {
    const stale = await this.db.recording.findMany({
      where: { state: 'UPLOADED', updatedAt: { lt: new Date(now.getTime() - olderThanMs) } },
      select: { id: true },
      orderBy: { updatedAt: 'asc' },
      take: limit,
    });
    return stale.map((r) => r.id);
  }

  private async inspect(rec: Recording): Promise<Verdict> {
    const head = await this.store.head(rec.objectKey);
    if (!head) return { kind: 'failed', reason: 'object_missing' };
    // Without a reported size (egress gave no file info) there is no claim to contradict.
    if (rec.reportedSize !== null && head.size !== rec.reportedSize) {
      return { kind: 'failed', reason: `size_mismatch: stored ${head.size}, reported ${rec.reportedSize}` };
    }
    const { body } = await this.store.read(rec.objectKey);
    const digest = await sha256OfStream(body);
    // The object changed between HEAD and GET, or the body ended early without an error: what was
    // hashed is not what was sized, so take no verdict and look again on the retry.
    if (digest.bytes !== head.size) throw new Error(`recording ${rec.id}: read ${digest.bytes} bytes of a ${head.size}-byte object`);
    return { kind: 'verified', sha256: digest.sha256, sizeBytes: head.size, contentType: head.contentType?.slice(0, 100) ?? null };
  }

  private async apply(tx: Tx, rec: Recording, verdict: Verdict) {
    const to = verdict.kind === 'verified' ? 'VERIFIED' : 'FAILED';
    if (!(await writeFinalizeVerdict(tx, rec, verdict.kind === 'verified' ? { ...verdict, at: new Date() } : verdict))) return undefined;
    const attempt = await tx.attempt.findUniqueOrThrow({ where: { id: rec.attemptId }, select: { sessionId: true, number: true } });
    const reason = verdict.kind === 'failed' ? { reason: verdict.reason } : {};
    await appendAudit(tx, {
      actor: ACTOR,
      entity: { type: 'recording', id: rec.id },
      event: { action: 'recording.state_changed', v: 1, data: { attemptId: rec.attemptId, egressId: rec.egressId, from: rec.state, to, source: 'facesign', ...reason } },
    });
    if (verdict.kind === 'verified') {
      await appendAudit(tx, {
        actor: ACTOR,
        entity: { type: 'recording', id: rec.id },
        event: { action: 'recording.verified', v: 1, data: { sha256: verdict.sha256, sizeBytes: verdict.sizeBytes.toString(), contentType: verdict.contentType, retainUntil: null } },
      });
    } else {
      // A failed recording is no evidence: the session must be recorded again. A flag, not a session
      // state change, so the session's version stays and its own transitions are not disturbed.
      await requireRecapture(tx, attempt.sessionId);
    }
    return { recording: await tx.recording.findUniqueOrThrow({ where: { id: rec.id } }), sessionId: attempt.sessionId, attemptNumber: attempt.number };
  }
}
