// Finalize and integrity re-checks of recordings against the real S3 API (s3rver), Postgres and the
// audit chain. Supervisor alerts are captured by a recording RealtimeEmitter (an in-memory outlet,
// not a stand-in for infrastructure).
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer, get, type IncomingMessage, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3Server } from '../../dev/s3-server.js';
import { createS3Client, RecordingStore } from '../../recordings/object-store.js';
import { finalizeJobId, RecordingFinalizer } from '../../recordings/finalize.service.js';
import { sha256OfStream } from '../../recordings/hash.js';
import { IntegrityChecker } from '../../recordings/integrity.service.js';
import { integrityRoutes } from '../../recordings/integrity.routes.js';
import { verifySealedChain } from '../support/audit.js';
import { ApiKeyService } from '../../server/auth/api-keys.service.js';
import { AuthService } from '../../server/auth/auth.service.js';
import { DomainEvents } from '../../server/events/domain-events.js';
import { RateLimiter } from '../../server/auth/rate-limiter.js';
import { createHttpApp } from '../../server/http/app.js';
import type { AgentEventPayload, RealtimeEmitter } from '../../server/realtime/events.js';
import type { ApiClient } from '../support/api-client.js';
import { createAttempt } from '../support/fixtures.js';
import { startTestApp, TEST_BUCKET, type TestApp } from '../support/harness.js';
import { entityAuditEventsOf, reviewedRecordingOf, reviewFileOf } from '../support/reads.js';

type Alert = AgentEventPayload<'alert'>;

let t: TestApp;
let store: RecordingStore;
let finalizer: RecordingFinalizer;
let integrity: IntegrityChecker;
let auditor: ApiClient;
const alerts: Alert[] = [];
const realtime: RealtimeEmitter = {
  toAgent: () => undefined,
  toSessionWatchers: () => undefined,
  toParty: () => undefined,
  toSupervisors: (event, payload) => {
    if (event === 'alert') alerts.push(payload as Alert);
  },
};

beforeAll(async () => {
  t = await startTestApp();
  store = new RecordingStore(createS3Client(t.facesign.config.s3), t.facesign.config.s3.bucket);
  finalizer = new RecordingFinalizer({ db: t.facesign.db, store, realtime, log: t.facesign.log });
  integrity = new IntegrityChecker({ db: t.facesign.db, store, realtime, log: t.facesign.log });
  auditor = await t.signIn({ roles: ['AUDITOR'] });
});
afterAll(async () => {
  store?.s3.destroy();
  await t?.stop();
});

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const alertsFor = (sessionId: string) => alerts.filter((a) => a.sessionId === sessionId);
/** The recording's audit events, as the session's evidence manifest carries them. */
const auditOf = (recording: { id: string; sessionId: string }) => entityAuditEventsOf(auditor, recording.sessionId, recording.id);
/** The recording as an auditor's review file shows it. */
const recordingOf = (recording: { id: string; sessionId: string }) => reviewedRecordingOf(auditor, recording.sessionId, recording.id);
const recaptureRequired = async (sessionId: string) => (await reviewFileOf(auditor, sessionId)).session.recaptureRequired;
// storage: the finalizer's own bookkeeping (the row's version, finalize attempts, last update), which no API shows
const bookkeepingOf = (recordingId: string) =>
  t.facesign.db.recording.findUniqueOrThrow({ where: { id: recordingId }, select: { version: true, finalizeAttempts: true, updatedAt: true } });

/** A recording that LiveKit reported as uploaded, with `body` in the bucket (none: nothing stored). */
async function uploadedRecording(body: Buffer | undefined, options: { reportedSize?: bigint; into?: RecordingStore } = {}) {
  const { attempt, session } = await createAttempt(t.facesign.db, { kind: 'VIDEO' });
  const objectKey = `recordings/test/${attempt.id}.mp4`;
  if (body) await (options.into ?? store).put(objectKey, body, 'video/mp4');
  const recording = await t.facesign.db.recording.create({
    data: {
      attemptId: attempt.id,
      egressId: `EG_${attempt.id.replaceAll('-', '').slice(0, 12)}`,
      state: 'UPLOADED',
      audioOnly: false,
      objectKey,
      reportedSize: options.reportedSize ?? BigInt(body?.length ?? 0),
      reportedDurationMs: 61_000,
    },
  });
  return { recording: { ...recording, sessionId: session.id }, session, objectKey };
}

/** Several MiB, so the hash runs over many chunks of the HTTP body; odd-sized on purpose. */
const objectBytes = () => randomBytes(3 * 1024 * 1024 + 4097);

describe('finalize', () => {
  it('verifies an uploaded recording with the SHA-256 of the stored bytes, audited in one transaction', async () => {
    const body = objectBytes();
    const { recording, session } = await uploadedRecording(body);

    const result = await finalizer.finalize(recording.id);

    expect(result.outcome).toBe('verified');
    const row = await recordingOf(recording);
    expect(row).toMatchObject({ state: 'VERIFIED', sha256: sha256(body), sizeBytes: String(body.length), contentType: 'video/mp4', failureReason: null });
    expect((await bookkeepingOf(recording.id)).version).toBe(recording.version + 1);
    expect(row.verifiedAt).toEqual(expect.any(String));
    const audit = await auditOf(recording);
    expect(audit.map((e) => e.action)).toEqual(['recording.state_changed', 'recording.verified']);
    expect(audit[0]?.data).toMatchObject({ from: 'UPLOADED', to: 'VERIFIED', source: 'facesign', attemptId: recording.attemptId });
    expect(audit[1]?.data).toMatchObject({ sha256: sha256(body), sizeBytes: String(body.length), contentType: 'video/mp4' });
    expect(alertsFor(session.id)).toEqual([]);
    expect(await recaptureRequired(session.id)).toBe(false);
    expect(await verifySealedChain(t.facesign.db)).toMatchObject({ ok: true });
  });

  it('fails a recording whose stored size differs from what LiveKit reported, and asks for a recapture', async () => {
    const body = randomBytes(1000);
    const { recording, session } = await uploadedRecording(body, { reportedSize: 1200n });

    const result = await finalizer.finalize(recording.id);

    expect(result).toMatchObject({ outcome: 'failed', reason: 'size_mismatch: stored 1000, reported 1200' });
    expect(await recordingOf(recording)).toMatchObject({ state: 'FAILED', failureReason: 'size_mismatch: stored 1000, reported 1200', sha256: null, verifiedAt: null });
    expect(await recaptureRequired(session.id)).toBe(true);
    expect(alertsFor(session.id)).toEqual([{ v: 1, kind: 'recording_failed', sessionId: session.id, message: expect.stringContaining('size_mismatch') }]);
    const audit = await auditOf(recording);
    expect(audit.map((e) => [e.action, e.data])).toEqual([
      ['recording.state_changed', expect.objectContaining({ from: 'UPLOADED', to: 'FAILED', reason: 'size_mismatch: stored 1000, reported 1200' })],
    ]);
  });

  it('fails a recording whose object is not in the store', async () => {
    const { recording, session } = await uploadedRecording(undefined, { reportedSize: 5000n });

    const result = await finalizer.finalize(recording.id);

    expect(result).toMatchObject({ outcome: 'failed', reason: 'object_missing' });
    expect(await recordingOf(recording)).toMatchObject({ state: 'FAILED', failureReason: 'object_missing' });
    expect(await recaptureRequired(session.id)).toBe(true);
    expect(alertsFor(session.id).map((a) => a.kind)).toEqual(['recording_failed']);
  });

  it('leaves recordings that are not UPLOADED alone', async () => {
    const { recording } = await uploadedRecording(undefined);
    // fixture: a recording whose egress is still ending
    await t.facesign.db.recording.update({ where: { id: recording.id }, data: { state: 'ENDING' } });

    const result = await finalizer.finalize(recording.id);

    expect(result).toMatchObject({ outcome: 'skipped', recording: { id: recording.id, state: 'ENDING' } });
    expect((await recordingOf(recording)).state).toBe('ENDING');
    expect((await bookkeepingOf(recording.id)).finalizeAttempts).toBe(0);
    expect(await auditOf(recording)).toEqual([]);
  });

  it('throws while the object store is down, counts the attempt, and verifies once the store is back', async () => {
    // A store of our own on a fixed port and directory, so it can come back exactly where it was.
    const directory = await mkdtemp(join(tmpdir(), 'facesign-s3-outage-'));
    const port = await freePort();
    let s3 = await startS3Server({ directory, buckets: [TEST_BUCKET], port });
    const ownStore = new RecordingStore(createS3Client({ ...t.facesign.config.s3, endpoint: s3.endpoint }), TEST_BUCKET);
    const ownFinalizer = new RecordingFinalizer({ db: t.facesign.db, store: ownStore, realtime, log: t.facesign.log });
    try {
      const body = objectBytes();
      const { recording, session } = await uploadedRecording(body, { into: ownStore });
      await s3.stop();

      await expect(ownFinalizer.finalize(recording.id)).rejects.toThrow();
      expect(await recordingOf(recording)).toMatchObject({ state: 'UPLOADED', failureReason: null });
      const during = await bookkeepingOf(recording.id);
      expect(during).toMatchObject({ finalizeAttempts: 1, version: recording.version });
      expect(await auditOf(recording)).toEqual([]);
      expect(alertsFor(session.id)).toEqual([]);
      expect(await finalizer.sweep(new Date(during.updatedAt.getTime() + 61_000))).toContain(recording.id);

      s3 = await startS3Server({ directory, buckets: [TEST_BUCKET], port });
      const result = await ownFinalizer.finalize(recording.id);

      expect(result.outcome).toBe('verified');
      expect(await recordingOf(recording)).toMatchObject({ state: 'VERIFIED', sha256: sha256(body), sizeBytes: String(body.length) });
      expect((await bookkeepingOf(recording.id)).finalizeAttempts).toBe(2);
      expect(alertsFor(session.id)).toEqual([]);
    } finally {
      ownStore.s3.destroy();
      await s3.stop();
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('makes exactly one transition when the same recording is finalized several times at once', async () => {
    const body = objectBytes();
    const { recording } = await uploadedRecording(body);

    const results = await Promise.all([finalizer.finalize(recording.id), finalizer.finalize(recording.id), finalizer.finalize(recording.id)]);

    expect(results.map((r) => r.outcome).sort()).toEqual(['skipped', 'skipped', 'verified']);
    expect(results.every((r) => r.recording?.state === 'VERIFIED')).toBe(true);
    expect((await auditOf(recording)).map((e) => e.action)).toEqual(['recording.state_changed', 'recording.verified']);
    expect((await recordingOf(recording)).sha256).toBe(sha256(body));
    expect((await bookkeepingOf(recording.id)).version).toBe(recording.version + 1);
  });

  it('fails once and alerts once when concurrent finalizers find the same bad object', async () => {
    const { recording, session } = await uploadedRecording(randomBytes(10), { reportedSize: 11n });

    const results = await Promise.all([finalizer.finalize(recording.id), finalizer.finalize(recording.id)]);

    expect(results.map((r) => r.outcome).sort()).toEqual(['failed', 'skipped']);
    expect(alertsFor(session.id)).toHaveLength(1);
    expect((await auditOf(recording)).map((e) => e.action)).toEqual(['recording.state_changed']);
  });

  it('sweeps UPLOADED recordings whose finalize job may have been lost, under one job id per recording', async () => {
    const { recording } = await uploadedRecording(randomBytes(10));
    const { recording: done } = await uploadedRecording(randomBytes(10));
    await finalizer.finalize(done.id);

    expect(await finalizer.sweep(new Date())).not.toContain(recording.id);
    const later = await finalizer.sweep(new Date(Date.now() + 61_000));
    expect(later).toContain(recording.id);
    expect(later).not.toContain(done.id);
    expect(finalizeJobId(recording.id)).not.toContain(':');
  });
});

describe('integrity re-check', () => {
  it('confirms an intact recording, then reports a single flipped byte without touching the stored hash', async () => {
    const body = objectBytes();
    const { recording, session, objectKey } = await uploadedRecording(body);
    await finalizer.finalize(recording.id);
    const verified = await bookkeepingOf(recording.id);

    const intact = await integrity.recheck(recording.id);
    expect(intact).toMatchObject({ result: 'ok', expectedSha256: sha256(body), actualSha256: sha256(body), actualBytes: BigInt(body.length) });
    expect((await recordingOf(recording)).lastIntegrityCheckAt).toEqual(expect.any(String));
    expect(alertsFor(session.id)).toEqual([]);

    const tampered = Buffer.from(body);
    tampered[body.length >> 1] = (tampered[body.length >> 1] ?? 0) ^ 0x01;
    await store.put(objectKey, tampered, 'video/mp4');
    const changed = await integrity.recheck(recording.id);

    expect(changed).toMatchObject({ result: 'mismatch', expectedSha256: sha256(body), actualSha256: sha256(tampered) });
    expect(alertsFor(session.id)).toEqual([{ v: 1, kind: 'recording_integrity', sessionId: session.id, message: expect.any(String) }]);
    expect(await recordingOf(recording)).toMatchObject({ state: 'VERIFIED', sha256: sha256(body), sizeBytes: String(body.length) });
    expect((await bookkeepingOf(recording.id)).version).toBe(verified.version);
    const checks = (await auditOf(recording)).filter((e) => e.action === 'recording.integrity_checked').map((e) => e.data);
    expect(checks).toEqual([
      { result: 'ok', sha256: sha256(body) },
      { result: 'mismatch', sha256: sha256(tampered) },
    ]);
  });

  it('reports a stored recording whose object has disappeared', async () => {
    const { recording, session, objectKey } = await uploadedRecording(randomBytes(2048));
    await finalizer.finalize(recording.id);
    await store.delete(objectKey);

    const result = await integrity.recheck(recording.id);

    expect(result).toMatchObject({ result: 'missing', actualSha256: null });
    expect(alertsFor(session.id).map((a) => a.kind)).toEqual(['recording_integrity']);
    expect(await recordingOf(recording)).toMatchObject({ state: 'VERIFIED', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('does not check recordings that hold no verified object', async () => {
    const { recording } = await uploadedRecording(randomBytes(16));

    expect(await integrity.recheck(recording.id)).toEqual({ recordingId: recording.id, result: 'not_stored', state: 'UPLOADED' });
    expect(await auditOf(recording)).toEqual([]);
  });

  it('samples from the least recently checked recordings', async () => {
    const fresh: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      const { recording } = await uploadedRecording(randomBytes(4096));
      await finalizer.finalize(recording.id);
      fresh.push(recording.id);
    }
    // Everything else was checked just now; with n = 1 the pool is the 4 never-checked recordings.
    // fixture: when each recording was last checked
    await t.facesign.db.recording.updateMany({ where: { id: { notIn: fresh } }, data: { lastIntegrityCheckAt: new Date() } });

    for (const r of [0, 0.3, 0.6, 0.99]) {
      const results = await integrity.sample(1, () => r);
      expect(results).toHaveLength(1);
      expect(results[0]).toMatchObject({ result: 'ok' });
      expect(fresh).toContain(results[0]?.recordingId);
      await t.facesign.db.recording.updateMany({ where: { id: { in: fresh } }, data: { lastIntegrityCheckAt: null } });
    }
    expect(await integrity.sample(0)).toEqual([]);
  });

  it('runs on demand for supervisors, admins and auditors through POST /api/recordings/:id/integrity-check', async () => {
    const body = randomBytes(4096);
    const { recording } = await uploadedRecording(body);
    await finalizer.finalize(recording.id);
    // The route is not mounted by main.ts yet: serve it from an app built the same way.
    const { db, redis, config, log } = t.facesign;
    const auth = new AuthService({ db: db, limiter: new RateLimiter(redis), apiKeys: new ApiKeyService(db), settings: config.auth, events: new DomainEvents() });
    const app = createHttpApp({ log, authenticator: auth, publicUrl: config.http.publicUrl, trustProxy: config.http.trustProxy, routes: integrityRoutes(integrity) });
    const server = await listen(createHttpServer(app));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const post = async (client: Awaited<ReturnType<TestApp['signIn']>>, id: string) => {
        const res = await fetch(`${base}/api/recordings/${id}/integrity-check`, { method: 'POST', headers: { cookie: client.cookieHeader(), 'x-csrf-token': client.csrfToken ?? '' } });
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      };
      const auditor = await t.signIn({ roles: ['AUDITOR'] });
      const agent = await t.signIn({ roles: ['AGENT'] });

      const ok = await post(auditor, recording.id);
      expect(ok).toMatchObject({ status: 200, body: { recordingId: recording.id, result: 'ok', actualSha256: sha256(body), actualBytes: String(body.length) } });
      const check = (await auditOf(recording)).find((e) => e.action === 'recording.integrity_checked');
      expect(check).toMatchObject({ actorType: 'USER', requestId: expect.any(String) });

      expect((await post(agent, recording.id)).status).toBe(403);
      expect(await post(auditor, '00000000-0000-4000-8000-000000000000')).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
      const { recording: unverified } = await uploadedRecording(randomBytes(16));
      expect(await post(auditor, unverified.id)).toMatchObject({ status: 409, body: { code: 'RECORDING_STATE_CONFLICT' } });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('reading a recording from the store', () => {
  it('does not ask the store for a checksum: the SDK would CRC every byte facesign hashes anyway', async () => {
    const s3 = createS3Client(t.facesign.config.s3);
    const reader = new RecordingStore(s3, t.facesign.config.s3.bucket);
    const seen: Array<Record<string, string>> = [];
    s3.middlewareStack.add(
      (next) => async (args) => {
        seen.push({ ...(args.request as { headers: Record<string, string> }).headers });
        return next(args);
      },
      { step: 'finalizeRequest', name: 'captureHeaders' },
    );
    try {
      const bytes = randomBytes(70_000);
      const key = `recordings/test/read-${randomBytes(4).toString('hex')}.mp4`;
      await reader.put(key, bytes, 'video/mp4');
      const digest = await sha256OfStream((await reader.read(key)).body);
      expect(digest).toEqual({ sha256: sha256(bytes), bytes: BigInt(bytes.length) });
      const get = seen.at(-1) ?? {};
      expect(Object.keys(get).filter((h) => h.toLowerCase() === 'x-amz-checksum-mode')).toEqual([]);
    } finally {
      s3.destroy();
    }
  });
});

describe('sha256OfStream', () => {
  it('hashes a stream chunk by chunk to the digest of its bytes', async () => {
    const chunks = [randomBytes(1), randomBytes(65_536), Buffer.alloc(0), randomBytes(100_003)];
    const digest = await sha256OfStream(Readable.from(chunks));
    expect(digest).toEqual({ sha256: sha256(Buffer.concat(chunks)), bytes: BigInt(1 + 65_536 + 100_003) });
  });

  it('rejects a stream that breaks off, rather than hashing a truncated object', async () => {
    async function* brokenOff() {
      yield randomBytes(1024);
      throw new Error('socket hang up');
    }
    await expect(sha256OfStream(Readable.from(brokenOff()))).rejects.toThrow('socket hang up');
  });

  it('frees each chunk of an HTTP response body once hashed, and leaves the chunks of other streams alone', async () => {
    const bytes = randomBytes(4 * 1024 * 1024);
    const server = await listen(createHttpServer((_req, res) => res.end(bytes)));
    try {
      const body = await new Promise<IncomingMessage>((resolve, reject) => get(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, resolve).once('error', reject));
      // Every chunk the HTTP client hands over from now on (some may be buffered already).
      const handedOver: Buffer[] = [];
      const push = body.push.bind(body);
      body.push = (chunk: Buffer | null) => {
        if (chunk) handedOver.push(chunk);
        return push(chunk);
      };
      expect(await sha256OfStream(body)).toEqual({ sha256: sha256(bytes), bytes: BigInt(bytes.length) });
      expect(handedOver.length).toBeGreaterThan(0);
      expect(handedOver.filter((chunk) => !detached(chunk))).toEqual([]);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }

    const chunks = [randomBytes(65_536), randomBytes(65_536)];
    await sha256OfStream(Readable.from(chunks));
    expect(chunks.map(detached)).toEqual([false, false]);
    expect(Buffer.concat(chunks)).toHaveLength(131_072);
  });
});

const detached = (chunk: Buffer) => chunk.buffer instanceof ArrayBuffer && chunk.buffer.detached;

async function freePort(): Promise<number> {
  const server = await listen(createNetServer());
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function listen<S extends Server | ReturnType<typeof createNetServer>>(server: S): Promise<S> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}
