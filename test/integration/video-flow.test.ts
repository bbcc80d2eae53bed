// Video face-signing end to end: the LOS books it, the party gets a link by SMS (through the HTTP
// notifier, to a local gateway), passes a one-time code, consents, waits in the waiting room with
// their position over the socket, an agent picks them up and joins, the party confirms signing with
// a fresh code, the agent completes. Then: no-show, reconnect grace, expired links, OTP lockout.
import { createHash } from 'node:crypto';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../support/api-client.js';
import { eventually } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { HttpSink } from '../support/http-sink.js';
import { sessionOf, verifiedSessionOf } from '../support/reads.js';
import { ALWAYS_OPEN, answerAllRequired, loanFileWithBorrower, losClient, onlineAgent, stateOf, takeOffer, type OnlineAgent } from '../support/verification.js';

let t: TestApp;
let los: ApiClient;
let sms: HttpSink;
const CONTRACT_HASH = createHash('sha256').update('contract v1').digest('hex');

beforeAll(async () => {
  sms = await HttpSink.start();
  t = await startTestApp({ ...ALWAYS_OPEN, NOTIFIER: 'http', NOTIFIER_URL: `${sms.url}/sms`, NOTIFIER_TOKEN: 'gateway-token' }, { livekit: true });
  los = await losClient(t);
});
afterAll(async () => {
  await t?.stop();
  await sms?.stop();
});

interface Sms {
  to: string;
  template: string;
  text: string;
}
const messagesTo = (phone: string) => sms.received.map((r) => JSON.parse(r.body) as Sms).filter((m) => m.to === phone);
async function nextSms(phone: string, template: string, after = 0): Promise<Sms> {
  return eventually(async () => messagesTo(phone).filter((m) => m.template === template)[after]);
}
const linkIn = (m: Sms) => /\/join\/([A-Za-z0-9_-]{43})/.exec(m.text)![1]!;
const codeIn = (m: Sms) => /(\d{6})/.exec(m.text)![1]!;

async function bookVideo(product: string, phone: string) {
  const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone, product });
  const res = await los.post<{ id: string; state: string }>(`/api/loan-files/${loanFileId}/sessions`, { partyId, kind: 'VIDEO', notBefore: new Date().toISOString(), contractDocumentHash: CONTRACT_HASH });
  expect(res.status).toBe(201);
  const invitation = await nextSms(phone, 'invitation');
  return { loanFileId, sessionId: res.body.id, link: linkIn(invitation) };
}

async function enter(link: string, phone: string) {
  const party = t.client();
  expect((await party.post(`/api/join/${link}/otp`, { purpose: 'join' })).status).toBe(202);
  const code = codeIn(await nextSms(phone, 'otp'));
  const verified = await party.post<{ partyToken: string }>(`/api/join/${link}/otp/verify`, { code });
  expect(verified.status).toBe(200);
  const partyToken = verified.body.partyToken;
  const consent = await party.post(`/api/join/${link}/consent`, { recording: true, dataProcessing: true, locale: 'zh-CN', location: { country: 'CN', city: 'Shanghai' } }, { 'x-party-token': partyToken });
  expect(consent.status).toBe(204);
  return { party, partyToken };
}

async function inCall(agent: OnlineAgent, product: string, phone: string) {
  const booked = await bookVideo(product, phone);
  const { party, partyToken } = await enter(booked.link, phone);
  const ready = await party.post<{ token: string; room: string; position: number }>(`/api/join/${booked.link}/ready`, undefined, { 'x-party-token': partyToken });
  expect(ready.status).toBe(200);
  await t.sim!.control.join(ready.body.token);
  await takeOffer(agent, booked.sessionId);
  const grant = await agent.client.post<{ token: string }>(`/api/sessions/${booked.sessionId}/join`);
  await t.sim!.control.join(grant.body.token);
  await stateOf(t, booked.sessionId, 'IN_PROGRESS');
  return { ...booked, party, partyToken, room: ready.body.room, partyLiveKitToken: ready.body.token };
}

describe('video face-signing', () => {
  it('goes link -> OTP -> consent -> waiting room -> agent -> signing -> PASSED', async () => {
    const phone = '+8613900000001';
    const agentless = await bookVideo('video-happy', phone);
    expect(messagesTo(phone)[0]!.text).toContain('视频面签');
    expect(sms.received[0]!.headers.authorization).toBe('Bearer gateway-token');

    const overview = await t.client().get<{ kind: string; partyName: string; verified: boolean; contractToSign: boolean }>(`/api/join/${agentless.link}`);
    expect(overview.status).toBe(200);
    expect(overview.body).toMatchObject({ kind: 'VIDEO', partyName: '赵*', verified: false, contractToSign: true });

    const { party, partyToken } = await enter(agentless.link, phone);
    // storage: the consent's coarse location is kept as evidence of where it was given, but no API shows it
    const consents = await t.facesign.db.consent.findMany({ where: { sessionId: agentless.sessionId } });
    expect(consents.map((c) => c.kind).sort()).toEqual(['DATA_PROCESSING', 'RECORDING']);
    expect(consents[0]).toMatchObject({ textVersion: '2026-11-v1', geo: { country: 'CN', city: 'Shanghai', region: null } });
    expect(consents[0]!.textHash).toMatch(/^[0-9a-f]{64}$/);

    // The party's socket shows their place in the waiting room.
    const partySocket = io(`${t.url}/party`, { transports: ['websocket'], auth: { link: agentless.link, partyToken }, reconnection: false, forceNew: true });
    const positions: number[] = [];
    partySocket.on('waiting:position', (p: { position: number }) => positions.push(p.position));
    await new Promise<void>((resolve, reject) => {
      partySocket.once('connect', () => resolve());
      partySocket.once('connect_error', reject);
    });
    const ready = await party.post<{ state: string; position: number; token: string }>(`/api/join/${agentless.link}/ready`, undefined, { 'x-party-token': partyToken });
    expect(ready.body).toMatchObject({ state: 'WAITING', position: 1 });
    await eventually(async () => positions.includes(1));
    await t.sim!.control.join(ready.body.token);

    // An agent comes online and is offered the waiting party.
    const agent = await onlineAgent(t, 'video-happy');
    await takeOffer(agent, agentless.sessionId);
    const grant = await agent.client.post<{ token: string; kind: string }>(`/api/sessions/${agentless.sessionId}/join`);
    expect(grant.body.kind).toBe('VIDEO');
    await t.sim!.control.join(grant.body.token);
    await stateOf(t, agentless.sessionId, 'IN_PROGRESS');
    const checklist = await agent.client.get<{ liveness: { id: string } | null; items: { id: string }[] }>(`/api/sessions/${agentless.sessionId}/checklist`);
    expect(checklist.body.liveness?.id).toMatch(/^liveness_/);

    // Signing: a fresh code, bound to the contract hash and the recording offset.
    expect((await party.post(`/api/join/${agentless.link}/sign`, { code: '000000' }, { 'x-party-token': partyToken })).body).toMatchObject({ code: 'OTP_EXPIRED' });
    expect((await party.post(`/api/join/${agentless.link}/otp`, { purpose: 'sign' }, { 'x-party-token': partyToken })).status).toBe(202);
    const signCode = codeIn(await nextSms(phone, 'signing_code'));
    const signed = await party.post<{ documentHash: string; recordingOffsetMs: number }>(`/api/join/${agentless.link}/sign`, { code: signCode }, { 'x-party-token': partyToken });
    expect(signed.status).toBe(201);
    expect(signed.body.documentHash).toBe(CONTRACT_HASH);
    expect(signed.body.recordingOffsetMs).toBeGreaterThanOrEqual(0);

    await answerAllRequired(agent, agentless.sessionId);
    const done = await agent.client.post<{ session: { state: string; outcome: string } }>(`/api/sessions/${agentless.sessionId}/complete`);
    expect(done.body.session).toMatchObject({ state: 'COMPLETED', outcome: 'PASSED' });
    // The link is closed once the verification is over.
    expect((await t.client().get<{ code: string }>(`/api/join/${agentless.link}`)).body.code).toBe('SESSION_CLOSED');
    partySocket.close();
    agent.socket.close();
  });

  it('schedules a retry when the party does not show up, and sends a fresh link', async () => {
    const phone = '+8613900000002';
    const { sessionId } = await bookVideo('video-noshow', phone);
    await t.facesign.verification.jobs.due(sessionId);
    const dispatching = await stateOf(t, sessionId, 'DISPATCHING');
    // The no-show timer fires with nobody in the waiting room.
    await t.facesign.verification.jobs.noShow(sessionId, dispatching.version);
    const retry = await stateOf(t, sessionId, 'RETRY_PENDING');
    expect(Date.parse(retry.nextAttemptAt!)).toBeGreaterThan(Date.now() + 29 * 60_000);
    const missed = await nextSms(phone, 'missed');
    expect(linkIn(missed)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // A stale no-show job (the party had come after all) changes nothing.
    await t.facesign.verification.jobs.noShow(sessionId, dispatching.version);
    expect((await sessionOf(los, sessionId)).state).toBe('RETRY_PENDING');
  });

  it('keeps the attempt when the party reconnects within the grace, and starts a new one after it', async () => {
    const agent = await onlineAgent(t, 'video-grace');
    const call = await inCall(agent, 'video-grace', '+8613900000003');
    const attemptId = (await verifiedSessionOf(los, call.loanFileId, call.sessionId)).attempts[0]!.id;
    /** Whether the desk shows the party in the room of attempt `attemptId`. */
    const partyConnected = async () => {
      const desk = await agent.client.get<{ attempt: { id: string; partyConnected: boolean } | null }>(`/api/agent/sessions/${call.sessionId}`);
      expect(desk.body.attempt?.id).toBe(attemptId);
      return desk.body.attempt!.partyConnected;
    };
    expect(await partyConnected()).toBe(true);

    // Drops and comes back before the grace ends: same attempt.
    t.sim!.control.leave(call.room, `party-${attemptId}`);
    await eventually(async () => !(await partyConnected()));
    const back = await call.party.post<{ token: string; state: string }>(`/api/join/${call.link}/ready`, undefined, { 'x-party-token': call.partyToken });
    expect(back.body.state).toBe('IN_PROGRESS');
    await t.sim!.control.join(back.body.token);
    await t.facesign.verification.jobs.reconnectGrace(call.sessionId, attemptId);
    const kept = await verifiedSessionOf(los, call.loanFileId, call.sessionId);
    expect(kept.state).toBe('IN_PROGRESS');
    expect(kept.attempts).toHaveLength(1);

    // Drops and stays away past the grace: the attempt ends; coming back opens attempt 2.
    t.sim!.control.leave(call.room, `party-${attemptId}`);
    await eventually(async () => !(await partyConnected()));
    await t.facesign.verification.jobs.reconnectGrace(call.sessionId, attemptId);
    await stateOf(t, call.sessionId, 'DISPATCHING');
    const first = (await verifiedSessionOf(los, call.loanFileId, call.sessionId)).attempts.find((a) => a.number === 1);
    expect(first?.endReason).toBe('party_disconnected');
    const again = await call.party.post<{ state: string; token: string; room: string }>(`/api/join/${call.link}/ready`, undefined, { 'x-party-token': call.partyToken });
    expect(again.body.state).toBe('WAITING');
    expect((await verifiedSessionOf(los, call.loanFileId, call.sessionId)).attempts.map((a) => a.number).sort()).toEqual([1, 2]);
    // Attempt 2 has a room of its own: the one the party was just given.
    expect(again.body.room).not.toBe(call.room);
    // The assigned agent rejoins the new room.
    await t.sim!.control.join(again.body.token);
    const grant = await agent.client.post<{ token: string; room: string }>(`/api/sessions/${call.sessionId}/join`);
    expect(grant.body.room).toBe(again.body.room);
    await t.sim!.control.join(grant.body.token);
    await stateOf(t, call.sessionId, 'IN_PROGRESS');
    agent.socket.close();
  });
});

describe('borrower links and codes', () => {
  it('explains expired, unknown and malformed links', async () => {
    const { link } = await bookVideo('video-links', '+8613900000004');
    const hash = createHash('sha256').update(link).digest('hex');
    // fixture: the link's time runs out
    await t.facesign.db.borrowerLink.update({ where: { tokenHash: hash }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const expired = await t.client().get<{ code: string; status: number }>(`/api/join/${link}`);
    expect(expired.body).toMatchObject({ code: 'BORROWER_LINK_EXPIRED', status: 410 });
    const unknown = await t.client().get<{ code: string }>(`/api/join/${'A'.repeat(43)}`);
    expect(unknown.body.code).toBe('BORROWER_LINK_INVALID');
    expect((await t.client().get<{ code: string }>('/api/join/short')).body.code).toBe('BORROWER_LINK_INVALID');
    // Only hashes are stored.
    // storage: what is stored is the point here
    expect(await t.facesign.db.borrowerLink.count({ where: { tokenHash: link } })).toBe(0);
  });

  it('locks the code after five wrong tries, even for the right code', async () => {
    const phone = '+8613900000005';
    const { link } = await bookVideo('video-otp', phone);
    const party = t.client();
    await party.post(`/api/join/${link}/otp`, { purpose: 'join' });
    const code = codeIn(await nextSms(phone, 'otp'));
    const wrong = code === '111111' ? '222222' : '111111';
    const answers: string[] = [];
    for (let i = 0; i < 5; i += 1) answers.push((await party.post<{ code: string }>(`/api/join/${link}/otp/verify`, { code: wrong })).body.code);
    expect(answers).toEqual(['OTP_INVALID', 'OTP_INVALID', 'OTP_INVALID', 'OTP_INVALID', 'OTP_LOCKED']);
    const right = await party.post<{ code: string }>(`/api/join/${link}/otp/verify`, { code });
    expect(right.status).toBe(423);
    expect(right.body.code).toBe('OTP_LOCKED');
    // And no party token lets them in.
    expect((await party.post<{ code: string }>(`/api/join/${link}/ready`, undefined, { 'x-party-token': 'guess' })).body.code).toBe('PARTY_TOKEN_INVALID');
  });

  it('lets the party pick another slot, which moves the reminders', async () => {
    const phone = '+8613900000006';
    const { link, sessionId } = await bookVideo('video-slot', phone);
    const { party, partyToken } = await enter(link, phone);
    const later = new Date(Date.now() + 2 * 86_400_000);
    const moved = await party.post<{ appointmentAt: string }>(`/api/join/${link}/reschedule`, { notBefore: later.toISOString() }, { 'x-party-token': partyToken });
    expect(moved.status).toBe(200);
    expect(moved.body.appointmentAt).toBe(later.toISOString());
    const session = await sessionOf(los, sessionId);
    expect(session.state).toBe('SCHEDULED');
    expect(new Date(session.notBefore).toISOString()).toBe(later.toISOString());
    const reminders = await t.facesign.queues.queue('session-reminder').getDelayed();
    expect(reminders.filter((j) => j.data.sessionId === sessionId).map((j) => j.data.reminder).sort()).toEqual(['15m', '24h']);
    const tooSoon = await party.post<{ errors: { field: string }[] }>(`/api/join/${link}/reschedule`, { notBefore: new Date(Date.now() + 60_000).toISOString() }, { 'x-party-token': partyToken });
    expect(tooSoon.body.errors[0]!.field).toBe('notBefore');
  });
});

describe('messages respect calling hours', () => {
  it('holds an invitation booked at night until the party\'s window opens', async () => {
    const hour = (new Date().getUTCHours() + 8) % 24;
    const start = (hour + 2) % 24;
    if (start === 23) return; // a window crossing midnight cannot be expressed; try again in an hour
    const window = `${String(start).padStart(2, '0')}:00-${String(start + 1).padStart(2, '0')}:00`;
    const night = await startTestApp({ CALLING_HOURS: window, CALLING_DAYS: 'MON,TUE,WED,THU,FRI,SAT,SUN', NOTIFIER: 'http', NOTIFIER_URL: `${sms.url}/night` }, { livekit: true });
    try {
      const nightLos = await losClient(night);
      const phone = '+8613900000009';
      const { loanFileId, partyId } = await loanFileWithBorrower(nightLos, { phone, product: 'night' });
      // An appointment inside the window, days ahead, booked while the window is closed.
      const appointment = new Date(Date.now() + 3 * 86_400_000);
      appointment.setUTCHours((start + 16) % 24, 30, 0, 0);
      const booked = await nightLos.post<{ id: string }>(`/api/loan-files/${loanFileId}/sessions`, { partyId, kind: 'VIDEO', notBefore: appointment.toISOString() });
      expect(booked.status).toBe(201);
      const held = (await night.facesign.queues.queue('session-reminder').getDelayed()).filter((j) => j.data.sessionId === booked.body.id && j.data.reminder === 'invitation');
      expect(held).toHaveLength(1);
      expect(messagesTo(phone)).toEqual([]);
      // When the window opens, the held job sends it.
      const opens = new Date(held[0]!.timestamp + held[0]!.opts.delay!);
      await night.facesign.verification.partyJoin.remind(booked.body.id, 'invitation', opens);
      expect((await nextSms(phone, 'invitation')).text).toMatch(/\/join\//);
    } finally {
      await night.stop();
    }
  });
});
