// The evidence package: exported after a completed, recorded call; verified offline against the
// downloaded recording; a changed byte of the recording or a changed answer is named. The PDF is read
// back with poppler's pdftotext (Chinese and English prompts, answers, hashes) and pdfdetach (the
// sealed manifest it carries). Signatures and forgeries: evidence-signed.test.ts.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestHash } from '../../recordings/evidence.service.js';
import { verifyEvidence } from '../../recordings/evidence-verify.js';
import { renderPrompt } from '../../server/loan-files/loan-terms.js';
import { eventually, LOAN_TERMS } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { auditEventOf, auditLogOf, reviewFileOf } from '../support/reads.js';
import { ALWAYS_OPEN, answerAllRequired, loanFileWithBorrower, losClient, onlineAgent, scheduleCall, stateOf, takeOffer } from '../support/verification.js';

const run = promisify(execFile);
let t: TestApp;
let dir: string;
type Manifest = Parameters<typeof verifyEvidence>[0] & { recordings: { id: string; file: string }[]; answers: { itemId: string; value: string }[] };
let manifest: Manifest;
let keyring: TestApp['facesign']['signing']['keyring'];
let trustFile: string;
let auditor: Awaited<ReturnType<TestApp['signIn']>>;

beforeAll(async () => {
  t = await startTestApp(ALWAYS_OPEN, { livekit: true });
  dir = await mkdtemp(join(tmpdir(), 'facesign-evidence-'));
  keyring = t.facesign.signing.keyring;
  trustFile = join(dir, 'trust.pem');
  await writeFile(trustFile, t.facesign.signing.signer.certificateChainPem[0]!);
  const los = await losClient(t);
  const agent = await onlineAgent(t, 'evidence');
  const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550100', product: 'evidence' });
  const sessionId = await scheduleCall(los, loanFileId, partyId);
  await takeOffer(agent, sessionId);
  await stateOf(t, sessionId, 'IN_PROGRESS');
  await answerAllRequired(agent, sessionId);
  await agent.client.request('PUT', `/api/sessions/${sessionId}/answers/loan_purpose`, { value: 'CONFIRMED', note: 'home renovation' });
  await agent.client.post(`/api/sessions/${sessionId}/complete`);
  agent.socket.close();
  auditor = await t.signIn({ roles: ['AUDITOR'] });
  await eventually(async () => (await reviewFileOf(auditor, sessionId)).attempts.some((a) => a.recording?.state === 'RETAINED'));
  const res = await auditor.get<Manifest>(`/api/sessions/${sessionId}/evidence`);
  expect(res.status).toBe(200);
  manifest = res.body;
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
  for (const rec of manifest.recordings) {
    const media = await fetch(`${t.url}/api/recordings/${rec.id}/media`, { headers: { cookie: auditor.cookieHeader() } });
    expect(media.status).toBe(200);
    await mkdir(dirname(join(dir, rec.file)), { recursive: true });
    await writeFile(join(dir, rec.file), Buffer.from(await media.arrayBuffer()));
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await t?.stop();
});

describe('evidence package', () => {
  it('holds the session, template, answers, recording hash and audit slice, without full personal data', () => {
    expect(manifest).toMatchObject({ format: 'facesign-evidence/2', template: { key: 'call-default', version: 2 } });
    expect(manifest.recordings).toHaveLength(1);
    expect(manifest.answers.length).toBeGreaterThanOrEqual(8);
    expect(manifest.auditChain.events.map((e) => e.action)).toEqual(expect.arrayContaining(['session.scheduled', 'checklist.answered', 'recording.verified']));
    const text = JSON.stringify(manifest);
    expect(text).not.toContain('13805550100');
    expect(text).not.toContain('赵敏');
  });

  it('carries, signed, the loan terms the script stated and each placeholder as it read', async () => {
    const script = (manifest as unknown as { script: { loanTerms: Record<string, unknown>; values: Record<'zh-CN' | 'en', Record<string, string>> } }).script;
    expect(script.loanTerms).toEqual({ ...LOAN_TERMS, amount: '80000.00', currency: 'CNY' });
    expect(script.values['zh-CN']).toMatchObject({ amount: '¥80,000.00', apr: '4.35%', term: '12个月', instalment: '¥6,824.79', dueDay: '15', lenderName: '示例银行', phoneLast4: '0100' });
    expect(script.values.en).toMatchObject({ amount: 'CN¥80,000.00', apr: '4.35%', term: '12 months', fees: 'there is one fee: guarantee fee, CN¥50.00 per month' });
    const forged = structuredClone(manifest) as unknown as { script: { loanTerms: { apr: string } } };
    forged.script.loanTerms.apr = '0.35';
    const resealed = { ...forged, manifestSha256: manifestHash(forged as unknown as Record<string, unknown>) } as unknown as Manifest;
    expect(await verifyEvidence(resealed, dir, keyring)).toContainEqual({ item: 'manifest signature', problem: expect.stringMatching(/does not verify/) });
  });

  it('verifies offline, by function and by the CLI', async () => {
    expect(await verifyEvidence(manifest, dir, keyring)).toEqual([]);
    const { stdout } = await run('npx', ['tsx', 'recordings/evidence-verify-cli.ts', join(dir, 'manifest.json'), dir, '--trust', trustFile]);
    expect(stdout).toMatch(/evidence intact/);
  });

  it('names the recording when one byte of it changes', async () => {
    const file = join(dir, manifest.recordings[0]!.file);
    const bytes = await readFile(file);
    const copy = Buffer.from(bytes);
    copy[Math.floor(copy.length / 2)] = copy[Math.floor(copy.length / 2)]! ^ 0xff;
    await writeFile(file, copy);
    try {
      const findings = await verifyEvidence(manifest, dir, keyring);
      expect(findings).toEqual([{ item: `recording ${manifest.recordings[0]!.id} (${manifest.recordings[0]!.file})`, problem: expect.stringMatching(/SHA-256/) }]);
      const cli = await run('npx', ['tsx', 'recordings/evidence-verify-cli.ts', join(dir, 'manifest.json'), dir, '--trust', trustFile]).catch((e: { code: number; stderr: string }) => e);
      expect((cli as { code: number }).code).toBe(1);
      expect((cli as { stderr: string }).stderr).toContain(`FAIL files: recording ${manifest.recordings[0]!.id}`);
    } finally {
      await writeFile(file, bytes);
    }
  });

  it('names the answer when one answer in the manifest changes, even if the forger re-seals it', async () => {
    const forged = structuredClone(manifest);
    const target = forged.answers.find((a) => a.itemId === 'loan_purpose')!;
    target.value = 'DENIED';
    expect(await verifyEvidence(forged, dir, keyring)).toEqual(expect.arrayContaining([{ item: 'manifest', problem: expect.any(String) }, { item: 'answer loan_purpose', problem: expect.stringMatching(/DENIED/) }]));
    const resealed = { ...forged, manifestSha256: manifestHash(forged as unknown as Record<string, unknown>) };
    expect(await verifyEvidence(resealed, dir, keyring)).toEqual([
      { item: 'manifest signature', problem: expect.stringMatching(/does not verify/) },
      { item: 'answer loan_purpose', problem: expect.stringMatching(/audit chain CONFIRMED/) },
    ]);
  });

  it('is an audited export, for compliance roles only', async () => {
    const agent = await t.signIn({ roles: ['AGENT'] });
    const sessionId = (manifest as unknown as { session: { id: string } }).session.id;
    expect((await agent.get(`/api/sessions/${sessionId}/evidence`)).status).toBe(403);
    const exported = await auditEventOf(auditor, { entityType: 'session', entityId: sessionId, action: 'evidence.exported' });
    expect(exported.data).toMatchObject({ format: 'json', manifestSha256: manifest.manifestSha256 });
  });
});

type TemplateDefinition = { sections: { items: { id: string; prompt: { 'zh-CN': string; en: string } }[] }[] };
/** pdftotext breaks lines where the PDF wraps them (between Chinese characters too): compare without whitespace. */
const squash = (text: string) => text.replace(/\s+/g, '');

describe('evidence PDF', () => {
  let pdfFile: string;
  let text: string;
  let res: Response;
  const sessionId = () => (manifest as unknown as { session: { id: string } }).session.id;

  beforeAll(async () => {
    res = await fetch(`${t.url}/api/sessions/${sessionId()}/evidence`, { headers: { cookie: auditor.cookieHeader(), accept: 'application/pdf' } });
    pdfFile = join(dir, 'evidence.pdf');
    await writeFile(pdfFile, Buffer.from(await res.arrayBuffer()));
    text = (await run('pdftotext', ['-enc', 'UTF-8', pdfFile, '-'])).stdout;
  });

  it('is chosen by Accept: application/pdf, streamed as a PDF and named after the session', async () => {
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pdf');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="evidence-${sessionId()}.pdf"`);
    expect((await readFile(pdfFile)).subarray(0, 5).toString('latin1')).toBe('%PDF-');
  });

  it('shows every prompt as it was read, in Chinese (the session language) and English, with the answers, offsets and notes', () => {
    const { template, script } = manifest as unknown as { template: { definition: TemplateDefinition }; script: { values: Record<'zh-CN' | 'en', Record<string, string>> } };
    const items = template.definition.sections.flatMap((s) => s.items);
    const flat = squash(text);
    for (const item of items) {
      expect(flat).toContain(squash(renderPrompt(item.prompt['zh-CN'], script.values['zh-CN'])));
      expect(flat).toContain(squash(renderPrompt(item.prompt.en, script.values.en)));
    }
    expect(flat).toContain(squash('年化利率为4.35%（单利）'));
    expect(flat).toContain(squash('the annualised interest rate is 4.35% (simple interest)'));
    expect(flat).toContain('每月15日');
    expect(text).not.toMatch(/\{(amount|term|apr|fees|repaymentMethod|instalment|dueDay|lenderName|collateral|phoneLast4|agentName)\}/);
    expect(text).toContain('CONFIRMED (revision');
    expect(text).toContain('home renovation');
    const purpose = manifest.answers.find((a) => a.itemId === 'loan_purpose') as unknown as { offsetMs: number | null };
    expect(purpose.offsetMs).not.toBeNull();
    expect(text).toContain(`(${purpose.offsetMs} ms)`);
  });

  it('shows the references, template hash, recording size and SHA-256, audit hashes, and masks the party', () => {
    const m = manifest as unknown as {
      loanFile: { externalRef: string };
      party: { id: string; name: string };
      template: { contentHash: string };
      recordings: { sha256: string; sizeBytes: string }[];
      auditChain: { events: { hash: string }[] };
    };
    const flat = squash(text);
    expect(text).toContain(m.loanFile.externalRef);
    expect(text).toContain(m.party.id);
    expect(text).toContain(m.party.name);
    expect(flat).toContain(m.template.contentHash);
    expect(flat).toContain(m.recordings[0]!.sha256);
    expect(text).toContain(`${m.recordings[0]!.sizeBytes} bytes`);
    for (const e of m.auditChain.events) expect(flat).toContain(e.hash);
    expect(text).not.toContain('13805550100');
    expect(text).not.toContain('赵敏');
  });

  it('carries the sealed manifest whose hash it prints, and the export is audited as a PDF', async () => {
    const sealedHash = res.headers.get('x-evidence-manifest-sha256')!;
    expect(sealedHash).toMatch(/^[0-9a-f]{64}$/);
    expect(squash(text)).toContain(`manifestSHA-256${sealedHash}`);
    const out = join(dir, 'detached');
    await mkdir(out);
    await run('pdfdetach', ['-saveall', '-o', out, pdfFile]);
    const attached = JSON.parse(await readFile(join(out, `evidence-${sessionId()}.json`), 'utf8')) as Manifest & { manifestSha256: string };
    expect(attached.manifestSha256).toBe(sealedHash);
    expect(await verifyEvidence(attached, dir, keyring)).toEqual([]);
    const exported = await auditLogOf(auditor, { entityType: 'session', entityId: sessionId(), action: 'evidence.exported' });
    expect(exported.map((e) => e.data)).toContainEqual(expect.objectContaining({ format: 'pdf', manifestSha256: sealedHash }));
  });

  it('is also chosen by ?format=pdf, and ?format=json wins over Accept', async () => {
    const byQuery = await fetch(`${t.url}/api/sessions/${sessionId()}/evidence?format=pdf`, { headers: { cookie: auditor.cookieHeader() } });
    expect(byQuery.headers.get('content-type')).toBe('application/pdf');
    await byQuery.arrayBuffer();
    const json = await fetch(`${t.url}/api/sessions/${sessionId()}/evidence?format=json`, { headers: { cookie: auditor.cookieHeader(), accept: 'application/pdf' } });
    expect(json.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await json.json()) as { format: string }).format).toBe('facesign-evidence/2');
  });

  it('is refused to an agent', async () => {
    const agent = await t.signIn({ roles: ['AGENT'] });
    const denied = await fetch(`${t.url}/api/sessions/${sessionId()}/evidence?format=pdf`, { headers: { cookie: agent.cookieHeader() } });
    expect(denied.status).toBe(403);
  });
});

describe('evidence PDF without its font', () => {
  it('fails with problem+json before exporting anything, shows it in /readyz, and still serves the JSON', async () => {
    const bare = await startTestApp({ EVIDENCE_PDF_FONT: '/nonexistent/facesign/wqy-microhei.ttc' });
    try {
      const ready = await bare.client().get<{ status: string; checks: Record<string, { status: string; required: boolean; error?: string }> }>('/readyz');
      expect(ready.body.status).toBe('ready');
      expect(ready.body.checks.evidencePdfFont).toMatchObject({ status: 'down', required: false, error: 'ENOENT' });
      const who = await bare.signIn({ roles: ['AUDITOR'] });
      const missing = '00000000-0000-4000-8000-000000000001';
      const pdf = await who.get<{ code: string; detail: string }>(`/api/sessions/${missing}/evidence?format=pdf`);
      expect(pdf.status).toBe(503);
      expect(pdf.contentType).toMatch(/^application\/problem\+json/);
      expect(pdf.body.code).toBe('EVIDENCE_PDF_UNAVAILABLE');
      expect(pdf.body.detail).toContain('EVIDENCE_PDF_FONT');
      expect(pdf.body.detail).not.toContain('/nonexistent');
      expect((await who.get<{ code: string }>(`/api/sessions/${missing}/evidence`)).body.code).toBe('NOT_FOUND');
      expect(await auditLogOf(who, { action: 'evidence.exported' })).toHaveLength(0);
    } finally {
      await bare.stop();
    }
  });
});
