// Walks the sealed audit chain in chain order and names the first row whose link or content does not
// match. Rows not sealed yet are counted, not judged: the sealer links them within moments.
import type { Db } from '../db/client.js';
import { auditEventIntact, GENESIS_HASH } from './audit.service.js';

export type ChainVerdict =
  | { ok: true; checked: number; headHash: string; unsealed: number; oldestUnsealedAt: Date | null }
  | { ok: false; checked: number; broken: { seq: bigint; id: string; reason: 'content_changed' | 'link_broken' } };

export async function verifyAuditChain(db: Db, batchSize = 1000): Promise<ChainVerdict> {
  let prevHash = GENESIS_HASH;
  let checked = 0;
  let after = 0n;
  for (;;) {
    const rows = await db.auditEvent.findMany({ where: { chainSeq: { gt: after } }, orderBy: { chainSeq: 'asc' }, take: batchSize });
    for (const row of rows) {
      if (row.prevHash !== prevHash || row.hash === null) return { ok: false, checked, broken: { seq: row.seq, id: row.id, reason: 'link_broken' } };
      if (!auditEventIntact({ ...row, prevHash, hash: row.hash })) return { ok: false, checked, broken: { seq: row.seq, id: row.id, reason: 'content_changed' } };
      prevHash = row.hash;
      checked += 1;
      after = row.chainSeq!;
    }
    if (rows.length < batchSize) break;
  }
  const unsealed = await db.auditEvent.aggregate({ where: { chainSeq: null }, _count: { _all: true }, _min: { recordedAt: true } });
  return { ok: true, checked, headHash: prevHash, unsealed: unsealed._count._all, oldestUnsealedAt: unsealed._min.recordedAt };
}
