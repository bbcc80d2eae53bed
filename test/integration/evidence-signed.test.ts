// Signed evidence: the package of a completed, recorded call with a capture verifies offline against
// the platform certificate, as JSON and as a PAdES-signed PDF (checked by poppler's pdfsig too);
// the H1 forgery (answer flipped in the manifest and its audit event, the event re-hashed with the
// project's own hash, a capture swapped with its hash and size updated, the manifest re-sealed) and
// every other consistent edit made without the key fail; a rotated-out key verifies inside its
// window only.
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashAuditRow, type ExportedAuditEvent } from '../../server/audit/audit.service.js';
import { signTreeHead, type SignedTreeHead } from '../../server/audit/tree-head.js';
import { Keyring } from '../../server/signing/keyring.js';
import { generateSelfSignedIdentity } from '../../server/signing/self-signed.js';
import type { Signer } from '../../server/signing/signer.js';
import { EvidenceService, manifestHash } from '../../recordings/evidence.service.js';
import { renderEvidencePdf } from '../../recordings/evidence-pdf.service.js';
import { signManifest } from '../../recordings/evidence-signature.js';
import { checkEvidence, verifyEvidence, type Manifest } from '../../recordings/evidence-verify.js';
import { signPdf, verifyPdfSignature } from '../../recordings/pades.js';
import { eventually } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { verifiedSessionOf } from '../support/reads.js';
import { ALWAYS_OPEN, answerAllRequired, loanFileWithBorrower, losClient, onlineAgent, scheduleCall, stateOf, takeOffer } from '../support/verification.js';

const run = promisify(execFile);

type Package = Manifest & {
  session: { id: string };
  signing: { keyId: string; algorithm: 'ES256' | 'EdDSA'; signedAt: string };
  signature: { protected: string; signature: string };
  manifestSha256: string;
};

let t: TestApp;
let dir: string;
let manifest: Package;
let pdf: Buffer;
let keyring: Keyring;
let trustFile: string;
let auditorId: string;

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** SOI, a JFIF APP0 segment, a comment, EOI: a JPEG the capture upload accepts. */
function jpeg(comment: string): Buffer {
  const app0 = Buffer.from([0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]);
  const text = Buffer.from(comment);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app0, Buffer.from([0xff, 0xfe, 0x00, text.length + 2]), text, Buffer.from([0xff, 0xd9])]);
}

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('npx', ['tsx', 'recordings/evidence-verify-cli.ts', ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A copy of the downloaded package (files included) with `manifest` as its manifest.json. */
async function packageWith(forged: Package, extra: (packageDir: string) => Promise<void> = async () => {}): Promise<string> {
  const copy = await mkdtemp(join(tmpdir(), 'facesign-forged-'));
  await cp(join(dir, 'recordings'), join(copy, 'recordings'), { recursive: true });
  await cp(join(dir, 'captures'), join(copy, 'captures'), { recursive: true });
  await writeFile(join(copy, 'manifest.json'), JSON.stringify(forged));
  await extra(copy);
  return copy;
}

function lastAnswerEvent(m: Package, itemId: string): ExportedAuditEvent {
  return m.auditChain.events.findLast((e) => e.action === 'checklist.answered' && (e.data as { itemId: string }).itemId === itemId)!;
}

/** Flips an answer in the manifest and in its audit event, and re-hashes that event with the project's own hash. */
function flipAnswer(m: Package, itemId: string, value: string): void {
  m.answers.find((a) => a.itemId === itemId)!.value = value;
  const event = lastAnswerEvent(m, itemId);
  (event.data as { value: string }).value = value;
  event.hash = hashAuditRow(event);
}

const reseal = (m: Package): Package => ({ ...m, manifestSha256: manifestHash(m as unknown as Record<string, unknown>) });

beforeAll(async () => {
  t = await startTestApp(ALWAYS_OPEN, { livekit: true });
  dir = await mkdtemp(join(tmpdir(), 'facesign-signed-evidence-'));
  keyring = t.facesign.signing.keyring;
  trustFile = join(dir, 'trust.pem');
  await writeFile(trustFile, t.facesign.signing.signer.certificateChainPem[0]!);

  const los = await losClient(t);
  const agent = await onlineAgent(t, 'evidence-signed');
  const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550101', product: 'evidence-signed' });
  const sessionId = await scheduleCall(los, loanFileId, partyId);
  await takeOffer(agent, sessionId);
  await stateOf(t, sessionId, 'IN_PROGRESS');
  await answerAllRequired(agent, sessionId);
  await agent.client.request('PUT', `/api/sessions/${sessionId}/answers/loan_purpose`, { value: 'CONFIRMED', note: 'home renovation' });
  const capture = await fetch(`${t.url}/api/sessions/${sessionId}/captures?kind=ID_FRONT`, {
    method: 'POST',
    headers: { cookie: agent.client.cookieHeader(), 'x-csrf-token': agent.client.csrfToken ?? '', 'content-type': 'image/jpeg' },
    body: jpeg('identity card, front'),
  });
  expect(capture.status).toBe(201);
  await agent.client.post(`/api/sessions/${sessionId}/complete`);
  agent.socket.close();
  await eventually(async () => (await verifiedSessionOf(los, loanFileId, sessionId)).attempts.some((a) => a.recording?.state === 'RETAINED'));

  const email = `${randomUUID()}@bank.test`;
  const auditor = await t.signIn({ roles: ['AUDITOR'], email });
  auditorId = (await auditor.get<{ id: string }>('/api/auth/me')).body.id;
  const res = await auditor.get<Package>(`/api/sessions/${sessionId}/evidence`);
  expect(res.status).toBe(200);
  manifest = res.body;
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
  const downloads = [
    ...manifest.recordings.map((r) => ({ url: `/api/recordings/${r.id}/media`, file: r.file })),
    ...manifest.captures.map((c) => ({ url: `/api/captures/${c.id}/content`, file: c.file })),
  ];
  for (const d of downloads) {
    const media = await fetch(`${t.url}${d.url}`, { headers: { cookie: auditor.cookieHeader() } });
    expect(media.status).toBe(200);
    await mkdir(dirname(join(dir, d.file)), { recursive: true });
    await writeFile(join(dir, d.file), Buffer.from(await media.arrayBuffer()));
  }
  const pdfRes = await fetch(`${t.url}/api/sessions/${sessionId}/evidence?format=pdf`, { headers: { cookie: auditor.cookieHeader() } });
  expect(pdfRes.status).toBe(200);
  pdf = Buffer.from(await pdfRes.arrayBuffer());
  await writeFile(join(dir, 'evidence.pdf'), pdf);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await t?.stop();
});

describe('a signed evidence package', () => {
  it('is signed with the platform key, names the key and the signing time inside the signed content', () => {
    const signer = t.facesign.signing.signer;
    expect(manifest.format).toBe('facesign-evidence/2');
    expect(manifest.signing).toEqual({ keyId: signer.keyId, algorithm: 'ES256', signedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    const header = JSON.parse(Buffer.from(manifest.signature.protected, 'base64url').toString('utf8')) as Record<string, unknown>;
    expect(header).toMatchObject({ alg: 'ES256', kid: signer.keyId, typ: 'facesign-evidence+jws' });
    expect(header.x5c).toHaveLength(1);
    expect(manifest.captures).toHaveLength(1);
    expect(manifest.recordings).toHaveLength(1);
  });

  it('verifies offline against the trusted certificate, check by check, by function and by the CLI', async () => {
    const checks = await checkEvidence(manifest, dir, keyring);
    expect(checks.map((c) => [c.check, c.findings])).toEqual([
      ['signature', []],
      ['seal', []],
      ['template', []],
      ['audit events', []],
      ['audit tree', []],
      ['answers', []],
      ['files', []],
    ]);
    const out = await cli(dir, '--trust', trustFile);
    expect(out.code).toBe(0);
    for (const check of ['signature', 'seal', 'template', 'audit events', 'audit tree', 'answers', 'files', 'pdf']) expect(out.stdout).toMatch(new RegExp(`^PASS ${check}`, 'm'));
    expect(out.stdout).toContain(`manifest signed by key ${manifest.signing.keyId} (ES256)`);
    expect(out.stdout).toMatch(/evidence intact\n$/);
  });

  it('refuses to verify without a trust anchor', async () => {
    const out = await cli(dir);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('--trust is required');
  });
});

describe('forgeries made without the key', () => {
  it('H1: answer flipped in the manifest and its re-hashed audit event, capture swapped with its hash and size, re-sealed: fails', async () => {
    const forged = structuredClone(manifest);
    flipAnswer(forged, 'loan_purpose', 'DENIED');
    const swapped = jpeg('somebody else');
    const capture = forged.captures[0]!;
    capture.sha256 = sha256(swapped);
    capture.sizeBytes = String(swapped.length);
    const stored = forged.auditChain.events.find((e) => e.action === 'capture.stored')!;
    Object.assign(stored.data as object, { sha256: capture.sha256, sizeBytes: swapped.length });
    stored.hash = hashAuditRow(stored);
    const resealed = reseal(forged);
    const forgedDir = await packageWith(resealed, (d) => writeFile(join(d, capture.file), swapped));
    try {
      // Every check the unsigned format had passes (this is the forgery the finding describes); the
      // signature and the audit log's tree head do not.
      const checks = await checkEvidence(resealed, forgedDir, keyring);
      expect(checks.filter((c) => c.findings.length > 0).map((c) => c.check)).toEqual(['signature', 'audit tree']);
      expect(await verifyEvidence(resealed, forgedDir, keyring)).toEqual([
        { item: 'manifest signature', problem: expect.stringMatching(/does not verify/) },
        { item: `audit event seq ${lastAnswerEvent(resealed, 'loan_purpose').seq} (checklist.answered)`, problem: expect.stringMatching(/not included in the tree/) },
        { item: `audit event seq ${stored.seq} (capture.stored)`, problem: expect.stringMatching(/not included in the tree/) },
      ]);
      const out = await cli(forgedDir, '--trust', trustFile);
      expect(out.code).toBe(1);
      expect(out.stdout).toMatch(/^FAIL signature/m);
      expect(out.stdout).toMatch(/^FAIL audit tree/m);
      expect(out.stderr).toContain('evidence NOT intact: signature, audit tree failed');
      expect(out.stdout).not.toContain('evidence intact');
    } finally {
      await rm(forgedDir, { recursive: true, force: true });
    }
  });

  /** An answered item other than the one the H1 repro flips. */
  const otherItem = () => manifest.answers.find((a) => a.itemId !== 'loan_purpose' && a.value === 'CONFIRMED')!.itemId;
  /** Another self-signed identity under the platform certificate's own name. */
  const attacker = () => generateSelfSignedIdentity({ commonName: /CN=([^,\n]+)/.exec(keyring.get(manifest.signing.keyId)!.certificate.subject)![1]! });
  const edits: [string, (m: Package) => Promise<Package>][] = [
    [
      'an answer, with its audit event re-hashed',
      async (m) => {
        flipAnswer(m, otherItem(), 'DENIED');
        return reseal(m);
      },
    ],
    [
      'a recording file, with its hash and size',
      async (m) => {
        m.recordings[0]!.sha256 = sha256(Buffer.from('another recording'));
        m.recordings[0]!.sizeBytes = String('another recording'.length);
        return reseal(m);
      },
    ],
    [
      'the signing time, moved a year back',
      async (m) => {
        m.signing.signedAt = new Date(Date.parse(m.signing.signedAt) - 365 * 86_400_000).toISOString();
        return reseal(m);
      },
    ],
    [
      'the certificate, swapped for another self-signed one with the same name, re-signed',
      async (m) => {
        const { signer } = await attacker();
        const { signature: _dropped, ...body } = flipAnswerCopy(m);
        return signManifest(reseal({ ...body, signing: { ...m.signing, keyId: signer.keyId } } as Package), signer) as Promise<Package>;
      },
    ],
    [
      'a signature by another key under the trusted key id and certificate',
      async (m) => {
        const { signer } = await attacker();
        const impostor: Signer = { keyId: m.signing.keyId, algorithm: 'ES256', certificateChainPem: t.facesign.signing.signer.certificateChainPem, sign: (data) => signer.sign(data) };
        const { signature: _dropped, ...body } = flipAnswerCopy(m);
        return signManifest(reseal(body as Package), impostor) as Promise<Package>;
      },
    ],
    [
      'the tree head, with another root, re-signed by another key',
      async (m) => {
        const { signer } = await attacker();
        const head = m.auditChain.treeHead as SignedTreeHead;
        m.auditChain.treeHead = await signTreeHead({ treeSize: head.treeSize, rootHash: Buffer.alloc(32, 1), timestamp: new Date(head.timestamp) }, signer);
        return reseal(m);
      },
    ],
    [
      'the tree head, with its size changed',
      async (m) => {
        (m.auditChain.treeHead as SignedTreeHead).treeSize += 1;
        return reseal(m);
      },
    ],
    [
      'an inclusion proof',
      async (m) => {
        const proof = m.auditChain.inclusionProofs!.find((p) => p.auditPath.length > 0)!;
        proof.auditPath[0] = proof.auditPath[0]!.replace(/^./, (c) => (c === '0' ? '1' : '0'));
        return reseal(m);
      },
    ],
    [
      'the signature removed',
      async (m) => {
        const { signature: _dropped, ...body } = m;
        return body as Package;
      },
    ],
  ];

  function flipAnswerCopy(m: Package): Package {
    const copy = structuredClone(m);
    flipAnswer(copy, otherItem(), 'DENIED');
    return copy;
  }

  it.each(edits)('%s: fails', async (name, edit) => {
    const forged = await edit(structuredClone(manifest));
    const checks = await checkEvidence(forged, dir, keyring);
    const signature = checks.find((c) => c.check === 'signature')!;
    expect(signature.findings).toEqual([{ item: 'manifest signature', problem: expect.any(String) }]);
    if (/tree head|inclusion proof/.test(name)) expect(checks.find((c) => c.check === 'audit tree')!.findings).not.toEqual([]);
    const forgedDir = await packageWith(forged);
    try {
      const out = await cli(forgedDir, '--trust', trustFile);
      expect(out.code).toBe(1);
      expect(out.stderr).toMatch(/^FAIL signature: manifest signature: /m);
    } finally {
      await rm(forgedDir, { recursive: true, force: true });
    }
  });
});

describe('key rotation', () => {
  it('a package signed by a rotated-out key verifies inside its window and fails outside it', async () => {
    const old = await generateSelfSignedIdentity({ commonName: 'facesign signing (retired)' });
    const sessionId = manifest.session.id;
    const signedByOld = (await new EvidenceService(t.facesign.db, old.signer, t.facesign.auditCheckpoints).build(sessionId, auditorId, 'rotation-test', 'json')) as unknown as Package;
    const signedAt = new Date(signedByOld.signing.signedAt);
    expect(signedByOld.signing.keyId).toBe(old.signer.keyId);

    const current = t.facesign.signing.signer;
    const retiredLater = Keyring.forSigner(current, [{ pem: old.certificatePem, retiredAt: new Date(signedAt.getTime() + 60_000) }]);
    expect(await verifyEvidence(signedByOld, dir, retiredLater)).toEqual([]);
    const retiredBefore = Keyring.forSigner(current, [{ pem: old.certificatePem, retiredAt: new Date(signedAt.getTime() - 1000) }]);
    expect(await verifyEvidence(signedByOld, dir, retiredBefore)).toEqual([{ item: 'manifest signature', problem: expect.stringMatching(/signs from .* to .*, not at/) }]);
    // Only the current key trusted: the old key is unknown.
    expect(await verifyEvidence(signedByOld, dir, Keyring.forSigner(current))).toEqual([{ item: 'manifest signature', problem: expect.stringMatching(/not in the keyring/) }]);

    const oldDir = await packageWith(signedByOld);
    try {
      const trustInside = join(oldDir, 'trust.pem');
      await writeFile(trustInside, `Retired-At: ${new Date(signedAt.getTime() + 60_000).toISOString()}\n${old.certificatePem}\n${current.certificateChainPem[0]}`);
      const inside = await cli(oldDir, '--trust', trustInside);
      expect(inside.code).toBe(0);
      expect(inside.stdout).toMatch(/^PASS signature +manifest signed by key .* trusted retired certificate/m);
      const trustOutside = join(oldDir, 'trust-outside.pem');
      await writeFile(trustOutside, `Retired-At: ${new Date(signedAt.getTime() - 1000).toISOString()}\n${old.certificatePem}\n${current.certificateChainPem[0]}`);
      const outside = await cli(oldDir, '--trust', trustOutside);
      expect(outside.code).toBe(1);
      expect(outside.stderr).toContain('evidence NOT intact: signature failed');
      // The published keyring document works as a trust file too.
      const documentFile = join(oldDir, 'keyring.json');
      await writeFile(documentFile, JSON.stringify(retiredLater.document()));
      expect((await cli(oldDir, '--trust', documentFile)).code).toBe(0);
    } finally {
      await rm(oldDir, { recursive: true, force: true });
    }
  });
});

describe('the PAdES-signed PDF', () => {
  it('validates with poppler\'s pdfsig: ETSI.CAdES.detached, the whole document, the platform certificate', async () => {
    const { stdout } = await run('pdfsig', [join(dir, 'evidence.pdf')]);
    expect(stdout).toContain('Signature Validation: Signature is Valid.');
    expect(stdout).toContain('Signature Type: ETSI.CAdES.detached');
    expect(stdout).toContain('Total document signed');
    const commonName = /CN=([^,\n]+)/.exec(keyring.get(manifest.signing.keyId)!.certificate.subject)![1]!;
    expect(stdout).toContain(`Signer Certificate Common Name: ${commonName}`);
    // A self-signed certificate is not issued by anyone pdfsig trusts: expected, see docs/evidence.md.
    expect(stdout).toMatch(/Certificate Validation: Certificate issuer (isn't Trusted|is unknown)\./);
  });

  it('verifies with the offline verifier, alone as a package (its attached manifest checked too)', async () => {
    const verdict = verifyPdfSignature(pdf, keyring);
    expect(verdict.problems).toEqual([]);
    expect(verdict.key?.keyId).toBe(manifest.signing.keyId);
    const pdfOnly = await mkdtemp(join(tmpdir(), 'facesign-pdf-package-'));
    try {
      await cp(join(dir, 'recordings'), join(pdfOnly, 'recordings'), { recursive: true });
      await cp(join(dir, 'captures'), join(pdfOnly, 'captures'), { recursive: true });
      await writeFile(join(pdfOnly, 'evidence.pdf'), pdf);
      const out = await cli(join(pdfOnly, 'evidence.pdf'), '--trust', trustFile);
      expect(out.code).toBe(0);
      expect(out.stdout).toMatch(/^PASS pdf +evidence\.pdf: PAdES signature \(ETSI\.CAdES\.detached\) by key/m);
      expect(out.stdout).toMatch(/^PASS signature +evidence\.pdf \(attached manifest\): manifest signed by key/m);
    } finally {
      await rm(pdfOnly, { recursive: true, force: true });
    }
  });

  it('fails when one byte changes (pdfsig agrees), when bytes are appended, and when another key signed it', async () => {
    const changed = Buffer.from(pdf);
    const title = changed.indexOf('Evidence package, session');
    expect(title).toBeGreaterThan(0);
    changed[title] = 'e'.charCodeAt(0);
    expect(verifyPdfSignature(changed, keyring).problems).toEqual(["the signed bytes do not match the signature's message digest"]);
    const changedFile = join(dir, 'changed.pdf');
    await writeFile(changedFile, changed);
    try {
      const sig = await run('pdfsig', [changedFile]).catch((e: { stdout: string }) => e);
      expect(sig.stdout).not.toContain('Signature is Valid.');
      expect(sig.stdout).toMatch(/Signature Validation: Digest Mismatch\./);
    } finally {
      await rm(changedFile);
    }

    const appended = Buffer.concat([pdf, Buffer.from('\n% an incremental update could go here\n')]);
    expect(verifyPdfSignature(appended, keyring).problems).toEqual([expect.stringMatching(/does not cover the whole file/)]);

    const { signer } = await generateSelfSignedIdentity({ commonName: 'facesign signing (self-signed)' });
    const font = await readFile(t.facesign.config.recordings.evidencePdfFont);
    const stream = renderEvidencePdf(manifest as never, font, { signedAt: new Date(), name: 'facesign evidence', reason: 'forged' });
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    const foreign = await signPdf(Buffer.concat(chunks), signer);
    expect(verifyPdfSignature(foreign, keyring).problems).toEqual([expect.stringMatching(/not in the keyring/)]);
  });
});
