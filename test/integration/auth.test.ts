import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/harness.js';
import { createUser } from '../../server/users/users.service.js';
import { auditLogOf } from '../support/reads.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ LOGIN_MAX_FAILURES: '3', LOGIN_RATE_PER_MINUTE: '1000' });
});
afterAll(async () => t?.stop());

describe('login', () => {
  it('sets an HttpOnly SameSite session cookie and a CSRF token', async () => {
    await createUser(t.facesign.db, { email: 'Agent.One@bank.test', displayName: 'Agent One', password: 'pw-agent-1', roles: ['AGENT'] });
    const client = t.client();
    const res = await client.login('agent.one@bank.test', 'pw-agent-1');
    expect(res.status).toBe(200);
    expect(res.body.csrfToken).toMatch(/^[A-Za-z0-9_-]{40,}$/);
    const cookies = res.headers.getSetCookie();
    expect(cookies.find((c) => c.startsWith('fs_session='))).toMatch(/HttpOnly; Path=\/; SameSite=Strict/);
    const me = await client.get<{ email: string; roles: string[] }>('/api/auth/me');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ email: 'agent.one@bank.test', roles: ['AGENT'] });
  });

  it('answers 401 problem+json for a wrong password and an unknown e-mail alike', async () => {
    const wrong = await t.client().login('agent.one@bank.test', 'nope');
    const unknown = await t.client().login('nobody@bank.test', 'nope');
    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(401);
      expect(res.contentType).toContain('application/problem+json');
      expect(res.body).toMatchObject({ code: 'INVALID_CREDENTIALS', status: 401 });
    }
  });

  it('holds the account back after N consecutive failures, even for the right password, until an admin lifts it; audited', async () => {
    const user = await createUser(t.facesign.db, { email: 'locky@bank.test', displayName: 'L', password: 'right-password', roles: ['AGENT'] });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) statuses.push((await t.client().login('locky@bank.test', `wrong-${i}`)).status);
    expect(statuses).toEqual([401, 401, 401]);
    const locked = await t.client().login('locky@bank.test', 'right-password');
    expect(locked.status).toBe(423);
    expect(locked.body).toMatchObject({ code: 'ACCOUNT_LOCKED' });
    // The first wait of the backoff (LOGIN_BACKOFF_SECONDS), not a long lock.
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(locked.headers.get('retry-after'))).toBeLessThanOrEqual(30);

    // An admin lifting the hold lets the right password in again.
    const admin = await t.signIn({ roles: ['ADMIN'] });
    expect((await admin.post(`/api/users/${user.id}/unlock`)).status).toBe(204);
    expect((await t.client().login('locky@bank.test', 'right-password')).status).toBe(200);

    const events = await auditLogOf(admin, { entityType: 'user', entityId: user.id });
    expect(events.map((e) => e.action)).toEqual([
      'user.created',
      'auth.login_failed',
      'auth.login_failed',
      'auth.login_failed',
      'user.unlocked',
      'auth.login_succeeded',
    ]);
    expect(events[3]!.data).toEqual({ failedCount: 3, locked: true });
  });

  it('logout revokes the session server-side', async () => {
    const client = await t.signIn({ roles: ['SUPERVISOR'] });
    const stolen = client.withSameCookies();
    expect((await client.post('/api/auth/logout')).status).toBe(204);
    const after = await stolen.get('/api/auth/me');
    expect(after.status).toBe(401);
    expect(after.body).toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('lists own sessions and revokes one of them; other users cannot touch it', async () => {
    await createUser(t.facesign.db, { email: 'two@bank.test', displayName: 'Two', password: 'pw-two-two', roles: ['AUDITOR'] });
    const laptop = t.client();
    const phone = t.client();
    await laptop.login('two@bank.test', 'pw-two-two');
    await phone.login('two@bank.test', 'pw-two-two');
    const list = await laptop.get<{ items: { id: string; current: boolean }[] }>('/api/auth/sessions');
    expect(list.body.items).toHaveLength(2);
    const phoneSession = list.body.items.find((s) => !s.current)!;

    const stranger = await t.signIn({ roles: ['AGENT'] });
    expect((await stranger.delete(`/api/auth/sessions/${phoneSession.id}`)).status).toBe(404);
    expect((await phone.get('/api/auth/me')).status).toBe(200);

    expect((await laptop.delete(`/api/auth/sessions/${phoneSession.id}`)).status).toBe(204);
    expect((await phone.get('/api/auth/me')).status).toBe(401);
    expect((await laptop.get('/api/auth/me')).status).toBe(200);
  });

  it('rate-limits logins per address', async () => {
    const limited = await startTestApp({ LOGIN_RATE_PER_MINUTE: '3' });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i += 1) statuses.push((await limited.client().login('x@bank.test', 'y')).status);
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
    } finally {
      await limited.stop();
    }
  });

  it('requires JSON for login (a cross-site form cannot post one)', async () => {
    const res = await t.client().request('POST', '/api/auth/login', undefined, { 'content-type': 'application/x-www-form-urlencoded' }, { raw: 'email=a&password=b' });
    expect(res.status).toBe(415);
    expect(res.body).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
  });
});

describe('roles and CSRF', () => {
  it('401 without credentials, 403 problem+json for a role without access', async () => {
    const anonymous = await t.client().get('/api/loan-files');
    expect(anonymous.status).toBe(401);
    const agent = await t.signIn({ roles: ['AGENT'] });
    const res = await agent.get('/api/loan-files');
    expect(res.status).toBe(403);
    expect(res.contentType).toContain('application/problem+json');
    expect(res.body).toMatchObject({ code: 'FORBIDDEN', status: 403 });
    expect((await agent.post('/api/api-keys', { name: 'x', scopes: ['loan-files:read'] })).status).toBe(403);
  });

  it('rejects cookie-authenticated changes without the right CSRF token', async () => {
    const admin = await t.signIn({ roles: ['ADMIN'] });
    const body = { name: 'los', scopes: ['loan-files:read'] };
    const missing = await admin.request('POST', '/api/api-keys', body, {}, { csrf: false });
    expect(missing.status).toBe(403);
    expect(missing.body).toMatchObject({ code: 'CSRF_TOKEN_INVALID' });
    const wrong = await admin.post('/api/api-keys', body, { 'x-csrf-token': 'forged-token' });
    expect(wrong.status).toBe(403);
    expect((await admin.get<{ items: { name: string }[] }>('/api/api-keys')).body.items.filter((k) => k.name === 'los')).toEqual([]);
    const right = await admin.post('/api/api-keys', body);
    expect(right.status).toBe(201);
  });
});

describe('API keys', () => {
  it('are created once-visible, used with Bearer, scoped, tracked and revocable', async () => {
    const admin = await t.signIn({ roles: ['ADMIN'] });
    const created = await admin.post<{ id: string; key: string; prefix: string }>('/api/api-keys', { name: 'LOS prod', scopes: ['loan-files:read', 'loan-files:write'] });
    expect(created.status).toBe(201);
    expect(created.body.key).toMatch(/^fsk_[a-z0-9]{16}_[A-Za-z0-9_-]{43}$/);
    // storage: only a hash of the secret is kept
    const stored = await t.facesign.db.apiKey.findUniqueOrThrow({ where: { id: created.body.id } });
    const secret = created.body.key.slice('fsk_'.length + 16 + 1);
    expect(stored.secretHash).toBe(createHash('sha256').update(secret).digest('hex'));
    expect(JSON.stringify(stored)).not.toContain(secret);
    const listed = async () => (await admin.get<{ items: { id: string; lastUsedAt: string | null }[] }>('/api/api-keys')).body.items.find((k) => k.id === created.body.id)!;
    expect((await listed()).lastUsedAt).toBeNull();

    const los = t.client().withApiKey(created.body.key);
    const list = await los.get('/api/loan-files');
    expect(list.status).toBe(200);
    expect((await listed()).lastUsedAt).not.toBeNull();
    // API keys need no CSRF token: they are not ambient credentials.
    expect((await los.post('/api/loan-files', { externalRef: 'K-1', product: 'p', amount: '1.00', currency: 'CNY' })).status).toBe(201);
    // A key never reaches user-only endpoints.
    expect((await los.get('/api/api-keys')).status).toBe(403);

    const keys = await admin.get<{ items: { id: string; key?: string }[] }>('/api/api-keys');
    expect(keys.body.items.some((k) => k.id === created.body.id && k.key === undefined)).toBe(true);

    expect((await admin.delete(`/api/api-keys/${created.body.id}`)).status).toBe(204);
    const revoked = await los.get('/api/loan-files');
    expect(revoked.status).toBe(401);
    expect(revoked.body).toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('enforces scopes and rejects malformed or unknown keys', async () => {
    const admin = await t.signIn({ roles: ['ADMIN'] });
    const readOnly = await admin.post<{ key: string }>('/api/api-keys', { name: 'ro', scopes: ['loan-files:read'] });
    const los = t.client().withApiKey(readOnly.body.key);
    expect((await los.get('/api/loan-files')).status).toBe(200);
    expect((await los.post('/api/loan-files', { externalRef: 'K-2', product: 'p', amount: '1.00', currency: 'CNY' })).status).toBe(403);
    expect((await t.client().withApiKey('fsk_0000000000000000_' + 'a'.repeat(43)).get('/api/loan-files')).status).toBe(401);
    expect((await t.client().withApiKey('garbage').get('/api/loan-files')).status).toBe(401);
    const tampered = readOnly.body.key.slice(0, -1) + (readOnly.body.key.endsWith('A') ? 'B' : 'A');
    expect((await t.client().withApiKey(tampered).get('/api/loan-files')).status).toBe(401);
  });

  it('validates the creation request field by field', async () => {
    const admin = await t.signIn({ roles: ['ADMIN'] });
    const res = await admin.post<{ errors: { field: string }[] }>('/api/api-keys', { name: '', scopes: ['root'], expiresAt: '2001-01-01T00:00:00Z' });
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e) => e.field).sort()).toEqual(['expiresAt', 'name', 'scopes.0']);
  });
});
