// Retention of verified recordings: the retain-until date, legal holds, and deletion once both allow
// it. facesign refuses early deletion itself, always; when the bucket has S3 Object Lock the store
// enforces the same date (and holds) as well, so even a leaked S3 credential cannot destroy evidence.
import type { Db, Tx } from '../server/db/client.js';
import type { Recording } from '../server/db/generated/prisma/client.js';
import type { Logger } from '../server/logging.js';
import { AppError } from '../server/shared/errors.js';
import { appendAudit } from '../server/audit/audit.service.js';
import type { AuditActor } from '../server/audit/audit.actions.js';
import type { RecordingStore } from './object-store.js';
import { changeRetention, lockForDeletion, markDeleted, markRetained, writeHold } from './recording.repository.js';
import {
  decideEnforcement,
  deletionRefusal,
  lockModeOf,
  mirrorsLegalHold,
  planRecompute,
  planRetention,
  retainUntil,
  retentionDate,
  type Enforcement,
  type ObjectLockMode,
  type RetentionEnforcer,
  type RetentionRules,
  type StoreAction,
} from './retention.js';

export interface RetentionSettings {
  rules: RetentionRules;
  objectLockMode: ObjectLockMode | 'off';
  /** Recordings one sweep deletes at most; the next sweep takes the rest. */
  sweepBatchSize?: number;
}

/**
 * Told after a recording's retention date or legal hold changed, so that what follows the recording
 * (the contract its session binds: ContractRetention) follows it. A failure is logged, never the
 * recording's: the retention sweep catches the follower up.
 */
export interface RetentionFollower {
  followRecording(recordingId: string): Promise<void>;
}

/** What retention needs from the object store (RecordingStore in production). */
export type RetentionObjectStore = Pick<RecordingStore, 'objectLockSupported' | 'getRetention' | 'applyRetention' | 'setLegalHold' | 'delete'>;

export type RetainResult =
  | { kind: 'retained'; retainUntil: Date; enforcedBy: RetentionEnforcer; lockMode: ObjectLockMode | null }
  | { kind: 'already-retained'; state: 'RETAINED' | 'DELETED'; retainUntil: Date | null }
  | { kind: 'not-verified'; state: Recording['state'] };

export interface SweepCounts {
  /** Due and not held when the sweep looked. */
  due: number;
  deleted: number;
  /** Taken by another sweeper, deleted meanwhile, or put on hold meanwhile. */
  skipped: number;
  /** The store refused or failed; retried by the next sweep. */
  failed: number;
}

export interface RecordingRetention {
  recordingId: string;
  state: Recording['state'];
  retainUntil: Date | null;
  legalHold: boolean;
  legalHoldReason: string | null;
  objectLockMode: string | null;
  /** Null until retention has been applied. */
  enforcedBy: RetentionEnforcer | null;
  deletedAt: Date | null;
}

type DeleteOutcome = 'deleted' | 'already-deleted' | 'locked-elsewhere' | 'not-deletable';

const dateOnly = (d: Date | null): string | null => (d ? d.toISOString().slice(0, 10) : null);

const RETENTION_ACTOR: AuditActor = { type: 'SYSTEM', id: 'facesign-retention' };
const SWEEP_ACTOR: AuditActor = { type: 'SYSTEM', id: 'retention-sweep' };
const MAX_ROUNDS = 5;

export function toRecordingRetention(rec: Recording): RecordingRetention {
  return {
    recordingId: rec.id,
    state: rec.state,
    retainUntil: rec.retainUntil,
    legalHold: rec.legalHold,
    legalHoldReason: rec.legalHoldReason,
    objectLockMode: rec.objectLockMode,
    enforcedBy: rec.objectLockMode !== null ? 'object_lock' : rec.retainUntil !== null ? 'facesign' : null,
    deletedAt: rec.deletedAt,
  };
}

/**
 * Who enforces retention in this bucket, asked of the store once and cached. A store that could not
 * be reached is not an answer: the next call asks again. Object Lock asked for and absent is logged
 * once per detection, never a silent fallback.
 */
export class EnforcementProbe {
  private cached: Promise<Enforcement> | undefined;

  constructor(
    private readonly store: Pick<RetentionObjectStore, 'objectLockSupported'>,
    private readonly mode: ObjectLockMode | 'off',
    private readonly onFacesignOnly: () => void,
  ) {}

  current(): Promise<Enforcement> {
    if (!this.cached) {
      const detection = this.detect();
      this.cached = detection;
      detection.catch(() => {
        if (this.cached === detection) this.cached = undefined;
      });
    }
    return this.cached;
  }

  /** Asks the store again on the next call, e.g. after Object Lock was enabled on the bucket. */
  forget(): void {
    this.cached = undefined;
  }

  private async detect(): Promise<Enforcement> {
    if (this.mode === 'off') return decideEnforcement(false, 'off');
    const enforcement = decideEnforcement(await this.store.objectLockSupported(), this.mode);
    if (enforcement.enforcedBy === 'facesign') this.onFacesignOnly();
    return enforcement;
  }
}

export class RetentionService {
  private readonly enforcement: EnforcementProbe;

  private readonly db: Db;
  private readonly store: RetentionObjectStore;
  private readonly settings: RetentionSettings;
  private readonly log: Logger;
  private readonly follower: RetentionFollower | undefined;

  constructor({ db, store, settings, log, follower }: { db: Db; store: RetentionObjectStore; settings: RetentionSettings; log: Logger; follower?: RetentionFollower }) {
    this.db = db;
    this.store = store;
    this.settings = settings;
    this.log = log;
    this.follower = follower;
    this.enforcement = new EnforcementProbe(store, settings.objectLockMode, () =>
      // Not a silent fallback: the operator asked for Object Lock and should know it is not there.
      log.warn({ configured: settings.objectLockMode }, 'the bucket has no S3 Object Lock: facesign alone enforces recording retention'),
    );
  }

  private async follow(recordingId: string): Promise<void> {
    if (!this.follower) return;
    try {
      await this.follower.followRecording(recordingId);
    } catch (err) {
      this.log.warn({ recordingId, err }, 'could not bring the retention of what follows the recording up to date; the retention sweep retries');
    }
  }

  /** Who enforces retention here. Asked of the store once, then cached (see refreshEnforcement). */
  async detectEnforcement(): Promise<RetentionEnforcer> {
    return (await this.enforcement.current()).enforcedBy;
  }

  /** Asks the store again, e.g. after Object Lock was enabled on the bucket. */
  async refreshEnforcement(): Promise<RetentionEnforcer> {
    this.enforcement.forget();
    return this.detectEnforcement();
  }

  /** For /readyz: who enforces retention, and the Object Lock mode when the store does. */
  async retentionStatus(): Promise<{ enforcedBy: RetentionEnforcer; mode: string | null }> {
    const { enforcedBy, mode } = await this.enforcement.current();
    return { enforcedBy, mode };
  }

  /**
   * Moves a VERIFIED recording to RETAINED with its retain-until date, applying Object Lock first
   * when the store enforces it. Idempotent: a retained or deleted recording is left as it is.
   */
  async retain(recordingId: string, now: Date = new Date()): Promise<RetainResult> {
    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      const rec = await this.db.recording.findUnique({
        where: { id: recordingId },
        include: { attempt: { select: { session: { select: { loanFile: { select: { id: true, maturityDate: true } } } } } } },
      });
      if (!rec) throw new AppError('NOT_FOUND', `No recording ${recordingId}`);
      if (rec.state === 'RETAINED' || rec.state === 'DELETED') return { kind: 'already-retained', state: rec.state, retainUntil: rec.retainUntil };
      if (rec.state !== 'VERIFIED') return { kind: 'not-verified', state: rec.state };
      if (!rec.verifiedAt) throw new Error(`recording ${rec.id} is VERIFIED without verifiedAt`);

      const loanFile = rec.attempt.session.loanFile;
      const byRule = retainUntil({ verifiedAt: rec.verifiedAt, maturityDate: loanFile.maturityDate, rules: this.settings.rules });
      const enforcement = await this.enforcement.current();
      const storeLock = enforcement.enforcedBy === 'object_lock' ? await this.store.getRetention(rec.objectKey) : undefined;
      const until = retentionDate(byRule, storeLock?.until);
      const plan = planRetention({ enforcement, retainUntil: until, legalHold: rec.legalHold, now });
      // The store before the row: a row saying "locked" over an object that is not would be a lie
      // nobody rechecks. A retry after a crash re-applies the same (or the store's later) date, which
      // Object Lock accepts.
      await this.applyToStore(rec.objectKey, plan.actions);
      const enforcedBy: RetentionEnforcer = plan.lockMode ? 'object_lock' : 'facesign';

      const won = await this.db.$transaction(async (tx) => {
        // Only while the maturity this date was computed from is still the loan file's (see markRetained).
        if (!(await markRetained(tx, rec, { loanFileId: loanFile.id, maturity: dateOnly(loanFile.maturityDate) }, { until, lockMode: plan.lockMode }))) return false;
        await this.auditStateChange(tx, rec, 'VERIFIED', 'RETAINED', RETENTION_ACTOR);
        await appendAudit(tx, {
          actor: RETENTION_ACTOR,
          entity: { type: 'recording', id: rec.id },
          event: { action: 'recording.retention_applied', v: 1, data: { retainUntil: until.toISOString(), enforcedBy, lockMode: plan.lockMode } },
        });
        return true;
      });
      if (won) {
        await this.follow(rec.id);
        return { kind: 'retained', retainUntil: until, enforcedBy, lockMode: plan.lockMode };
      }
      // Someone else changed the row (a hold, or another retain): look again.
    }
    throw new AppError('RECORDING_STATE_CONFLICT', `Recording ${recordingId} kept changing while retention was applied; try again`);
  }

  /**
   * Places or releases a legal hold, audited. The row changes first, so facesign refuses deletion
   * from that moment; the store is told afterwards and told again on every call, so a failed
   * mirror is repaired by retrying the same request.
   */
  async setLegalHold(recordingId: string, hold: boolean, reason: string, actor: AuditActor, requestId: string | undefined): Promise<RecordingRetention> {
    const rec = await this.writeLegalHold(recordingId, hold, reason, actor, requestId);
    const enforcement = await this.enforcement.current();
    let mirrored = rec;
    for (let round = 0; mirrorsLegalHold(mirrored, enforcement); round += 1) {
      if (round === MAX_ROUNDS) {
        this.log.warn({ recordingId }, 'legal hold kept changing while it was mirrored to the object store');
        break;
      }
      await this.store.setLegalHold(mirrored.objectKey, mirrored.legalHold);
      // Two concurrent changes may reach the store in the other order than the rows: whoever sees
      // the row differ from what it just sent sends the row's value, so the store ends as the row.
      const current = await this.db.recording.findUniqueOrThrow({ where: { id: recordingId } });
      const settled = current.legalHold === mirrored.legalHold;
      mirrored = current;
      if (settled) break;
    }
    await this.follow(recordingId);
    return toRecordingRetention(mirrored);
  }

  /**
   * Retains VERIFIED recordings that retain() never reached (its job was lost with Redis, or the
   * store was down): Postgres is the record, so the periodic sweep catches them up. Recordings
   * verified in the last `olderThanMs` are left to the call that follows verification.
   */
  async retainPending(now: Date = new Date(), olderThanMs = 60_000, limit = 500): Promise<{ retained: number; failed: number }> {
    const pending = await this.db.recording.findMany({
      where: { state: 'VERIFIED', verifiedAt: { lte: new Date(now.getTime() - olderThanMs) } },
      orderBy: { verifiedAt: 'asc' },
      take: limit,
      select: { id: true },
    });
    const counts = { retained: 0, failed: 0 };
    for (const { id } of pending) {
      try {
        if ((await this.retain(id, now)).kind === 'retained') counts.retained += 1;
      } catch (err) {
        counts.failed += 1;
        this.log.warn({ recordingId: id, err }, 'could not apply retention to a verified recording; the next sweep retries');
      }
    }
    return counts;
  }

  /** Throws RETENTION_ACTIVE naming the retain-until date or the hold, whatever the store would allow. */
  assertDeletable(recording: Pick<Recording, 'state' | 'retainUntil' | 'legalHold'>, now: Date): void {
    const refusal = deletionRefusal(recording, now);
    if (refusal) throw new AppError('RETENTION_ACTIVE', refusal);
  }

  /** Deletes one recording on request (an admin), only when retention allows. Repeating it is harmless. */
  async delete(recordingId: string, actor: AuditActor, requestId: string | undefined, now: Date = new Date()): Promise<'deleted' | 'already-deleted'> {
    const outcome = await this.deleteUnderLock(recordingId, now, actor, requestId, 'wait');
    if (outcome === 'deleted' || outcome === 'already-deleted') return outcome;
    throw new Error(`unexpected delete outcome ${outcome}`);
  }

  /** Deletes recordings whose retention is over and that are not on hold (the retention-sweep job). */
  async sweep(now: Date = new Date()): Promise<SweepCounts> {
    const due = await this.db.recording.findMany({
      where: { state: 'RETAINED', legalHold: false, retainUntil: { lte: now } },
      orderBy: { retainUntil: 'asc' },
      take: this.settings.sweepBatchSize ?? 500,
      select: { id: true },
    });
    const counts: SweepCounts = { due: due.length, deleted: 0, skipped: 0, failed: 0 };
    for (const { id } of due) {
      try {
        const outcome = await this.deleteUnderLock(id, now, SWEEP_ACTOR, undefined, 'skip');
        if (outcome === 'deleted') counts.deleted += 1;
        else counts.skipped += 1;
      } catch (err) {
        counts.failed += 1;
        this.log.warn({ recordingId: id, err }, 'retention sweep could not delete a recording; the next sweep retries');
      }
    }
    if (counts.due > 0) this.log.info({ ...counts }, 'retention sweep done');
    return counts;
  }

  /**
   * After a loan file's maturity date changed: moves each retained recording's date to what the
   * rule now says (see planRecompute), extending Object Lock first where the date moved later.
   * Idempotent; the retention-recompute job retries it while the store is unreachable.
   */
  async recomputeForLoanFile(loanFileId: string, now: Date = new Date()): Promise<{ changed: number; unchanged: number }> {
    const recordings = await this.db.recording.findMany({
      where: { state: 'RETAINED', attempt: { session: { loanFileId } } },
      orderBy: { createdAt: 'asc' },
      select: { id: true },
    });
    const counts = { changed: 0, unchanged: 0 };
    for (const { id } of recordings) {
      if (await this.recomputeOne(id, now)) counts.changed += 1;
      else counts.unchanged += 1;
    }
    return counts;
  }

  /**
   * Catches up recomputations whose job was lost (Redis down when the maturity changed): every
   * retained recording of a loan file changed in the last `windowMs` is recomputed, which changes
   * nothing where the date is already right. The sweep runs hourly; the window covers two runs.
   */
  async recomputeRecentlyChanged(now: Date = new Date(), windowMs = 2 * 3_600_000): Promise<{ changed: number; failed: number }> {
    const loanFiles = await this.db.loanFile.findMany({
      where: { updatedAt: { gte: new Date(now.getTime() - windowMs) }, sessions: { some: { attempts: { some: { recording: { state: 'RETAINED' } } } } } },
      select: { id: true },
      take: 1000,
    });
    const counts = { changed: 0, failed: 0 };
    for (const { id } of loanFiles) {
      try {
        counts.changed += (await this.recomputeForLoanFile(id, now)).changed;
      } catch (err) {
        counts.failed += 1;
        this.log.warn({ loanFileId: id, err }, 'could not recompute retention; the next sweep retries');
      }
    }
    return counts;
  }

  private async recomputeOne(recordingId: string, now: Date): Promise<boolean> {
    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      const rec = await this.db.recording.findUnique({
        where: { id: recordingId },
        include: { attempt: { select: { session: { select: { loanFile: { select: { maturityDate: true } } } } } } },
      });
      if (!rec || rec.state !== 'RETAINED' || !rec.verifiedAt || !rec.retainUntil) return false;
      const maturityDate = rec.attempt.session.loanFile.maturityDate;
      const rule = retainUntil({ verifiedAt: rec.verifiedAt, maturityDate, rules: this.settings.rules });
      const plan = planRecompute({ current: rec.retainUntil, rule, lockMode: lockModeOf(rec.objectLockMode), enforcement: await this.enforcement.current(), now });
      if (plan.to.getTime() === rec.retainUntil.getTime() && plan.lockMode === rec.objectLockMode) return false;
      // The store first, as in retain(): the row never says more than the store enforces.
      if (plan.extendLock) await this.store.applyRetention(rec.objectKey, plan.extendLock.until, plan.extendLock.mode);
      const from = rec.retainUntil;
      const won = await this.db.$transaction(async (tx) => {
        if (!(await changeRetention(tx, rec, { until: plan.to, lockMode: plan.lockMode }))) return false;
        await appendAudit(tx, {
          actor: RETENTION_ACTOR,
          entity: { type: 'recording', id: rec.id },
          event: {
            action: 'recording.retention_changed',
            v: 1,
            data: {
              from: from.toISOString(),
              to: plan.to.toISOString(),
              maturityDate: dateOnly(maturityDate),
              enforcedBy: plan.lockMode ? 'object_lock' : 'facesign',
              lockMode: plan.lockMode,
              lockExtended: plan.extendLock !== null,
            },
          },
        });
        return true;
      });
      if (won) {
        await this.follow(rec.id);
        return true;
      }
    }
    throw new AppError('RECORDING_STATE_CONFLICT', `Recording ${recordingId} kept changing while its retention was recomputed; try again`);
  }

  async view(recordingId: string): Promise<RecordingRetention> {
    const rec = await this.db.recording.findUnique({ where: { id: recordingId } });
    if (!rec) throw new AppError('NOT_FOUND', `No recording ${recordingId}`);
    return toRecordingRetention(rec);
  }

  private async applyToStore(objectKey: string, actions: StoreAction[]): Promise<void> {
    for (const action of actions) {
      if (action.kind === 'retention') await this.store.applyRetention(objectKey, action.until, action.mode);
      else await this.store.setLegalHold(objectKey, action.on);
    }
  }

  private async writeLegalHold(recordingId: string, hold: boolean, reason: string, actor: AuditActor, requestId: string | undefined): Promise<Recording> {
    const nextReason = hold ? reason : null;
    for (let round = 0; round < MAX_ROUNDS; round += 1) {
      const rec = await this.db.recording.findUnique({ where: { id: recordingId } });
      if (!rec) throw new AppError('NOT_FOUND', `No recording ${recordingId}`);
      if (rec.state === 'DELETED') {
        throw new AppError('RECORDING_STATE_CONFLICT', `Recording ${recordingId} was deleted${rec.deletedAt ? ` at ${rec.deletedAt.toISOString()}` : ''}; there is nothing left to hold`);
      }
      if (rec.legalHold === hold && rec.legalHoldReason === nextReason) return rec;
      const updated = await this.db.$transaction(async (tx) => {
        if (!(await writeHold(tx, rec, { on: hold, reason: nextReason }))) return undefined;
        await appendAudit(tx, {
          actor,
          requestId,
          entity: { type: 'recording', id: rec.id },
          event: { action: 'recording.legal_hold_changed', v: 1, data: { legalHold: hold, reason } },
        });
        return tx.recording.findUniqueOrThrow({ where: { id: rec.id } });
      });
      if (updated) return updated;
    }
    throw new AppError('RECORDING_STATE_CONFLICT', `Recording ${recordingId} kept changing; try again`);
  }

  /**
   * Deletes the object and marks the row DELETED while holding the row's lock. Holding it across
   * the store call is the point: a hold placed meanwhile waits and then finds the recording gone,
   * instead of landing between our check and the delete; a second sweeper skips the row ('skip')
   * instead of deleting and auditing it twice. If the commit fails after the object is gone, the
   * row is still RETAINED and the next sweep deletes again, which S3 treats as success.
   */
  private async deleteUnderLock(
    recordingId: string,
    now: Date,
    actor: AuditActor,
    requestId: string | undefined,
    lock: 'wait' | 'skip',
  ): Promise<DeleteOutcome> {
    return this.db.$transaction(
      async (tx) => {
        if (!(await lockForDeletion(tx, recordingId, lock))) {
          if (lock === 'skip') return 'locked-elsewhere';
          throw new AppError('NOT_FOUND', `No recording ${recordingId}`);
        }
        const rec = await tx.recording.findUniqueOrThrow({ where: { id: recordingId } });
        if (rec.state === 'DELETED') return 'already-deleted';
        // Checked again under the lock: a hold or a later date may have landed since the caller looked.
        const refusal = deletionRefusal(rec, now);
        if (refusal !== null || rec.retainUntil === null) {
          if (lock === 'skip') return 'not-deletable';
          throw new AppError('RETENTION_ACTIVE', refusal ?? 'Retention has not been applied to this recording');
        }
        // The loan's maturity may have moved later since the date was set (its recomputation may not
        // have run yet), or the row predates the floor after verification: the rule as it stands now
        // must allow deletion too.
        const stillDue = await this.ruleAllowsDeletion(tx, rec, now);
        if (stillDue !== null) {
          if (lock === 'skip') return 'not-deletable';
          throw new AppError('RETENTION_ACTIVE', `Under the retention rule as it stands now (the loan's maturity date as changed, or the minimum after verification) the recording is retained until ${stillDue.toISOString()}; it cannot be deleted before then`);
        }
        const retainedUntil = rec.retainUntil;
        await this.store.delete(rec.objectKey);
        if (!(await markDeleted(tx, rec, now))) throw new Error(`recording ${rec.id} changed while locked for deletion`);
        await this.auditStateChange(tx, rec, 'RETAINED', 'DELETED', actor, requestId);
        await appendAudit(tx, {
          actor,
          requestId,
          entity: { type: 'recording', id: rec.id },
          event: { action: 'recording.deleted', v: 1, data: { objectKey: rec.objectKey, retainUntil: retainedUntil.toISOString() } },
        });
        return 'deleted';
      },
      // The store call runs inside the transaction, so give it longer than Prisma's 5 s default.
      { maxWait: 10_000, timeout: 60_000 },
    );
  }

  /** Null when the retention rule, applied to the loan file as it is now, lets the recording go at `now`; else the date it says. */
  private async ruleAllowsDeletion(tx: Tx, rec: Recording, now: Date): Promise<Date | null> {
    if (!rec.verifiedAt) return null;
    const attempt = await tx.attempt.findUniqueOrThrow({ where: { id: rec.attemptId }, select: { session: { select: { loanFile: { select: { maturityDate: true } } } } } });
    const rule = retainUntil({ verifiedAt: rec.verifiedAt, maturityDate: attempt.session.loanFile.maturityDate, rules: this.settings.rules });
    return rule.getTime() > now.getTime() ? rule : null;
  }

  private async auditStateChange(
    tx: Tx,
    rec: Pick<Recording, 'id' | 'attemptId' | 'egressId'>,
    from: Recording['state'],
    to: Recording['state'],
    actor: AuditActor,
    requestId?: string,
  ): Promise<void> {
    await appendAudit(tx, {
      actor,
      requestId,
      entity: { type: 'recording', id: rec.id },
      event: { action: 'recording.state_changed', v: 1, data: { attemptId: rec.attemptId, egressId: rec.egressId, from, to, source: 'facesign' } },
    });
  }
}
