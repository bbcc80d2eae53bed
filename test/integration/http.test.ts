import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createHttpApp } from '../../server/http/app.js';
import { defineRoute } from '../../server/http/route.js';
import { createLogger } from '../../server/logging.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { eventually } from '../support/fixtures.js';
import { onlineAgent } from '../support/verification.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.stop());

describe('health', () => {
  it('/healthz answers while the process is alive', async () => {
    const res = await t.client().get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('/readyz reports every dependency with status and latency', async () => {
    const res = await t.client().get<{ status: string; checks: Record<string, { status: string; latencyMs: number | null; required: boolean; info?: unknown }> }>('/readyz');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ready');
    expect(Object.keys(res.body.checks).sort()).toEqual(['evidencePdfFont', 'livekit', 'objectStorage', 'postgres', 'redis', 'retention']);
    expect(res.body.checks.evidencePdfFont).toMatchObject({ status: 'up', required: false, info: { font: '/usr/share/fonts/truetype/wqy/wqy-microhei.ttc' } });
    // s3rver has no Object Lock: facesign itself refuses early deletion, and says so.
    expect(res.body.checks.retention).toMatchObject({ status: 'up', required: false, info: { enforcedBy: 'facesign', mode: null } });
    for (const name of ['postgres', 'redis', 'objectStorage']) {
      expect(res.body.checks[name]).toMatchObject({ status: 'up', required: true });
      expect(res.body.checks[name]!.latencyMs).toBeGreaterThanOrEqual(0);
    }
    expect(res.body.checks.livekit).toMatchObject({ status: 'unconfigured', required: false });
  });

  it('/readyz answers 503 naming the dependency that is down, without internals', async () => {
    const down = await startTestApp({ S3_ENDPOINT: 'http://127.0.0.1:9', LIVEKIT_URL: 'http://127.0.0.1:9', LIVEKIT_API_KEY: 'k', LIVEKIT_API_SECRET: 's' });
    try {
      const res = await down.client().get<{ status: string; checks: Record<string, { status: string; error?: string }> }>('/readyz');
      expect(res.status).toBe(503);
      expect(res.body.status).toBe('not_ready');
      expect(res.body.checks.objectStorage!.status).toBe('down');
      expect(res.body.checks.livekit).toMatchObject({ status: 'down', required: true });
      expect(res.body.checks.postgres!.status).toBe('up');
      expect(JSON.stringify(res.body)).not.toContain('127.0.0.1');
    } finally {
      await down.stop();
    }
  });
});

describe('problem+json', () => {
  it('unknown routes are 404 problems', async () => {
    const res = await t.client().get<{ code: string; instance: string; requestId: string }>('/api/nope?x=1');
    expect(res.status).toBe(404);
    expect(res.contentType).toBe('application/problem+json; charset=utf-8');
    expect(res.body).toMatchObject({ code: 'ROUTE_NOT_FOUND', instance: '/api/nope' });
    expect(res.body.requestId).toBe(res.headers.get('x-request-id'));
  });

  it('keeps a caller-supplied request id when it is safe, replaces it when not', async () => {
    const ok = await t.client().get('/healthz', { 'x-request-id': 'los-req-0001' });
    expect(ok.headers.get('x-request-id')).toBe('los-req-0001');
    const bad = await t.client().get('/healthz', { 'x-request-id': '<script>' });
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('500s never leak internals, and a response that breaks its own schema is a 500', async () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'error', destination: { write: (s: string) => void lines.push(s) } });
    const app = createHttpApp({
      log,
      publicUrl: 'http://x',
      trustProxy: 'loopback',
      authenticator: { authenticate: async () => null, checkCsrf: () => false },
      routes: [
        defineRoute({
          method: 'get', path: '/boom', summary: 'x', tags: ['t'], access: 'public',
          responses: { 200: { description: 'x' } },
          async handler() {
            throw new Error('connection to db-prod-7.internal:5432 failed for user facesign');
          },
        }),
        defineRoute({
          method: 'get', path: '/liar', summary: 'x', tags: ['t'], access: 'public',
          responses: { 200: { description: 'x', schema: z.object({ id: z.uuid() }) } },
          async handler() {
            return { status: 200, body: { id: 'not-a-uuid', secret: 'x' } };
          },
        }),
      ],
    });
    const server = app.listen(0);
    await new Promise((r) => server.once('listening', r));
    const { port } = server.address() as net.AddressInfo;
    try {
      for (const path of ['/boom', '/liar']) {
        const res = await fetch(`http://127.0.0.1:${port}${path}`);
        const text = await res.text();
        expect(res.status).toBe(500);
        expect(JSON.parse(text)).toMatchObject({ code: 'INTERNAL' });
        expect(text).not.toMatch(/db-prod|5432|stack|not-a-uuid/);
      }
      expect(lines.join('')).toContain('db-prod-7.internal');
    } finally {
      server.close();
    }
  });
});

/** Writes raw bytes to the server and reads until it closes the connection. */
function rawExchange(url: string, bytes: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(bytes));
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString('utf8')));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

describe('requests the HTTP parser rejects', () => {
  it.each([
    ['a broken request line', 'NOT HTTP AT ALL\r\n\r\n', 400, 'MALFORMED_REQUEST'],
    ['a body sent without framing after a request', 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n{"a":1}\r\n\r\n', 400, 'MALFORMED_REQUEST'],
    ['headers larger than the server accepts', `GET /api/sessions/${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431, 'HEADERS_TOO_LARGE'],
    ['an invalid header name', 'GET /healthz HTTP/1.1\r\nHo st: x\r\n\r\n', 400, 'MALFORMED_REQUEST'],
  ])('%s: problem+json with nosniff, then the connection closes', async (_case, bytes, status, code) => {
    const text = await rawExchange(t.url, bytes);
    const last = text.slice(text.lastIndexOf('HTTP/1.1 '));
    const [head, body] = last.split('\r\n\r\n') as [string, string];
    expect(head).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
    expect(head).toMatch(/content-type: application\/problem\+json/i);
    expect(head).toMatch(/x-content-type-options: nosniff/i);
    expect(JSON.parse(body)).toMatchObject({ status, code });
  });
});

describe('OpenAPI', () => {
  it('documents every route from the zod schemas, with security and the problem schema', async () => {
    const res = await t.client().get<{ openapi: string; paths: Record<string, Record<string, { security?: unknown[]; requestBody?: unknown }>>; components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> } }>('/api/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining(['/healthz', '/readyz', '/api/auth/login', '/api/api-keys/{id}', '/api/loan-files', '/api/loan-files/{id}/parties/{partyId}']),
    );
    expect(res.body.paths['/api/loan-files']!.post!.security).toEqual([{ cookieSession: [] }, { apiKey: ['loan-files:write'] }]);
    expect(res.body.paths['/api/loan-files']!.post!.requestBody).toBeDefined();
    expect(Object.keys(res.body.components.schemas)).toEqual(expect.arrayContaining(['Problem', 'LoanFile', 'Party', 'CreateLoanFile']));
    const docs = await t.client().get<string>('/api/docs');
    expect(docs.status).toBe(200);
    expect(docs.body).toContain('/api/openapi.json');
  });
});

describe('graceful shutdown', () => {
  it('finishes in-flight requests, then refuses new connections', async () => {
    // An object store that accepts connections and never answers keeps /readyz in flight for its timeout.
    let reached: () => void = () => undefined;
    const objectStoreReached = new Promise<void>((r) => (reached = r));
    const blackhole = net.createServer(() => reached());
    await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', () => r()));
    const app = await startTestApp({ S3_ENDPOINT: `http://127.0.0.1:${(blackhole.address() as net.AddressInfo).port}` });
    try {
      const inFlight = fetch(`${app.url}/readyz`);
      await objectStoreReached;
      const stopping = app.facesign.stop();
      const res = await inFlight;
      expect(res.status).toBe(503);
      await stopping;
      await expect(fetch(`${app.url}/healthz`)).rejects.toThrow();
    } finally {
      await app.stop();
      blackhole.close();
    }
  });

  it('stops within its grace period while a client keeps its connection busy and an agent socket is open', async () => {
    // LiveKit delivering a backlog of webhooks does this: one keep-alive connection never idle.
    const app = await startTestApp({ SHUTDOWN_GRACE_MS: '1000' });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let busy = true;
    let answered = 0;
    let cutOff = false;
    const poster = (async () => {
      while (busy) {
        const ok = await new Promise<boolean>((resolve) => {
          const req = http.request(`${app.url}/livekit/webhook`, { agent, method: 'POST', headers: { 'content-type': 'application/webhook+json', authorization: 'not a token' } }, (res) => {
            res.resume();
            res.once('end', () => resolve(true));
          });
          req.once('error', () => {
            cutOff = true;
            resolve(false);
          });
          // The body arrives in two parts, so the connection is busy, not idle, most of the time.
          req.write('{');
          setTimeout(() => req.end('}'), 30);
        });
        if (ok) answered += 1;
        else await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const staff = await onlineAgent(app, 'consumer-loan');
    try {
      await eventually(async () => answered > 20);
      // Before the fix this never returned: the busy connection and the socket held the server open.
      await app.facesign.stop();
      // The server ended the busy connection (after the grace period), not the client.
      expect(cutOff).toBe(true);
      expect(staff.socket.socket.connected).toBe(false);
    } finally {
      busy = false;
      agent.destroy();
      await poster;
      await app.stop();
    }
  });
});
