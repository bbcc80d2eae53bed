// npm run evidence:verify -- <package> [files directory] --trust <certificates.pem | keyring.json> [--pdf <file.pdf>]
//
// <package> is a manifest (.json), a signed evidence PDF (its attached manifest is checked too), or a
// directory holding a manifest.json (or one evidence-*.json) and any evidence PDFs. The recording and
// capture files are looked up under the files directory (default: the package's directory).
// Prints one line per check and exits 0 when every check passes, 1 naming the checks that failed,
// 2 on a usage error. Needs no database and no network.
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Keyring } from '../server/signing/keyring.js';
import { attachedManifest, checkEvidence, checkEvidencePdf, type EvidenceCheck, type Manifest } from './evidence-verify.js';

const USAGE = 'usage: npm run evidence:verify -- <manifest.json | evidence.pdf | package directory> [files directory] --trust <certificates.pem | keyring.json> [--pdf <file.pdf>]';

function usage(problem: string): never {
  console.error(`${problem}\n${USAGE}`);
  process.exit(2);
}

async function loadKeyring(path: string): Promise<Keyring> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => usage(`cannot read --trust ${path}: ${error.code ?? error.message}`));
  try {
    return text.trimStart().startsWith('{') ? Keyring.fromDocument(JSON.parse(text)) : Keyring.fromTrustedPem(text);
  } catch (error) {
    return usage(`--trust ${path}: ${(error as Error).message}`);
  }
}

/** The manifest file and the PDFs of a package given as a path. */
async function locate(path: string, extraPdfs: string[]): Promise<{ manifestFile: string | undefined; pdfs: string[]; dir: string }> {
  const info = await stat(path).catch(() => usage(`no such file or directory: ${path}`));
  if (info.isDirectory()) {
    const names = (await readdir(path)).sort();
    const jsons = names.includes('manifest.json') ? ['manifest.json'] : names.filter((n) => /^evidence-.*\.json$/.test(n));
    if (jsons.length > 1) usage(`${path} holds several manifests (${jsons.join(', ')}): name one`);
    return { manifestFile: jsons[0] && join(path, jsons[0]), pdfs: [...names.filter((n) => n.endsWith('.pdf')).map((n) => join(path, n)), ...extraPdfs], dir: path };
  }
  if (path.endsWith('.pdf')) return { manifestFile: undefined, pdfs: [path, ...extraPdfs], dir: dirname(path) };
  return { manifestFile: path, pdfs: extraPdfs, dir: dirname(path) };
}

function args() {
  try {
    return parseArgs({ allowPositionals: true, options: { trust: { type: 'string' }, pdf: { type: 'string', multiple: true } } });
  } catch (error) {
    return usage((error as Error).message);
  }
}

const { values, positionals } = args();
const [packagePath, filesDir] = positionals;
if (!packagePath) usage('no package given');
if (!values.trust) usage('--trust is required: without a trusted certificate anyone could have signed the package');
const keyring = await loadKeyring(values.trust);
const located = await locate(resolve(packagePath), (values.pdf ?? []).map((p) => resolve(p)));
const dir = resolve(filesDir ?? located.dir);

const checks: EvidenceCheck[] = [];
/** The label names where a manifest came from when it is not the package's one manifest file. */
const manifests: { label: string | undefined; manifest: Manifest }[] = [];
if (located.manifestFile) {
  const text = await readFile(located.manifestFile, 'utf8');
  try {
    manifests.push({ label: undefined, manifest: JSON.parse(text) as Manifest });
  } catch {
    usage(`${located.manifestFile} is not JSON`);
  }
}
for (const pdfFile of located.pdfs) {
  const pdf = await readFile(pdfFile).catch(() => usage(`cannot read ${pdfFile}`));
  checks.push(checkEvidencePdf(pdf, basename(pdfFile), keyring));
  const attached = attachedManifest(pdf);
  if (attached) manifests.push({ label: `${basename(pdfFile)} (attached manifest)`, manifest: attached });
  else checks.push({ check: 'pdf', subject: `${basename(pdfFile)}: attached manifest`, findings: [{ item: basename(pdfFile), problem: 'the PDF carries no evidence manifest' }] });
}
if (manifests.length === 0 && located.pdfs.length === 0) usage(`no manifest found in ${packagePath}`);

for (const { label, manifest } of manifests) {
  try {
    checks.push(...(await checkEvidence(manifest, dir, keyring)).map((c) => ({ ...c, subject: label ? `${label}: ${c.subject}` : c.subject })));
  } catch (error) {
    checks.push({ check: 'manifest', subject: label ?? 'manifest', findings: [{ item: label ?? 'manifest', problem: `not a facesign evidence manifest (${(error as Error).message})` }] });
  }
}

for (const c of checks) {
  const status = c.findings.length === 0 ? 'PASS' : 'FAIL';
  console.log(`${status} ${c.check.padEnd(12)} ${c.subject}`);
  for (const f of c.findings) console.error(`FAIL ${c.check}: ${f.item}: ${f.problem}`);
}
const failed = [...new Set(checks.filter((c) => c.findings.length > 0).map((c) => c.check))];
if (failed.length === 0) {
  console.log('evidence intact');
} else {
  console.error(`evidence NOT intact: ${failed.join(', ')} failed`);
  process.exitCode = 1;
}
