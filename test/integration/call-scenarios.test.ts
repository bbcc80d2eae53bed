// Confirmation calls when things do not go to plan: busy lines and unanswered phones, retries until
// the attempts run out, calling hours, offers that time out, escalations, races between workers and
// a server restart in the middle of a checklist. Real app, workers, Postgres, Redis, LiveKit simulator.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../support/api-client.js';
import { eventually } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { HttpSink } from '../support/http-sink.js';
import { auditEventsOf, loanFileOf, pendingOffersOf, reviewFileOf, verifiedSessionOf } from '../support/reads.js';
import { ALWAYS_OPEN, answerAllRequired, loanFileWithBorrower, losClient, onlineAgent, scheduleCall, stateOf, takeOffer } from '../support/verification.js';
import { isWithinCallingHours } from '../../server/verification/calling-hours.js';

let t: TestApp;
let los: ApiClient;
let losSink: HttpSink;
/** Reads evidence (with the session's audit events) and review files. */
let reader: ApiClient;
const MINUTE = 60_000;

beforeAll(async () => {
  losSink = await HttpSink.start();
  t = await startTestApp({ ...ALWAYS_OPEN, LOS_WEBHOOK_URL: losSink.url, LOS_WEBHOOK_SECRET: 'scenario-secret-0123456789' }, { livekit: true });
  los = await losClient(t);
  reader = await t.signIn({ roles: ['AUDITOR'] });
});
afterAll(async () => {
  await t?.stop();
  await losSink?.stop();
});

const callsIn = (room: string) => t.sim!.control.state().calls.filter((c) => c.room === room).length;

describe('retries', () => {
  it('schedules a busy line for a retry per the policy and frees the agent', async () => {
    const agent = await onlineAgent(t, 'busy-skill');
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550120', product: 'busy-skill' });
    const sessionId = await scheduleCall(los, loanFileId, partyId);
    const before = Date.now();
    await takeOffer(agent, sessionId);
    const retrying = await stateOf(t, sessionId, 'RETRY_PENDING');
    expect(retrying.lastDialOutcome).toBe('BUSY');
    // Busy: the first retry waits 10 minutes.
    expect(Date.parse(retrying.nextAttemptAt!)).toBeGreaterThanOrEqual(before + 10 * MINUTE);
    expect(Date.parse(retrying.nextAttemptAt!)).toBeLessThan(Date.now() + 10 * MINUTE + 1000);
    const [attempt, ...more] = (await verifiedSessionOf(los, loanFileId, sessionId)).attempts;
    expect(more).toEqual([]);
    expect(attempt).toMatchObject({ dialOutcome: 'BUSY', endReason: 'dial_failed' });
    expect(attempt!.endedAt).not.toBeNull();
    agent.socket.close();
  });

  it('retries an unanswered phone at its due time and exhausts after the last attempt, telling the LOS', async () => {
    const agent = await onlineAgent(t, 'noanswer-skill');
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550122', product: 'noanswer-skill' });
    const sessionId = await scheduleCall(los, loanFileId, partyId, { maxAttempts: 2 });
    await takeOffer(agent, sessionId);
    const first = await stateOf(t, sessionId, 'RETRY_PENDING');
    expect(first.lastDialOutcome).toBe('NO_ANSWER');

    // Time passes: the retry comes due (the job runs with "now" past nextAttemptAt).
    await t.facesign.verification.jobs.due(sessionId, new Date(Date.parse(first.nextAttemptAt!) + 1000));
    await takeOffer(agent, sessionId);
    const exhausted = await stateOf(t, sessionId, 'EXHAUSTED');
    expect(exhausted.attemptCount).toBe(2);
    const attempts = (await verifiedSessionOf(los, loanFileId, sessionId)).attempts.sort((a, b) => a.number - b.number);
    expect(attempts.map((a) => a.dialOutcome)).toEqual(['NO_ANSWER', 'NO_ANSWER']);
    const hook = await losSink.until((r) => r.body.includes(sessionId) && r.body.includes('verification.exhausted'));
    expect(JSON.parse(hook.body)).toMatchObject({ type: 'verification.exhausted', loanFileId });
    expect((await loanFileOf(los, loanFileId)).status).toBe('FAILED');
    agent.socket.close();
  });

  it('gives up at once on an invalid number', async () => {
    const agent = await onlineAgent(t, 'invalid-skill');
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550130', product: 'invalid-skill' });
    const sessionId = await scheduleCall(los, loanFileId, partyId);
    await takeOffer(agent, sessionId);
    const s = await stateOf(t, sessionId, 'EXHAUSTED');
    expect(s.lastDialOutcome).toBe('INVALID_NUMBER');
    agent.socket.close();
  });
});

describe('agents and offers', () => {
  it('passes an offer that timed out to the next agent, never back to the one who let it lapse', async () => {
    const first = await onlineAgent(t, 'offer-skill');
    const second = await onlineAgent(t, 'offer-skill');
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550190', product: 'offer-skill' });
    const sessionId = await scheduleCall(los, loanFileId, partyId);
    const offers = await eventually(async () => {
      const o = [
        ...(await pendingOffersOf(first.client, sessionId)).map((offer) => ({ ...offer, agentId: first.userId })),
        ...(await pendingOffersOf(second.client, sessionId)).map((offer) => ({ ...offer, agentId: second.userId })),
      ];
      return o.length === 1 ? o : undefined;
    });
    const lapsed = offers[0]!;
    const other = lapsed.agentId === first.userId ? second : first;
    // The offer's time runs out (the offer-timeout job fires).
    await t.facesign.db.sessionOffer.update({ where: { id: lapsed.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    await t.facesign.verification.dispatcher.expire(lapsed.id);
    expect(await pendingOffersOf(lapsed.agentId === first.userId ? first.client : second.client, sessionId)).toEqual([]);
    const resolved = (await auditEventsOf(reader, sessionId)).filter((e) => e.action === 'offer.resolved');
    expect(resolved.map((e) => e.data)).toEqual([expect.objectContaining({ agentId: lapsed.agentId, status: 'EXPIRED' })]);
    const next = await other.socket.next('offer:new', (p) => p.sessionId === sessionId);
    expect(next.offerId).not.toBe(lapsed.id);
    const late = lapsed.agentId === first.userId ? first : second;
    expect((await late.client.post<{ code: string }>(`/api/offers/${lapsed.id}/accept`)).body.code).toBe('OFFER_NOT_AVAILABLE');
    await t.facesign.verification.scheduling.cancel(sessionId, 'test over', { actor: { type: 'SYSTEM' }, requestId: 'test', scope: 'test' });
    first.socket.close();
    second.socket.close();
  });

  it('withdraws the offers of an agent who goes away', async () => {
    const agent = await onlineAgent(t, 'away-skill');
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550190', product: 'away-skill' });
    const sessionId = await scheduleCall(los, loanFileId, partyId);
    await agent.socket.next('offer:new', (p) => p.sessionId === sessionId);
    agent.socket.close();
    await eventually(async () => (await pendingOffersOf(agent.client, sessionId)).length === 0);
    const resolved = (await auditEventsOf(reader, sessionId)).filter((e) => e.action === 'offer.resolved');
    expect(resolved.map((e) => e.data)).toEqual([expect.objectContaining({ agentId: agent.userId, status: 'WITHDRAWN' })]);
    await t.facesign.verification.scheduling.cancel(sessionId, 'test over', { actor: { type: 'SYSTEM' }, requestId: 'test', scope: 'test' });
  });

  it('refuses socket events a role does not allow, and sessions that are not yours', async () => {
    const auditor = await t.signIn({ roles: ['AUDITOR'] });
    const { connectAgent } = await import('../support/agent-socket.js');
    await expect(connectAgent(t.url, auditor)).rejects.toThrow(/FORBIDDEN/);
    await expect(connectAgent(t.url, t.client())).rejects.toThrow(/UNAUTHENTICATED/);
    const supervisor = await t.signIn({ roles: ['SUPERVISOR'] });
    const supSocket = await connectAgent(t.url, supervisor);
    expect(await supSocket.emit('presence:set', { presence: 'available' })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    const agent = await onlineAgent(t, 'nobody-skill');
    expect(await agent.socket.emit('session:watch', { sessionId: '00000000-0000-4000-8000-000000000000' })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    expect(await agent.socket.emit('presence:set', { presence: 'sleeping' })).toMatchObject({ ok: false, code: 'VALIDATION_FAILED' });
    supSocket.close();
    agent.socket.close();
  });
});

describe('supervisor reassignment', () => {
  it('hands a live session to another agent, who may write while the first no longer can', async () => {
    const first = await onlineAgent(t, 'reassign-skill');
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550100', product: 'reassign-skill' });
    const sessionId = await scheduleCall(los, loanFileId, partyId);
    await takeOffer(first, sessionId);
    await stateOf(t, sessionId, 'IN_PROGRESS');
    const second = await onlineAgent(t, 'other-skill');
    const supervisor = await t.signIn({ roles: ['SUPERVISOR'] });
    expect((await first.client.post(`/api/sessions/${sessionId}/reassign`, { agentId: second.userId })).status).toBe(403);
    const moved = await supervisor.post<{ assignedAgentId: string }>(`/api/sessions/${sessionId}/reassign`, { agentId: second.userId });
    expect(moved.status).toBe(200);
    expect(moved.body.assignedAgentId).toBe(second.userId);
    await second.socket.next('session:changed', (p) => p.sessionId === sessionId);
    expect((await second.client.request('PUT', `/api/sessions/${sessionId}/answers/consent_recording`, { value: 'CONFIRMED' })).status).toBe(200);
    expect((await first.client.request('PUT', `/api/sessions/${sessionId}/answers/identity_name`, { value: 'CONFIRMED' })).status).toBe(404);
    const audit = (await auditEventsOf(reader, sessionId)).find((e) => e.entityId === sessionId && e.action === 'session.reassigned');
    expect(audit?.data).toEqual({ fromAgentId: first.userId, toAgentId: second.userId });
    const admin = (await (await t.signIn({ roles: ['ADMIN'] })).get<{ id: string }>('/api/auth/me')).body;
    expect((await supervisor.post<{ errors: { field: string }[] }>(`/api/sessions/${sessionId}/reassign`, { agentId: admin.id })).body.errors[0]!.field).toBe('agentId');
    await second.client.post(`/api/sessions/${sessionId}/end`);
    first.socket.close();
    second.socket.close();
  });

  it('offers a call that nobody has taken directly to the chosen agent', async () => {
    const chosen = await onlineAgent(t, 'direct-skill');
    await chosen.socket.emit('presence:set', { presence: 'busy' }); // not routable, but a supervisor may still choose them
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550190', product: 'direct-skill' });
    const sessionId = await scheduleCall(los, loanFileId, partyId);
    const supervisor = await t.signIn({ roles: ['SUPERVISOR'] });
    await supervisor.post(`/api/sessions/${sessionId}/reassign`, { agentId: chosen.userId });
    const offer = await chosen.socket.next('offer:new', (p) => p.sessionId === sessionId);
    expect(offer.kind).toBe('CALL');
    await t.facesign.verification.scheduling.cancel(sessionId, 'test over', { actor: { type: 'SYSTEM' }, requestId: 'test', scope: 'test' });
    chosen.socket.close();
  });
});

describe('escalation', () => {
  it('escalates an unclear required answer to a supervisor, who decides', async () => {
    const agent = await onlineAgent(t, 'escalate-skill');
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550100', product: 'escalate-skill' });
    const sessionId = await scheduleCall(los, loanFileId, partyId);
    await takeOffer(agent, sessionId);
    await stateOf(t, sessionId, 'IN_PROGRESS');
    await answerAllRequired(agent, sessionId, (id) => (id === 'loan_purpose' ? 'UNCLEAR' : 'CONFIRMED'));
    const flag = await agent.client.post(`/api/sessions/${sessionId}/risk-flags`, { code: 'PROMPTED', severity: 'MEDIUM', note: 'someone whispering' });
    expect(flag.status).toBe(201);
    const done = await agent.client.post<{ session: { state: string; outcome: string }; reasons: string[] }>(`/api/sessions/${sessionId}/complete`);
    expect(done.body.session).toMatchObject({ state: 'ESCALATED', outcome: 'ESCALATED' });
    expect(done.body.reasons).toEqual(['required_unclear:loan_purpose']);
    await losSink.until((r) => r.body.includes(sessionId) && r.body.includes('verification.escalated'));
    expect((await loanFileOf(los, loanFileId)).status).toBe('IN_VERIFICATION');

    expect((await agent.client.post(`/api/sessions/${sessionId}/decision`, { outcome: 'PASSED', note: 'ok' })).status).toBe(403);
    const supervisor = await t.signIn({ roles: ['SUPERVISOR'] });
    const decided = await supervisor.post<{ state: string; outcome: string }>(`/api/sessions/${sessionId}/decision`, { outcome: 'PASSED', note: 'Purpose confirmed by documents on file' });
    expect(decided.body).toMatchObject({ state: 'COMPLETED', outcome: 'PASSED' });
    // Every escalated session goes to compliance review: not VERIFIED until an auditor approves.
    expect((await loanFileOf(los, loanFileId)).status).toBe('IN_VERIFICATION');
    const review = (await reviewFileOf(reader, sessionId)).review!;
    expect(review).toMatchObject({ reason: 'ESCALATED', status: 'PENDING' });
    const auditor = await t.signIn({ roles: ['AUDITOR'] });
    expect((await auditor.post(`/api/reviews/${review.id}/decision`, { decision: 'APPROVE', note: 'Recording and documents consistent' })).status).toBe(200);
    expect((await loanFileOf(los, loanFileId)).status).toBe('VERIFIED');
    expect((await supervisor.post<{ code: string }>(`/api/sessions/${sessionId}/decision`, { outcome: 'FAILED', note: 'again' })).body.code).toBe('SESSION_STATE_CONFLICT');
    agent.socket.close();
  });

  it('fails at once when the party denies a required item, without the rest of the script', async () => {
    const agent = await onlineAgent(t, 'deny-skill');
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550100', product: 'deny-skill' });
    const sessionId = await scheduleCall(los, loanFileId, partyId);
    await takeOffer(agent, sessionId);
    await stateOf(t, sessionId, 'IN_PROGRESS');
    await agent.client.request('PUT', `/api/sessions/${sessionId}/answers/willingness_self_applied`, { value: 'DENIED', note: 'says a relative applied' });
    const done = await agent.client.post<{ session: { outcome: string }; reasons: string[] }>(`/api/sessions/${sessionId}/complete`);
    expect(done.body.session.outcome).toBe('FAILED');
    expect(done.body.reasons[0]).toBe('required_denied:willingness_self_applied');
    expect((await loanFileOf(los, loanFileId)).status).toBe('FAILED');
    agent.socket.close();
  });
});

describe('races', () => {
  it('dials exactly once when the dial job is delivered several times at once', async () => {
    const agent = await onlineAgent(t, 'race-skill');
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550103', product: 'race-skill' });
    const sessionId = await scheduleCall(los, loanFileId, partyId);
    // The due job delivered five times at once: one offer.
    await Promise.all(Array.from({ length: 5 }, () => t.facesign.verification.jobs.due(sessionId)));
    expect(await eventually(async () => {
      const pending = await pendingOffersOf(agent.client, sessionId);
      return pending.length > 0 ? pending : undefined;
    })).toHaveLength(1);
    expect((await auditEventsOf(reader, sessionId)).filter((e) => e.action === 'offer.created')).toHaveLength(1);
    const { room } = await takeOffer(agent, sessionId);
    const [attempt] = (await verifiedSessionOf(los, loanFileId, sessionId)).attempts;
    if (!attempt) throw new Error('no attempt after the offer was taken');
    // The real dial job plus four duplicates on "other workers", all at once.
    await Promise.all(Array.from({ length: 4 }, () => t.facesign.verification.jobs.dial(sessionId, attempt.id)));
    await stateOf(t, sessionId, 'IN_PROGRESS');
    expect(callsIn(room)).toBe(1);
    expect((await verifiedSessionOf(los, loanFileId, sessionId)).attempts).toHaveLength(1);
    // A late duplicate after the call is up changes nothing either.
    await t.facesign.verification.jobs.dial(sessionId, attempt.id);
    expect(callsIn(room)).toBe(1);
    await agent.client.post(`/api/sessions/${sessionId}/end`);
    agent.socket.close();
  });
});

describe('restart', () => {
  it('loses no acknowledged answer when the server restarts mid-checklist', async () => {
    const agent = await onlineAgent(t, 'restart-skill');
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550100', product: 'restart-skill' });
    const sessionId = await scheduleCall(los, loanFileId, partyId);
    await takeOffer(agent, sessionId);
    await stateOf(t, sessionId, 'IN_PROGRESS');
    const acknowledged = ['consent_recording', 'identity_name', 'identity_id_last4', 'loan_purpose'];
    for (const item of acknowledged) {
      expect((await agent.client.request('PUT', `/api/sessions/${sessionId}/answers/${item}`, { value: 'CONFIRMED', note: `n-${item}` })).status).toBe(200);
    }
    agent.socket.close();
    await t.restart();
    const checklist = await agent.client.get<{ state: string; items: { id: string; answer: { value: string; note: string } | null }[] }>(`/api/sessions/${sessionId}/checklist`);
    expect(checklist.status).toBe(200);
    expect(checklist.body.state).toBe('IN_PROGRESS');
    const answered = checklist.body.items.filter((i) => i.answer);
    expect(answered.map((i) => i.id).sort()).toEqual([...acknowledged].sort());
    for (const item of answered) expect(item.answer).toMatchObject({ value: 'CONFIRMED', note: `n-${item.id}` });
    // And the agent carries on where they left off.
    await answerAllRequired(agent, sessionId);
    const done = await agent.client.post<{ session: { outcome: string } }>(`/api/sessions/${sessionId}/complete`);
    expect(done.body.session.outcome).toBe('PASSED');
  });
});

describe('calling hours', () => {
  it('never dials outside the window: a due call is deferred to the next one', async () => {
    // A one-hour window two hours from now in Shanghai, so "now" is outside it.
    const hour = (new Date().getUTCHours() + 8) % 24;
    const start = (hour + 2) % 24;
    if (start === 23) return; // a window crossing midnight cannot be expressed; try again in an hour
    const window = `${String(start).padStart(2, '0')}:00-${String(start + 1).padStart(2, '0')}:00`;
    const closed = await startTestApp({ CALLING_HOURS: window, CALLING_DAYS: 'MON,TUE,WED,THU,FRI,SAT,SUN' }, { livekit: true });
    try {
      const closedLos = await losClient(closed);
      const agent = await onlineAgent(closed, 'hours-skill');
      const { loanFileId, partyId } = await loanFileWithBorrower(closedLos, { phone: '+8613805550100', product: 'hours-skill' });
      const res = await closedLos.post<{ id: string; notBefore: string }>(`/api/loan-files/${loanFileId}/sessions`, { partyId, kind: 'CALL' });
      const notBefore = new Date(res.body.notBefore);
      expect(notBefore.getTime()).toBeGreaterThan(Date.now());
      expect(isWithinCallingHours(notBefore, 'Asia/Shanghai', { start: window.slice(0, 5), end: window.slice(6), days: [0, 1, 2, 3, 4, 5, 6], holidays: [] })).toBe(true);

      // Even if the session were due now (a clock skew, a manual change), the due job defers it.
      await closed.facesign.db.verificationSession.update({ where: { id: res.body.id }, data: { notBefore: new Date(Date.now() - MINUTE) } });
      await closed.facesign.verification.jobs.due(res.body.id);
      const deferred = await verifiedSessionOf(closedLos, loanFileId, res.body.id);
      expect(deferred.state).toBe('SCHEDULED');
      expect(new Date(deferred.notBefore).getTime()).toBe(notBefore.getTime());
      expect(await pendingOffersOf(agent.client, res.body.id)).toEqual([]);
      expect(deferred.attempts).toHaveLength(0);
      const events = await auditEventsOf(await closed.signIn({ roles: ['AUDITOR'] }), res.body.id);
      expect(events.filter((e) => e.action === 'offer.created')).toHaveLength(0);
      const audit = events.find((e) => e.entityId === res.body.id && e.action === 'session.deferred');
      expect(audit?.data).toMatchObject({ reason: 'outside_calling_hours' });
      expect(closed.sim!.control.state().calls).toHaveLength(0);
      agent.socket.close();
    } finally {
      await closed.stop();
    }
  });
});
