// ID and face snapshots: uploaded raw by the assigned agent during the session, typed by their
// content, hashed, stored in S3 under the loan file and session, listed and served to the same
// readers, every store and read audited. The routes run in a small app built like main.ts builds
// the real one, with the upload router mounted raw at /api/sessions as the owner will mount it.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32, deflateSync } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp } from '../../server/http/app.js';
import { AuthService } from '../../server/auth/auth.service.js';
import { DomainEvents } from '../../server/events/domain-events.js';
import { ApiKeyService } from '../../server/auth/api-keys.service.js';
import { RateLimiter } from '../../server/auth/rate-limiter.js';
import type { Role, SessionState } from '../../server/db/generated/prisma/enums.js';
import { createS3Client, RecordingStore } from '../../recordings/object-store.js';
import { CaptureService } from '../../recordings/captures.service.js';
import { captureRoutes, captureUploadRouter } from '../../recordings/captures.routes.js';
import { createAttempt } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import type { ApiClient } from '../support/api-client.js';
import { auditLogOf } from '../support/reads.js';

const MAX_BYTES = 4096;

interface Problem {
  code: string;
  detail: string;
  errors?: { in: string; field: string }[];
}
interface CaptureView {
  id: string;
  sessionId: string;
  attemptId: string;
  kind: string;
  contentType: string;
  sizeBytes: number;
  sha256: string;
  offsetMs: number | null;
  capturedById: string;
  contentUrl: string;
}
interface Caller {
  userId: string;
  cookie: string;
  csrfToken: string;
}

// ---- Test images, built by hand so the test does not trust the code it checks.

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A real, decodable RGB PNG of `width` x 1 pixels (random pixels make it big when asked). */
function png(width = 1): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(1, 4);
  ihdr.writeUInt8(8, 8); // bit depth
  ihdr.writeUInt8(2, 9); // colour type: RGB
  const scanline = Buffer.concat([Buffer.from([0]), randomBytes(width * 3)]); // filter byte + pixels
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(scanline, { level: 0 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** SOI, a JFIF APP0 segment, a comment, EOI: the container the console's canvas.toBlob produces. */
function jpeg(): Buffer {
  const app0 = Buffer.from([0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]);
  const comment = Buffer.from('facesign test');
  const com = Buffer.concat([Buffer.from([0xff, 0xfe, 0x00, comment.length + 2]), comment]);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app0, com, Buffer.from([0xff, 0xd9])]);
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

// ---- The app under test

let t: TestApp;
let s3: S3Client;
let base: string;
let closeServer: () => Promise<void>;
let agent: Caller;
let otherAgent: Caller;
let supervisor: Caller;
let auditor: Caller;
let admin: Caller;
/** Reads the audit log on the app itself (this file's own server has the capture routes only). */
let reader: ApiClient;

async function signIn(roles: Role[]): Promise<Caller> {
  const email = `${randomUUID()}@bank.test`;
  const client = await t.signIn({ roles, email });
  const user = (await client.get<{ id: string }>('/api/auth/me')).body;
  return { userId: user.id, cookie: client.cookieHeader(), csrfToken: client.csrfToken ?? '' };
}

function upload(sessionId: string, body: Buffer | ReadableStream<Uint8Array>, options: { as?: Caller; kind?: string; contentType?: string; csrf?: boolean } = {}) {
  const as = options.as ?? agent;
  const headers: Record<string, string> = { cookie: as.cookie, 'content-type': options.contentType ?? 'image/png' };
  if (options.csrf !== false) headers['x-csrf-token'] = as.csrfToken;
  return fetch(`${base}/api/sessions/${sessionId}/captures?kind=${options.kind ?? 'ID_FRONT'}`, {
    method: 'POST',
    headers,
    body,
    ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
  } as RequestInit);
}

const get = (path: string, as: Caller | undefined) => fetch(`${base}${path}`, { headers: as ? { cookie: as.cookie } : {} });

/** A video session in progress, assigned to `agent`, whose recording started 5 s ago. */
async function liveSession(options: { state?: SessionState; recordingStartedAt?: Date | null } = {}) {
  const db = t.facesign.db;
  const { loanFile, session, attempt } = await createAttempt(db, { kind: 'VIDEO' });
  // fixture: the call under way without LiveKit (this file's app serves only the capture routes)
  await db.verificationSession.update({ where: { id: session.id }, data: { assignedAgentId: agent.userId, state: options.state ?? 'IN_PROGRESS' } });
  const recordingStartedAt = options.recordingStartedAt === undefined ? new Date(Date.now() - 5000) : options.recordingStartedAt;
  await db.attempt.update({ where: { id: attempt.id }, data: { recordingStartedAt } });
  return { loanFileId: loanFile.id, sessionId: session.id, attemptId: attempt.id };
}

async function storedObjects(loanFileId: string, sessionId: string): Promise<string[]> {
  const res = await s3.send(new ListObjectsV2Command({ Bucket: t.facesign.config.s3.bucket, Prefix: `captures/${loanFileId}/${sessionId}/` }));
  return (res.Contents ?? []).map((o) => o.Key ?? '');
}

async function objectBytes(key: string): Promise<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket: t.facesign.config.s3.bucket, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

beforeAll(async () => {
  t = await startTestApp({ CAPTURE_MAX_BYTES: String(MAX_BYTES) });
  const config = t.facesign.config;
  s3 = createS3Client(config.s3);
  const db = t.facesign.db;
  // The same graph main.ts builds: an AuthService over the app's database and Redis.
  const auth = new AuthService({ db: db, limiter: new RateLimiter(t.facesign.redis), apiKeys: new ApiKeyService(db), settings: config.auth, events: new DomainEvents() });
  const captures = new CaptureService({ db, store: new RecordingStore(s3, config.s3.bucket, config.recordings.sse), settings: { maxBytes: config.recordings.captureMaxBytes } });
  const app = createHttpApp({
    log: t.facesign.log,
    routes: captureRoutes(captures),
    authenticator: auth,
    publicUrl: t.url,
    trustProxy: 'loopback',
    rawRouters: [{ path: '/api/sessions', router: captureUploadRouter(captures, auth) }],
  });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  closeServer = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  reader = await t.signIn({ roles: ['AUDITOR'] });
  [agent, otherAgent, supervisor, auditor, admin] = await Promise.all([signIn(['AGENT']), signIn(['AGENT']), signIn(['SUPERVISOR']), signIn(['AUDITOR']), signIn(['ADMIN'])]);
});
afterAll(async () => {
  await closeServer?.();
  s3?.destroy();
  await t?.stop();
});

describe('uploading', () => {
  it('stores a PNG with its hash, size, offset into the recording and key, and audits it', async () => {
    const { loanFileId, sessionId, attemptId } = await liveSession();
    const image = png();
    const res = await upload(sessionId, image, { kind: 'ID_FRONT' });
    expect(res.status).toBe(201);
    const capture = (await res.json()) as CaptureView;
    expect(capture).toMatchObject({ sessionId, attemptId, kind: 'ID_FRONT', contentType: 'image/png', sizeBytes: image.length, sha256: sha256(image), capturedById: agent.userId });
    // The recording started 5 s before the upload: the offset is at least that.
    expect(capture.offsetMs).toBeGreaterThanOrEqual(5000);

    const key = `captures/${loanFileId}/${sessionId}/${capture.id}.png`;
    expect(await storedObjects(loanFileId, sessionId)).toEqual([key]);
    expect((await objectBytes(key)).equals(image)).toBe(true);
    // storage: the object key is where the bytes live, which no API names
    expect(await t.facesign.db.capture.findUniqueOrThrow({ where: { id: capture.id } })).toMatchObject({ objectKey: key, sha256: sha256(image) });

    const audit = await auditLogOf(reader, { requestId: res.headers.get('x-request-id')! });
    expect(audit.map((a) => [a.action, a.actorId, a.entityType, a.entityId])).toEqual([['capture.stored', agent.userId, 'capture', capture.id]]);
    expect(audit[0]?.data).toEqual({ sessionId, kind: 'ID_FRONT', sha256: sha256(image), sizeBytes: image.length, offsetMs: capture.offsetMs });
  });

  it('stores a JPEG as .jpg, with no offset when the recording has not started', async () => {
    const { loanFileId, sessionId } = await liveSession({ recordingStartedAt: null });
    const image = jpeg();
    const res = await upload(sessionId, image, { kind: 'FACE', contentType: 'image/jpeg' });
    expect(res.status).toBe(201);
    const capture = (await res.json()) as CaptureView;
    expect(capture).toMatchObject({ kind: 'FACE', contentType: 'image/jpeg', sizeBytes: image.length, sha256: sha256(image), offsetMs: null });
    expect(await storedObjects(loanFileId, sessionId)).toEqual([`captures/${loanFileId}/${sessionId}/${capture.id}.jpg`]);
  });

  it('types the snapshot by its content, not by the declared Content-Type', async () => {
    const { sessionId } = await liveSession();
    const res = await upload(sessionId, png(), { contentType: 'image/jpeg' });
    expect(res.status).toBe(201);
    expect(((await res.json()) as CaptureView).contentType).toBe('image/png');
  });

  it.each([
    ['HTML sent as image/png', Buffer.from('<!doctype html><html><script>alert(document.cookie)</script></html>'), 'image/png'],
    ['text sent as image/jpeg', Buffer.from('just some text, not an image'), 'image/jpeg'],
    ['a PNG signature followed by HTML', Buffer.concat([png().subarray(0, 8), Buffer.from('<html><script>x()</script></html>')]), 'image/png'],
    ['a truncated PNG (no IEND)', png().subarray(0, -12), 'image/png'],
    ['a PNG whose IHDR checksum is wrong', (() => { const b = png(); b[29] = (b[29] ?? 0) ^ 0xff; return b; })(), 'image/png'],
    ['a truncated JPEG (no EOI)', jpeg().subarray(0, -2), 'image/jpeg'],
    ['an empty body', Buffer.alloc(0), 'image/png'],
  ])('refuses %s with 415 and stores nothing', async (_label, body, contentType) => {
    const { loanFileId, sessionId } = await liveSession();
    const res = await upload(sessionId, body, { contentType });
    expect(res.status).toBe(415);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await res.json()) as Problem;
    expect(problem.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(problem.detail).toMatch(/not a PNG or JPEG/);
    expect(await storedObjects(loanFileId, sessionId)).toEqual([]);
    expect(((await (await get(`/api/sessions/${sessionId}/captures`, supervisor)).json()) as { items: unknown[] }).items).toEqual([]);
  });

  it('refuses a real image declared as something else than PNG or JPEG', async () => {
    const { sessionId } = await liveSession();
    const res = await upload(sessionId, png(), { contentType: 'text/html' });
    expect(res.status).toBe(415);
    expect(((await res.json()) as Problem).detail).toMatch(/image\/png or image\/jpeg/);
  });

  it(`refuses more than CAPTURE_MAX_BYTES (${MAX_BYTES}) with 413, whether or not Content-Length says so`, async () => {
    const { loanFileId, sessionId } = await liveSession();
    const tooBig = png(2000);
    expect(tooBig.length).toBeGreaterThan(MAX_BYTES);
    const declared = await upload(sessionId, tooBig);
    expect(declared.status).toBe(413);
    const problem = (await declared.json()) as Problem;
    expect(problem.code).toBe('PAYLOAD_TOO_LARGE');
    expect(problem.detail).toContain(String(MAX_BYTES));

    // Chunked, without a Content-Length: the limit is enforced while reading.
    const chunked = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < tooBig.length; i += 1024) controller.enqueue(tooBig.subarray(i, i + 1024));
        controller.close();
      },
    });
    const streamed = await upload(sessionId, chunked);
    expect(streamed.status).toBe(413);
    expect(await storedObjects(loanFileId, sessionId)).toEqual([]);

    const justFits = png(1300);
    expect(justFits.length).toBeLessThanOrEqual(MAX_BYTES);
    expect((await upload(sessionId, justFits)).status).toBe(201);
  });

  it('lets only the assigned agent upload: another agent gets 404, a supervisor 403', async () => {
    const { loanFileId, sessionId } = await liveSession();
    const other = await upload(sessionId, png(), { as: otherAgent });
    expect(other.status).toBe(404);
    expect(((await other.json()) as Problem).code).toBe('NOT_FOUND');
    const boss = await upload(sessionId, png(), { as: supervisor });
    expect(boss.status).toBe(403);
    expect(((await boss.json()) as Problem).code).toBe('FORBIDDEN');
    expect(await storedObjects(loanFileId, sessionId)).toEqual([]);
  });

  it.each(['WAITING', 'COMPLETED', 'ESCALATED'] as const)('refuses uploads while the session is %s with 409', async (state) => {
    const { sessionId } = await liveSession({ state });
    const res = await upload(sessionId, png());
    expect(res.status).toBe(409);
    const problem = (await res.json()) as Problem;
    expect(problem.code).toBe('SESSION_STATE_CONFLICT');
    expect(problem.detail).toContain(state);
  });

  it('accepts uploads during wrap-up', async () => {
    const { sessionId } = await liveSession({ state: 'WRAP_UP' });
    expect((await upload(sessionId, png())).status).toBe(201);
  });

  it('needs the CSRF header with the cookie, and a signed-in user', async () => {
    const { loanFileId, sessionId } = await liveSession();
    const noCsrf = await upload(sessionId, png(), { csrf: false });
    expect(noCsrf.status).toBe(403);
    expect(((await noCsrf.json()) as Problem).code).toBe('CSRF_TOKEN_INVALID');
    const anonymous = await fetch(`${base}/api/sessions/${sessionId}/captures?kind=FACE`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: png() });
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as Problem).code).toBe('UNAUTHENTICATED');
    expect(await storedObjects(loanFileId, sessionId)).toEqual([]);
  });

  it('validates the kind and the session id', async () => {
    const { sessionId } = await liveSession();
    const badKind = await upload(sessionId, png(), { kind: 'PASSPORT' });
    expect(badKind.status).toBe(400);
    expect(((await badKind.json()) as Problem).errors?.[0]).toMatchObject({ in: 'query', field: 'kind' });
    const badId = await upload('not-a-uuid', png());
    expect(badId.status).toBe(400);
    expect(((await badId.json()) as Problem).errors?.[0]).toMatchObject({ in: 'params', field: 'id' });
  });
});

describe('listing and reading', () => {
  let sessionId: string;
  let front: CaptureView;
  let face: CaptureView;
  const frontImage = png();
  const faceImage = jpeg();

  beforeAll(async () => {
    ({ sessionId } = await liveSession());
    front = (await (await upload(sessionId, frontImage, { kind: 'ID_FRONT' })).json()) as CaptureView;
    face = (await (await upload(sessionId, faceImage, { kind: 'FACE', contentType: 'image/jpeg' })).json()) as CaptureView;
  });

  it('lists the snapshots to the assigned agent, supervisors, auditors and admins', async () => {
    for (const caller of [agent, supervisor, auditor, admin]) {
      const res = await get(`/api/sessions/${sessionId}/captures`, caller);
      expect(res.status).toBe(200);
      const { items } = (await res.json()) as { items: CaptureView[] };
      expect(items.map((c) => [c.id, c.kind, c.sha256])).toEqual([
        [front.id, 'ID_FRONT', sha256(frontImage)],
        [face.id, 'FACE', sha256(faceImage)],
      ]);
    }
  });

  it('hides them from other agents and anonymous callers', async () => {
    expect((await get(`/api/sessions/${sessionId}/captures`, otherAgent)).status).toBe(404);
    expect((await get(`/api/sessions/${sessionId}/captures`, undefined)).status).toBe(401);
    expect((await get(front.contentUrl, otherAgent)).status).toBe(404);
    expect((await get(front.contentUrl, undefined)).status).toBe(401);
  });

  it('serves the exact image with its type, sandboxed, and audits every read', async () => {
    for (const [capture, image, type] of [[front, frontImage, 'image/png'], [face, faceImage, 'image/jpeg']] as const) {
      const res = await get(capture.contentUrl, auditor);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(type);
      expect(res.headers.get('content-length')).toBe(String(image.length));
      expect(res.headers.get('content-security-policy')).toContain('sandbox');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      const body = Buffer.from(await res.arrayBuffer());
      expect(sha256(body)).toBe(sha256(image));

      const audit = await auditLogOf(reader, { requestId: res.headers.get('x-request-id')! });
      expect(audit.map((a) => [a.action, a.actorId, a.entityId, a.data])).toEqual([['capture.accessed', auditor.userId, capture.id, { sessionId }]]);
    }
  });

  it('answers 404 for an unknown capture', async () => {
    expect((await get(`/api/captures/${randomUUID()}/content`, supervisor)).status).toBe(404);
  });
});
