// The audit chain as an auditor would check it: everything committed is sealed first, then walked.
import type { Db } from '../../server/db/client.js';
import { sealAuditChain } from '../../server/audit/audit-sealer.service.js';
import { verifyAuditChain, type ChainVerdict } from '../../server/audit/chain-verify.js';

export async function verifySealedChain(db: Db): Promise<ChainVerdict> {
  await sealAuditChain(db, { wait: true });
  return verifyAuditChain(db);
}
