// The Bull Board job dashboard: admins only, read-only, self-contained (no remote origin). main.ts is
// not wired here, so the router is mounted the way main.ts would, in a second app built by
// createHttpApp around the test app's queues and an AuthService over the same database.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyService } from '../../server/auth/api-keys.service.js';
import { AuthService } from '../../server/auth/auth.service.js';
import { DomainEvents } from '../../server/events/domain-events.js';
import { RateLimiter } from '../../server/auth/rate-limiter.js';
import { createHttpApp } from '../../server/http/app.js';
import { jobCatalog } from '../../server/jobs/catalog.js';
import { queueDashboardRouter } from '../../server/jobs/dashboard.routes.js';
import type { ApiClient } from '../support/api-client.js';
import { startTestApp, type TestApp } from '../support/harness.js';

interface BoardQueue {
  name: string;
  counts: Record<string, number>;
  jobs: { id: string }[];
  readOnlyMode: boolean;
}

let t: TestApp;
let server: Server;
let dashboardUrl: string;
let admin: ApiClient;

beforeAll(async () => {
  t = await startTestApp();
  const { db, redis, config, log, queues } = t.facesign;
  const auth = new AuthService({ db: db, limiter: new RateLimiter(redis), apiKeys: new ApiKeyService(db), settings: config.auth, events: new DomainEvents() });
  const app = createHttpApp({
    log,
    routes: [],
    authenticator: auth,
    publicUrl: config.http.publicUrl,
    trustProxy: config.http.trustProxy,
    rawRouters: [{ path: '/admin/queues', router: queueDashboardRouter(queues, auth, '/admin/queues') }],
  });
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  dashboardUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  admin = await t.signIn({ roles: ['ADMIN'] });
  await queues.enqueue('session-sweep', {}, { jobId: 'x', delayMs: 60_000 });
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await t?.stop();
});

/** Sessions live on the test app; the dashboard app shares its database, so the cookie works on both. */
async function call(path: string, as: ApiClient | { authorization: string } | undefined, method = 'GET') {
  const headers: Record<string, string> = as === undefined ? {} : 'authorization' in as ? as : { cookie: as.cookieHeader() };
  const res = await fetch(dashboardUrl + path, { method, headers });
  const contentType = res.headers.get('content-type') ?? '';
  const text = await res.text();
  return { status: res.status, headers: res.headers, contentType, text, json: contentType.includes('json') ? (JSON.parse(text) as unknown) : undefined };
}

async function sweepJobState(): Promise<string | undefined> {
  return (await t.facesign.queues.queue('session-sweep').getJob('x'))?.getState();
}

describe('queue dashboard for an admin', () => {
  it('serves the page with its assets from this origin only', async () => {
    const page = await call('/admin/queues', admin);
    expect(page.status).toBe(200);
    expect(page.contentType).toMatch(/^text\/html/);
    expect(page.text).toContain('<base href="/admin/queues/"');
    expect(page.text).not.toMatch(/(src|href)="(https?:)?\/\//);

    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).not.toMatch(/https?:|\*/);

    const script = /<script defer src="(static\/js\/main\.[^"]+\.js)"/.exec(page.text)?.[1];
    expect(script).toBeDefined();
    const asset = await call(`/admin/queues/${script}`, admin);
    expect(asset.status).toBe(200);
    expect(asset.contentType).toMatch(/javascript/);
    // The assets are behind the same check as the page.
    expect((await call(`/admin/queues/${script}`, undefined)).status).toBe(401);
  });

  it('lists every catalog queue, read-only, with its job counts', async () => {
    const res = await call('/admin/queues/api/queues?activeQueue=session-sweep&status=delayed', admin);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const { queues } = res.json as { queues: BoardQueue[] };
    expect(queues.map((q) => q.name).sort()).toEqual(Object.keys(jobCatalog).sort());
    expect(queues.every((q) => q.readOnlyMode)).toBe(true);
    const sweep = queues.find((q) => q.name === 'session-sweep');
    expect(sweep?.counts.delayed).toBeGreaterThanOrEqual(1);
    expect(sweep?.jobs.map((j) => j.id)).toContain('x');
    expect(queues.find((q) => q.name === 'session-dial')?.counts).toMatchObject({ delayed: 0, waiting: 0, failed: 0 });
  });

  it('refuses every mutation and leaves the jobs alone', async () => {
    for (const [method, path] of [
      ['PUT', '/api/queues/session-sweep/clean/delayed'],
      ['PUT', '/api/queues/session-sweep/x/clean'],
      ['PUT', '/api/queues/session-sweep/x/promote'],
      ['PUT', '/api/queues/session-sweep/retry/failed'],
      ['PUT', '/api/queues/pause'],
      ['POST', '/api/queues/session-sweep/add'],
    ] as const) {
      const res = await call(`/admin/queues${path}`, admin, method);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.contentType).toMatch(/^application\/problem\+json/);
      expect(res.json).toMatchObject({ code: 'FORBIDDEN', detail: 'The job queue dashboard is read-only' });
    }
    expect(await sweepJobState()).toBe('delayed');
    expect(await t.facesign.queues.queue('session-sweep').isPaused()).toBe(false);
  });
});

describe('queue dashboard for anyone else', () => {
  it('answers 403 to a signed-in agent, on the page and the API', async () => {
    const agent = await t.signIn({ roles: ['AGENT'] });
    for (const path of ['/admin/queues', '/admin/queues/api/queues']) {
      const res = await call(path, agent);
      expect(res.status).toBe(403);
      expect(res.contentType).toMatch(/^application\/problem\+json/);
      expect(res.json).toMatchObject({ code: 'FORBIDDEN' });
    }
    expect((await call('/admin/queues/api/queues/session-sweep/clean/delayed', agent, 'PUT')).status).toBe(403);
    expect(await sweepJobState()).toBe('delayed');
  });

  it('answers 403 to an API key, whatever its scopes', async () => {
    const created = await admin.post<{ key: string }>('/api/api-keys', { name: 'los', scopes: ['sessions:read', 'sessions:write', 'loan-files:read', 'loan-files:write'] });
    expect(created.status).toBe(201);
    const res = await call('/admin/queues/api/queues', { authorization: `Bearer ${created.body.key}` });
    expect(res.status).toBe(403);
    expect(res.json).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('answers 401 without a credential or with a bad one', async () => {
    for (const path of ['/admin/queues', '/admin/queues/api/queues']) {
      const res = await call(path, undefined);
      expect(res.status).toBe(401);
      expect(res.contentType).toMatch(/^application\/problem\+json/);
      expect(res.json).toMatchObject({ code: 'UNAUTHENTICATED' });
    }
    expect((await call('/admin/queues/api/queues', { authorization: 'Bearer garbage' })).status).toBe(401);
    const anonymousClean = await call('/admin/queues/api/queues/session-sweep/clean/delayed', undefined, 'PUT');
    expect(anonymousClean.status).toBe(401);
    expect(await sweepJobState()).toBe('delayed');
  });
});

describe('in the running app', () => {
  it('is mounted at /admin/queues for admins only', async () => {
    const admin = await t.signIn({ roles: ['ADMIN'] });
    const page = await admin.get<string>('/admin/queues');
    expect(page.status).toBe(200);
    expect(page.contentType).toContain('text/html');
    const supervisor = await t.signIn({ roles: ['SUPERVISOR'] });
    expect((await supervisor.get('/admin/queues')).status).toBe(403);
    expect((await t.client().get('/admin/queues')).status).toBe(401);
  });
});
