// Console users are created by administrators in the API, and the first administrator of a new
// installation by `npm run users:create-admin`: both audited, both refusing an address in use.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../support/api-client.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { auditEventOf } from '../support/reads.js';

const run = promisify(execFile);
type Problem = { code: string; status: number; errors?: { field: string; message: string }[] };
type Account = { id: string; email: string; displayName: string; roles: string[]; locale: string; disabled: boolean };

/** The console users whose address matches, as an administrator lists them. */
async function usersNamed(admin: ApiClient, matches: (email: string) => boolean): Promise<Account[]> {
  const listed = await admin.get<{ items: Account[] }>('/api/users');
  expect(listed.status).toBe(200);
  return listed.body.items.filter((u) => matches(u.email));
}

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => t?.stop());

describe('POST /api/users', () => {
  it('creates a user who signs in with the initial password and the given roles; audited with the admin as actor', async () => {
    const admin = await t.signIn({ roles: ['ADMIN'] });
    const me = await admin.get<{ id: string }>('/api/auth/me');
    const res = await admin.post<Account & { passwordHash?: string }>('/api/users', {
      email: 'New.Agent@Bank.test',
      displayName: '新坐席 New Agent',
      roles: ['SUPERVISOR', 'AGENT'],
      password: 'initial-password-1',
      locale: 'en',
      languages: ['zh-CN', 'en'],
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ email: 'new.agent@bank.test', roles: ['AGENT', 'SUPERVISOR'], locale: 'en', disabled: false });
    expect(res.body.passwordHash).toBeUndefined();

    const user = t.client();
    expect((await user.login('new.agent@bank.test', 'initial-password-1')).status).toBe(200);
    expect((await user.get<{ roles: string[] }>('/api/auth/me')).body.roles).toEqual(['AGENT', 'SUPERVISOR']);

    const audit = await auditEventOf(admin, { entityType: 'user', entityId: res.body.id, action: 'user.created' });
    expect(audit).toMatchObject({ actorType: 'USER', actorId: me.body.id });
    expect(JSON.stringify(audit.data)).not.toContain('initial-password-1');

    const listed = await admin.get<{ items: Account[] }>('/api/users');
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((u) => u.email)).toContain('new.agent@bank.test');
    expect(JSON.stringify(listed.body)).not.toMatch(/passwordHash|scrypt/);
  });

  it('refuses an address in use (any case) with EMAIL_TAKEN on the email field, and keeps the first user', async () => {
    const admin = await t.signIn({ roles: ['ADMIN'] });
    const first = await admin.post<Account>('/api/users', { email: 'twice@bank.test', displayName: 'First', roles: ['AGENT'], password: 'first-password-1' });
    expect(first.status).toBe(201);
    const again = await admin.post<Problem>('/api/users', { email: 'TWICE@bank.test', displayName: 'Second', roles: ['ADMIN'], password: 'second-password-2' });
    expect(again.status).toBe(409);
    expect(again.contentType).toContain('application/problem+json');
    expect(again.body).toMatchObject({ code: 'EMAIL_TAKEN', errors: [{ field: 'email' }] });
    expect((await t.client().login('twice@bank.test', 'first-password-1')).status).toBe(200);
    expect((await usersNamed(admin, (email) => email === 'twice@bank.test')).map((u) => u.roles)).toEqual([['AGENT']]);
  });

  it('names the field of bad input: a short password, no roles, an unknown role, a bad address', async () => {
    const admin = await t.signIn({ roles: ['ADMIN'] });
    const base = { email: 'bad@bank.test', displayName: 'Bad', roles: ['AGENT'], password: 'long-enough-pw' };
    for (const [change, field] of [
      [{ password: 'short' }, 'password'],
      [{ roles: [] }, 'roles'],
      [{ roles: ['ROOT'] }, 'roles.0'],
      [{ email: 'not-an-address' }, 'email'],
    ] as const) {
      const res = await admin.post<Problem>('/api/users', { ...base, ...change });
      expect(res.status, JSON.stringify(change)).toBe(400);
      expect(res.body.errors?.map((e) => e.field)).toContain(field);
    }
    expect(await usersNamed(admin, (email) => email === 'bad@bank.test')).toEqual([]);
  });

  it('is for administrators only', async () => {
    for (const role of ['AGENT', 'SUPERVISOR', 'AUDITOR'] as const) {
      const staff = await t.signIn({ roles: [role] });
      expect((await staff.post<Problem>('/api/users', { email: `by-${role.toLowerCase()}@bank.test`, displayName: 'X', roles: ['ADMIN'], password: 'long-enough-pw' })).status).toBe(403);
      expect((await staff.get('/api/users')).status).toBe(403);
    }
    expect(await usersNamed(await t.signIn({ roles: ['ADMIN'] }), (email) => email.startsWith('by-'))).toEqual([]);
  });
});

describe('npm run users:create-admin', () => {
  const cli = async (args: string[], env: Record<string, string>) => {
    try {
      const { stdout, stderr } = await run('npx', ['tsx', 'server/users/create-admin-cli.ts', ...args], {
        env: { ...process.env, DATABASE_URL: t.appDatabaseUrl, LOG_LEVEL: 'silent', ...env },
      });
      return { code: 0, out: stdout + stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, out: e.stdout + e.stderr };
    }
  };

  it('creates the first administrator from FACESIGN_ADMIN_PASSWORD, who can sign in; a second run refuses the address', async () => {
    const created = await cli(['--email', 'Root@Bank.test', '--name', 'First Admin'], { FACESIGN_ADMIN_PASSWORD: 'first-admin-password' });
    expect(created.code, created.out).toBe(0);
    expect(created.out).toContain('created administrator root@bank.test');
    expect(created.out).not.toContain('first-admin-password');
    const admin = t.client();
    expect((await admin.login('root@bank.test', 'first-admin-password')).status).toBe(200);
    expect((await admin.get<{ roles: string[] }>('/api/auth/me')).body.roles).toEqual(['ADMIN']);
    const adminId = (await admin.get<{ id: string }>('/api/auth/me')).body.id;
    expect(await auditEventOf(admin, { entityType: 'user', entityId: adminId, action: 'user.created' })).toMatchObject({ actorType: 'SYSTEM', data: { roles: ['ADMIN'] } });

    const again = await cli(['--email', 'root@bank.test', '--name', 'Someone Else'], { FACESIGN_ADMIN_PASSWORD: 'another-password-2' });
    expect(again.code).toBe(1);
    expect(again.out).toContain('a user with the address root@bank.test exists');
    expect((await t.client().login('root@bank.test', 'first-admin-password')).status).toBe(200);
  });

  it('refuses a missing or short password and a missing address, creating nothing', async () => {
    expect((await cli(['--email', 'a@bank.test', '--name', 'A'], {})).code).toBe(2);
    expect((await cli(['--email', 'a@bank.test', '--name', 'A'], { FACESIGN_ADMIN_PASSWORD: 'short' })).code).toBe(2);
    expect((await cli(['--name', 'A'], { FACESIGN_ADMIN_PASSWORD: 'long-enough-password' })).code).toBe(2);
    expect(await usersNamed(await t.signIn({ roles: ['ADMIN'] }), (email) => email === 'a@bank.test')).toEqual([]);
  });
});
