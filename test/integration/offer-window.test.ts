// An agent gets (nearly) the whole offer window: the time left when `offer:new` reaches the agent's
// socket, on loopback, for each way an offer is made — a call falling due, a video party entering the
// waiting room, an agent coming free, an offer passed on after a decline — and a routing round that
// had to wait for another node's round before it could make the offer.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../support/api-client.js';
import { eventually } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { pendingOffersOf, sessionOf } from '../support/reads.js';
import { HttpSink } from '../support/http-sink.js';
import { connectAgent, type AgentSocket } from '../support/agent-socket.js';
import { ALWAYS_OPEN, loanFileWithBorrower, losClient, scheduleCall } from '../support/verification.js';

const WINDOW_MS = 20_000;
/** What may be lost between the offer being made and the agent's socket receiving it, on loopback. */
const AT_LEAST_MS = 17_000;

let t: TestApp;
let los: ApiClient;
let sms: HttpSink;

beforeAll(async () => {
  sms = await HttpSink.start();
  t = await startTestApp({ ...ALWAYS_OPEN, OFFER_TIMEOUT_SECONDS: String(WINDOW_MS / 1000), NOTIFIER: 'http', NOTIFIER_URL: `${sms.url}/sms` }, { livekit: true });
  los = await losClient(t);
});
afterAll(async () => {
  await t?.stop();
  await sms?.stop();
});

interface Arrival {
  offerId: string;
  sessionId: string;
  expiresAt: string;
  receivedAt: number;
}

/** An agent online whose socket notes when each offer arrived (listening before going available). */
async function timedAgent(skill: string): Promise<{ client: ApiClient; socket: AgentSocket; arrivals: Arrival[]; userId: string }> {
  const client = await t.signIn({ roles: ['AGENT'], languages: ['zh-CN'], skills: [skill] });
  const socket = await connectAgent(t.url, client);
  const arrivals: Arrival[] = [];
  socket.socket.on('offer:new', (p: { offerId: string; sessionId: string; expiresAt: string }) => arrivals.push({ ...p, receivedAt: Date.now() }));
  expect(await socket.emit('presence:set', { presence: 'available' })).toEqual({ ok: true });
  const me = await client.get<{ id: string }>('/api/auth/me');
  return { client, socket, arrivals, userId: me.body.id };
}

/** The agent closes the desk; their pending offers are withdrawn before the next test. */
async function leave(agent: { client: ApiClient; socket: AgentSocket }): Promise<void> {
  agent.socket.close();
  await eventually(async () => (await agent.client.get<{ items: unknown[] }>('/api/agent/offers')).body.items.length === 0);
}

async function arrivalOf(agent: { arrivals: Arrival[] }, sessionId: string): Promise<Arrival> {
  return eventually(async () => agent.arrivals.find((a) => a.sessionId === sessionId));
}

/** Time left at receipt, and the window the offer row itself states. */
async function measured(arrival: Arrival) {
  // storage: the row's own timestamps, read whatever became of the offer since
  const row = await t.facesign.db.sessionOffer.findUniqueOrThrow({ where: { id: arrival.offerId } });
  return { left: Date.parse(arrival.expiresAt) - arrival.receivedAt, window: row.expiresAt.getTime() - row.offeredAt.getTime(), expiresAt: row.expiresAt.toISOString() };
}

async function expectFullWindow(arrival: Arrival): Promise<void> {
  const m = await measured(arrival);
  expect(m.expiresAt).toBe(arrival.expiresAt);
  expect(m.left).toBeGreaterThanOrEqual(AT_LEAST_MS);
  expect(m.left).toBeLessThanOrEqual(WINDOW_MS + 50);
  expect(m.window).toBeGreaterThanOrEqual(AT_LEAST_MS);
}

describe('the time an agent has to accept an offer', () => {
  it('is nearly the whole window for a call that falls due', async () => {
    const agent = await timedAgent('window-call');
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613900000801', product: 'window-call' });
    const sessionId = await scheduleCall(los, loanFileId, partyId);
    const arrival = await arrivalOf(agent, sessionId);
    await expectFullWindow(arrival);
    // The desk counts down from what the server says is left, not against its own clock.
    const listed = await agent.client.get<{ items: { id: string; expiresInMs: number }[] }>('/api/agent/offers');
    const offer = listed.body.items.find((o) => o.id === arrival.offerId)!;
    expect(offer.expiresInMs).toBeGreaterThan(AT_LEAST_MS - 1_000);
    expect(offer.expiresInMs).toBeLessThanOrEqual(Date.parse(arrival.expiresAt) - arrival.receivedAt);
    await leave(agent);
  });

  it('is nearly the whole window when an agent comes free for a waiting call', async () => {
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613900000802', product: 'window-free' });
    const sessionId = await scheduleCall(los, loanFileId, partyId);
    await t.facesign.verification.jobs.due(sessionId);
    const agent = await timedAgent('window-free');
    await expectFullWindow(await arrivalOf(agent, sessionId));
    await leave(agent);
  });

  it('is nearly the whole window for a video party entering the waiting room', async () => {
    const phone = '+8613900000803';
    const agent = await timedAgent('window-video');
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone, product: 'window-video' });
    const booked = await los.post<{ id: string }>(`/api/loan-files/${loanFileId}/sessions`, { partyId, kind: 'VIDEO', notBefore: new Date().toISOString() });
    expect(booked.status).toBe(201);
    const texts = () => sms.received.map((r) => JSON.parse(r.body) as { to: string; template: string; text: string }).filter((m) => m.to === phone);
    const invitation = await eventually(async () => texts().find((m) => m.template === 'invitation'));
    const link = /\/join\/([A-Za-z0-9_-]{43})/.exec(invitation.text)![1]!;
    const party = t.client();
    expect((await party.post(`/api/join/${link}/otp`, { purpose: 'join' })).status).toBe(202);
    const login = await eventually(async () => texts().find((m) => m.template === 'otp'));
    const verified = await party.post<{ partyToken: string }>(`/api/join/${link}/otp/verify`, { code: /(\d{6})/.exec(login.text)![1] });
    const headers = { 'x-party-token': verified.body.partyToken };
    expect((await party.post(`/api/join/${link}/consent`, { recording: true, dataProcessing: true, locale: 'zh-CN' }, headers)).status).toBe(204);
    expect((await party.post(`/api/join/${link}/ready`, undefined, headers)).status).toBe(200);
    await expectFullWindow(await arrivalOf(agent, booked.body.id));
    await leave(agent);
  });

  it('does not lose the time a routing round spent waiting for another node\'s round', async () => {
    const agent = await timedAgent('window-wait');
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613900000805', product: 'window-wait' });
    // Another node's routing round (or a supervisor's reassignment) holds the routing lock for 4 s.
    const other = new pg.Client({ connectionString: t.databaseUrl });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT pg_advisory_xact_lock(7241002)');
      const sessionId = await scheduleCall(los, loanFileId, partyId);
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      expect(agent.arrivals.find((a) => a.sessionId === sessionId)).toBeUndefined();
      await other.query('COMMIT');
      await expectFullWindow(await arrivalOf(agent, sessionId));
    } finally {
      await other.end();
    }
    await leave(agent);
  });

  it('is the whole window again for the next agent after a decline', async () => {
    const first = await timedAgent('window-decline');
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613900000804', product: 'window-decline' });
    const sessionId = await scheduleCall(los, loanFileId, partyId);
    const offered = await arrivalOf(first, sessionId);
    const second = await timedAgent('window-decline');
    expect((await first.client.post(`/api/offers/${offered.offerId}/decline`)).status).toBe(204);
    await expectFullWindow(await arrivalOf(second, sessionId));
    await leave(first);
    await leave(second);
  });
});

describe('a routing round that races a cancellation', () => {
  it('leaves no pending offer for a session cancelled while the round ran, so the agent is not held for the window', async () => {
    const agent = await timedAgent('race-cancel');
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613900000806', product: 'race-cancel' });
    // Due in an hour, so only the round below routes it.
    const sessionId = await scheduleCall(los, loanFileId, partyId, { notBefore: new Date(Date.now() + 3_600_000).toISOString() });
    const other = new pg.Client({ connectionString: t.databaseUrl });
    await other.connect();
    const waitingOnLocks = async () => (await other.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`)).rows[0]!.n;
    // The round reads the session and the free agent, then waits to write its offers until this
    // transaction ends; the session is cancelled meanwhile.
    await other.query(`CREATE FUNCTION hold_offers() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_advisory_xact_lock_shared(7241999); RETURN NULL; END $$`);
    await other.query('CREATE TRIGGER hold_offers BEFORE INSERT ON "SessionOffer" FOR EACH STATEMENT EXECUTE FUNCTION hold_offers()');
    try {
      await other.query('BEGIN');
      await other.query('SELECT pg_advisory_xact_lock(7241999)');
      const round = t.facesign.verification.dispatcher.fill(new Date(Date.now() + 7_200_000));
      await eventually(async () => (await waitingOnLocks()) > 0);
      const cancelling = t.facesign.verification.scheduling.cancel(sessionId, 'loan withdrawn', { actor: { type: 'SYSTEM' }, requestId: 'race', scope: 'test' });
      // The cancellation either commits or waits for the round.
      const state = async () => (await other.query<{ state: string }>('SELECT "state" FROM "VerificationSession" WHERE "id" = $1', [sessionId])).rows[0]!.state;
      await eventually(async () => (await state()) === 'CANCELLED' || (await waitingOnLocks()) > 1);
      await other.query('COMMIT');
      await Promise.all([round, cancelling]);
    } finally {
      await other.query('ROLLBACK').catch(() => undefined);
      await other.query('DROP TRIGGER hold_offers ON "SessionOffer"; DROP FUNCTION hold_offers()');
      await other.end();
    }
    expect((await sessionOf(los, sessionId)).state).toBe('CANCELLED');
    // The only agent with the skill: nobody else could hold an offer of it.
    expect(await pendingOffersOf(agent.client, sessionId)).toEqual([]);
    await leave(agent);
  });
});
