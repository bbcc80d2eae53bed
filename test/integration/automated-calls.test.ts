// Automated confirmation calls through the whole app on the LiveKit simulator: the session's mode comes
// from the template, routing leaves it alone until it is handed to a person, a failed dial is retried
// by the same policy as an agent's call, and a call whose script nobody finished is handed off by the sweep.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../support/api-client.js';
import { eventually } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { ALWAYS_OPEN, loanFileWithBorrower, losClient, onlineAgent, scheduleCall, stateOf } from '../support/verification.js';

let t: TestApp;
let los: ApiClient;

beforeAll(async () => {
  t = await startTestApp({ ...ALWAYS_OPEN }, { livekit: true });
  los = await losClient(t);
});
afterAll(async () => {
  await t?.stop();
});

const cancel = (sessionId: string) => t.facesign.verification.scheduling.cancel(sessionId, 'test over', { actor: { type: 'SYSTEM' }, requestId: 'test', scope: 'test' });

describe('automated calls', () => {
  it('take their mode from the template: call-automated is automated, the default call is an agent call', async () => {
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550190', product: 'auto-mode' });
    const res = await los.post<{ mode: string; handOffReason: string | null }>(`/api/loan-files/${loanFileId}/sessions`, { partyId, kind: 'CALL', templateKey: 'call-automated', notBefore: new Date(Date.now() + 3_600_000).toISOString() });
    expect(res.status).toBe(201);
    expect({ mode: res.body.mode, handOffReason: res.body.handOffReason }).toEqual({ mode: 'AUTOMATED_CALL', handOffReason: null });
    const other = await loanFileWithBorrower(los, { phone: '+8613805550191', product: 'auto-mode' });
    const agentCall = await los.post<{ mode: string }>(`/api/loan-files/${other.loanFileId}/sessions`, { partyId: other.partyId, kind: 'CALL', notBefore: new Date(Date.now() + 3_600_000).toISOString() });
    expect(agentCall.body.mode).toBe('AGENT');
  });

  it('dial a busy line with no agent and retry it by the policy, never offering it to the agent who is free', async () => {
    const agent = await onlineAgent(t, 'auto-busy');
    try {
      const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550120', product: 'auto-busy' });
      const sessionId = await scheduleCall(los, loanFileId, partyId, { templateKey: 'call-automated', maxAttempts: 2 });
      const session = await stateOf(t, sessionId, 'RETRY_PENDING');
      expect(session.lastDialOutcome).toBe('BUSY');
      const attempt = await t.facesign.db.attempt.findFirstOrThrow({ where: { sessionId } });
      expect({ agentId: attempt.agentId, dialOutcome: attempt.dialOutcome }).toEqual({ agentId: null, dialOutcome: 'BUSY' });
      expect(Math.round((session.nextAttemptAt!.getTime() - attempt.dialClaimedAt!.getTime()) / 60_000)).toBe(10);
      await t.facesign.verification.dispatcher.fill();
      expect(await t.facesign.db.sessionOffer.count({ where: { sessionId } })).toBe(0);
      await cancel(sessionId);
    } finally {
      agent.socket.close();
    }
  });

  it('hand a party who hangs up at once to a person', async () => {
    // 55501 10 answers after 1 s and hangs up at once: before or just as the script begins.
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550110', product: 'auto-hangup' });
    const sessionId = await scheduleCall(los, loanFileId, partyId, { templateKey: 'call-automated' });
    const handed = await eventually(async () => {
      const s = await t.facesign.db.verificationSession.findUniqueOrThrow({ where: { id: sessionId } });
      return s.handOffReason ? s : undefined;
    });
    expect({ state: handed.state, handOffReason: handed.handOffReason }).toEqual({ state: 'SCHEDULED', handOffReason: 'HUNG_UP' });
    await cancel(sessionId);
  });

  it('show the agent, the board and the reviewer who handed the party over, why, and what the call collected (its note as a code)', async () => {
    const agent = await onlineAgent(t, 'auto-desk');
    try {
      const supervisor = await t.signIn({ roles: ['SUPERVISOR'] });
      // 55501 71 presses 2 on every question: the first one is denied and the party is handed to a person.
      const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550171', product: 'auto-desk' });
      const sessionId = await scheduleCall(los, loanFileId, partyId, { templateKey: 'call-automated' });
      const offered = await agent.socket.next('offer:new', (p) => p.sessionId === sessionId);

      const offers = await agent.client.get<{ items: { sessionId: string; mode: string; handOffReason: string | null }[] }>('/api/agent/offers');
      expect(offers.body.items.find((o) => o.sessionId === sessionId)).toMatchObject({ mode: 'AUTOMATED_CALL', handOffReason: 'DENIED' });
      const board = await supervisor.get<{ sessions: { id: string; mode: string; handOffReason: string | null }[] }>('/api/supervision/board');
      expect(board.body.sessions.find((s) => s.id === sessionId)).toMatchObject({ mode: 'AUTOMATED_CALL', handOffReason: 'DENIED' });

      expect((await agent.client.post(`/api/offers/${String(offered.offerId)}/accept`)).status).toBe(200);
      const desk = await agent.client.get<{ mode: string; handOffReason: string | null; handedOffAt: string | null }>(`/api/agent/sessions/${sessionId}`);
      expect(desk.status).toBe(200);
      expect({ mode: desk.body.mode, handOffReason: desk.body.handOffReason, handedOff: desk.body.handedOffAt !== null }).toEqual({ mode: 'AUTOMATED_CALL', handOffReason: 'DENIED', handedOff: true });

      type Answer = { value: string; note: string | null; answeredBy: string; noteCode: string | null; noteParams: Record<string, unknown> | null };
      const checklist = await agent.client.get<{ items: { id: string; answer: Answer | null }[] }>(`/api/sessions/${sessionId}/checklist`);
      const answered = checklist.body.items.filter((i) => i.answer);
      expect(answered.map((i) => ({ id: i.id, ...i.answer }))).toEqual([
        expect.objectContaining({ id: 'consent_recording', value: 'DENIED', answeredBy: 'AUTOMATED_CALL', noteCode: 'DENIED_KEY', noteParams: {}, note: 'automated call: the party pressed 2' }),
      ]);

      // The agent's revision is the agent's answer: no longer marked as the automated call's, its note code gone.
      await stateOf(t, sessionId, 'IN_PROGRESS');
      const revised = await agent.client.request<Answer>('PUT', `/api/sessions/${sessionId}/answers/consent_recording`, { value: 'CONFIRMED', note: 'pressed 2 by mistake' });
      expect(revised.status).toBe(200);
      expect({ answeredBy: revised.body.answeredBy, noteCode: revised.body.noteCode, noteParams: revised.body.noteParams, note: revised.body.note }).toEqual({ answeredBy: 'AGENT', noteCode: null, noteParams: null, note: 'pressed 2 by mistake' });

      const review = await supervisor.get<{ session: { mode: string; handOffReason: string | null }; items: { id: string; answer: Answer | null }[] }>(`/api/review-desk/sessions/${sessionId}`);
      expect(review.status).toBe(200);
      expect(review.body.session).toMatchObject({ mode: 'AUTOMATED_CALL', handOffReason: 'DENIED' });
      expect(review.body.items.find((i) => i.id === 'consent_recording')?.answer).toMatchObject({ answeredBy: 'AGENT' });
      const search = await supervisor.get<{ items: { id: string; mode: string; handOffReason: string | null }[] }>(`/api/review-desk/sessions?state=IN_PROGRESS&limit=100`);
      expect(search.body.items.find((s) => s.id === sessionId)).toMatchObject({ mode: 'AUTOMATED_CALL', handOffReason: 'DENIED' });
      await cancel(sessionId);
    } finally {
      agent.socket.close();
    }
  });

  it('hand a call stranded in wrap-up (its worker died mid-script) to a person, on the sweep', async () => {
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550192', product: 'auto-sweep' });
    const sessionId = await scheduleCall(los, loanFileId, partyId, { templateKey: 'call-automated', notBefore: new Date(Date.now() + 3_600_000).toISOString() });
    // What a dead worker leaves behind: the party's hang-up moved the call to WRAP_UP, and no script hands it off.
    await t.facesign.db.verificationSession.update({ where: { id: sessionId }, data: { state: 'WRAP_UP' } });
    expect(await t.facesign.automatedCalls.sweep(new Date(Date.now() + 10_000))).toBe(0); // within the grace
    expect(await t.facesign.automatedCalls.sweep(new Date(Date.now() + 120_000))).toBe(1);
    const handed = await t.facesign.db.verificationSession.findUniqueOrThrow({ where: { id: sessionId } });
    expect({ state: handed.state, handOffReason: handed.handOffReason }).toEqual({ state: 'SCHEDULED', handOffReason: 'HUNG_UP' });
    expect(await t.facesign.automatedCalls.sweep(new Date(Date.now() + 120_000))).toBe(0);
    await cancel(sessionId);
  });
});
