// A loan file's status follows its parties' verification sessions (the latest per party).
import type { Sql } from '../db/client.js';
import type { LoanFileStatus } from '../db/generated/prisma/enums.js';
import { insertAudit, type AuditEntry } from '../audit/audit.service.js';

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

/** Brings the loan file's status up to date with its parties' latest sessions (in the caller's transaction). */
export async function recomputeLoanFileStatus(sql: Sql, loanFileId: string, actor: AuditEntry['actor'], requestId?: string): Promise<void> {
  // The file, and per party its latest session with that session's review (or one row of nulls).
  const rows = await sql.query<{ status: LoanFileStatus; version: number; partyId: string | null; state: string | null; outcome: string | null; reviewStatus: string | null }>({
    name: 'loan-file-standings',
    text: `SELECT lf."status"::text AS "status", lf."version", p."id" AS "partyId", s."state"::text AS "state", s."outcome"::text AS "outcome", r."status"::text AS "reviewStatus"
      FROM "LoanFile" lf
      LEFT JOIN "Party" p ON p."loanFileId" = lf."id"
      LEFT JOIN LATERAL (SELECT "id", "state", "outcome" FROM "VerificationSession" WHERE "partyId" = p."id" ORDER BY "createdAt" DESC LIMIT 1) s ON true
      LEFT JOIN "Review" r ON r."sessionId" = s."id"
      WHERE lf."id" = $1::uuid`,
    values: [loanFileId],
  });
  const loanFile = rows[0];
  if (!loanFile) throw new Error(`No loan file ${loanFileId}`);
  if (loanFile.status === 'CANCELLED') return;
  const standings = rows
    .filter((r) => r.partyId !== null)
    .map((r) => standingOf(r.state === null ? undefined : { state: r.state, outcome: r.outcome, review: r.reviewStatus === null ? null : { status: r.reviewStatus } }));
  const next = loanFileStatusFor(standings);
  if (!next || next === loanFile.status) return;
  const updated = await sql.query({
    name: 'loan-file-status-set',
    text: `UPDATE "LoanFile" SET "status" = $3::"LoanFileStatus", "version" = "version" + 1, "updatedAt" = $4::timestamptz WHERE "id" = $1::uuid AND "version" = $2::int RETURNING 1`,
    values: [loanFileId, loanFile.version, next, new Date().toISOString()],
  });
  if (updated.length === 0) return; // a concurrent transaction recomputed it from newer facts
  await insertAudit(sql, {
    actor,
    entity: { type: 'loan_file', id: loanFileId },
    event: { action: 'loan_file.status_changed', v: 1, data: { from: loanFile.status, to: next } },
    requestId,
  });
}
