// A loan file's status follows its parties' verification sessions (the latest per party). The rule is
// pure (loan-file-standing.ts); this applies it to the row, with its audit event, in the caller's
// transaction.
import type { Sql } from '../db/client.js';
import type { LoanFileStatus } from '../db/generated/prisma/enums.js';
import { insertAudit, type AuditEntry } from '../audit/audit.service.js';
import { loanFileStatusFor, standingOf } from './loan-file-standing.js';

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
