// The operations dashboard API and /metrics over a known set of sessions created through the real
// flow (LOS API, agent offers, the LiveKit simulator's scripted numbers, the no-show job): exact
// counts, averages recomputed from the rows, local days in several time zones, range validation,
// roles, and the Prometheus exposition with its access rule and no personal data.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../support/api-client.js';
import { eventually } from '../support/fixtures.js';
import { HttpSink } from '../support/http-sink.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { loanFileOf, reviewFileOf } from '../support/reads.js';
import { ALWAYS_OPEN, answerAllRequired, loanFileWithBorrower, losClient, onlineAgent, scheduleCall, stateOf, takeOffer, type OnlineAgent } from '../support/verification.js';
import { createHttpApp } from '../../server/http/app.js';
import { OperationsMetrics } from '../../server/metrics/operations.service.js';
import { metricsRegistry, metricsRouter } from '../../server/metrics/prometheus.js';

interface Figures {
  from: string;
  to: string;
  timeZone: string;
  days: { date: string; total: number; PASSED: number; FAILED: number; EXHAUSTED: number; EXPIRED: number; CANCELLED: number }[];
  totals: { total: number; PASSED: number; FAILED: number; EXHAUSTED: number; EXPIRED: number; CANCELLED: number };
  handleTime: { conversations: number; averageSeconds: number | null };
  queueWait: { waits: number; averageSeconds: number | null };
  noShow: { appointments: number; noShows: number; rate: number | null };
  dialOutcomes: { outcome: string; count: number }[];
}
interface Problem {
  code: string;
  errors?: { field: string; message: string }[];
}

let t: TestApp;
let los: ApiClient;
let agent: OnlineAgent;
let videoAgent: OnlineAgent;
let auditor: ApiClient;
const refs: string[] = [];
/** The passed call and the attended video visit, whose attempts' times the figures are checked against. */
let passedSessionId: string;
let attendedSessionId: string;
let sms: HttpSink;

interface Sms {
  to: string;
  template: string;
  text: string;
}
const smsTo = (phone: string, template: string) => eventually(async () => sms.received.map((r) => JSON.parse(r.body) as Sms).find((m) => m.to === phone && m.template === template));

const localDay = (instant: Date, timeZone: string) => new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(instant);
const shiftDay = (day: string, by: number) => new Date(Date.parse(`${day}T00:00:00Z`) + by * 86_400_000).toISOString().slice(0, 10);

beforeAll(async () => {
  sms = await HttpSink.start();
  t = await startTestApp({ ...ALWAYS_OPEN, NOTIFIER: 'http', NOTIFIER_URL: `${sms.url}/sms`, NOTIFIER_TOKEN: 'gateway-token' }, { livekit: true });
  los = await losClient(t);
  agent = await onlineAgent(t, 'ops');
  auditor = await t.signIn({ roles: ['AUDITOR'] });

  // 1. A call answered at once, checklist done: PASSED, one conversation, dial outcome ANSWERED.
  const a = await loanFileWithBorrower(los, { phone: '+8613805550100', product: 'ops' });
  const passed = await scheduleCall(los, a.loanFileId, a.partyId);
  await takeOffer(agent, passed);
  await stateOf(t, passed, 'IN_PROGRESS');
  await answerAllRequired(agent, passed);
  expect((await agent.client.post(`/api/sessions/${passed}/complete`)).status).toBe(200);
  passedSessionId = passed;

  // 2. A busy number with a single attempt allowed: EXHAUSTED, dial outcome BUSY.
  const b = await loanFileWithBorrower(los, { phone: '+8613805550120', product: 'ops' });
  const busy = await scheduleCall(los, b.loanFileId, b.partyId, { maxAttempts: 1 });
  await takeOffer(agent, busy);
  await stateOf(t, busy, 'EXHAUSTED');

  // 3. Cancelled by the LOS before anything happened.
  const c = await loanFileWithBorrower(los, { phone: '+8613805550100', product: 'ops' });
  const cancelled = await scheduleCall(los, c.loanFileId, c.partyId);
  expect((await los.post(`/api/sessions/${cancelled}/cancel`, { reason: 'loan withdrawn' })).status).toBe(200);
  await stateOf(t, cancelled, 'CANCELLED');

  // 4. A video appointment the borrower never came to (the no-show job, as the queue would run it).
  const d = await loanFileWithBorrower(los, { phone: '+8613805550100', product: 'ops' });
  const video = await los.post<{ id: string }>(`/api/loan-files/${d.loanFileId}/sessions`, { partyId: d.partyId, kind: 'VIDEO', notBefore: new Date().toISOString(), maxAttempts: 1 });
  expect(video.status).toBe(201);
  const dispatching = await stateOf(t, video.body.id, 'DISPATCHING');
  await t.facesign.verification.jobs.noShow(video.body.id, dispatching.version);
  await stateOf(t, video.body.id, 'EXHAUSTED');

  // 5. A video appointment the borrower comes to: waits in the waiting room until the agent joins
  // (one queue wait); the conversation is still going, so it has not ended.
  // Its own product, so its own agent is the only one it can be routed to.
  videoAgent = await onlineAgent(t, 'ops-video');
  const e = await loanFileWithBorrower(los, { phone: '+8613805550177', product: 'ops-video' });
  const attended = await los.post<{ id: string }>(`/api/loan-files/${e.loanFileId}/sessions`, { partyId: e.partyId, kind: 'VIDEO', notBefore: new Date().toISOString() });
  const link = /\/join\/([A-Za-z0-9_-]{43})/.exec((await smsTo('+8613805550177', 'invitation')).text)![1]!;
  const party = t.client();
  expect((await party.post(`/api/join/${link}/otp`, { purpose: 'join' })).status).toBe(202);
  const code = /(\d{6})/.exec((await smsTo('+8613805550177', 'otp')).text)![1]!;
  const partyToken = (await party.post<{ partyToken: string }>(`/api/join/${link}/otp/verify`, { code })).body.partyToken;
  expect((await party.post(`/api/join/${link}/consent`, { recording: true, dataProcessing: true, locale: 'zh-CN' }, { 'x-party-token': partyToken })).status).toBe(204);
  const ready = await party.post<{ token: string }>(`/api/join/${link}/ready`, undefined, { 'x-party-token': partyToken });
  expect(ready.status).toBe(200);
  await t.sim!.control.join(ready.body.token);
  await takeOffer(videoAgent, attended.body.id);
  await t.sim!.control.join((await videoAgent.client.post<{ token: string }>(`/api/sessions/${attended.body.id}/join`)).body.token);
  await stateOf(t, attended.body.id, 'IN_PROGRESS');
  // The recording starts in a job of its own, and its start moves to the egress's own once LiveKit
  // reports it active: the queue wait is read after that, not while it may still move.
  await eventually(async () => (await reviewFileOf(auditor, attended.body.id)).attempts[0]?.recording?.state === 'ACTIVE');
  attendedSessionId = attended.body.id;

  for (const id of [a.loanFileId, b.loanFileId, c.loanFileId, d.loanFileId, e.loanFileId]) refs.push((await loanFileOf(los, id)).externalRef);
}, 120_000);
afterAll(async () => {
  // Going away first lets the server finish the presence change before its Redis connections close.
  await agent?.socket.emit('presence:set', { presence: 'away' });
  agent?.socket.close();
  videoAgent?.socket.close();
  await t?.stop();
  await sms?.stop();
});

describe('GET /api/dashboard/operations', () => {
  it('reports exact figures for the known sessions on their local day', async () => {
    const today = localDay(new Date(), 'Asia/Shanghai');
    const res = await auditor.get<Figures>(`/api/dashboard/operations?from=${shiftDay(today, -2)}&to=${today}&timeZone=Asia/Shanghai`);
    expect(res.status).toBe(200);
    const f = res.body;
    expect(f.days.map((d) => d.date)).toEqual([shiftDay(today, -2), shiftDay(today, -1), today]);
    expect(f.days[0]).toMatchObject({ total: 0, PASSED: 0, EXHAUSTED: 0 });
    expect(f.days[2]).toEqual({ date: today, total: 4, PASSED: 1, FAILED: 0, EXHAUSTED: 2, EXPIRED: 0, CANCELLED: 1 });
    expect(f.totals).toEqual({ total: 4, PASSED: 1, FAILED: 0, EXHAUSTED: 2, EXPIRED: 0, CANCELLED: 1 });

    const [attempt, ...more] = (await reviewFileOf(auditor, passedSessionId)).attempts;
    expect(more).toEqual([]);
    const talk = (Date.parse(attempt!.endedAt!) - Date.parse(attempt!.recordingStartedAt!)) / 1000;
    expect(f.handleTime).toEqual({ conversations: 1, averageSeconds: Math.round(talk * 10) / 10 });
    const [visit, ...others] = (await reviewFileOf(auditor, attendedSessionId)).attempts;
    expect(others).toEqual([]);
    const wait = (Date.parse(visit!.recordingStartedAt!) - Date.parse(visit!.startedAt)) / 1000;
    expect(wait).toBeGreaterThan(0);
    expect(f.queueWait).toEqual({ waits: 1, averageSeconds: Math.round(wait * 10) / 10 });
    expect(f.noShow).toEqual({ appointments: 2, noShows: 1, rate: 0.5 });
    const dials = Object.fromEntries(f.dialOutcomes.map((d) => [d.outcome, d.count]));
    expect(dials).toEqual({ ANSWERED: 1, BUSY: 1, NO_ANSWER: 0, DECLINED: 0, INVALID_NUMBER: 0, CARRIER_FAILURE: 0, TRUNK_UNAVAILABLE: 0, RATE_LIMITED: 0 });
  });

  it('puts the same sessions on the local date of each time zone, and nothing outside the range', async () => {
    const now = new Date();
    for (const timeZone of ['Pacific/Kiritimati', 'Pacific/Pago_Pago', 'UTC']) {
      const today = localDay(now, timeZone);
      const res = await auditor.get<Figures>(`/api/dashboard/operations?from=${shiftDay(today, -1)}&to=${shiftDay(today, 1)}&timeZone=${encodeURIComponent(timeZone)}`);
      expect(res.status).toBe(200);
      expect(res.body.days.find((d) => d.total > 0)?.date).toBe(today);
      expect(res.body.totals.total).toBe(4);
    }
    const yesterday = shiftDay(localDay(now, 'UTC'), -1);
    const before = await auditor.get<Figures>(`/api/dashboard/operations?from=${shiftDay(yesterday, -30)}&to=${yesterday}`);
    expect(before.body.timeZone).toBe('UTC');
    expect(before.body.days).toHaveLength(31);
    expect(before.body.totals.total).toBe(0);
    expect(before.body.handleTime).toEqual({ conversations: 0, averageSeconds: null });
    expect(before.body.noShow.rate).toBeNull();
  });

  it.each([
    ['from=2026-05-10&to=2026-05-09', 'to', /before from/],
    ['from=2025-01-01&to=2026-01-02', 'to', /at most 366 days/],
    ['from=2026-02-30&to=2026-03-01', 'from', /YYYY-MM-DD/],
    ['to=2026-03-01', 'from', /./],
    ['from=2026-03-01&to=2026-03-02&timeZone=Mars/Olympus', 'timeZone', /IANA time zone/],
  ])('refuses %s', async (query, field, message) => {
    const res = await auditor.get<Problem>(`/api/dashboard/operations?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.errors?.find((e) => e.field === field)?.message).toMatch(message);
  });

  it('is for supervisors, auditors and admins only', async () => {
    const q = '/api/dashboard/operations?from=2026-01-01&to=2026-01-02';
    expect((await t.client().get<Problem>(q)).status).toBe(401);
    expect((await agent.client.get<Problem>(q)).status).toBe(403);
    expect((await los.get<Problem>(q)).status).toBe(403);
    expect((await (await t.signIn({ roles: ['SUPERVISOR'] })).get(q)).status).toBe(200);
    expect((await (await t.signIn({ roles: ['ADMIN'] })).get(q)).status).toBe(200);
  });
});

describe('GET /metrics', () => {
  it('exports the same figures without personal data to a loopback scraper', async () => {
    const res = await fetch(`${t.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const body = await res.text();
    expect(body).toMatch(/^facesign_sessions_ended\{outcome="PASSED"\} 1$/m);
    expect(body).toMatch(/^facesign_sessions_ended\{outcome="EXHAUSTED"\} 2$/m);
    expect(body).toMatch(/^facesign_sessions_ended\{outcome="CANCELLED"\} 1$/m);
    expect(body).toMatch(/^facesign_dial_attempts\{outcome="BUSY"\} 1$/m);
    expect(body).toMatch(/^facesign_dial_attempts\{outcome="ANSWERED"\} 1$/m);
    expect(body).toMatch(/^facesign_no_show_ratio 0.5$/m);
    expect(body).toMatch(/^facesign_queue_wait_seconds_avg \d/m);
    expect(body).toMatch(/^facesign_sessions\{state="EXHAUSTED"\} 2$/m);
    expect(body).toMatch(/^facesign_handle_time_seconds_avg \d/m);
    expect(body).toMatch(/^facesign_process_cpu_seconds_total /m);
    for (const ref of refs) expect(body).not.toContain(ref);
    expect(body).not.toContain('13805550');
    expect(body).not.toContain('赵');
    expect(body).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-/);
  });

  it('asks for the bearer token when METRICS_TOKEN is set, and refuses remote scrapers without one', async () => {
    const operations = new OperationsMetrics(t.facesign.db);
    const serve = async (token: string | undefined, host: string) => {
      const app = createHttpApp({ log: t.facesign.log, routes: [], authenticator: { authenticate: async () => null, checkCsrf: () => false }, publicUrl: t.url, trustProxy: 'loopback', rawRouters: [{ path: '/metrics', router: metricsRouter(metricsRegistry(t.facesign.db, operations), token) }] });
      const server = createServer(app);
      await new Promise<void>((resolve) => server.listen(0, host, resolve));
      return { port: (server.address() as AddressInfo).port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
    };
    const withToken = await serve('scrape-token-0123456789', '127.0.0.1');
    const url = `http://127.0.0.1:${withToken.port}/metrics`;
    const none = await fetch(url);
    expect(none.status).toBe(401);
    expect(((await none.json()) as Problem).code).toBe('UNAUTHENTICATED');
    expect((await fetch(url, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(403);
    const ok = await fetch(url, { headers: { authorization: 'Bearer scrape-token-0123456789' } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/^facesign_sessions_ended\{outcome="PASSED"\} 1$/m);
    await withToken.close();

    // Loopback-only when no token is set: reach the server through this machine's own non-loopback address.
    const external = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal);
    expect(external, 'this test needs a non-loopback IPv4 address').toBeDefined();
    const open = await serve(undefined, '0.0.0.0');
    const remote = await fetch(`http://${external!.address}:${open.port}/metrics`, { headers: { 'x-forwarded-for': '127.0.0.1' } });
    expect(remote.status).toBe(403);
    expect(((await remote.json()) as Problem).code).toBe('FORBIDDEN');
    expect((await fetch(`http://127.0.0.1:${open.port}/metrics`)).status).toBe(200);
    await open.close();
  });
});
