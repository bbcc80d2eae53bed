// Security tests that walk every route and every socket event rather than a sample: role and scope
// escalation (driven by /api/openapi.json, checked against express's own route table), CSRF on every
// cookie-authenticated change, socket namespaces, borrower link and one-time-code guessing, replayed
// LiveKit webhooks, and injection strings stored and served back verbatim.
import { createHash, randomUUID } from 'node:crypto';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Router } from 'express';
import type { ERROR_CODES } from '../../server/shared/errors.js';
import { BorrowerLinks, issueLink } from '../../server/auth/borrower-links.service.js';
import { agentClientEvents, partyClientEvents } from '../../server/realtime/events.js';
import { partyIdentity } from '../../server/livekit/identities.js';
import { API_SCOPES } from '../../server/auth/principal.js';
import type { ApiClient, ApiResponse } from '../support/api-client.js';
import { connectAgent } from '../support/agent-socket.js';
import { createAttempt, eventually, LOAN_TERMS } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { Rng, SchemaValues, operationsOf, type OpenApiDocument, type Operation } from '../support/openapi-fuzz.js';
import { ALWAYS_OPEN, loanFileWithBorrower, scheduleCall } from '../support/verification.js';
import { auditLogOf } from '../support/reads.js';
import { bodyOf, expiredSignature, participantEvent, postWebhook, signWebhook } from '../support/webhooks.js';

const ROLES = ['ADMIN', 'SUPERVISOR', 'AGENT', 'AUDITOR'] as const;
type Role = (typeof ROLES)[number];
type Access = { public: true } | { roles: readonly Role[] | 'any'; apiKeyScope: string | null };

let t: TestApp;
let doc: OpenApiDocument;
const staff = {} as Record<Role, ApiClient>;
const ids: Record<string, string> = {};
const keys: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestApp({ ...ALWAYS_OPEN, LOGIN_MAX_FAILURES: '5', LOGIN_RATE_PER_MINUTE: '1000' }, { livekit: true });
  for (const role of ROLES) staff[role] = await t.signIn({ roles: [role], skills: ['sec'] });
  // One key with every scope, and for each scope a key with all the others.
  const all = await staff.ADMIN.post<{ key: string }>('/api/api-keys', { name: 'all scopes', scopes: [...API_SCOPES] });
  keys.all = all.body.key;
  for (const scope of API_SCOPES) {
    const others = await staff.ADMIN.post<{ key: string }>('/api/api-keys', { name: `all but ${scope}`, scopes: API_SCOPES.filter((s) => s !== scope) });
    keys[`not:${scope}`] = others.body.key;
  }
  const los = t.client().withApiKey(keys.all!);
  const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550100', product: 'sec' });
  ids.loanFileId = loanFileId;
  ids.partyId = partyId;
  ids.sessionId = await scheduleCall(los, loanFileId, partyId, { notBefore: new Date(Date.now() + 30 * 86_400_000).toISOString() });
  doc = (await t.client().get<OpenApiDocument>('/api/openapi.json')).body;
}, 120_000);
afterAll(async () => t?.stop());

const accessOf = (op: Operation) => op.op['x-facesign-access'] as Access | undefined;
const admits = (access: Access, role: Role) => !('public' in access) && (access.roles === 'any' || access.roles.includes(role));

/** A request to the operation with real ids and a well-formed body, so that only the credential decides. */
function requestFor(op: Operation, seed: number) {
  const values = new SchemaValues(doc, new Rng(seed), (name) => (name === 'id' ? (op.path.startsWith('/api/loan-files/') ? ids.loanFileId : ids.sessionId) : name === 'partyId' ? ids.partyId : undefined));
  const path = op.path.replace(/\{([A-Za-z0-9_]+)\}/g, (_m, name: string) => {
    const param = op.op.parameters?.find((p) => p.in === 'path' && p.name === name);
    return encodeURIComponent(String(param ? values.valid(param.schema, name) : randomUUID()));
  });
  const query = (op.op.parameters ?? []).filter((p) => p.in === 'query' && p.required).map((p) => `${p.name}=${encodeURIComponent(String(values.valid(p.schema, p.name)))}`);
  const json = op.op.requestBody?.content['application/json']?.schema;
  return { path: query.length > 0 ? `${path}?${query.join('&')}` : path, body: json ? values.valid(json) : undefined };
}

function send(client: ApiClient, op: Operation, seed: number, headers: Record<string, string> = {}, options: { csrf?: boolean } = {}): Promise<ApiResponse<{ code?: string; detail?: string; status?: number }>> {
  const { path, body } = requestFor(op, seed);
  const isImage = op.op.requestBody && !op.op.requestBody.content['application/json'];
  if (isImage) return client.request(op.method, path, undefined, { 'content-type': 'image/png', ...headers }, { ...options, raw: '\x89PNG\r\n\x1a\n' });
  return client.request(op.method, path, body, headers, options);
}

function expectProblem(res: ApiResponse<{ code?: string; status?: number }>, status: number, code: keyof typeof ERROR_CODES, what: string): void {
  expect({ what, status: res.status, code: res.body.code }).toEqual({ what, status, code });
  expect(res.contentType, what).toMatch(/^application\/problem\+json/);
  expect(res.headers.get('x-content-type-options'), what).toBe('nosniff');
}

/** Express's own route table: every route the app serves, with its mount prefix. */
function routeTable(): { method: string; path: string }[] {
  const out: { method: string; path: string }[] = [];
  const walk = (router: Router, prefix: string) => {
    for (const layer of (router as unknown as { stack: { route?: { path: string; methods: Record<string, boolean> }; name: string; handle: Router; rawPath?: string; slash?: boolean }[] }).stack) {
      if (layer.route) for (const method of Object.keys(layer.route.methods)) out.push({ method: method.toUpperCase(), path: `${prefix}${layer.route.path === '/' ? '' : layer.route.path}` });
      else if (layer.name === 'router') walk(layer.handle, layer.slash ? prefix : `${prefix}${layer.rawPath ?? ''}`);
    }
  };
  walk((t.facesign.app as unknown as { router: Router }).router, '');
  return out;
}

describe('the OpenAPI document and the route table agree', () => {
  it('documents every route express serves (outside the raw mounts), and express serves every documented operation', () => {
    const documented = new Set(operationsOf(doc).map((op) => `${op.method} ${op.path}`));
    const served = new Set(routeTable().map((r) => `${r.method} ${r.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`));
    // The document itself, the signed LiveKit webhook (tested below), Bull Board (queue-dashboard.test.ts),
    // Prometheus (dashboard.test.ts) and the browser pages with their console fallback (test/e2e).
    const outside = new Set(['GET /api/openapi.json', 'GET /api/docs', 'POST /livekit/webhook', 'GET /metrics', 'GET /favicon.svg', 'GET /^\\/join(?:\\/.*)?$/']);
    const pageFallback = (r: string) => r.startsWith('GET /^') && r.includes('(?!api');
    expect([...served].filter((r) => !documented.has(r) && !outside.has(r) && !pageFallback(r) && !r.includes('/admin/queues'))).toEqual([]);
    expect([...documented].filter((r) => !served.has(r))).toEqual([]);
    for (const op of operationsOf(doc)) expect(accessOf(op), `${op.method} ${op.path}`).toBeDefined();
  });
});

describe('role and scope escalation on every operation', () => {
  const protectedOps = () => operationsOf(doc).filter((op) => !('public' in (accessOf(op) ?? { public: true })));

  it('without credentials, or with a broken one, every protected operation is 401 problem+json', async () => {
    for (const [i, op] of protectedOps().entries()) {
      expectProblem(await send(t.client(), op, i), 401, 'UNAUTHENTICATED', `anonymous ${op.method} ${op.path}`);
      expectProblem(await send(t.client().withApiKey(`${keys.all!.slice(0, -3)}xyz`), op, i), 401, 'UNAUTHENTICATED', `tampered key ${op.method} ${op.path}`);
    }
  });

  it('every role an operation does not admit gets 403 problem+json, never a 2xx', async () => {
    let refused = 0;
    for (const [i, op] of protectedOps().entries()) {
      const access = accessOf(op)!;
      for (const role of ROLES.filter((r) => !admits(access, r))) {
        const res = await send(staff[role], op, i);
        // The capture upload admits any signed-in user at the door; only the assigned agent gets further.
        if (op.path === '/api/sessions/{id}/captures' && op.method === 'POST') expect([403, 404], `${role} ${op.method} ${op.path}`).toContain(res.status);
        else expectProblem(res, 403, 'FORBIDDEN', `${role} ${op.method} ${op.path}`);
        refused += 1;
      }
    }
    expect(refused).toBeGreaterThanOrEqual(70);
  });

  it('an API key without the operation\'s scope gets 403, and user-only operations refuse every key', async () => {
    for (const [i, op] of protectedOps().entries()) {
      const access = accessOf(op) as Exclude<Access, { public: true }>;
      const key = access.apiKeyScope ? keys[`not:${access.apiKeyScope}`]! : keys.all!;
      expectProblem(await send(t.client().withApiKey(key), op, i), 403, 'FORBIDDEN', `key ${op.method} ${op.path}`);
    }
  });

  it('the admitted roles and scopes do get past the door (the refusals above are about the credential)', async () => {
    const doorRefusal = /is not allowed for this (role|API key)/;
    for (const [i, op] of protectedOps().entries()) {
      if (op.path === '/api/auth/logout') continue; // would end the session the other checks use
      const access = accessOf(op) as Exclude<Access, { public: true }>;
      for (const role of ROLES.filter((r) => admits(access, r))) {
        const res = await send(staff[role], op, 1_000 + i);
        expect(res.status, `${role} ${op.method} ${op.path}`).not.toBe(401);
        expect(String(res.body.detail ?? ''), `${role} ${op.method} ${op.path}`).not.toMatch(doorRefusal);
      }
      if (access.apiKeyScope) {
        const res = await send(t.client().withApiKey(keys.all!), op, 2_000 + i);
        expect([401, 403], `key ${op.method} ${op.path}`).not.toContain(res.status);
      }
    }
  });

  it("an agent reaches no session they are not assigned to, on any operation that admits agents", async () => {
    const sessionOps = protectedOps().filter((op) => op.path.startsWith('/api/sessions/{id}') && admits(accessOf(op)!, 'AGENT'));
    expect(sessionOps.length).toBeGreaterThanOrEqual(10);
    const stranger = await t.signIn({ roles: ['AGENT'], skills: ['sec'] });
    for (const [i, op] of sessionOps.entries()) {
      const res = await send(stranger, op, 3_000 + i);
      expect({ op: `${op.method} ${op.path}`, status: res.status, problem: res.contentType.startsWith('application/problem+json') }).toMatchObject({ status: expect.toBeOneOf([403, 404]), problem: true });
    }
  });

  it('the queue dashboard, mounted outside the document, is for administrators only', async () => {
    expectProblem(await t.client().get('/admin/queues/api/queues'), 401, 'UNAUTHENTICATED', 'anonymous dashboard');
    for (const role of ['SUPERVISOR', 'AGENT', 'AUDITOR'] as const) expectProblem(await staff[role].get('/admin/queues/api/queues'), 403, 'FORBIDDEN', `${role} dashboard`);
    expectProblem(await t.client().withApiKey(keys.all!).get('/admin/queues/api/queues'), 403, 'FORBIDDEN', 'key dashboard');
    expect((await staff.ADMIN.get('/admin/queues/api/queues')).status).toBe(200);
  });
});

describe('CSRF on every cookie-authenticated change', () => {
  it('a missing, wrong or other session\'s token is 403 CSRF_TOKEN_INVALID on every mutating operation, and nothing changes', async () => {
    const auditBefore = (await auditLogOf(staff.ADMIN, {})).length;
    const other = await t.signIn({ roles: ['ADMIN'] });
    const auditAfterSignIn = (await auditLogOf(staff.ADMIN, {})).length;
    const mutating = operationsOf(doc).filter((op) => op.method !== 'GET' && op.op.security?.some((s) => 'cookieSession' in s));
    expect(mutating.length).toBeGreaterThan(25);
    for (const [i, op] of mutating.entries()) {
      const access = accessOf(op) as Exclude<Access, { public: true }>;
      const role = ROLES.find((r) => admits(access, r))!;
      const client = staff[role];
      expectProblem(await send(client, op, i, {}, { csrf: false }), 403, 'CSRF_TOKEN_INVALID', `no token ${op.method} ${op.path}`);
      expectProblem(await send(client, op, i, { 'x-csrf-token': `${client.csrfToken!.slice(0, -2)}xx` }), 403, 'CSRF_TOKEN_INVALID', `wrong token ${op.method} ${op.path}`);
      expectProblem(await send(client, op, i, { 'x-csrf-token': other.csrfToken! }), 403, 'CSRF_TOKEN_INVALID', `another session's token ${op.method} ${op.path}`);
    }
    // Not one of those requests left a trace: no change was made, so nothing was audited.
    expect(await auditLogOf(staff.ADMIN, {})).toHaveLength(auditAfterSignIn);
    expect(auditAfterSignIn).toBeGreaterThan(auditBefore);
    // Login itself needs no token (there is no session yet) but accepts JSON only, which a cross-site form cannot send.
    const form = await t.client().request('POST', '/api/auth/login', undefined, { 'content-type': 'text/plain' }, { raw: '{"email":"a@b.c","password":"x"}' });
    expect(form.status).toBe(415);
  });
});

// ---- sockets -------------------------------------------------------------------------------------

function connect(namespace: '/agent' | '/party', options: { cookie?: string; origin?: string; auth?: Record<string, string>; authorization?: string }): Promise<{ socket?: Socket; error?: string }> {
  const headers: Record<string, string> = {};
  if (options.cookie) headers.cookie = options.cookie;
  if (options.origin) headers.origin = options.origin;
  if (options.authorization) headers.authorization = options.authorization;
  const socket = io(`${t.url}${namespace}`, { transports: ['websocket'], extraHeaders: headers, auth: options.auth ?? {}, reconnection: false, forceNew: true });
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ socket }));
    socket.once('connect_error', (err: Error & { data?: { code?: string } }) => {
      socket.close();
      resolve({ error: err.data?.code ?? err.message });
    });
  });
}

describe('socket namespaces', () => {
  it('/agent refuses anonymous, auditor, API-key, signed-out and cross-site handshakes', async () => {
    expect((await connect('/agent', {})).error).toBe('UNAUTHENTICATED');
    expect((await connect('/agent', { cookie: staff.AUDITOR.cookieHeader() })).error).toBe('FORBIDDEN');
    expect((await connect('/agent', { authorization: `Bearer ${keys.all!}` })).error).toBe('UNAUTHENTICATED');
    expect((await connect('/agent', { cookie: 'fs_session=forged-token-value' })).error).toBe('UNAUTHENTICATED');
    expect((await connect('/agent', { cookie: staff.AGENT.cookieHeader(), origin: 'https://evil.example' })).error).toBe('FORBIDDEN');
    const leaving = await t.signIn({ roles: ['AGENT'] });
    const cookie = leaving.cookieHeader();
    expect((await leaving.post('/api/auth/logout')).status).toBe(204);
    expect((await connect('/agent', { cookie })).error).toBe('UNAUTHENTICATED');
  });

  it('every client event of /agent is authorised: supervisors cannot act as agents, agents watch only their own sessions', async () => {
    const agent = await connectAgent(t.url, staff.AGENT);
    const supervisor = await connectAgent(t.url, staff.SUPERVISOR);
    const admin = await connectAgent(t.url, staff.ADMIN);
    try {
      // The server registers exactly the events of the table, so none escapes this test.
      const serverSocket = [...t.facesign.realtime.io.of('/agent').sockets.values()].find((s) => s.id === agent.socket.id)!;
      const handled = serverSocket.eventNames().filter((e) => e !== 'disconnect' && e !== 'disconnecting' && e !== 'error');
      expect(handled.map(String).sort()).toEqual(Object.keys(agentClientEvents).sort());

      const valid: Record<keyof typeof agentClientEvents, unknown> = {
        'presence:set': { presence: 'available' },
        'presence:get': {},
        heartbeat: {},
        'session:watch': { sessionId: ids.sessionId },
        'contract:present': { sessionId: ids.sessionId, page: 1 },
      };
      const agentOnly = new Set(['presence:set', 'presence:get', 'heartbeat', 'contract:present']);
      for (const event of Object.keys(agentClientEvents) as (keyof typeof agentClientEvents)[]) {
        for (const socket of [supervisor, admin]) {
          const ack = await socket.emit(event, valid[event]);
          if (agentOnly.has(event)) expect(ack, `${event} by a non-agent`).toMatchObject({ ok: false, code: 'FORBIDDEN' });
        }
        // Malformed payloads are refused, not crashes.
        for (const payload of [null, 'x', 42, { sessionId: "'; DROP TABLE \"Attempt\"; --" }, { presence: 'god-mode' }, [valid[event]]]) {
          const ack = await agent.emit(event, payload);
          // heartbeat and presence:get take no payload: whatever comes is ignored.
          if (event !== 'heartbeat' && event !== 'presence:get') expect(ack, `${event} ${JSON.stringify(payload)}`).toMatchObject({ ok: false });
        }
      }
      // The session is not assigned to this agent: watching it is refused, and its events do not reach them.
      expect(await agent.emit('session:watch', { sessionId: ids.sessionId })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
      expect(await supervisor.emit('session:watch', { sessionId: ids.sessionId })).toEqual({ ok: true });
      // Nor may they present its contract: only the assigned agent does.
      expect(await agent.emit('contract:present', { sessionId: ids.sessionId, page: 1 })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
      t.facesign.realtime.emitter.toSessionWatchers(ids.sessionId!, 'session:changed', { v: 1, sessionId: ids.sessionId!, state: 'SCHEDULED', version: 99 });
      await supervisor.next('session:changed', (p) => p.version === 99);
      expect(agent.events.some((e) => e.event === 'session:changed' && e.payload.version === 99)).toBe(false);
      // Supervisors' presence is untouched by their refused presence:set.
      expect(await t.facesign.verification.presence.get(((await staff.SUPERVISOR.get<{ id: string }>('/api/auth/me')).body.id))).not.toBe('available');
    } finally {
      agent.close();
      supervisor.close();
      admin.close();
    }
  });

  it('/party admits only a link with its own party token, registers only its page-of-the-contract report, and hears only its own session', async () => {
    const links = new BorrowerLinks(t.facesign.db, t.facesign.config.verification.otp);
    const los = t.client().withApiKey(keys.all!);
    const party = async (phone: string) => {
      const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone, product: 'sec-party' });
      const session = await los.post<{ id: string }>(`/api/loan-files/${loanFileId}/sessions`, { partyId, kind: 'VIDEO', notBefore: new Date(Date.now() + 86_400_000).toISOString() });
      // fixture: the link the invitation SMS will carry once the session comes due
      const token = await t.facesign.db.$transaction((tx) => issueLink(tx, session.body.id, 86_400_000));
      const { link } = await links.resolve(token);
      return { sessionId: session.body.id, link: token, partyToken: await links.issuePartyToken(link) };
    };
    const a = await party('+8613900001001');
    const b = await party('+8613900001002');

    expect((await connect('/party', {})).error).toBe('UNAUTHENTICATED');
    expect((await connect('/party', { auth: { link: a.link, partyToken: 'guess' } })).error).toBe('UNAUTHENTICATED');
    expect((await connect('/party', { auth: { link: a.link, partyToken: b.partyToken } })).error).toBe('UNAUTHENTICATED');
    expect((await connect('/party', { auth: { link: 'A'.repeat(43), partyToken: a.partyToken } })).error).toBe('UNAUTHENTICATED');
    // A staff cookie is no way into a borrower's room either.
    expect((await connect('/party', { cookie: staff.SUPERVISOR.cookieHeader() })).error).toBe('UNAUTHENTICATED');

    const { socket } = await connect('/party', { auth: { link: a.link, partyToken: a.partyToken } });
    try {
      const serverSocket = [...t.facesign.realtime.io.of('/party').sockets.values()].find((s) => s.id === socket!.id)!;
      expect(serverSocket.eventNames().filter((e) => e !== 'disconnect' && e !== 'disconnecting' && e !== 'error')).toEqual(Object.keys(partyClientEvents));
      // A page report is validated, and refused for a session with no contract (this one has none).
      expect(await new Promise((resolve) => socket!.emit('contract:viewing', { page: 0 }, resolve))).toMatchObject({ ok: false, code: 'VALIDATION_FAILED' });
      expect(await new Promise((resolve) => socket!.emit('contract:viewing', { page: 1 }, resolve))).toMatchObject({ ok: false, code: 'SESSION_STATE_CONFLICT' });
      // …and a flood of reports is cut off before it reaches the database or an agent.
      expect(await new Promise((resolve) => socket!.emit('contract:viewing', { page: 1 }, resolve))).toMatchObject({ ok: false, code: 'RATE_LIMITED' });
      const heard: unknown[] = [];
      socket!.onAny((_event, payload: unknown) => heard.push(payload));
      // Agent events sent on the party namespace do nothing (no handler, no acknowledgement).
      socket!.emit('presence:set', { presence: 'available' });
      socket!.emit('session:watch', { sessionId: b.sessionId });
      t.facesign.realtime.emitter.toParty(b.sessionId, 'waiting:position', { v: 1, position: 7 });
      t.facesign.realtime.emitter.toParty(a.sessionId, 'waiting:position', { v: 1, position: 3 });
      // The other session's event was sent first and events reach a socket in order: had it leaked, it
      // would be heard before this one.
      await eventually(async () => heard.length > 0);
      expect(heard).toEqual([{ v: 1, position: 3 }]);
    } finally {
      socket?.close();
    }
  });
});

// ---- borrower links and one-time codes ----------------------------------------------------------------

describe('guessing borrower links and one-time codes', () => {
  it('link-token guessing from one address is cut off after 60 tries a minute, for every join endpoint; other addresses are unaffected', async () => {
    const guesser = { 'x-forwarded-for': '203.0.113.66' };
    const codes: string[] = [];
    for (let i = 0; i < 66; i += 1) {
      const guess = createHash('sha256').update(`guess-${i}`).digest('base64url');
      const path = i % 2 === 0 ? `/api/join/${guess}` : `/api/join/${guess}/otp/verify`;
      const res = await t.client().request<{ code: string }>(i % 2 === 0 ? 'GET' : 'POST', path, i % 2 === 0 ? undefined : { code: '123456' }, guesser);
      codes.push(res.body.code);
      if (res.status === 429) expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    expect(codes.slice(0, 60).every((c) => c === 'BORROWER_LINK_INVALID')).toBe(true);
    expect(codes.slice(60)).toEqual(Array(6).fill('RATE_LIMITED'));
    // Even a real link is refused to that address now, on every join endpoint; elsewhere it works.
    // fixture: a link as the invitation SMS carries it
    const real = await t.facesign.db.$transaction(async (tx) => issueLink(tx, (await scheduleVideo()).sessionId, 86_400_000));
    for (const [method, path] of [['GET', ''], ['POST', '/otp'], ['POST', '/otp/verify'], ['POST', '/consent'], ['POST', '/ready'], ['POST', '/reschedule'], ['POST', '/sign']] as const) {
      const body = method === 'POST' ? (path === '/consent' ? { recording: true, dataProcessing: true, locale: 'en' } : path === '/reschedule' ? { notBefore: new Date(Date.now() + 86_400_000).toISOString() } : { code: '123456' }) : undefined;
      const res = await t.client().request<{ code: string }>(method, `/api/join/${real}${path}`, body, guesser);
      expect({ path, code: res.body.code }).toEqual({ path, code: 'RATE_LIMITED' });
    }
    expect((await t.client().get(`/api/join/${real}`, { 'x-forwarded-for': '203.0.113.67' })).status).toBe(200);
  });

  it('parallel code guesses count atomically: at most five are judged, then the link is locked even for the right code', async () => {
    const { sessionId } = await scheduleVideo();
    // fixture: a link as the invitation SMS carries it
    const token = await t.facesign.db.$transaction((tx) => issueLink(tx, sessionId, 86_400_000));
    const links = new BorrowerLinks(t.facesign.db, t.facesign.config.verification.otp);
    const code = await links.createCode((await links.resolve(token)).link, 'join');
    const wrong = Array.from({ length: 30 }, (_, i) => String((Number(code) + 1 + i) % 1_000_000).padStart(6, '0'));
    const answers = await Promise.all(wrong.map((guess, i) => t.client().request<{ code: string }>('POST', `/api/join/${token}/otp/verify`, { code: guess }, { 'x-forwarded-for': `198.51.100.${i + 1}` })));
    const byCode = answers.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.body.code]: (acc[r.body.code] ?? 0) + 1 }), {});
    expect(byCode.OTP_INVALID ?? 0).toBeLessThanOrEqual(4);
    expect((byCode.OTP_INVALID ?? 0) + (byCode.OTP_LOCKED ?? 0)).toBe(30);
    // storage: the stored count is the atomicity under test; the page shows only "0 tries left"
    const link = await t.facesign.db.borrowerLink.findUniqueOrThrow({ where: { tokenHash: createHash('sha256').update(token).digest('hex') } });
    expect(link.otpAttempts).toBeLessThanOrEqual(5);
    expect(link.otpLockedUntil!.getTime()).toBeGreaterThan(Date.now());
    const right = await t.client().request<{ code: string }>('POST', `/api/join/${token}/otp/verify`, { code }, { 'x-forwarded-for': '198.51.100.200' });
    expect(right.body.code).toBe('OTP_LOCKED');
    // A fresh code cannot be asked for while locked either.
    const resend = await t.client().request<{ code: string }>('POST', `/api/join/${token}/otp`, { purpose: 'join' }, { 'x-forwarded-for': '198.51.100.201' });
    expect(resend.body.code).toBe('OTP_LOCKED');
  });

  it('password guessing spread over many addresses still locks the account', async () => {
    const victim = await t.signIn({ roles: ['SUPERVISOR'], email: 'victim@bank.test', password: 'the-right-password' });
    expect((await victim.get('/api/auth/me')).status).toBe(200);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) statuses.push((await t.client().request('POST', '/api/auth/login', { email: 'victim@bank.test', password: `guess-${i}` }, { 'x-forwarded-for': `192.0.2.${i + 1}` })).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401, 423]);
    const res = await t.client().request<{ code: string }>('POST', '/api/auth/login', { email: 'victim@bank.test', password: 'the-right-password' }, { 'x-forwarded-for': '192.0.2.99' });
    expect(res.body.code).toBe('ACCOUNT_LOCKED');
  });
});

async function scheduleVideo() {
  const los = t.client().withApiKey(keys.all!);
  const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: `+86139${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`, product: 'sec-video' });
  const session = await los.post<{ id: string }>(`/api/loan-files/${loanFileId}/sessions`, { partyId, kind: 'VIDEO', notBefore: new Date(Date.now() + 86_400_000).toISOString() });
  expect(session.status).toBe(201);
  return { sessionId: session.body.id };
}

// ---- LiveKit webhooks ------------------------------------------------------------------------------

describe('replayed LiveKit webhooks', () => {
  const key = () => t.sim!.apiKey;
  const secret = () => t.sim!.apiSecret;

  it('a replay, re-signed or concurrent, is stored and applied once; a replay with altered content cannot change what was stored', async () => {
    const { room, attempt } = await createAttempt(t.facesign.db, { kind: 'VIDEO' });
    const who = partyIdentity(attempt.id);
    const original = bodyOf(participantEvent('participant_joined', room, who, 1_800_000_000, 'EV_replay_1'));
    const first = await postWebhook(t.url, original, await signWebhook(original, key(), secret()));
    expect(first).toMatchObject({ status: 200, body: { duplicate: false } });
    // Twenty concurrent deliveries of the same event, each freshly signed.
    const replays = await Promise.all(Array.from({ length: 20 }, async () => postWebhook(t.url, original, await signWebhook(original, key(), secret()))));
    expect(replays.map((r) => r.body.duplicate)).toEqual(Array(20).fill(true));
    // The same id with other content (a participant_left): validly signed, but the stored event wins.
    const altered = bodyOf(participantEvent('participant_left', room, who, 1_800_000_500, 'EV_replay_1'));
    expect((await postWebhook(t.url, altered, await signWebhook(altered, key(), secret()))).body.duplicate).toBe(true);

    // storage: the intake's once-only store of LiveKit events and the participants projection, which no API shows
    const row = await eventually(async () => {
      const e = await t.facesign.db.liveKitEvent.findUnique({ where: { id: 'EV_replay_1' } });
      return e?.processedAt ? e : undefined;
    });
    expect(row.event).toBe('participant_joined');
    // storage: the replayed webhook is stored once in the inbox, and the participant row is unchanged
    expect(await t.facesign.db.liveKitEvent.count({ where: { id: 'EV_replay_1' } })).toBe(1);
    const participant = await t.facesign.db.attemptParticipant.findUniqueOrThrow({ where: { attemptId_identity: { attemptId: attempt.id, identity: who } } });
    expect(participant.leftAt).toBeNull();
    // The processor, asked again (a re-delivered job), does nothing more.
    expect(await t.facesign.livekit!.processor.process('EV_replay_1')).toBe(row.outcome);
  });

  it('a captured request replayed after its signature expired, or re-signed with another key, is refused and stores nothing', async () => {
    const { room, attempt } = await createAttempt(t.facesign.db, { kind: 'VIDEO' });
    const body = bodyOf(participantEvent('participant_left', room, partyIdentity(attempt.id), 1_800_000_000, 'EV_replay_stale'));
    for (const authorization of [expiredSignature(body, key(), secret()), await signWebhook(body, key(), 'not-the-secret'), await signWebhook(body, 'other-key', secret())]) {
      const res = await postWebhook(t.url, body, authorization);
      expect(res.status).toBe(401);
      expect(res.contentType).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe('WEBHOOK_SIGNATURE_INVALID');
    }
    // storage: "stores nothing" is about the intake's store of LiveKit events
    expect(await t.facesign.db.liveKitEvent.count({ where: { id: 'EV_replay_stale' } })).toBe(0);
  });
});

// ---- injection ----------------------------------------------------------------------------------------

describe('SQL and HTML injection strings', () => {
  const SQL = `'; DROP TABLE "LoanFile"; DROP TABLE "User"; --`;
  const HTML = '<script>alert(document.cookie)</script><img src=x onerror=alert(1)>';

  it('are stored and served back verbatim as JSON data, and every table is still there', async () => {
    const los = t.client().withApiKey(keys.all!);
    const created = await los.post<{ id: string; product: string; parties: { id: string; fullName: string }[] }>('/api/loan-files', {
      externalRef: `INJ-${randomUUID().slice(0, 8)}`,
      product: SQL,
      amount: '1000.00',
      currency: 'CNY',
      terms: LOAN_TERMS,
      parties: [{ role: 'BORROWER', fullName: HTML, phoneE164: '+8613800001234', timeZone: 'Asia/Shanghai' }],
    });
    expect(created.status).toBe(201);
    const read = await los.get<{ product: string; parties: { fullName: string }[] }>(`/api/loan-files/${created.body.id}`);
    expect(read.body.product).toBe(SQL);
    expect(read.body.parties[0]!.fullName).toBe(HTML);
    expect(read.contentType).toMatch(/^application\/json/);
    expect(read.headers.get('x-content-type-options')).toBe('nosniff');

    // Filters treat them as values, not as SQL or patterns.
    const filtered = await los.get<{ items: { id: string }[] }>(`/api/loan-files?product=${encodeURIComponent(SQL)}`);
    expect(filtered.body.items.map((i) => i.id)).toEqual([created.body.id]);
    for (const probe of ["' OR '1'='1", '%', '_%', "sec' --"]) {
      expect((await los.get<{ items: unknown[] }>(`/api/loan-files?product=${encodeURIComponent(probe)}`)).body.items).toEqual([]);
    }

    // Free text elsewhere: an API key's name, a cancellation reason.
    const named = await staff.ADMIN.post<{ id: string; name: string }>('/api/api-keys', { name: HTML, scopes: ['loan-files:read'] });
    expect(named.body.name).toBe(HTML);
    const listed = await staff.ADMIN.get<{ items: { id: string; name: string }[] }>('/api/api-keys');
    expect(listed.body.items.find((k) => k.id === named.body.id)?.name).toBe(HTML);
    const sessionId = await scheduleCall(los, created.body.id, created.body.parties[0]!.id, { notBefore: new Date(Date.now() + 86_400_000).toISOString() });
    expect((await los.post(`/api/sessions/${sessionId}/cancel`, { reason: `${SQL} ${HTML}` })).status).toBe(200);

    // Reflected in an error, the string is JSON inside problem+json, never HTML.
    const reflected = await t.client().get<string>(`/api/${encodeURIComponent(HTML)}`);
    expect(reflected.contentType).toMatch(/^application\/problem\+json/);
    expect(reflected.headers.get('x-content-type-options')).toBe('nosniff');

    // storage: the injected SQL dropped or emptied nothing
    const tables = await t.facesign.db.$queryRaw<{ name: string | null }[]>`SELECT to_regclass('"LoanFile"')::text AS name UNION ALL SELECT to_regclass('"User"')::text UNION ALL SELECT to_regclass('"AuditEvent"')::text`;
    expect(tables.map((r) => r.name)).toEqual(['"LoanFile"', '"User"', '"AuditEvent"']);
    expect(await t.facesign.db.user.count()).toBeGreaterThanOrEqual(4);
  });
});
