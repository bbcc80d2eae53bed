// A loan file's status follows its parties' verification sessions (the latest per party).
import type { Tx } from '../db/client.js';
import type { LoanFileStatus } from '../db/generated/prisma/enums.js';
import { appendAudit, type AuditEntry } from '../audit/audit.service.js';

type PartyStanding = 'PASSED' | 'FAILED' | 'PENDING' | 'NONE';

/** A passed session selected for review counts only once an auditor approved it (maker-checker). */
export function standingOf(session: { state: string; outcome: string | null; review?: { status: string } | null } | undefined): PartyStanding {
  if (!session || session.state === 'CANCELLED') return 'NONE';
  if (session.state === 'COMPLETED') {
    if (session.outcome !== 'PASSED' || session.review?.status === 'REJECTED') return 'FAILED';
    if (session.review && session.review.status !== 'APPROVED') return 'PENDING';
    return 'PASSED';
  }
  if (session.state === 'EXHAUSTED' || session.state === 'EXPIRED') return 'FAILED';
  return 'PENDING';
}

/** Pure: any party failed -> FAILED; any still going -> IN_VERIFICATION; everyone passed -> VERIFIED. */
export function loanFileStatusFor(standings: PartyStanding[]): LoanFileStatus | undefined {
  if (standings.length === 0 || standings.every((s) => s === 'NONE')) return 'NEW';
  if (standings.includes('FAILED')) return 'FAILED';
  if (standings.every((s) => s === 'PASSED')) return 'VERIFIED';
  return 'IN_VERIFICATION';
}

export async function recomputeLoanFileStatus(tx: Tx, loanFileId: string, actor: AuditEntry['actor'], requestId?: string): Promise<void> {
  const loanFile = await tx.loanFile.findUniqueOrThrow({
    where: { id: loanFileId },
    include: { parties: { include: { sessions: { orderBy: { createdAt: 'desc' }, take: 1, select: { state: true, outcome: true, review: { select: { status: true } } } } } } },
  });
  if (loanFile.status === 'CANCELLED') return;
  const next = loanFileStatusFor(loanFile.parties.map((p) => standingOf(p.sessions[0])));
  if (!next || next === loanFile.status) return;
  const { count } = await tx.loanFile.updateMany({ where: { id: loanFileId, version: loanFile.version }, data: { status: next, version: { increment: 1 } } });
  if (count === 0) return; // a concurrent transaction recomputed it from newer facts
  await appendAudit(tx, {
    actor,
    entity: { type: 'loan_file', id: loanFileId },
    event: { action: 'loan_file.status_changed', v: 1, data: { from: loanFile.status, to: next } },
    requestId,
  });
}
