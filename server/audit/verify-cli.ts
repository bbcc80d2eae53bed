// npm run audit:verify — exits 0 when the chain is intact, 1 naming the first broken row.
import { loadConfig } from '../config.js';
import { createDb } from '../db/client.js';
import { verifyAuditChain } from './audit.verify.js';

const config = loadConfig();
const db = createDb({ url: config.database.url, poolSize: 2 });
try {
  const verdict = await verifyAuditChain(db);
  if (verdict.ok) {
    console.log(`audit chain intact: ${verdict.checked} events, head ${verdict.headHash}`);
    if (verdict.unsealed > 0) {
      const ageS = Math.round((Date.now() - verdict.oldestUnsealedAt!.getTime()) / 1000);
      // Committed events wait moments for the sealer; minutes means no facesign process is sealing.
      console.log(`${verdict.unsealed} newer events are not sealed into the chain yet (oldest recorded ${ageS} s ago)${ageS > 300 ? '; no facesign process seems to be sealing: is one running?' : ''}`);
    }
  } else {
    const { seq, id, reason } = verdict.broken;
    console.error(`audit chain BROKEN at seq ${seq} (id ${id}): ${reason === 'content_changed' ? 'row content does not match its hash' : 'prevHash does not link to the previous row'}; ${verdict.checked} events before it are intact`);
    process.exitCode = 1;
  }
} finally {
  await db.$disconnect();
}
