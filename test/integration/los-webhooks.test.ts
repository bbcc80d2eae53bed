// Outbound LOS webhooks end to end: the outbox row, a real BullMQ worker, real HTTP to a local
// receiver that can be told to fail or hang, the sweep, and the delivery-log routes.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker } from 'bullmq';
import { sqlIn } from '../../server/db/client.js';
import { createHttpApp } from '../../server/http/app.js';
import { AuthService } from '../../server/auth/auth.service.js';
import { DomainEvents } from '../../server/events/domain-events.js';
import { ApiKeyService } from '../../server/auth/api-keys.service.js';
import { RateLimiter } from '../../server/auth/rate-limiter.js';
import { authRoutes } from '../../server/auth/auth.routes.js';
import { createUser, type NewUser } from '../../server/users/users.service.js';
import { LosWebhookService, losEventSchema, verifyLosWebhook, type LosEventType } from '../../server/loan-files/los-webhooks.service.js';
import { losWebhookRoutes } from '../../server/loan-files/los-webhooks.routes.js';
import { eventually } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { ApiClient } from '../support/api-client.js';
import { auditEventOf } from '../support/reads.js';

const SECRET = 'los-webhook-test-secret-0123456789';

type Reply = number | 'hang';
interface Received {
  eventId: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** The lender's LOS: records every request; answers 200 unless told otherwise for an event id. */
async function startReceiver() {
  const received: Received[] = [];
  const next = new Map<string, Reply[]>();
  const always = new Map<string, Reply>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const eventId = String(req.headers['facesign-event-id'] ?? '');
      received.push({ eventId, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const reply = next.get(eventId)?.shift() ?? always.get(eventId) ?? 200;
      if (reply === 'hang') return;
      // A long error page, to check that the delivery log keeps only its beginning.
      res.writeHead(reply, { 'content-type': 'text/plain' }).end(reply < 300 ? 'stored' : 'maintenance '.repeat(200));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/facesign/events`,
    requestsFor: (eventId: string) => received.filter((r) => r.eventId === eventId),
    failNext: (eventId: string, count: number, reply: Reply = 500) => void next.set(eventId, Array<Reply>(count).fill(reply)),
    failAlways: (eventId: string, reply: Reply) => void always.set(eventId, reply),
    recover: (eventId: string) => void always.delete(eventId),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The delivery-log routes over this file's service (main.ts's has no LOS URL in tests), with login. */
async function serveRoutes(t: TestApp, service: LosWebhookService) {
  const { db, redis, log, config } = t.facesign;
  const apiKeys = new ApiKeyService(db);
  const auth = new AuthService({ db: db, limiter: new RateLimiter(redis), apiKeys: apiKeys, settings: config.auth, events: new DomainEvents() });
  const app = createHttpApp({ log, authenticator: auth, publicUrl: t.url, trustProxy: 'loopback', routes: [...authRoutes(auth, apiKeys, db), ...losWebhookRoutes(service)] });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    apiKeys,
    async signIn(roles: NewUser['roles']): Promise<ApiClient> {
      const email = `${roles.join('-').toLowerCase()}-${randomUUID().slice(0, 8)}@bank.test`;
      await createUser(db, { email, displayName: 'Test', password: 'correct horse battery staple', roles });
      const client = new ApiClient(url);
      const res = await client.login(email, 'correct horse battery staple');
      if (res.status !== 200) throw new Error(`login failed: ${res.status}`);
      return client;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface DeliveryView {
  id: string;
  type: string;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  payload?: unknown;
}
interface Problem {
  code: string;
}

let t: TestApp;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let routes: Awaited<ReturnType<typeof serveRoutes>>;
let reader: ApiClient;
let service: LosWebhookService;
let worker: Worker;

beforeAll(async () => {
  // Only the worker below takes 'los-webhook' jobs, whatever main.ts wires for its own.
  t = await startTestApp({ FACESIGN_ROLES: 'api' });
  receiver = await startReceiver();
  service = new LosWebhookService({ db: t.facesign.db, queues: t.facesign.queues, settings: { url: receiver.url, secret: SECRET }, log: t.facesign.log, schedule: [50, 50, 50], timeoutMs: 2_000 });
  // A worker for this queue alone, consuming jobs the way main.ts's does (startWorkers runs every queue).
  const redis = new URL(t.facesign.config.redis.url);
  worker = new Worker<{ deliveryId: string }>('los-webhook', async (job) => void (await service.deliver(job.data.deliveryId)), {
    connection: {
      host: redis.hostname,
      port: Number(redis.port || 6379),
      ...(redis.password ? { password: decodeURIComponent(redis.password) } : {}),
      ...(redis.pathname.length > 1 ? { db: Number(redis.pathname.slice(1)) } : {}),
      maxRetriesPerRequest: null,
    },
    prefix: `${t.facesign.config.redis.prefix}:bull`,
    concurrency: 4,
  });
  routes = await serveRoutes(t, service);
  reader = await t.signIn({ roles: ['AUDITOR'] });
});
afterAll(async () => {
  await worker?.close();
  await routes?.close();
  await receiver?.close();
  await t?.stop();
});

// fixture: a bare loan file (this file's app serves only the delivery routes of its own service)
async function newLoanFile() {
  return t.facesign.db.loanFile.create({
    data: { externalRef: `LF-${randomUUID().slice(0, 8)}`, product: 'consumer-loan', amount: '50000.00', currency: 'CNY' },
  });
}

/** Records an event the way a domain service does: inside its transaction. */
async function recordEvent(options: { via?: LosWebhookService; loanFile?: { id: string; externalRef: string }; type?: LosEventType } = {}) {
  const loanFile = options.loanFile ?? (await newLoanFile());
  const sessionId = randomUUID();
  const id = await t.facesign.db.$transaction((tx) =>
    (options.via ?? service).record(sqlIn(tx), {
      type: options.type ?? 'verification.completed',
      loanFileId: loanFile.id,
      externalRef: loanFile.externalRef,
      data: { sessionId, outcome: 'PASSED' },
    }),
  );
  loanFileOfDelivery.set(id, loanFile.id);
  return { id, loanFile, sessionId };
}

const loanFileOfDelivery = new Map<string, string>();

/** A delivery as its loan file's delivery log shows it (`GET /api/loan-files/:id/webhook-deliveries`). */
async function row(id: string): Promise<DeliveryView> {
  const res = await reader.get<{ items: DeliveryView[] }>(`/api/loan-files/${loanFileOfDelivery.get(id)!}/webhook-deliveries?limit=200`);
  expect(res.status).toBe(200);
  const delivery = res.body.items.find((d) => d.id === id);
  expect(delivery, `delivery ${id}`).toBeDefined();
  return delivery!;
}
const settled = (id: string, status: 'DELIVERED' | 'FAILED') =>
  eventually(async () => {
    const r = await row(id);
    return r.status === status ? r : undefined;
  });
const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('delivery', () => {
  it('delivers a recorded event once, signed, with its id as the idempotency key', async () => {
    const { id, loanFile, sessionId } = await recordEvent();
    expect((await row(id)).status).toBe('PENDING');
    await service.dispatch(id);
    const delivered = await settled(id, 'DELIVERED');
    expect(delivered).toMatchObject({ attempts: 1, lastStatusCode: 200, lastError: null, nextAttemptAt: null });
    expect(Date.parse(delivered.deliveredAt!)).not.toBeNaN();

    const [request, ...more] = receiver.requestsFor(id);
    expect(more).toHaveLength(0);
    expect(request!.headers).toMatchObject({
      'content-type': 'application/json',
      'facesign-event-id': id,
      'idempotency-key': id,
      'facesign-event-type': 'verification.completed',
      'facesign-delivery-attempt': '1',
    });
    const signature = String(request!.headers['facesign-signature']);
    expect(verifyLosWebhook(SECRET, signature, request!.body, nowSeconds())).toBe(true);
    expect(verifyLosWebhook('some-other-secret-value', signature, request!.body, nowSeconds())).toBe(false);
    expect(losEventSchema.parse(JSON.parse(request!.body))).toMatchObject({
      id,
      type: 'verification.completed',
      loanFileId: loanFile.id,
      externalRef: loanFile.externalRef,
      data: { sessionId, outcome: 'PASSED' },
    });

    // A second dispatch or a stray job does not send it again.
    await service.dispatch(id);
    expect(await service.deliver(id)).toBe('skipped');
    expect(receiver.requestsFor(id)).toHaveLength(1);
  });

  it('retries a failing receiver and delivers on the third attempt, with the same event id', async () => {
    const { id } = await recordEvent();
    receiver.failNext(id, 2, 500);
    await service.dispatch(id);
    const delivered = await settled(id, 'DELIVERED');
    expect(delivered).toMatchObject({ attempts: 3, lastStatusCode: 200, lastError: null });
    const requests = receiver.requestsFor(id);
    expect(requests.map((r) => r.headers['facesign-delivery-attempt'])).toEqual(['1', '2', '3']);
    expect(new Set(requests.map((r) => r.headers['idempotency-key']))).toEqual(new Set([id]));
    // Every attempt is signed afresh over the same body.
    expect(new Set(requests.map((r) => r.body)).size).toBe(1);
    expect(requests.every((r) => verifyLosWebhook(SECRET, String(r.headers['facesign-signature']), r.body, nowSeconds()))).toBe(true);
    const retryLogs = t.logs.filter((line) => line.includes(id) && line.includes('retry scheduled'));
    expect(retryLogs).toHaveLength(2);
    expect(retryLogs[0]).toContain('"statusCode":500');
  });

  it('gives up after the schedule, and an admin redelivers it once the receiver recovers', async () => {
    const { id } = await recordEvent();
    receiver.failAlways(id, 503);
    await service.dispatch(id);
    const failed = await settled(id, 'FAILED');
    expect(failed).toMatchObject({ attempts: 4, lastStatusCode: 503, nextAttemptAt: null, deliveredAt: null });
    expect(receiver.requestsFor(id)).toHaveLength(4);
    // Only the beginning of the receiver's error page is kept.
    expect(failed.lastError).toBe(`HTTP 503: ${'maintenance '.repeat(200).slice(0, 500)}`);

    const supervisor = await routes.signIn(['SUPERVISOR']);
    const forbidden = await supervisor.post<Problem>(`/api/webhook-deliveries/${id}/redeliver`);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.code).toBe('FORBIDDEN');
    expect((await row(id)).status).toBe('FAILED');

    receiver.recover(id);
    const admin = await routes.signIn(['ADMIN']);
    const accepted = await admin.post<DeliveryView>(`/api/webhook-deliveries/${id}/redeliver`);
    expect(accepted.status).toBe(202);
    expect(accepted.body).toMatchObject({ id, status: 'PENDING', attempts: 0 });
    expect(accepted.body).not.toHaveProperty('payload');
    const delivered = await settled(id, 'DELIVERED');
    expect(delivered).toMatchObject({ attempts: 1, lastStatusCode: 200 });
    const audit = await auditEventOf(reader, { entityType: 'los_webhook_delivery', entityId: id, action: 'los_webhook.redelivery_requested' });
    expect(audit).toMatchObject({ actorType: 'USER', data: { previousStatus: 'FAILED', eventType: expect.any(String) } });

    const requests = receiver.requestsFor(id);
    expect(requests).toHaveLength(5);
    const last = requests.at(-1)!;
    expect(last.headers['idempotency-key']).toBe(id);
    expect(last.headers['facesign-delivery-attempt']).toBe('1');
    expect(verifyLosWebhook(SECRET, String(last.headers['facesign-signature']), last.body, nowSeconds())).toBe(true);
  });

  it('leaves a delivery that is already pending as it is, so a double click sends nothing extra', async () => {
    const { id } = await recordEvent();
    const later = new Date(Date.now() + 3_600_000);
    // fixture: a delivery that failed twice and waits for its next attempt
    await t.facesign.db.losWebhookDelivery.update({ where: { id }, data: { attempts: 2, nextAttemptAt: later } });
    const admin = await routes.signIn(['ADMIN']);
    const res = await admin.post<DeliveryView & { nextAttemptAt: string }>(`/api/webhook-deliveries/${id}/redeliver`);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'PENDING', attempts: 2, nextAttemptAt: later.toISOString() });
    expect(await row(id)).toMatchObject({ status: 'PENDING', attempts: 2, nextAttemptAt: later.toISOString() });
    // A stray job for it (a duplicate, or the sweep's) does not jump the schedule either.
    expect(await service.deliver(id)).toBe('skipped');
    expect(receiver.requestsFor(id)).toHaveLength(0);
  });

  it('answers 404 problem+json for an unknown delivery and 400 for a malformed id', async () => {
    const admin = await routes.signIn(['ADMIN']);
    const unknown = await admin.post<Problem>(`/api/webhook-deliveries/${randomUUID()}/redeliver`);
    expect(unknown.status).toBe(404);
    expect(unknown.contentType).toContain('application/problem+json');
    expect(unknown.body.code).toBe('NOT_FOUND');
    expect((await admin.post(`/api/webhook-deliveries/not-a-uuid/redeliver`)).status).toBe(400);
  });

  it('counts a timeout and a refused connection as failed attempts', async () => {
    const settings = { url: receiver.url, secret: SECRET };
    // A one-hour retry keeps the worker out of the way while the failed attempt is inspected.
    const slow = new LosWebhookService({ db: t.facesign.db, queues: t.facesign.queues, settings, log: t.facesign.log, schedule: [3_600_000], timeoutMs: 200 });
    const hung = await recordEvent();
    receiver.failNext(hung.id, 1, 'hang');
    expect(await slow.deliver(hung.id)).toBe('retry-scheduled');
    expect(receiver.requestsFor(hung.id)).toHaveLength(1);
    const afterTimeout = await row(hung.id);
    expect(afterTimeout).toMatchObject({ status: 'PENDING', attempts: 1, lastStatusCode: null, lastError: 'timed out after 200 ms' });
    expect(Date.parse(afterTimeout.nextAttemptAt!)).toBeGreaterThan(Date.now());

    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const refused = new LosWebhookService({ db: t.facesign.db, queues: t.facesign.queues, settings: { url: deadUrl, secret: SECRET }, log: t.facesign.log, schedule: [3_600_000] });
    const unreachable = await recordEvent();
    expect(await refused.deliver(unreachable.id)).toBe('retry-scheduled');
    expect(await row(unreachable.id)).toMatchObject({ status: 'PENDING', attempts: 1, lastStatusCode: null, lastError: 'request failed: ECONNREFUSED' });
  });

  it('stops at once when the receiver answers 410 Gone', async () => {
    const { id } = await recordEvent();
    receiver.failAlways(id, 410);
    expect(await service.deliver(id)).toBe('failed');
    expect(await row(id)).toMatchObject({ status: 'FAILED', attempts: 1, lastStatusCode: 410 });
    expect(receiver.requestsFor(id)).toHaveLength(1);
  });

  it('sends one request when the same delivery is attempted concurrently', async () => {
    const { id } = await recordEvent();
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => service.deliver(id)));
    expect(outcomes.filter((o) => o === 'delivered')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'skipped')).toHaveLength(7);
    expect(receiver.requestsFor(id)).toHaveLength(1);
    expect(await row(id)).toMatchObject({ status: 'DELIVERED', attempts: 1 });
  });
});

describe('sweep', () => {
  it('re-enqueues a pending delivery whose job was lost', async () => {
    // Recorded, committed, but never dispatched: the process died, or Redis lost the job.
    const { id } = await recordEvent();
    // fixture: its attempt is five minutes overdue
    await t.facesign.db.losWebhookDelivery.update({ where: { id }, data: { nextAttemptAt: new Date(Date.now() - 5 * 60_000) } });
    expect(await service.sweep()).toBeGreaterThanOrEqual(1);
    await settled(id, 'DELIVERED');
    expect(receiver.requestsFor(id)).toHaveLength(1);
  });

  it('keeps events recorded without a configured LOS, and delivers them once one is configured', async () => {
    const unconfigured = new LosWebhookService({ db: t.facesign.db, queues: t.facesign.queues, settings: undefined, log: t.facesign.log });
    const { id } = await recordEvent({ via: unconfigured });
    await unconfigured.dispatch(id);
    expect(await unconfigured.deliver(id)).toBe('skipped');
    expect(await unconfigured.sweep(new Date(Date.now() + 3_600_000))).toBe(0);
    expect(await row(id)).toMatchObject({ status: 'PENDING', attempts: 0 });
    expect(receiver.requestsFor(id)).toHaveLength(0);

    // The configured service (after a restart with LOS_WEBHOOK_URL set) finds it overdue.
    expect(await service.sweep(new Date(Date.now() + 5 * 60_000))).toBeGreaterThanOrEqual(1);
    await settled(id, 'DELIVERED');
    expect(receiver.requestsFor(id)).toHaveLength(1);
  });
});

describe('delivery log', () => {
  it('lists a loan file’s deliveries newest first, without payloads unless asked', async () => {
    const first = await recordEvent({ type: 'verification.escalated' });
    const second = await recordEvent({ loanFile: first.loanFile, type: 'loan_file.verified' });
    // Distinct creation times, so the order is the point of the assertion rather than a tie-break.
    await t.facesign.db.losWebhookDelivery.update({ where: { id: first.id }, data: { createdAt: new Date(Date.now() - 60_000) } });
    await service.deliver(second.id);
    const path = `/api/loan-files/${first.loanFile.id}/webhook-deliveries`;

    const auditor = await routes.signIn(['AUDITOR']);
    const list = await auditor.get<{ items: DeliveryView[] }>(path);
    expect(list.status).toBe(200);
    expect(list.body.items.map((d) => [d.id, d.type, d.status, d.attempts])).toEqual([
      [second.id, 'loan_file.verified', 'DELIVERED', 1],
      [first.id, 'verification.escalated', 'PENDING', 0],
    ]);
    expect(list.body.items[0]).toMatchObject({ lastStatusCode: 200, lastError: null });
    expect(list.body.items[0]!.deliveredAt).toEqual(expect.any(String));
    expect(list.body.items.some((d) => 'payload' in d)).toBe(false);

    const withPayload = await auditor.get<{ items: DeliveryView[] }>(`${path}?include=payload`);
    expect(withPayload.body.items[0]!.payload).toMatchObject({ id: second.id, type: 'loan_file.verified', loanFileId: first.loanFile.id });

    const { key } = await routes.apiKeys.create({ name: 'LOS', scopes: ['loan-files:read'] }, { type: 'SYSTEM' }, 'test');
    const los = new ApiClient(routes.url).withApiKey(key);
    expect((await los.get<{ items: DeliveryView[] }>(path)).body.items).toHaveLength(2);
  });

  it('refuses agents, and answers 404 for an unknown loan file', async () => {
    const agent = await routes.signIn(['AGENT']);
    const { loanFile } = await recordEvent();
    expect((await agent.get<Problem>(`/api/loan-files/${loanFile.id}/webhook-deliveries`)).status).toBe(403);
    const supervisor = await routes.signIn(['SUPERVISOR']);
    const missing = await supervisor.get<Problem>(`/api/loan-files/${randomUUID()}/webhook-deliveries`);
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('NOT_FOUND');
  });
});
