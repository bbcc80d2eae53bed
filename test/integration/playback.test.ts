// Audited playback: ranges streamed from s3rver byte-exact, 416s, who may play and for how long,
// every access in the audit chain before the bytes, presigned URLs that work and expire, and the
// store stream released when the player goes away. The routes run in a small app built like
// main.ts builds the real one (the owner mounts them there).
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp } from '../../server/http/app.js';
import type { RouteDefinition } from '../../server/http/route.js';
import { AuthService } from '../../server/auth/auth.service.js';
import { DomainEvents } from '../../server/events/domain-events.js';
import { ApiKeyService } from '../../server/auth/api-keys.service.js';
import { RateLimiter } from '../../server/auth/rate-limiter.js';
import type { RecordingState, Role } from '../../server/db/generated/prisma/enums.js';
import { recordingKey } from '../../server/livekit/identities.js';
import { createS3Client, RecordingStore, type ObjectStream } from '../../recordings/object-store.js';
import { PlaybackService, type PlaybackSettings } from '../../recordings/playback.service.js';
import { playbackRoutes } from '../../recordings/playback.routes.js';
import { createAttempt, eventually } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import type { ApiClient } from '../support/api-client.js';
import { auditLogOf } from '../support/reads.js';

const AGENT_DAYS = 7;
const DAY_MS = 86_400_000;

interface Problem {
  code: string;
  detail: string;
  status: number;
}
interface Caller {
  userId: string;
  cookie: string;
}

/**
 * Remembers every stream it hands out, so a test can see whether playback released it; and can
 * play a store that ignores Range (some S3-compatible stores do, and s3rver 3.7.1 does for
 * `bytes=0-0`, which is why the range table below avoids that one).
 */
class WatchedStore extends RecordingStore {
  readonly opened: { key: string; body: Readable }[] = [];
  readonly ignoreRangeFor = new Set<string>();
  override async read(key: string, range?: { start: number; end: number }): Promise<ObjectStream> {
    const object = await super.read(key, this.ignoreRangeFor.has(key) ? undefined : range);
    this.opened.push({ key, body: object.body });
    return object;
  }
}

let t: TestApp;
let s3: S3Client;
let store: WatchedStore;
let auth: AuthService;
const servers: (() => Promise<void>)[] = [];
let streamUrl: string;
let auditor: Caller;
let supervisor: Caller;
let admin: Caller;
let runningAgent: Caller;
let otherAgent: Caller;
/** Reads the audit log on the app itself (this file's own servers have the playback routes only). */
let reader: ApiClient;

async function serve(routes: RouteDefinition[]): Promise<string> {
  const app = createHttpApp({ log: t.facesign.log, routes, authenticator: auth, publicUrl: t.url, trustProxy: 'loopback' });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function playbackApp(settings: Partial<PlaybackSettings>, now?: () => Date): Promise<string> {
  const service = new PlaybackService({ db: t.facesign.db, store, settings: { mode: 'stream', presignedTtlSeconds: 300, agentDays: AGENT_DAYS, ...settings }, ...(now ? { now } : {}) });
  return serve(playbackRoutes(service));
}

async function signIn(roles: Role[]): Promise<Caller> {
  const email = `${randomUUID()}@bank.test`;
  const client = await t.signIn({ roles, email });
  const me = await client.get<{ id: string }>('/api/auth/me');
  expect(me.status).toBe(200);
  return { userId: me.body.id, cookie: client.cookieHeader() };
}

const play = (base: string, recordingId: string, as: Caller | undefined, headers: Record<string, string> = {}, init: RequestInit = {}) =>
  fetch(`${base}/api/recordings/${recordingId}/media`, { ...init, headers: { ...(as ? { cookie: as.cookie } : {}), ...headers } });

async function recording(
  bytes: Buffer,
  options: { agent?: Caller; completedAt?: Date | null; state?: RecordingState; contentType?: string } = {},
) {
  // fixture: a session and its verified recording, without LiveKit (this file's app serves only playback)
  const db = t.facesign.db;
  const { loanFile, session, attempt } = await createAttempt(db, { kind: 'VIDEO' });
  const completedAt = options.completedAt ?? null;
  await db.verificationSession.update({
    where: { id: session.id },
    data: { assignedAgentId: (options.agent ?? runningAgent).userId, completedAt, state: completedAt ? 'COMPLETED' : 'IN_PROGRESS' },
  });
  const objectKey = recordingKey({ loanFileId: loanFile.id, sessionId: session.id, attemptId: attempt.id }, false);
  await s3.send(new PutObjectCommand({ Bucket: t.facesign.config.s3.bucket, Key: objectKey, Body: bytes, ContentType: 'video/mp4' }));
  return db.recording.create({
    data: {
      attemptId: attempt.id,
      audioOnly: false,
      objectKey,
      state: options.state ?? 'VERIFIED',
      sha256: createHash('sha256').update(bytes).digest('hex'),
      sizeBytes: BigInt(bytes.length),
      contentType: options.contentType ?? 'video/mp4',
      verifiedAt: new Date(),
    },
  });
}

const accessesOf = (recordingId: string) => auditLogOf(reader, { action: 'recording.accessed', entityType: 'recording', entityId: recordingId });

async function auditOf(res: Response) {
  const requestId = res.headers.get('x-request-id');
  expect(requestId).toBeTruthy();
  return auditLogOf(reader, { requestId: requestId!, action: 'recording.accessed' });
}

beforeAll(async () => {
  t = await startTestApp();
  s3 = createS3Client(t.facesign.config.s3);
  store = new WatchedStore(s3, t.facesign.config.s3.bucket);
  // The same graph main.ts builds: an AuthService over the app's database and Redis.
  auth = new AuthService({ db: t.facesign.db, limiter: new RateLimiter(t.facesign.redis), apiKeys: new ApiKeyService(t.facesign.db), settings: t.facesign.config.auth, events: new DomainEvents() });
  streamUrl = await playbackApp({ mode: 'stream' });
  reader = await t.signIn({ roles: ['AUDITOR'] });
  [auditor, supervisor, admin, runningAgent, otherAgent] = await Promise.all([
    signIn(['AUDITOR']),
    signIn(['SUPERVISOR']),
    signIn(['ADMIN']),
    signIn(['AGENT']),
    signIn(['AGENT']),
  ]);
});
afterAll(async () => {
  for (const close of servers) await close();
  s3?.destroy();
  await t?.stop();
});

describe('streaming', () => {
  const source = randomBytes(64 * 1024);
  let recordingId: string;
  beforeAll(async () => {
    recordingId = (await recording(source)).id;
  });

  it('sends the whole recording with its length, type and Accept-Ranges, and audits it', async () => {
    const res = await play(streamUrl, recordingId, auditor);
    expect(res.status).toBe(200);
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    expect(res.headers.get('content-length')).toBe(String(source.length));
    expect(res.headers.get('content-type')).toBe('video/mp4');
    expect(res.headers.get('content-range')).toBeNull();
    expect(Buffer.from(await res.arrayBuffer()).equals(source)).toBe(true);

    const [event, ...more] = await auditOf(res);
    expect(more).toHaveLength(0);
    expect(event).toMatchObject({ actorType: 'USER', actorId: auditor.userId, entityId: recordingId, data: { via: 'stream', range: null, bytes: String(source.length) } });
  });

  const size = 64 * 1024;
  it.each([
    ['bytes=1-1', 1, 1],
    ['bytes=0-1', 0, 1],
    ['bytes=100-199', 100, 199],
    ['bytes=0-', 0, size - 1],
    ['bytes=65000-', 65000, size - 1],
    ['bytes=-10', size - 10, size - 1],
    ['bytes=-100000', 0, size - 1],
    ['bytes=60000-99999999', 60000, size - 1],
  ])('%s -> 206 with exactly bytes %i-%i, audited with its range', async (range, start, end) => {
    const res = await play(streamUrl, recordingId, auditor, { range });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/${size}`);
    expect(res.headers.get('content-length')).toBe(String(end - start + 1));
    expect(res.headers.get('accept-ranges')).toBe('bytes');
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.equals(source.subarray(start, end + 1))).toBe(true);

    const events = await auditOf(res);
    expect(events.map((e) => e.data)).toEqual([{ via: 'stream', range, bytes: String(end - start + 1) }]);
    expect(events[0]?.actorId).toBe(auditor.userId);
  });

  it.each(['bytes=65536-', 'bytes=70000-70010', 'bytes=5-4', 'bytes=-0', 'bytes=0-1,5-6', 'items=0-5', 'bytes=abc'])(
    '%s -> 416 with Content-Range bytes */size, and nothing served or audited',
    async (range) => {
      const before = (await accessesOf(recordingId)).length;
      const res = await play(streamUrl, recordingId, auditor, { range });
      expect(res.status).toBe(416);
      expect(res.headers.get('content-range')).toBe(`bytes */${size}`);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      const problem = (await res.json()) as Problem;
      expect(problem).toMatchObject({ status: 416, code: 'RANGE_NOT_SATISFIABLE' });
      expect(problem.detail).toContain(String(size));
      expect(await accessesOf(recordingId)).toHaveLength(before);
    },
  );

  it('refuses to send bytes other than those asked for when the store ignores the range', async () => {
    const rec = await recording(source);
    store.ignoreRangeFor.add(rec.objectKey);
    const res = await play(streamUrl, rec.id, auditor, { range: 'bytes=100-199' });
    expect(res.status).toBe(500);
    expect(((await res.json()) as Problem).code).toBe('INTERNAL');
    expect(await accessesOf(rec.id)).toHaveLength(0);
    expect(store.opened.find((o) => o.key === rec.objectKey)?.body.destroyed).toBe(true);
  });

  it('answers HEAD with size and range headers, without reading the object or auditing', async () => {
    const before = (await accessesOf(recordingId)).length;
    const opened = store.opened.length;
    const res = await play(streamUrl, recordingId, auditor, { range: 'bytes=-10' }, { method: 'HEAD' });
    expect(res.status).toBe(206);
    expect(res.headers.get('content-range')).toBe(`bytes ${size - 10}-${size - 1}/${size}`);
    expect(await accessesOf(recordingId)).toHaveLength(before);
    expect(store.opened.length).toBe(opened);
  });
});

describe('a large recording', () => {
  // Far more than the socket buffers between s3rver, the app and the player can hold, so a player
  // that stops reading stops the whole chain: the response cannot have finished by itself.
  const big = randomBytes(24 * 1024 * 1024);
  let rec: { id: string; objectKey: string };
  beforeAll(async () => {
    rec = await recording(big);
  });

  it('has the access audited before the first byte arrives', async () => {
    const controller = new AbortController();
    const res = await play(streamUrl, rec.id, supervisor, { range: 'bytes=10-' }, { signal: controller.signal });
    expect(res.status).toBe(206);
    // Headers are in and the body is not being read: the access must already be on record.
    const events = await auditOf(res);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actorId: supervisor.userId, data: { via: 'stream', range: 'bytes=10-', bytes: String(big.length - 10) } });
    const first = await res.body!.getReader().read();
    expect(first.value && Buffer.from(first.value).equals(big.subarray(10, 10 + first.value.length))).toBe(true);
    controller.abort();
  });

  it('releases the store stream when the player goes away mid-recording', async () => {
    const controller = new AbortController();
    const opened = store.opened.length;
    const res = await play(streamUrl, rec.id, auditor, {}, { signal: controller.signal });
    expect(res.status).toBe(200);
    const first = await res.body!.getReader().read();
    expect(first.value?.length).toBeGreaterThan(0);
    const [object] = store.opened.slice(opened);
    expect(object?.key).toBe(rec.objectKey);
    expect(object?.body.readableEnded).toBe(false);
    controller.abort();
    await eventually(async () => object?.body.destroyed);
  });
});

describe('who may play', () => {
  const source = randomBytes(1024);

  it('lets auditors, supervisors and admins play', async () => {
    const { id } = await recording(source, { completedAt: new Date(Date.now() - 400 * DAY_MS) });
    for (const caller of [auditor, supervisor, admin]) {
      const res = await play(streamUrl, id, caller);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(source)).toBe(true);
    }
    expect((await accessesOf(id)).map((e) => e.actorId)).toEqual([auditor.userId, supervisor.userId, admin.userId]);
  });

  it(`lets the agent who ran the session replay it while it runs and for ${AGENT_DAYS} days after, then refuses`, async () => {
    const rec = await recording(source, { agent: runningAgent, completedAt: null });
    expect((await play(streamUrl, rec.id, runningAgent)).status).toBe(200);

    // fixture: days pass after the session completed
    const setCompletedAt = (completedAt: Date) =>
      t.facesign.db.verificationSession.updateMany({ where: { attempts: { some: { id: rec.attemptId } } }, data: { completedAt, state: 'COMPLETED' } });
    await setCompletedAt(new Date(Date.now() - (AGENT_DAYS - 1) * DAY_MS));
    const within = await play(streamUrl, rec.id, runningAgent, { range: 'bytes=0-9' });
    expect(within.status).toBe(206);
    expect(Buffer.from(await within.arrayBuffer()).equals(source.subarray(0, 10))).toBe(true);

    await setCompletedAt(new Date(Date.now() - (AGENT_DAYS + 1) * DAY_MS));
    const after = await play(streamUrl, rec.id, runningAgent);
    expect(after.status).toBe(403);
    expect(after.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await after.json()) as Problem;
    expect(problem.code).toBe('FORBIDDEN');
    expect(problem.detail).toContain(`${AGENT_DAYS} days`);
    // Two plays by the agent were audited; the refusal was not an access.
    expect((await accessesOf(rec.id)).map((e) => e.actorId)).toEqual([runningAgent.userId, runningAgent.userId]);
  });

  it('tells another agent the recording does not exist, and anonymous callers to sign in', async () => {
    const rec = await recording(source, { agent: runningAgent });
    const other = await play(streamUrl, rec.id, otherAgent);
    expect(other.status).toBe(404);
    expect(((await other.json()) as Problem).code).toBe('NOT_FOUND');
    const anonymous = await play(streamUrl, rec.id, undefined);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as Problem).code).toBe('UNAUTHENTICATED');
    expect(await accessesOf(rec.id)).toHaveLength(0);
  });

  it('refuses API keys: recordings are for the consoles', async () => {
    const adminApi = await t.signIn({ roles: ['ADMIN'] });
    const key = await adminApi.post<{ key: string }>('/api/api-keys', { name: 'LOS', scopes: ['sessions:read'] });
    expect(key.status).toBe(201);
    const rec = await recording(source);
    const res = await fetch(`${streamUrl}/api/recordings/${rec.id}/media`, { headers: { authorization: `Bearer ${key.body.key}` } });
    expect(res.status).toBe(403);
    expect(((await res.json()) as Problem).code).toBe('FORBIDDEN');
  });

  it('plays only VERIFIED and RETAINED recordings', async () => {
    const retained = await recording(source, { state: 'RETAINED' });
    expect((await play(streamUrl, retained.id, auditor)).status).toBe(200);
    for (const state of ['UPLOADED', 'ACTIVE', 'FAILED', 'DELETED'] as const) {
      const rec = await recording(source, { state });
      const res = await play(streamUrl, rec.id, auditor);
      expect(res.status).toBe(409);
      const problem = (await res.json()) as Problem;
      expect(problem.detail).toContain(`is ${state}`);
      expect(problem.detail).toContain('VERIFIED or RETAINED');
      expect(await accessesOf(rec.id)).toHaveLength(0);
    }
  });

  it('answers 404 for an unknown recording and 400 for a malformed id', async () => {
    expect((await play(streamUrl, randomUUID(), auditor)).status).toBe(404);
    const bad = await play(streamUrl, 'not-a-uuid', auditor);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as Problem).code).toBe('VALIDATION_FAILED');
  });
});

describe('presigned mode', () => {
  const source = randomBytes(4096);
  const TTL = 120;

  it('answers a short-lived URL that fetches the object from the store, audited as presigned', async () => {
    const presignedUrl = await playbackApp({ mode: 'presigned', presignedTtlSeconds: TTL });
    const rec = await recording(source);
    const res = await play(presignedUrl, rec.id, auditor);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const { url, expiresAt } = (await res.json()) as { url: string; expiresAt: string };

    const signed = new URL(url);
    expect(signed.origin).toBe(new URL(t.facesign.config.s3.endpoint!).origin);
    expect(signed.searchParams.get('X-Amz-Expires')).toBe(String(TTL));
    // expiresAt is exactly the signing time plus the TTL: when the store starts refusing the URL.
    const signedAt = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(signed.searchParams.get('X-Amz-Date') ?? '')!;
    const [, y, mo, d, h, mi, s] = signedAt.map(Number);
    expect(new Date(expiresAt).getTime() - Date.UTC(y!, mo! - 1, d, h, mi, s)).toBe(TTL * 1000);

    const whole = await fetch(url);
    expect(whole.status).toBe(200);
    expect(Buffer.from(await whole.arrayBuffer()).equals(source)).toBe(true);
    const ranged = await fetch(url, { headers: { range: 'bytes=100-199' } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(source.subarray(100, 200))).toBe(true);


    const events = await auditOf(res);
    expect(events.map((e) => [e.actorId, e.data])).toEqual([[auditor.userId, { via: 'presigned', range: null, bytes: null }]]);
  });

  it('issues URLs that stop working once their TTL is over', async () => {
    // Signed ten minutes ago with a two-minute TTL: already expired, no waiting needed.
    const pastUrl = await playbackApp({ mode: 'presigned', presignedTtlSeconds: TTL }, () => new Date(Date.now() - 10 * 60_000));
    const rec = await recording(source);
    const res = await play(pastUrl, rec.id, supervisor);
    expect(res.status).toBe(200);
    const { url, expiresAt } = (await res.json()) as { url: string; expiresAt: string };
    expect(new Date(expiresAt).getTime()).toBeLessThan(Date.now());
    const expired = await fetch(url);
    expect(expired.status).toBe(403);
    expect(await expired.text()).toContain('Request has expired');
  });

  it('applies the same access rules before signing anything', async () => {
    const presignedUrl = await playbackApp({ mode: 'presigned', presignedTtlSeconds: TTL });
    const rec = await recording(source, { agent: runningAgent, completedAt: new Date(Date.now() - (AGENT_DAYS + 1) * DAY_MS) });
    expect((await play(presignedUrl, rec.id, runningAgent)).status).toBe(403);
    expect((await play(presignedUrl, rec.id, otherAgent)).status).toBe(404);
    expect(await accessesOf(rec.id)).toHaveLength(0);
  });
});

describe('OpenAPI', () => {
  it('documents the media endpoint with its 206 and 416 answers', async () => {
    const doc = (await (await fetch(`${streamUrl}/api/openapi.json`)).json()) as { paths: Record<string, { get?: { responses: Record<string, unknown> } }> };
    expect(Object.keys(doc.paths['/api/recordings/{id}/media']?.get?.responses ?? {}).sort()).toEqual(['200', '206', '416', 'default']);
  });
});
