// The evidence package: exported after a completed, recorded call; verified offline against the
// downloaded recording; a changed byte of the recording or a changed answer is named.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manifestHash } from '../../recordings/evidence.js';
import { verifyEvidence } from '../../recordings/evidence-verify.js';
import { eventually } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { ALWAYS_OPEN, answerAllRequired, loanFileWithBorrower, losClient, onlineAgent, scheduleCall, stateOf, takeOffer } from '../support/verification.js';

const run = promisify(execFile);
let t: TestApp;
let dir: string;
type Manifest = Parameters<typeof verifyEvidence>[0] & { recordings: { id: string; file: string }[]; answers: { itemId: string; value: string }[] };
let manifest: Manifest;

beforeAll(async () => {
  t = await startTestApp(ALWAYS_OPEN, { livekit: true });
  dir = await mkdtemp(join(tmpdir(), 'facesign-evidence-'));
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
  await eventually(async () => (await t.facesign.db.recording.findFirst({ where: { attempt: { sessionId } } }))?.state === 'RETAINED');

  const auditor = await t.signIn({ roles: ['AUDITOR'] });
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
    expect(manifest).toMatchObject({ format: 'facesign-evidence/1', template: { key: 'call-default', version: 1 } });
    expect(manifest.recordings).toHaveLength(1);
    expect(manifest.answers.length).toBeGreaterThanOrEqual(8);
    expect(manifest.auditChain.events.map((e) => e.action)).toEqual(expect.arrayContaining(['session.scheduled', 'checklist.answered', 'recording.verified']));
    const text = JSON.stringify(manifest);
    expect(text).not.toContain('13805550100');
    expect(text).not.toContain('赵敏');
  });

  it('verifies offline, by function and by the CLI', async () => {
    expect(await verifyEvidence(manifest, dir)).toEqual([]);
    const { stdout } = await run('npx', ['tsx', 'recordings/evidence-verify-cli.ts', join(dir, 'manifest.json'), dir]);
    expect(stdout).toMatch(/evidence intact/);
  });

  it('names the recording when one byte of it changes', async () => {
    const file = join(dir, manifest.recordings[0]!.file);
    const bytes = await readFile(file);
    const copy = Buffer.from(bytes);
    copy[Math.floor(copy.length / 2)] = copy[Math.floor(copy.length / 2)]! ^ 0xff;
    await writeFile(file, copy);
    try {
      const findings = await verifyEvidence(manifest, dir);
      expect(findings).toEqual([{ item: `recording ${manifest.recordings[0]!.id} (${manifest.recordings[0]!.file})`, problem: expect.stringMatching(/SHA-256/) }]);
      const cli = await run('npx', ['tsx', 'recordings/evidence-verify-cli.ts', join(dir, 'manifest.json'), dir]).catch((e: { code: number; stderr: string }) => e);
      expect((cli as { code: number }).code).toBe(1);
      expect((cli as { stderr: string }).stderr).toContain(`MISMATCH recording ${manifest.recordings[0]!.id}`);
    } finally {
      await writeFile(file, bytes);
    }
  });

  it('names the answer when one answer in the manifest changes, even if the forger re-seals it', async () => {
    const forged = structuredClone(manifest);
    const target = forged.answers.find((a) => a.itemId === 'loan_purpose')!;
    target.value = 'DENIED';
    expect(await verifyEvidence(forged, dir)).toEqual(expect.arrayContaining([{ item: 'manifest', problem: expect.any(String) }, { item: 'answer loan_purpose', problem: expect.stringMatching(/DENIED/) }]));
    const resealed = { ...forged, manifestSha256: manifestHash(forged as unknown as Record<string, unknown>) };
    expect(await verifyEvidence(resealed, dir)).toEqual([{ item: 'answer loan_purpose', problem: expect.stringMatching(/audit chain CONFIRMED/) }]);
  });

  it('is an audited export, for compliance roles only', async () => {
    const agent = await t.signIn({ roles: ['AGENT'] });
    const sessionId = (manifest as unknown as { session: { id: string } }).session.id;
    expect((await agent.get(`/api/sessions/${sessionId}/evidence`)).status).toBe(403);
    const exported = await t.facesign.db.auditEvent.findFirstOrThrow({ where: { entityId: sessionId, action: 'evidence.exported' } });
    expect(exported.data).toMatchObject({ format: 'json', manifestSha256: manifest.manifestSha256 });
  });
});
