// A loan file's status as a pure rule over where each party stands: their latest verification
// session, and that session's review (maker-checker). loan-file-status.ts applies it to the row.
import type { LoanFileStatus } from '../db/generated/prisma/enums.js';

export type PartyStanding = 'PASSED' | 'FAILED' | 'PENDING' | 'NONE';

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
