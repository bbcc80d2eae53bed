// npm run evidence:verify -- <manifest.json> [directory with the downloaded files]
// Exits 0 when everything matches, 1 listing each item that does not. Needs no database.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { verifyEvidence } from './evidence-verify.js';

const [manifestPath, dir] = process.argv.slice(2);
if (!manifestPath) {
  console.error('usage: npm run evidence:verify -- <manifest.json> [files directory]');
  process.exit(2);
}
const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Parameters<typeof verifyEvidence>[0];
const findings = await verifyEvidence(manifest, resolve(dir ?? dirname(manifestPath)));
if (findings.length === 0) {
  console.log(`evidence intact: manifest, template, ${manifest.auditChain.events.length} audit events, ${manifest.answers.length} answers, ${manifest.recordings.length} recordings, ${manifest.captures.length} captures`);
} else {
  for (const f of findings) console.error(`MISMATCH ${f.item}: ${f.problem}`);
  process.exitCode = 1;
}
