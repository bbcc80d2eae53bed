// Each facesign node keeps the login sessions its HTTP requests resolve (login-session-cache.ts). These
// tests run two or three nodes on one database and one Redis: a revocation made through one node —
// logout, an administrator revoking a session, disabling a user, changing their roles — refuses the
// very next request on another node, whose cache had that session. The bounds hold too: a change made
// behind facesign's back (no announcement) lasts at most the cache's lifetime, at most
// LOGIN_SESSION_CACHE_SIZE sessions are held, and a node that lost its subscription reads the database.
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFacesign, type Facesign } from '../../server/main.js';
import { ACK_TIMEOUT_MS } from '../../server/auth/login-session-cache.js';
import type { ApiClient } from '../support/api-client.js';
import { eventually } from '../support/fixtures.js';
import { startSecondNode, startTestApp, type TestApp } from '../support/harness.js';

let t: TestApp;
let admin: ApiClient;
let nodeB: Facesign;
let urlB: string;

beforeAll(async () => {
  t = await startTestApp();
  admin = await t.signIn({ roles: ['ADMIN'] });
  ({ node: nodeB, url: urlB } = await startSecondNode(t));
}, 120_000);
afterAll(async () => {
  await nodeB?.stop();
  await t?.stop();
});

/** A node on the test app's database and Redis with its own cache settings. */
async function nodeWithCache(sessionCache: { maxEntries: number; ttlMs: number }): Promise<{ node: Facesign; url: string }> {
  const quiet = new Writable({ write: (_chunk, _enc, done) => done() });
  const config = t.facesign.config;
  const node = await createFacesign({ ...config, http: { ...config.http, port: 0 }, auth: { ...config.auth, sessionCache } }, { logDestination: quiet });
  return { node, url: await node.listen() };
}

/** `client`'s cookie (and CSRF token) sent to another node. */
const on = async (url: string, client: ApiClient, path: string) => {
  const res = await fetch(url + path, { headers: { cookie: client.cookieHeader() } });
  const body = (await res.json()) as { code?: string; id?: string };
  return { status: res.status, code: body.code };
};
const idOf = async (client: ApiClient) => (await client.get<{ id: string }>('/api/auth/me')).body.id;
/** Revokes every session of the user in the database only: nothing is announced. */
const revokeBehindTheBack = (userId: string) => t.facesign.db.$executeRaw`UPDATE "LoginSession" SET "revokedAt" = now() WHERE "userId" = ${userId}::uuid`;

describe('a revocation on one node refuses the next request on another', () => {
  it('logout', async () => {
    const agent = await t.signIn({ roles: ['AGENT'] });
    expect(await on(urlB, agent, '/api/auth/me')).toMatchObject({ status: 200 });
    expect(await on(urlB, agent, '/api/auth/me')).toMatchObject({ status: 200 }); // from node B's cache

    expect((await agent.withSameCookies().request('POST', '/api/auth/logout', undefined, { 'x-csrf-token': agent.csrfToken! })).status).toBe(204);
    expect(await on(urlB, agent, '/api/auth/me')).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
    expect(await on(t.url, agent, '/api/auth/me')).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
  });

  it('an administrator revoking one session', async () => {
    const agent = await t.signIn({ roles: ['AGENT'] });
    const sessions = await agent.get<{ items: { id: string; current: boolean }[] }>('/api/auth/sessions');
    const current = sessions.body.items.find((s) => s.current)!;
    expect(await on(urlB, agent, '/api/auth/me')).toMatchObject({ status: 200 });

    expect((await admin.delete(`/api/auth/sessions/${current.id}`)).status).toBe(204);
    expect(await on(urlB, agent, '/api/auth/me')).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
  });

  it('disabling the user', async () => {
    const agent = await t.signIn({ roles: ['AGENT'] });
    const userId = await idOf(agent);
    expect(await on(urlB, agent, '/api/auth/me')).toMatchObject({ status: 200 });

    expect((await admin.patch(`/api/users/${userId}`, { disabled: true })).status).toBe(200);
    expect(await on(urlB, agent, '/api/auth/me')).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
  });

  it('a role change: the next request is judged on the new roles', async () => {
    const staffer = await t.signIn({ roles: ['ADMIN', 'AUDITOR'] });
    const userId = await idOf(staffer);
    expect(await on(urlB, staffer, '/api/users')).toMatchObject({ status: 200 });

    expect((await admin.patch(`/api/users/${userId}`, { roles: ['AUDITOR'] })).status).toBe(200);
    expect(await on(urlB, staffer, '/api/users')).toEqual({ status: 403, code: 'FORBIDDEN' });
    expect(await on(urlB, staffer, '/api/auth/me')).toMatchObject({ status: 200 });
  });
});

describe('the bounds of the cache', () => {
  it('a change nobody announced lasts at most the cache lifetime', async () => {
    const ttlMs = 4000;
    const { node, url } = await nodeWithCache({ maxEntries: 100, ttlMs });
    try {
      const agent = await t.signIn({ roles: ['AGENT'] });
      const userId = await idOf(agent);
      const read = Date.now();
      expect(await on(url, agent, '/api/auth/me')).toMatchObject({ status: 200 });
      await revokeBehindTheBack(userId);
      expect(await on(url, agent, '/api/auth/me')).toMatchObject({ status: 200 }); // still held by this node
      const refused = await eventually(async () => (await on(url, agent, '/api/auth/me')).status === 401 && Date.now(), 100);
      expect(refused - read).toBeGreaterThanOrEqual(ttlMs - 50);
    } finally {
      await node.stop();
    }
  });

  it(`holds at most LOGIN_SESSION_CACHE_SIZE sessions, dropping the oldest`, async () => {
    const { node, url } = await nodeWithCache({ maxEntries: 2, ttlMs: 300_000 });
    try {
      const [first, second, third] = [await t.signIn({ roles: ['AGENT'] }), await t.signIn({ roles: ['AGENT'] }), await t.signIn({ roles: ['AGENT'] })];
      for (const client of [first!, second!, third!]) expect(await on(url, client, '/api/auth/me')).toMatchObject({ status: 200 });
      for (const client of [first!, second!, third!]) await revokeBehindTheBack(await idOf(client));
      // The first was dropped when the third came in, so its revocation is read from the database; the third is still held.
      expect(await on(url, first!, '/api/auth/me')).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
      expect(await on(url, third!, '/api/auth/me')).toMatchObject({ status: 200 });
    } finally {
      await node.stop();
    }
  });

  it('a revocation is answered once every subscribed node acknowledged it, and at most ACK_TIMEOUT_MS later if one never does', async () => {
    const channel = `${t.facesign.config.redis.prefix}:auth:login-revocations`;
    const slow = new Redis(t.facesign.config.redis.url);
    const mute = new Redis(t.facesign.config.redis.url);
    const publisher = new Redis(t.facesign.config.redis.url);
    try {
      // A node that takes 400 ms to drop what it holds, then acknowledges as facesign's nodes do.
      let ackedAt = 0;
      await slow.subscribe(channel);
      slow.on('message', (_channel: string, message: string) => {
        const { ack } = JSON.parse(message) as { ack: string };
        setTimeout(() => {
          ackedAt = Date.now();
          void publisher.publish(`${channel}:acks`, ack);
        }, 400);
      });
      const unanswered = () => t.logs.filter((line) => line.includes('did not acknowledge a revocation'));
      const agent = await t.signIn({ roles: ['AGENT'] });
      const current = (await agent.get<{ items: { id: string; current: boolean }[] }>('/api/auth/sessions')).body.items.find((s) => s.current)!;
      expect((await admin.delete(`/api/auth/sessions/${current.id}`)).status).toBe(204);
      // Answered only after the slow node's acknowledgement, and because of it (not at the timeout).
      expect(ackedAt).toBeGreaterThan(0);
      expect(unanswered()).toEqual([]);

      // A node that is subscribed and never answers holds a revocation up for ACK_TIMEOUT_MS, and is logged.
      await mute.subscribe(channel);
      const other = await t.signIn({ roles: ['AGENT'] });
      const started = Date.now();
      expect((await other.withSameCookies().request('POST', '/api/auth/logout', undefined, { 'x-csrf-token': other.csrfToken! })).status).toBe(204);
      expect(Date.now() - started).toBeGreaterThanOrEqual(ACK_TIMEOUT_MS - 50);
      expect(unanswered()).toHaveLength(1);
      expect(unanswered()[0]).toContain('1 of ');
      expect(await on(urlB, other, '/api/auth/me')).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
    } finally {
      slow.disconnect();
      mute.disconnect();
      publisher.disconnect();
    }
  });

  it('a node that lost its revocation channel drops what it held and reads the database', async () => {
    const { node, url } = await nodeWithCache({ maxEntries: 100, ttlMs: 300_000 });
    const redis = new Redis(t.facesign.config.redis.url);
    try {
      const agent = await t.signIn({ roles: ['AGENT'] });
      expect(await on(url, agent, '/api/auth/me')).toMatchObject({ status: 200 });
      await revokeBehindTheBack(await idOf(agent));
      expect(await on(url, agent, '/api/auth/me')).toMatchObject({ status: 200 }); // held, nothing announced

      // The channel's connections of this test's nodes are cut (as a Redis failover would): a revocation
      // published meanwhile would be lost, so what was held cannot be trusted.
      const name = `${t.facesign.config.redis.prefix}:auth:login-revocations`;
      const clients = ((await redis.client('LIST')) as string).split('\n').filter((line) => line.includes(` name=${name} `));
      expect(clients.length).toBeGreaterThanOrEqual(1);
      for (const line of clients) await redis.client('KILL', 'ID', /id=(\d+)/.exec(line)![1]!);
      expect(await on(url, agent, '/api/auth/me')).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
    } finally {
      redis.disconnect();
      await node.stop();
    }
  });

  it('LOGIN_SESSION_CACHE_SECONDS=0 turns it off: every request reads the database', async () => {
    const { node, url } = await nodeWithCache({ maxEntries: 100, ttlMs: 0 });
    try {
      const agent = await t.signIn({ roles: ['AGENT'] });
      expect(await on(url, agent, '/api/auth/me')).toMatchObject({ status: 200 });
      await revokeBehindTheBack(await idOf(agent));
      expect(await on(url, agent, '/api/auth/me')).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
    } finally {
      await node.stop();
    }
  });
});
