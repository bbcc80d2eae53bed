// Retention of stored contract documents. A contract the borrower signs on camera is evidence beside
// the recording, so it is kept as one: from the moment it is stored under the same rule (counted from
// then, with the loan's maturity), never less long than any recording of a session that binds it, on
// legal hold while one of those recordings is, and under S3 Object Lock where the bucket has it (the
// same mode; facesign alone enforces where it has none, exactly as for recordings). The retention
// sweep deletes a contract's object only when its date has passed and no session still needs it: no
// binding session is open, and every recording of a binding session is gone.
import { sqlAutocommit, type Db, type Tx } from '../server/db/client.js';
import { build, rows } from '../server/db/typed-sql.js';
import type { ContractDocument } from '../server/db/generated/prisma/client.js';
import type { Logger } from '../server/logging.js';
import { appendAudit } from '../server/audit/audit.service.js';
import type { AuditActor } from '../server/audit/audit.actions.js';
import { retainUntil, retentionDate, type ObjectLockMode, type RetentionRules } from './retention.js';
import { EnforcementProbe, type RetentionObjectStore } from './retention.service.js';
import { followContractRetention, lockContractObject, markContractDeleted } from '../server/loan-files/loan-files.repository.js';

const RETENTION_ACTOR: AuditActor = { type: 'SYSTEM', id: 'facesign-retention' };
const SWEEP_ACTOR: AuditActor = { type: 'SYSTEM', id: 'retention-sweep' };
/** Session states after which a session never shows its contract again. */
const CLOSED_SESSION_STATES = ['COMPLETED', 'EXHAUSTED', 'CANCELLED', 'EXPIRED'] as const;

export interface ContractRetentionSettings {
  rules: RetentionRules;
  objectLockMode: ObjectLockMode | 'off';
  /** Contracts one sweep deletes (or catches up) at most; the next sweep takes the rest. */
  sweepBatchSize?: number;
}

/** What a contract's object is kept under, decided before its row is written. */
export interface ContractLock {
  retainUntil: Date;
  lockMode: ObjectLockMode | null;
}

/** What the sessions binding a contract ask of it: the latest retain-until among their recordings, and whether one is held. */
export interface BindingNeeds {
  recordingsRetainUntil: Date | null;
  legalHold: boolean;
}

/**
 * The date and hold a contract must have: its own rule's date (from when it was stored), extended to
 * the latest date of a recording that binds it, never earlier than what the store already enforces.
 */
export function contractRetention(input: { rule: Date; needs: BindingNeeds; current: Date | null }): { retainUntil: Date; legalHold: boolean } {
  let until = input.rule;
  if (input.needs.recordingsRetainUntil && input.needs.recordingsRetainUntil.getTime() > until.getTime()) until = input.needs.recordingsRetainUntil;
  if (input.current && input.current.getTime() > until.getTime()) until = input.current;
  return { retainUntil: until, legalHold: input.needs.legalHold };
}

export class ContractRetention {
  private readonly enforcement: EnforcementProbe;

  private readonly db: Db;
  private readonly store: RetentionObjectStore;
  private readonly settings: ContractRetentionSettings;
  private readonly log: Logger;

  constructor({ db, store, settings, log }: { db: Db; store: RetentionObjectStore; settings: ContractRetentionSettings; log: Logger }) {
    this.db = db;
    this.store = store;
    this.settings = settings;
    this.log = log;
    // The recordings' retention service warns about a bucket without Object Lock; once is enough.
    this.enforcement = new EnforcementProbe(store, settings.objectLockMode, () => {});
  }

  /**
   * Locks a contract's object that was just written (before its row is: the row never says more
   * than the store enforces). The date is the rule's from `now`, or the store's own later lock when
   * the object was stored before (the same document again keeps the longest date).
   */
  async lockStored(loanFileId: string, objectKey: string, now: Date = new Date()): Promise<ContractLock> {
    const loanFile = await this.db.loanFile.findUniqueOrThrow({ where: { id: loanFileId }, select: { maturityDate: true } });
    const rule = retainUntil({ verifiedAt: now, maturityDate: loanFile.maturityDate, rules: this.settings.rules });
    const enforcement = await this.enforcement.current();
    if (enforcement.enforcedBy === 'facesign') return { retainUntil: rule, lockMode: null };
    const storeLock = await this.store.getRetention(objectKey);
    const until = retentionDate(rule, storeLock?.until);
    if (until.getTime() <= now.getTime()) return { retainUntil: until, lockMode: null };
    await this.store.applyRetention(objectKey, until, storeLock?.mode ?? enforcement.mode);
    return { retainUntil: until, lockMode: storeLock?.mode ?? enforcement.mode };
  }

  /**
   * Brings every stored contract of the loan file up to what its binding sessions' recordings ask:
   * a later date (the store's lock extended first) and the legal hold. Idempotent; called after a
   * recording's retention, date or hold changed, and by the sweep for whatever those calls missed.
   */
  async followLoanFile(loanFileId: string): Promise<number> {
    const documents = await this.db.contractDocument.findMany({ where: { loanFileId, deletedAt: null }, orderBy: { createdAt: 'asc' } });
    let changed = 0;
    for (const document of documents) if (await this.followOne(document)) changed += 1;
    return changed;
  }

  /** followLoanFile for the loan file of a recording's session. */
  async followRecording(recordingId: string): Promise<void> {
    const rec = await this.db.recording.findUnique({ where: { id: recordingId }, select: { attempt: { select: { session: { select: { loanFileId: true, contractDocumentHash: true } } } } } });
    const session = rec?.attempt.session;
    if (!session?.contractDocumentHash) return;
    await this.followLoanFile(session.loanFileId);
  }

  /**
   * The retention-sweep pass for contracts: catches up contracts whose date or hold lags behind a
   * binding recording (a follow call that failed), then deletes the objects that are due.
   */
  async sweep(now: Date = new Date()): Promise<{ followed: number; deleted: number; failed: number }> {
    const limit = this.settings.sweepBatchSize ?? 500;
    const counts = { followed: 0, deleted: 0, failed: 0 };
    // Contracts whose date or hold is behind a live recording of a session that presented them, and
    // held contracts that no such recording holds any more.
    const lagging = await rows(
      sqlAutocommit(this.db),
      build
        .selectFrom('ContractDocument as c')
        .innerJoin('VerificationSession as s', (join) => join.onRef('s.loanFileId', '=', 'c.loanFileId').onRef('s.contractDocumentHash', '=', 'c.sha256'))
        .innerJoin('Attempt as a', 'a.sessionId', 's.id')
        .innerJoin('Recording as r', 'r.attemptId', 'a.id')
        .select('c.loanFileId')
        .distinct()
        .where('c.deletedAt', 'is', null)
        .where('r.state', 'not in', ['DELETED', 'FAILED'])
        .where((eb) =>
          eb.or([
            eb.and([eb('r.retainUntil', 'is not', null), eb.or([eb('c.retainUntil', 'is', null), eb('r.retainUntil', '>', eb.ref('c.retainUntil'))])]),
            eb.and([eb.ref('r.legalHold'), eb.not(eb.ref('c.legalHold'))]),
          ]),
        )
        .union(
          build
            .selectFrom('ContractDocument as c')
            .select('c.loanFileId')
            .distinct()
            .where('c.deletedAt', 'is', null)
            .where((eb) => eb.ref('c.legalHold'))
            .where((eb) =>
              eb.not(
                eb.exists(
                  eb
                    .selectFrom('VerificationSession as s')
                    .innerJoin('Attempt as a', 'a.sessionId', 's.id')
                    .innerJoin('Recording as r', 'r.attemptId', 'a.id')
                    .select(eb.lit(1).as('one'))
                    .whereRef('s.loanFileId', '=', 'c.loanFileId')
                    .whereRef('s.contractDocumentHash', '=', 'c.sha256')
                    .where((eb) => eb.ref('r.legalHold')),
                ),
              ),
            ),
        )
        .limit(limit),
    );
    for (const { loanFileId } of lagging) {
      try {
        counts.followed += await this.followLoanFile(loanFileId);
      } catch (err) {
        counts.failed += 1;
        this.log.warn({ loanFileId, err }, 'could not bring contract retention up to its sessions; the next sweep retries');
      }
    }
    const due = await this.db.contractDocument.findMany({
      where: { deletedAt: null, legalHold: false, retainUntil: { lte: now } },
      distinct: ['objectKey'],
      orderBy: { retainUntil: 'asc' },
      take: limit,
      select: { objectKey: true },
    });
    for (const { objectKey } of due) {
      try {
        if (await this.deleteIfDue(objectKey, now)) counts.deleted += 1;
      } catch (err) {
        counts.failed += 1;
        this.log.warn({ objectKey, err }, 'retention sweep could not delete a contract; the next sweep retries');
      }
    }
    if (counts.deleted > 0 || counts.failed > 0) this.log.info({ ...counts }, 'contract retention sweep done');
    return counts;
  }

  /** What the sessions binding the document ask of it (open sessions are handled by the sweep's check). */
  private async needsOf(tx: Tx | Db, document: Pick<ContractDocument, 'loanFileId' | 'sha256'>): Promise<BindingNeeds & { openSessions: number; liveRecordings: number }> {
    const bound = { session: { loanFileId: document.loanFileId, contractDocumentHash: document.sha256 } };
    const [latest, held, live, open] = await Promise.all([
      tx.recording.aggregate({ where: { attempt: bound, state: { notIn: ['DELETED', 'FAILED'] } }, _max: { retainUntil: true } }),
      tx.recording.count({ where: { attempt: bound, legalHold: true, state: { not: 'DELETED' } } }),
      tx.recording.count({ where: { attempt: bound, state: { notIn: ['DELETED', 'FAILED'] } } }),
      tx.verificationSession.count({ where: { loanFileId: document.loanFileId, contractDocumentHash: document.sha256, state: { notIn: [...CLOSED_SESSION_STATES] } } }),
    ]);
    return { recordingsRetainUntil: latest._max.retainUntil, legalHold: held > 0, openSessions: open, liveRecordings: live };
  }

  private async followOne(document: ContractDocument): Promise<boolean> {
    const loanFile = await this.db.loanFile.findUniqueOrThrow({ where: { id: document.loanFileId }, select: { maturityDate: true } });
    const rule = retainUntil({ verifiedAt: document.createdAt, maturityDate: loanFile.maturityDate, rules: this.settings.rules });
    const needs = await this.needsOf(this.db, document);
    const next = contractRetention({ rule, needs, current: document.retainUntil });
    const dateChanged = document.retainUntil?.getTime() !== next.retainUntil.getTime();
    if (!dateChanged && document.legalHold === next.legalHold) return false;

    // The store first, as for recordings: a lock only ever extended, a hold mirrored where Object Lock is spoken.
    const enforcement = await this.enforcement.current();
    let lockMode = document.objectLockMode as ObjectLockMode | null;
    const locks = enforcement.enforcedBy === 'object_lock' || lockMode !== null;
    if (locks && dateChanged && next.retainUntil.getTime() > Date.now()) {
      lockMode ??= enforcement.mode;
      if (lockMode) await this.store.applyRetention(document.objectKey, next.retainUntil, lockMode);
    }
    if (locks && document.legalHold !== next.legalHold) await this.store.setLegalHold(document.objectKey, next.legalHold);

    return this.db.$transaction(async (tx) => {
      // Another follow may have got there first; it wrote the same or later.
      if (!(await followContractRetention(tx, document, { retainUntil: next.retainUntil, legalHold: next.legalHold, objectLockMode: lockMode }))) return false;
      await appendAudit(tx, {
        actor: RETENTION_ACTOR,
        entity: { type: 'loan_file', id: document.loanFileId },
        event: {
          action: 'contract.retention_applied',
          v: 1,
          data: { sha256: document.sha256, retainUntil: next.retainUntil.toISOString(), enforcedBy: lockMode ? 'object_lock' : 'facesign', lockMode, legalHold: next.legalHold },
        },
      });
      return true;
    });
  }

  /**
   * Deletes one contract object (every row naming it is the same document) while holding the rows'
   * locks, when every row is due, none is held, its rule as it stands now allows it, and no session
   * that binds it is open or still has a recording. Otherwise leaves it for a later sweep.
   */
  private async deleteIfDue(objectKey: string, now: Date): Promise<boolean> {
    return this.db.$transaction(
      async (tx) => {
        const locked = await lockContractObject(tx, objectKey);
        if (locked === 0) return false;
        const rows = await tx.contractDocument.findMany({ where: { objectKey, deletedAt: null }, include: { loanFile: { select: { maturityDate: true } } } });
        if (rows.length !== locked) return false; // another sweeper holds some of them
        for (const row of rows) {
          if (row.legalHold || !row.retainUntil || row.retainUntil.getTime() > now.getTime()) return false;
          const rule = retainUntil({ verifiedAt: row.createdAt, maturityDate: row.loanFile.maturityDate, rules: this.settings.rules });
          if (rule.getTime() > now.getTime()) return false;
          const needs = await this.needsOf(tx, row);
          if (needs.openSessions > 0 || needs.liveRecordings > 0 || needs.legalHold) return false;
        }
        await this.store.delete(objectKey);
        for (const row of rows) {
          await markContractDeleted(tx, row.id, now);
          await appendAudit(tx, {
            actor: SWEEP_ACTOR,
            entity: { type: 'loan_file', id: row.loanFileId },
            event: { action: 'contract.deleted', v: 1, data: { sha256: row.sha256, objectKey, retainUntil: row.retainUntil!.toISOString() } },
          });
        }
        return true;
      },
      // The store call runs inside the transaction, as a recording's deletion does.
      { maxWait: 10_000, timeout: 60_000 },
    );
  }
}
