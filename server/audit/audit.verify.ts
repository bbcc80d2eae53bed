// Walks the audit chain in order and names the first row whose link or content does not match.
import type { Db } from '../db/client.js';
import { auditEventIntact, GENESIS_HASH } from './audit.service.js';

export type ChainVerdict =
  | { ok: true; checked: number; headHash: string }
  | { ok: false; checked: number; broken: { seq: bigint; id: string; reason: 'content_changed' | 'link_broken' } };

export async function verifyAuditChain(db: Db, batchSize = 1000): Promise<ChainVerdict> {
  let prevHash = GENESIS_HASH;
  let checked = 0;
  let after = -1n;
  for (;;) {
    const rows = await db.auditEvent.findMany({ where: { seq: { gt: after } }, orderBy: { seq: 'asc' }, take: batchSize });
    for (const row of rows) {
      if (row.prevHash !== prevHash) return { ok: false, checked, broken: { seq: row.seq, id: row.id, reason: 'link_broken' } };
      if (!auditEventIntact(row)) return { ok: false, checked, broken: { seq: row.seq, id: row.id, reason: 'content_changed' } };
      prevHash = row.hash;
      checked += 1;
      after = row.seq;
    }
    if (rows.length < batchSize) return { ok: true, checked, headHash: prevHash };
  }
}
