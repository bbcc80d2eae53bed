// A worker-only node (FACESIGN_ROLES=worker) listens for its probes alone: Kubernetes and compose
// check /healthz and /readyz on every role, while the API, the consoles and the LiveKit webhook stay
// with the api role.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/harness.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ FACESIGN_ROLES: 'worker' });
});

afterAll(async () => {
  await t?.stop();
});

describe('a worker-only node', () => {
  it('answers its liveness and readiness probes', async () => {
    const live = await fetch(`${t.url}/healthz`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${t.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { postgres: { status: 'up' }, redis: { status: 'up' } } });
  });

  it('serves neither the API, nor the consoles, nor the LiveKit webhook', async () => {
    const login = await fetch(`${t.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'a@bank.test', password: 'x' }) });
    expect(login.status).toBe(404);
    expect((await fetch(`${t.url}/`)).status).toBe(404);
    const webhook = await fetch(`${t.url}/livekit/webhook`, { method: 'POST', headers: { 'content-type': 'application/webhook+json' }, body: '{}' });
    expect(webhook.status).toBe(404);
    expect(webhook.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });
});
