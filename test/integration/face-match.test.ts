// The face-match assist end to end: the agent uploads an ID_FRONT and a FACE snapshot through the
// capture API; the face-match job runs the real model in its worker thread; the result lands in the
// FaceMatch row, on the capture records, in the socket event and the desk API, the crops are stored
// next to the snapshots in the bucket (s3rver) and served audited, and the evidence package carries
// score, model and thresholds. One app and one model load for the file.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client, RecordingStore } from '../../recordings/object-store.js';
import { FaceMatchService } from '../../recordings/face-match.service.js';
import { FaceMatcher } from '../../recordings/face-matcher.js';
import { checkEvidence, type Manifest } from '../../recordings/evidence-verify.js';
import type { ApiClient } from '../support/api-client.js';
import { connectAgent, type AgentSocket } from '../support/agent-socket.js';
import { createAttempt, eventually } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { entityAuditEventsOf, evidenceOf, faceMatchesOf } from '../support/reads.js';
import { FACES, idCard, liveFace, samplePhoto } from '../support/face-samples.js';

interface FaceMatchView {
  id: string;
  idCaptureId: string;
  liveCaptureId: string;
  status: string;
  result: string | null;
  score: number | null;
  thresholds: { matchAt: number; noMatchBelow: number };
  model: { name: string; version: string } | null;
  faceCounts: { id: number | null; live: number | null };
  crops: { id: string | null; live: string | null };
}
interface CaptureView {
  id: string;
  kind: string;
  faceMatch: { id: string; status: string; result: string | null; score: number | null; thresholds: { matchAt: number; noMatchBelow: number }; model: { name: string; version: string } | null } | null;
}

let t: TestApp;
let agent: ApiClient;
let auditor: ApiClient;
let socket: AgentSocket;
let sessionId: string;
let loanFileId: string;
let attemptId: string;
let agentId: string;

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

// Made before the app starts: building them takes seconds on a busy machine, and a pause that long
// between requests lets a kept-alive connection close under the next upload.
let images: { idCard: Buffer; sameLive: Buffer; group: Buffer };

async function upload(kind: 'ID_FRONT' | 'FACE', body: Buffer): Promise<string> {
  const res = await fetch(`${t.url}/api/sessions/${sessionId}/captures?kind=${kind}`, {
    method: 'POST',
    headers: { cookie: agent.cookieHeader(), 'x-csrf-token': agent.csrfToken ?? '', 'content-type': body[0] === 0x89 ? 'image/png' : 'image/jpeg' },
    body,
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

/** Uploads the pair and waits for the desk's socket event of the match they start. */
async function matchOf(idImage: Buffer | undefined, liveImage: Buffer): Promise<FaceMatchView> {
  const seen = socket.events.length;
  if (idImage) await upload('ID_FRONT', idImage);
  const liveId = await upload('FACE', liveImage);
  const row = await eventually(async () => (await faceMatchesOf(agent, sessionId)).find((m) => m.liveCaptureId === liveId));
  const event = await socket.next('face-match:changed', (p) => p.faceMatchId === row.id);
  expect(event).toEqual({ v: 1, sessionId, faceMatchId: row.id, status: 'DONE' });
  expect(socket.events.length).toBeGreaterThan(seen);
  const list = await agent.get<{ items: FaceMatchView[] }>(`/api/sessions/${sessionId}/face-matches`);
  expect(list.status).toBe(200);
  // Newest first: the desk shows items[0].
  expect(list.body.items[0]!.id).toBe(row.id);
  return list.body.items[0]!;
}

beforeAll(async () => {
  images = { idCard: idCard(FACES.sample1Left), sameLive: liveFace(FACES.sample1Left), group: samplePhoto(1) };
  t = await startTestApp({ FACE_MATCH_MATCH_AT: '0.58', FACE_MATCH_NO_MATCH_BELOW: '0.42' });
  const email = `face-match-agent-${Date.now()}@bank.test`;
  agent = await t.signIn({ roles: ['AGENT'], email });
  auditor = await t.signIn({ roles: ['AUDITOR'] });
  agentId = (await agent.get<{ id: string }>('/api/auth/me')).body.id;
  const db = t.facesign.db;
  // fixture: a video session in progress with this agent, its recording running
  const created = await createAttempt(db, { kind: 'VIDEO' });
  sessionId = created.session.id;
  loanFileId = created.loanFile.id;
  attemptId = created.attempt.id;
  await db.verificationSession.update({ where: { id: sessionId }, data: { assignedAgentId: agentId, state: 'IN_PROGRESS' } });
  await db.attempt.update({ where: { id: created.attempt.id }, data: { recordingStartedAt: new Date(Date.now() - 5000) } });
  socket = await connectAgent(t.url, agent);
  expect(await socket.emit('session:watch', { sessionId })).toEqual({ ok: true });
}, 120_000);
afterAll(async () => {
  socket?.close();
  await t?.stop();
}, 120_000);

/** The SHA-256 of a match's crops, as the evidence manifest records them. */
function cropHashesOf(manifest: Record<string, unknown>, matchId: string): Record<'id' | 'live', string | undefined> {
  const crops = (manifest as { faceMatches: { id: string; crops: Record<'id' | 'live', { sha256: string } | null> }[] }).faceMatches.find((m) => m.id === matchId)?.crops;
  return { id: crops?.id?.sha256, live: crops?.live?.sha256 };
}

describe('face-match assist through the capture API', () => {
  let match: FaceMatchView;

  it('compares the ID photo with the live face in a job and tells the desk: same person, MATCH', async () => {
    match = await matchOf(images.idCard, images.sameLive);
    expect(match).toMatchObject({ status: 'DONE', result: 'MATCH', thresholds: { matchAt: 0.58, noMatchBelow: 0.42 }, faceCounts: { id: 1, live: 1 } });
    expect(match.score).toBeGreaterThanOrEqual(0.58);
    expect(match.model?.version).toContain('@vladmandic/face-api 1.7.15');
    expect(match.crops).toEqual({ id: `/api/face-matches/${match.id}/crops/id`, live: `/api/face-matches/${match.id}/crops/live` });

    // The capture records carry it too.
    const captures = await agent.get<{ items: CaptureView[] }>(`/api/sessions/${sessionId}/captures`);
    for (const kind of ['ID_FRONT', 'FACE']) {
      expect(captures.body.items.find((c) => c.kind === kind)?.faceMatch).toEqual({ id: match.id, status: 'DONE', result: 'MATCH', score: match.score, thresholds: match.thresholds, model: match.model });
    }
  }, 120_000);

  it('stores the crops next to the snapshots and serves them audited', async () => {
    const row = cropHashesOf(await evidenceOf(auditor, sessionId), match.id);
    const prefix = `captures/${loanFileId}/${sessionId}/`;
    const s3 = createS3Client(t.facesign.config.s3);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: t.facesign.config.s3.bucket, Prefix: prefix }));
    const keys = (listed.Contents ?? []).map((o) => o.Key);
    expect(keys).toEqual(expect.arrayContaining([`${prefix}face-match-${match.id}-id.jpg`, `${prefix}face-match-${match.id}-live.jpg`]));
    s3.destroy();

    for (const side of ['id', 'live'] as const) {
      const res = await fetch(`${t.url}/api/face-matches/${match.id}/crops/${side}`, { headers: { cookie: agent.cookieHeader() } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/jpeg');
      const bytes = Buffer.from(await res.arrayBuffer());
      expect(sha256(bytes)).toBe(row[side]);
    }
    const audited = await entityAuditEventsOf(auditor, sessionId, match.id);
    expect(audited.map((a) => [a.action, (a.data as { side?: string }).side ?? null])).toEqual([
      ['face_match.completed', null],
      ['face_match.crop_accessed', 'id'],
      ['face_match.crop_accessed', 'live'],
    ]);
  }, 60_000);

  it('another agent learns nothing about the session', async () => {
    const other = await t.signIn({ roles: ['AGENT'] });
    expect((await other.get(`/api/sessions/${sessionId}/face-matches`)).status).toBe(404);
    expect((await fetch(`${t.url}/api/face-matches/${match.id}/crops/id`, { headers: { cookie: other.cookieHeader() } })).status).toBe(404);
  });

  it('a live snapshot with several faces is reported as such, with no score and no live crop', async () => {
    const multiple = await matchOf(undefined, images.group);
    expect(multiple).toMatchObject({ status: 'DONE', result: 'MULTIPLE_FACES', score: null, faceCounts: { id: 1 } });
    expect(multiple.faceCounts.live).toBeGreaterThan(1);
    expect(multiple.crops.live).toBeNull();
  }, 120_000);

  it('the evidence package carries each result with its model, thresholds and crops', async () => {
    const res = await auditor.get<{ faceMatches: (Omit<FaceMatchView, 'crops'> & { crops: Record<'id' | 'live', { file: string; sha256: string } | null> })[]; auditChain: { events: { action: string; entityId: string }[] } }>(`/api/sessions/${sessionId}/evidence`);
    expect(res.status).toBe(200);
    // The crops' hashes are those of the bytes the API serves.
    const served = async (side: 'id' | 'live') => sha256(Buffer.from(await (await fetch(`${t.url}/api/face-matches/${match.id}/crops/${side}`, { headers: { cookie: auditor.cookieHeader() } })).arrayBuffer()));
    const row = { idCropSha256: await served('id'), liveCropSha256: await served('live') };
    expect(res.body.faceMatches).toHaveLength(2);
    expect(res.body.faceMatches[0]).toMatchObject({
      id: match.id,
      result: 'MATCH',
      score: match.score,
      thresholds: { matchAt: 0.58, noMatchBelow: 0.42 },
      model: match.model,
      crops: { id: { file: `captures/face-match-${match.id}-id.jpg`, sha256: row.idCropSha256 }, live: { file: `captures/face-match-${match.id}-live.jpg`, sha256: row.liveCropSha256 } },
    });
    expect(res.body.faceMatches[1]).toMatchObject({ result: 'MULTIPLE_FACES', score: null, crops: { live: null } });
    expect(res.body.auditChain.events.filter((e) => e.action === 'face_match.completed').map((e) => e.entityId).sort()).toEqual(res.body.faceMatches.map((m) => m.id).sort());

    // Offline: the package with its snapshots and crops passes the file check; a changed crop does not.
    const manifest = res.body as unknown as Manifest;
    const dir = await mkdtemp(join(tmpdir(), 'facesign-face-match-evidence-'));
    try {
      const downloads = [
        ...manifest.captures.map((c) => ({ url: `/api/captures/${c.id}/content`, file: c.file })),
        ...res.body.faceMatches.flatMap((m) => (['id', 'live'] as const).flatMap((side) => (m.crops[side] ? [{ url: `/api/face-matches/${m.id}/crops/${side}`, file: m.crops[side].file }] : []))),
      ];
      expect(downloads).toHaveLength(manifest.captures.length + 3);
      for (const d of downloads) {
        const media = await fetch(`${t.url}${d.url}`, { headers: { cookie: auditor.cookieHeader() } });
        expect(media.status).toBe(200);
        await mkdir(dirname(join(dir, d.file)), { recursive: true });
        await writeFile(join(dir, d.file), Buffer.from(await media.arrayBuffer()));
      }
      const files = async () => (await checkEvidence(manifest, dir, t.facesign.signing.keyring)).find((c) => c.check === 'files')!;
      expect((await files()).findings).toEqual([]);
      await writeFile(join(dir, `captures/face-match-${match.id}-live.jpg`), Buffer.from('not the crop'));
      expect((await files()).findings.map((f) => f.item)).toEqual([`face-match ${match.id} live crop (captures/face-match-${match.id}-live.jpg)`]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('face-match jobs that cannot finish', () => {
  it('a lost job is found by the sweep; a failure is thrown for a retry, and recorded as FAILED on the last try', async () => {
    const db = t.facesign.db;
    // Two captures whose objects are not in the bucket, and a PENDING match nobody queued (as if Redis lost its job).
    // fixture: the rows a lost job leaves
    const missing = await Promise.all(
      (['ID_FRONT', 'FACE'] as const).map((kind) =>
        db.capture.create({ data: { sessionId, attemptId, kind, objectKey: `captures/${loanFileId}/${sessionId}/missing-${kind}.jpg`, contentType: 'image/jpeg', sizeBytes: 1, sha256: '0'.repeat(64), capturedById: agentId, createdAt: new Date(0) } }),
      ),
    );
    const pending = await db.faceMatch.create({ data: { sessionId, idCaptureId: missing[0]!.id, liveCaptureId: missing[1]!.id, matchThreshold: 0.6, noMatchThreshold: 0.4, createdAt: new Date(Date.now() - 5 * 60_000) } });

    const s3 = createS3Client(t.facesign.config.s3);
    const matcher = new FaceMatcher();
    const completed: string[] = [];
    const service = new FaceMatchService({ db, store: new RecordingStore(s3, t.facesign.config.s3.bucket), comparer: matcher, settings: t.facesign.config.recordings.faceMatch, enqueue: async () => undefined, log: t.facesign.log, onCompleted: (m) => completed.push(`${m.id}:${m.status}`) });
    try {
      expect(await service.sweep()).toContain(pending.id);
      await expect(service.run(pending.id, { finalTry: false })).rejects.toThrow(/missing from the store/);
      const matchNow = async () => (await faceMatchesOf(agent, sessionId)).find((m) => m.id === pending.id)!;
      expect((await matchNow()).status).toBe('PENDING');
      await service.run(pending.id, { finalTry: true });
      expect(await matchNow()).toMatchObject({ status: 'FAILED', result: null, score: null });
      // The desk's API does not say why; the evidence manifest does.
      const failed = ((await evidenceOf(auditor, sessionId)) as { faceMatches: { id: string; failure: string | null }[] }).faceMatches.find((m) => m.id === pending.id);
      expect(failed?.failure).toMatch(/missing from the store/);
      expect(completed).toEqual([`${pending.id}:FAILED`]);
      expect(await service.sweep()).not.toContain(pending.id);
      // Idempotent: a late duplicate of the job changes nothing.
      await service.run(pending.id, { finalTry: true });
      const audited = await entityAuditEventsOf(auditor, sessionId, pending.id);
      expect(audited.map((a) => [a.action, (a.data as { status: string }).status])).toEqual([['face_match.completed', 'FAILED']]);
    } finally {
      await matcher.close();
      s3.destroy();
    }
  });
});
