// A loan file's status follows its parties' verification sessions (the latest per party). The rule is
// pure (loan-file-standing.ts); this applies it to the row, with its audit event, in the caller's
// transaction.
import { sql as fragment } from 'kysely';
import type { Sql } from '../db/client.js';
import type { LoanFileStatus, ReviewStatus, SessionOutcome, SessionState } from '../db/generated/kysely/types.js';
import { build, rows as all } from '../db/typed-sql.js';
import { insertAudit, type AuditEntry } from '../audit/audit.service.js';
import { setLoanFileStatus } from '../loan-files/loan-files.repository.js';
import { loanFileStatusFor, standingOf } from './loan-file-standing.js';

/** Brings the loan file's status up to date with its parties' latest sessions (in the caller's transaction). */
export async function recomputeLoanFileStatus(sql: Sql, loanFileId: string, actor: AuditEntry['actor'], requestId?: string): Promise<void> {
  // The file, and per party its latest session with that session's review (or one row of nulls).
  const rows = await all(
    sql,
    build
      .selectFrom('LoanFile as lf')
      .leftJoin('Party as p', 'p.loanFileId', 'lf.id')
      .leftJoinLateral(
        (eb) => eb.selectFrom('VerificationSession').select(['id', 'state', 'outcome']).whereRef('partyId', '=', 'p.id').orderBy('createdAt', 'desc').limit(1).as('s'),
        (join) => join.onTrue(),
      )
      .leftJoin('Review as r', 'r.sessionId', 's.id')
      // Enums read as text, so that both kinds of transaction return them the same way (see `Sql`).
      .select((eb) => [
        fragment<LoanFileStatus>`${eb.ref('lf.status')}::text`.as('status'),
        'lf.version',
        'p.id as partyId',
        fragment<SessionState | null>`${eb.ref('s.state')}::text`.as('state'),
        fragment<SessionOutcome | null>`${eb.ref('s.outcome')}::text`.as('outcome'),
        fragment<ReviewStatus | null>`${eb.ref('r.status')}::text`.as('reviewStatus'),
      ])
      .where('lf.id', '=', loanFileId),
    'loan-file-standings',
  );
  const loanFile = rows[0];
  if (!loanFile) throw new Error(`No loan file ${loanFileId}`);
  if (loanFile.status === 'CANCELLED') return;
  const standings = rows
    .filter((r) => r.partyId !== null)
    .map((r) => standingOf(r.state === null ? undefined : { state: r.state, outcome: r.outcome, review: r.reviewStatus === null ? null : { status: r.reviewStatus } }));
  const next = loanFileStatusFor(standings);
  if (!next || next === loanFile.status) return;
  // Not written when a concurrent transaction recomputed it from newer facts.
  if (!(await setLoanFileStatus(sql, loanFileId, loanFile.version, next, new Date()))) return;
  await insertAudit(sql, {
    actor,
    entity: { type: 'loan_file', id: loanFileId },
    event: { action: 'loan_file.status_changed', v: 1, data: { from: loanFile.status, to: next } },
    requestId,
  });
}
