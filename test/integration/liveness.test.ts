// The active-liveness assist end to end: the agent uploads a LIVENESS_BEFORE and a LIVENESS_ACTION
// snapshot through the capture API; the liveness-check job finds the landmarks with the real model in
// its worker thread and judges them against the session's prompt; the result lands in the
// LivenessCheck row, the socket event, the desk API, the audit log and the evidence package.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../support/api-client.js';
import { connectAgent, type AgentSocket } from '../support/agent-socket.js';
import { createAttempt, eventually } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { entityAuditEventsOf, faceMatchesOf, livenessChecksOf } from '../support/reads.js';
import { liveFace, POSES, samplePhoto } from '../support/face-samples.js';
import { createS3Client, RecordingStore } from '../../recordings/object-store.js';
import { FaceMatcher } from '../../recordings/face-matcher.js';
import { LivenessService } from '../../recordings/liveness.service.js';

interface Frame {
  faceCount: number | null;
  measures: { yawDeg: number; pitch: number; ear: number; mouth: number } | null;
}
interface LivenessView {
  id: string;
  beforeCaptureId: string;
  actionCaptureId: string;
  promptId: string | null;
  movement: string | null;
  status: string;
  result: string | null;
  before: Frame;
  action: Frame;
  thresholds: Record<string, number>;
  model: { name: string; version: string } | null;
}

let t: TestApp;
let agent: ApiClient;
let auditor: ApiClient;
let socket: AgentSocket;
let sessionId: string;
let loanFileId: string;
let attemptId: string;
let agentId: string;
let images: { turnedRight: Buffer; turnedLeft: Buffer; group: Buffer };

async function upload(kind: 'LIVENESS_BEFORE' | 'LIVENESS_ACTION', body: Buffer): Promise<string> {
  const res = await fetch(`${t.url}/api/sessions/${sessionId}/captures?kind=${kind}`, {
    method: 'POST',
    headers: { cookie: agent.cookieHeader(), 'x-csrf-token': agent.csrfToken ?? '', 'content-type': 'image/jpeg' },
    body,
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

/** Uploads the frames (the before frame only when given) and waits for the desk's socket event. */
async function checkOf(before: Buffer | undefined, action: Buffer): Promise<LivenessView> {
  if (before) await upload('LIVENESS_BEFORE', before);
  const actionId = await upload('LIVENESS_ACTION', action);
  const row = await eventually(async () => (await livenessChecksOf(agent, sessionId)).find((c) => c.actionCaptureId === actionId));
  expect(await socket.next('liveness:changed', (p) => p.livenessCheckId === row.id)).toEqual({ v: 1, sessionId, livenessCheckId: row.id, status: 'DONE' });
  const list = await agent.get<{ items: LivenessView[] }>(`/api/sessions/${sessionId}/liveness-checks`);
  expect(list.status).toBe(200);
  expect(list.body.items[0]!.id).toBe(row.id);
  return list.body.items[0]!;
}

// fixture: the prompt the session drew
const drawPrompt = (livenessPromptId: string) => t.facesign.db.verificationSession.update({ where: { id: sessionId }, data: { livenessPromptId } });

beforeAll(async () => {
  images = { turnedRight: liveFace(POSES.turnedRight), turnedLeft: liveFace(POSES.turnedRight, { mirrored: true }), group: samplePhoto(1) };
  t = await startTestApp({ LIVENESS_YAW_CHANGE_DEGREES: '25' });
  const email = `liveness-agent-${Date.now()}@bank.test`;
  agent = await t.signIn({ roles: ['AGENT'], email });
  auditor = await t.signIn({ roles: ['AUDITOR'] });
  agentId = (await agent.get<{ id: string }>('/api/auth/me')).body.id;
  const db = t.facesign.db;
  // fixture: a video session in progress with this agent, its recording running
  const created = await createAttempt(db, { kind: 'VIDEO' });
  sessionId = created.session.id;
  loanFileId = created.loanFile.id;
  attemptId = created.attempt.id;
  await db.verificationSession.update({ where: { id: sessionId }, data: { assignedAgentId: agentId, state: 'IN_PROGRESS', livenessPromptId: 'liveness_turn_left' } });
  await db.attempt.update({ where: { id: created.attempt.id }, data: { recordingStartedAt: new Date(Date.now() - 5000) } });
  socket = await connectAgent(t.url, agent);
  expect(await socket.emit('session:watch', { sessionId })).toEqual({ ok: true });
}, 120_000);
afterAll(async () => {
  socket?.close();
  await t?.stop();
}, 120_000);

describe('active liveness through the capture API', () => {
  let passed: LivenessView;

  it('a LIVENESS_BEFORE alone starts nothing', async () => {
    await upload('LIVENESS_BEFORE', images.turnedRight);
    expect(await livenessChecksOf(agent, sessionId)).toEqual([]);
    expect(await faceMatchesOf(agent, sessionId)).toEqual([]);
  });

  it('"turn your head to the left": the head turned from her right to her left, PASSED with the figures', async () => {
    passed = await checkOf(undefined, images.turnedLeft);
    expect(passed).toMatchObject({ promptId: 'liveness_turn_left', movement: 'TURN_LEFT', status: 'DONE', result: 'PASSED', before: { faceCount: 1 }, action: { faceCount: 1 } });
    expect(passed.thresholds).toEqual({ yawChangeDeg: 25, pitchChange: 0.08, eyesClosedBelow: 0.18, eyesOpenAt: 0.24, mouthOpenAt: 0.35, mouthClosedBelow: 0.15 });
    expect(passed.before.measures!.yawDeg).toBeLessThan(-25);
    expect(passed.action.measures!.yawDeg).toBeGreaterThan(25);
    expect(passed.model?.version).toContain('@vladmandic/face-api 1.7.15');
    const audited = await entityAuditEventsOf(auditor, sessionId, passed.id);
    expect(audited.map((a) => [a.action, a.actorType, (a.data as { result: string }).result])).toEqual([['liveness_check.completed', 'SYSTEM', 'PASSED']]);
  }, 120_000);

  it('the same frames against "turn to the right" are NOT_OBSERVED', async () => {
    await drawPrompt('liveness_turn_right');
    const check = await checkOf(images.turnedRight, images.turnedLeft);
    expect(check).toMatchObject({ movement: 'TURN_RIGHT', result: 'NOT_OBSERVED' });
  }, 120_000);

  it('"read the digits aloud" cannot be seen in landmarks: NOT_CHECKABLE, figures still measured', async () => {
    await drawPrompt('liveness_read_digits');
    const check = await checkOf(images.turnedRight, images.turnedLeft);
    expect(check).toMatchObject({ promptId: 'liveness_read_digits', movement: null, result: 'NOT_CHECKABLE' });
    expect(check.action.measures).not.toBeNull();
  }, 120_000);

  it('a frame with several faces is MULTIPLE_FACES, never "not observed"', async () => {
    await drawPrompt('liveness_blink');
    const check = await checkOf(images.turnedRight, images.group);
    expect(check).toMatchObject({ movement: 'BLINK', result: 'MULTIPLE_FACES', before: { faceCount: 1 }, action: { measures: null } });
    expect(check.action.faceCount).toBeGreaterThan(1);
  }, 120_000);

  it('another agent learns nothing; an auditor reads the checks in the evidence package', async () => {
    const other = await t.signIn({ roles: ['AGENT'] });
    expect((await other.get(`/api/sessions/${sessionId}/liveness-checks`)).status).toBe(404);

    const auditor = await t.signIn({ roles: ['AUDITOR'] });
    const res = await auditor.get<{ livenessChecks: LivenessView[]; auditChain: { events: { action: string; entityId: string }[] } }>(`/api/sessions/${sessionId}/evidence`);
    expect(res.status).toBe(200);
    expect(res.body.livenessChecks.map((c) => c.result)).toEqual(['PASSED', 'NOT_OBSERVED', 'NOT_CHECKABLE', 'MULTIPLE_FACES']);
    expect(res.body.livenessChecks[0]).toMatchObject({ id: passed.id, before: passed.before, action: passed.action, thresholds: passed.thresholds, model: passed.model });
    expect(res.body.auditChain.events.filter((e) => e.action === 'liveness_check.completed').map((e) => e.entityId).sort()).toEqual(res.body.livenessChecks.map((c) => c.id).sort());

    // The readable PDF says the same.
    const pdf = await fetch(`${t.url}/api/sessions/${sessionId}/evidence?format=pdf`, { headers: { cookie: auditor.cookieHeader() } });
    expect(pdf.status).toBe(200);
    const file = join(await mkdtemp(join(tmpdir(), 'facesign-liveness-')), 'evidence.pdf');
    await writeFile(file, Buffer.from(await pdf.arrayBuffer()));
    const text = (await promisify(execFile)('pdftotext', ['-enc', 'UTF-8', file, '-'])).stdout.replace(/\s+/g, ' ');
    expect(text).toContain('Active liveness assist');
    expect(text).toContain('liveness_turn_left, movement TURN_LEFT');
    expect(text).toContain(`yaw ${passed.before.measures!.yawDeg}°`);
    await rm(dirname(file), { recursive: true, force: true });
  }, 120_000);
});

describe('liveness checks that cannot finish', () => {
  it('a lost job is found by the sweep; a failure is thrown for a retry, and recorded as FAILED on the last try', async () => {
    const db = t.facesign.db;
    // Two captures whose objects are not in the bucket, and a PENDING check nobody queued (as if Redis lost its job).
    // fixture: the rows a lost job leaves
    const [before, action] = await Promise.all(
      (['LIVENESS_BEFORE', 'LIVENESS_ACTION'] as const).map((kind) =>
        db.capture.create({ data: { sessionId, attemptId, kind, objectKey: `captures/${loanFileId}/${sessionId}/missing-${kind}.jpg`, contentType: 'image/jpeg', sizeBytes: 1, sha256: '0'.repeat(64), capturedById: agentId, createdAt: new Date(0) } }),
      ),
    );
    const pending = await db.livenessCheck.create({
      data: { sessionId, beforeCaptureId: before!.id, actionCaptureId: action!.id, promptId: 'liveness_blink', movement: 'BLINK', ...t.facesign.config.recordings.liveness.thresholds, createdAt: new Date(Date.now() - 5 * 60_000) },
    });
    const s3 = createS3Client(t.facesign.config.s3);
    const matcher = new FaceMatcher();
    const completed: string[] = [];
    const service = new LivenessService({ db, store: new RecordingStore(s3, t.facesign.config.s3.bucket), finder: matcher, settings: t.facesign.config.recordings.liveness, enqueue: async () => undefined, log: t.facesign.log, onCompleted: (c) => completed.push(`${c.id}:${c.status}`) });
    try {
      expect(await service.sweep()).toContain(pending.id);
      await expect(service.run(pending.id, { finalTry: false })).rejects.toThrow(/missing from the store/);
      const checkOf = async () => (await livenessChecksOf(agent, sessionId)).find((c) => c.id === pending.id)!;
      expect((await checkOf()).status).toBe('PENDING');
      await service.run(pending.id, { finalTry: true });
      const failed = await checkOf();
      expect(failed).toMatchObject({ status: 'FAILED', result: null, before: { measures: null } });
      expect(failed.failure).toMatch(/missing from the store/);
      expect(completed).toEqual([`${pending.id}:FAILED`]);
      expect(await service.sweep()).not.toContain(pending.id);
      // Idempotent: a late duplicate of the job changes nothing.
      await service.run(pending.id, { finalTry: true });
      const audited = await entityAuditEventsOf(auditor, sessionId, pending.id);
      expect(audited.map((a) => [a.action, (a.data as { status: string }).status])).toEqual([['liveness_check.completed', 'FAILED']]);
    } finally {
      await matcher.close();
      s3.destroy();
    }
  });
});
