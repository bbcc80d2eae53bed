// npm run audit:verify — checks the audit log: the hash chain, every signed tree head published in
// the recordings bucket (signature, RFC 3161 token, consistency with the head before it) and that the
// database's events reproduce each head. Exits 0 when all holds, 1 naming the first failure.
//
// Options: --trust <pem>      the signing certificates to trust (default: the configured key's
//                             certificate and SIGNING_RETIRED_CERTS_FILE); a bundle, "Retired-At:" lines allowed
//          --keyring <json>   the published keyring (/.well-known/facesign-signing-keys.json) instead
//          --tsa-trust <pem>  the TSA certificate or its CA (default: TSA_CERT_FILE)
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { createDb } from '../db/client.js';
import { createS3Client, RecordingStore } from '../../recordings/object-store.js';
import { Keyring } from '../signing/keyring.js';
import { loadConfiguredKeyring } from '../signing/signing-identity.js';
import { splitPemBundle } from '../signing/certificates.js';
import { verifyAuditLog } from './log-verify.js';

const { values: args } = parseArgs({ options: { trust: { type: 'string' }, keyring: { type: 'string' }, 'tsa-trust': { type: 'string' } } });
const config = loadConfig();
const keyring = args.trust
  ? Keyring.fromTrustedPem(await readFile(args.trust, 'utf8'))
  : args.keyring
    ? Keyring.fromDocument(JSON.parse(await readFile(args.keyring, 'utf8')))
    : await loadConfiguredKeyring(config.signing);
if (!keyring) {
  console.error('no signing certificate to verify tree heads with: configure SIGNING_CERT_FILE (or SIGNING_PKCS12_FILE), or pass --trust cert.pem or --keyring keys.json');
  process.exit(2);
}
const tsaTrustFile = args['tsa-trust'] ?? config.audit.tsa.certFile;
const tsaTrustPem = tsaTrustFile ? splitPemBundle(await readFile(tsaTrustFile, 'utf8')).map((block) => block.pem) : undefined;

const db = createDb({ url: config.database.url, poolSize: 2 });
const s3 = createS3Client(config.s3);
try {
  const verdict = await verifyAuditLog({ db, store: new RecordingStore(s3, config.s3.bucket), keyring, tsaTrustPem });
  const { chain, latestHead, unanchored } = verdict;
  if (chain.ok) console.log(`audit chain intact: ${chain.checked} events, head ${chain.headHash}`);
  console.log(`signed tree heads in s3://${config.s3.bucket}: ${verdict.heads}${latestHead ? `, newest covers ${latestHead.treeSize} events (root ${latestHead.rootHash}, ${latestHead.timestamp}, key ${latestHead.keyId})` : ''}`);
  for (const note of verdict.notes) console.log(`note: ${note}`);
  if (verdict.ok) {
    console.log('audit log intact: every published head is signed, consistent with the one before, and reproduced by the events in the database');
  } else {
    console.error(`audit log BROKEN: ${verdict.problems[0]}`);
    for (const problem of verdict.problems.slice(1, 20)) console.error(`  also: ${problem}`);
    if (verdict.problems.length > 20) console.error(`  and ${verdict.problems.length - 20} more`);
    process.exitCode = 1;
  }
  if (unanchored.count > 0) {
    const ageS = Math.round((Date.now() - unanchored.oldestRecordedAt!.getTime()) / 1000);
    console.log(`unanchored tail: ${unanchored.count} sealed events after the newest head (oldest recorded ${ageS} s ago); the next checkpoint (AUDIT_CHECKPOINT_SECONDS) anchors them`);
  }
  if (chain.ok && chain.unsealed > 0) {
    const ageS = Math.round((Date.now() - chain.oldestUnsealedAt!.getTime()) / 1000);
    // Committed events wait moments for the sealer; minutes means no facesign process is sealing.
    console.log(`${chain.unsealed} newer events are not sealed into the chain yet (oldest recorded ${ageS} s ago)${ageS > 300 ? '; no facesign process seems to be sealing: is one running?' : ''}`);
  }
} finally {
  await db.$disconnect();
  s3.destroy();
}
