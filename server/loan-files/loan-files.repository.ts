// Every write to LoanFile, Party and ContractDocument, and the row locks a write depends on. A loan
// file's (and a party's) version moves with every change to it, and each change is conditional on the
// version the caller read; a contract document's retention only changes from the values it was decided on, and its row
// is deleted (marked, the row and its hash stay) only under the lock `lockContractObject` takes.
// `false` means someone else changed the row first.
//
// Statements on a hot path (the status recompute that follows every session outcome) and the row
// locks are SQL built with Kysely over the schema's types (`build`, server/db/typed-sql.ts) and run
// through `Sql`, so the same statement works on the shared pool, in one of its transactions or in a
// Prisma transaction (`sqlIn(tx)`). The rest goes through Prisma and takes the caller's transaction.
// None of these functions opens one.
import { sqlIn, type Sql, type Tx } from '../db/client.js';
import type { ContractDocument, LoanFile, Party, Prisma } from '../db/generated/prisma/client.js';
import type { LoanFileStatus } from '../db/generated/prisma/enums.js';
import { build, rows } from '../db/typed-sql.js';

// ---------------------------------------------------------------------------------------------
// Loan files

/** A new loan file (its audit event is the caller's). */
export async function insertLoanFile(tx: Tx, data: Prisma.LoanFileCreateInput): Promise<LoanFile> {
  return tx.loanFile.create({ data });
}

/** Changes the maturity date and/or the terms of the loan file at `version`. */
export async function updateLoanFileAt(tx: Tx, id: string, version: number, data: Pick<Prisma.LoanFileUpdateManyMutationInput, 'maturityDate' | 'terms'>): Promise<boolean> {
  const { count } = await tx.loanFile.updateMany({ where: { id, version }, data: { ...data, version: { increment: 1 } } });
  return count > 0;
}

/** Sets the status recomputed from the loan file at `version` (server/verification/loan-file-status.ts). */
export async function setLoanFileStatus(sql: Sql, id: string, version: number, status: LoanFileStatus, at: Date): Promise<boolean> {
  const updated = await rows(
    sql,
    build
      .updateTable('LoanFile')
      .set((eb) => ({ status, version: eb('version', '+', 1), updatedAt: at }))
      .where('id', '=', id)
      .where('version', '=', version)
      .returning('id'),
    'loan-file-status-set',
  );
  return updated.length > 0;
}

// ---------------------------------------------------------------------------------------------
// Parties

/** A new party of a loan file (its audit event is the caller's). */
export async function insertParty(tx: Tx, data: Prisma.PartyUncheckedCreateInput): Promise<Party> {
  return tx.party.create({ data });
}

/** Changes a party of the loan file, at `version` when one is given; false when none matched. */
export async function updateParty(tx: Tx, party: { id: string; loanFileId: string; version: number | undefined }, changes: Omit<Prisma.PartyUpdateManyMutationInput, 'version'>): Promise<boolean> {
  const { count } = await tx.party.updateMany({
    where: { id: party.id, loanFileId: party.loanFileId, ...(party.version !== undefined ? { version: party.version } : {}) },
    data: { ...changes, version: { increment: 1 } },
  });
  return count > 0;
}

// ---------------------------------------------------------------------------------------------
// Contract documents

/** A stored contract's row, written once its object is in the store under retention. */
export async function insertContract(tx: Tx, data: Prisma.ContractDocumentUncheckedCreateInput): Promise<ContractDocument> {
  return tx.contractDocument.create({ data });
}

/** A stored contract's retention and hold, changed only from the values it was decided on. */
export async function followContractRetention(
  tx: Tx,
  seen: Pick<ContractDocument, 'id' | 'retainUntil' | 'legalHold'>,
  next: { retainUntil: Date; legalHold: boolean; objectLockMode: string | null },
): Promise<boolean> {
  const { count } = await tx.contractDocument.updateMany({
    where: { id: seen.id, deletedAt: null, retainUntil: seen.retainUntil, legalHold: seen.legalHold },
    data: next,
  });
  return count > 0;
}

/**
 * Locks the rows still naming a contract object, for its deletion, skipping rows another transaction
 * holds. Returns how many it locked: fewer than there are means someone else holds the others.
 */
export async function lockContractObject(tx: Tx, objectKey: string): Promise<number> {
  const locked = await rows(
    sqlIn(tx),
    build.selectFrom('ContractDocument').select('id').where('objectKey', '=', objectKey).where('deletedAt', 'is', null).forUpdate().skipLocked(),
  );
  return locked.length;
}

/** The contract's object is gone: the row and its hash stay, marked deleted. */
export async function markContractDeleted(tx: Tx, id: string, at: Date): Promise<void> {
  await tx.contractDocument.updateMany({ where: { id, deletedAt: null }, data: { deletedAt: at } });
}
