// Automated confirmation calls through the whole app on the LiveKit simulator: the session's mode comes
// from the template, routing leaves it alone until it is handed to a person, a failed dial is retried
// by the same policy as an agent's call, the bot speaks only into a running recording, and a call whose
// script nobody runs or finished is handed off by the sweep.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../support/api-client.js';
import { automatedCallJobId } from '../../server/automated-calls/automated-call.service.js';
import { botIdentity } from '../../server/automated-calls/call-room.js';
import { roomNameFor, sipPartyIdentity } from '../../server/livekit/identities.js';
import { eventually } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { answersOf, attemptOf, entityAuditEventsOf, pendingOffersOf, reviewFileOf, sessionOf, verifiedSessionOf } from '../support/reads.js';
import { ALWAYS_OPEN, loanFileWithBorrower, losClient, onlineAgent, scheduleCall, stateOf } from '../support/verification.js';

let t: TestApp;
let los: ApiClient;
let auditor: ApiClient;

beforeAll(async () => {
  t = await startTestApp({ ...ALWAYS_OPEN, AUTOMATED_CALL_RECORDING_WAIT_SECONDS: '6' }, { livekit: true });
  los = await losClient(t);
  auditor = await t.signIn({ roles: ['AUDITOR'] });
});
afterAll(async () => {
  await t?.stop();
});
afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail') console.log(t.logs.filter((line) => /automated call|"level":(40|50)/.test(line)).slice(-40).join('\n'));
});

/** The session's first attempt, as the loan file's verification shows it, and its room. */
const firstAttempt = async (loanFileId: string, sessionId: string) => {
  const attempt = (await verifiedSessionOf(los, loanFileId, sessionId)).attempts.find((a) => a.number === 1);
  return attempt ? { ...attempt, roomName: roomNameFor(attempt.id) } : undefined;
};
/** The session once the automated call has handed the party to a person. */
const handedOff = (sessionId: string, intervalMs?: number) =>
  eventually(async () => {
    const s = await sessionOf(los, sessionId);
    return s.handOffReason ? s : undefined;
  }, intervalMs);

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
      await stateOf(t, sessionId, 'RETRY_PENDING');
      const session = await sessionOf(los, sessionId);
      expect(session.lastDialOutcome).toBe('BUSY');
      const attempt = (await firstAttempt(loanFileId, sessionId))!;
      expect(attempt.dialOutcome).toBe('BUSY');
      // storage: which agent the attempt went to, and when its dial was claimed: neither is in the API
      const row = await t.facesign.db.attempt.findUniqueOrThrow({ where: { id: attempt.id }, select: { agentId: true, dialClaimedAt: true } });
      expect(row.agentId).toBeNull();
      expect(Math.round((new Date(session.nextAttemptAt!).getTime() - row.dialClaimedAt!.getTime()) / 60_000)).toBe(10);
      await t.facesign.verification.dispatcher.fill();
      expect(await pendingOffersOf(agent.client, sessionId)).toEqual([]);
      await cancel(sessionId);
    } finally {
      agent.socket.close();
    }
  });

  it('hand a party who hangs up at once to a person', async () => {
    // 55501 10 answers after 1 s and hangs up at once: before or just as the script begins.
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550110', product: 'auto-hangup' });
    const sessionId = await scheduleCall(los, loanFileId, partyId, { templateKey: 'call-automated' });
    const handed = await handedOff(sessionId);
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
    // fixture: the state the dead worker left
    await t.facesign.db.verificationSession.update({ where: { id: sessionId }, data: { state: 'WRAP_UP' } });
    expect(await t.facesign.automatedCalls.sweep(new Date(Date.now() + 10_000))).toBe(0); // within the grace
    expect(await t.facesign.automatedCalls.sweep(new Date(Date.now() + 120_000))).toBe(1);
    const handed = await sessionOf(los, sessionId);
    expect({ state: handed.state, handOffReason: handed.handOffReason }).toEqual({ state: 'SCHEDULED', handOffReason: 'HUNG_UP' });
    expect(await t.facesign.automatedCalls.sweep(new Date(Date.now() + 120_000))).toBe(0);
    await cancel(sessionId);
  });

  it('say nothing until the recording runs, and count the answers\' offsets from the moment LiveKit started it', async () => {
    // LiveKit reports the egress active 2 s late: until then the bot is in the room and silent.
    t.sim!.control.injectWebhookFault({ action: 'delay', event: 'egress_updated', delaySeconds: 200, count: 1 });
    // 55501 90 rings until told: this test answers and presses the keys itself.
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550190', product: 'auto-rec-wait' });
    const sessionId = await scheduleCall(los, loanFileId, partyId, { templateKey: 'call-automated' });
    const attempt = await eventually(async () => firstAttempt(loanFileId, sessionId));
    const call = await eventually(async () => t.sim!.control.state().calls.find((c) => c.room === attempt.roomName && c.status === 'ringing'));
    t.sim!.control.answerCall(call.callId);
    await stateOf(t, sessionId, 'IN_PROGRESS');
    await eventually(async () => t.sim!.control.isPresent(attempt.roomName, botIdentity(attempt.id)) || undefined);
    // The recording is asked for by a job of its own, which may run just after the bot joins.
    expect((await eventually(async () => (await attemptOf(los, loanFileId, sessionId, attempt.id)).recording)).state).toBe('REQUESTED');
    expect(t.sim!.control.audioPlayed(attempt.roomName)[botIdentity(attempt.id)]).toBeUndefined();

    // Once it speaks, the party presses 2 (a key pressed while a question is spoken does not count).
    const handed = await eventually(async () => {
      if (t.sim!.control.audioPlayed(attempt.roomName)[botIdentity(attempt.id)] && t.sim!.control.isPresent(attempt.roomName, sipPartyIdentity(attempt.id))) {
        t.sim!.control.pressKey(attempt.roomName, sipPartyIdentity(attempt.id), '2');
      }
      const s = await sessionOf(los, sessionId);
      return s.handOffReason ? s : undefined;
    }, 200);
    expect(handed.handOffReason).toBe('DENIED');
    const recordingId = (await attemptOf(los, loanFileId, sessionId, attempt.id)).recording!.id;
    const changes = (await entityAuditEventsOf(auditor, sessionId, recordingId)).filter((e) => e.action === 'recording.state_changed' && e.data.attemptId === attempt.id);
    const active = changes.find((e) => e.data.to === 'ACTIVE');
    expect(active).toBeDefined();
    const spoke = t.sim!.control.audioPlayed(attempt.roomName)[botIdentity(attempt.id)]!;
    expect(spoke.firstAt).toBeGreaterThanOrEqual(new Date(active!.recordedAt).getTime());
    // The attempt's recording clock is the egress's start, so the denial's offset points into the file.
    // storage: when LiveKit started the egress, which the API shows only as the attempt's recording start checked here
    const recording = await t.facesign.db.recording.findUniqueOrThrow({ where: { attemptId: attempt.id }, select: { egressStartedAt: true } });
    const file = await reviewFileOf(auditor, sessionId);
    const ended = file.attempts.find((a) => a.id === attempt.id)!;
    expect(ended.recordingStartedAt).toBe(recording.egressStartedAt?.toISOString() ?? null);
    const [answer] = file.items.flatMap((i) => (i.answer ? [i.answer] : []));
    expect(Math.abs(answer!.offsetMs! - (new Date(answer!.answeredAt).getTime() - recording.egressStartedAt!.getTime()))).toBeLessThanOrEqual(1);
    await cancel(sessionId);
  });

  it('ask nothing in a call whose recording did not start, and hand the party to a person as NOT_RECORDED', async () => {
    // Both of the engine's requests to start the egress fail: the call is up with no recording.
    t.sim!.control.injectTwirpFault({ service: 'Egress', method: 'StartRoomCompositeEgress', count: 2 });
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550170', product: 'auto-no-rec' });
    const sessionId = await scheduleCall(los, loanFileId, partyId, { templateKey: 'call-automated' });
    await stateOf(t, sessionId, 'IN_PROGRESS');
    const attempt = (await firstAttempt(loanFileId, sessionId))!;
    const handed = await handedOff(sessionId, 100);
    expect({ state: handed.state, handOffReason: handed.handOffReason }).toEqual({ state: 'SCHEDULED', handOffReason: 'NOT_RECORDED' });
    expect((await answersOf(auditor, sessionId)).size).toBe(0);
    // It said only that a person will call back: one phrase, no question.
    expect(t.sim!.control.audioPlayed(attempt.roomName)[botIdentity(attempt.id)]?.plays).toBe(1);
    await cancel(sessionId);
  });

  it('hand an answered call with no script running (answered by the dial sweep, or its job lost) to a person, on the sweep', async () => {
    // 55501 90 rings until told: the call is placed, and the answer is applied with no script queued,
    // as the dial sweep does for a worker that died with the phone answered.
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550190', product: 'auto-no-bot' });
    const sessionId = await scheduleCall(los, loanFileId, partyId, { templateKey: 'call-automated' });
    await stateOf(t, sessionId, ['DISPATCHING', 'RINGING']);
    const attempt = (await firstAttempt(loanFileId, sessionId))!;
    // fixture: the answer applied, with no script queued
    await t.facesign.db.verificationSession.update({ where: { id: sessionId }, data: { state: 'IN_PROGRESS' } });

    expect(await t.facesign.automatedCalls.sweep(new Date(Date.now() + 10_000))).toBe(0); // within the grace
    // A script job still waiting (all workers busy) is left to run.
    await t.facesign.queues.enqueue('automated-call', { sessionId, attemptId: attempt.id }, { jobId: automatedCallJobId(attempt.id), delayMs: 3_600_000 });
    expect(await t.facesign.automatedCalls.sweep(new Date(Date.now() + 120_000))).toBe(0);
    await t.facesign.queues.cancel('automated-call', automatedCallJobId(attempt.id));
    expect(await t.facesign.automatedCalls.sweep(new Date(Date.now() + 120_000))).toBe(1);
    const handed = await sessionOf(los, sessionId);
    expect({ state: handed.state, handOffReason: handed.handOffReason }).toEqual({ state: 'SCHEDULED', handOffReason: 'BOT_FAILED' });
    expect((await attemptOf(los, loanFileId, sessionId, attempt.id)).endedAt).not.toBeNull();
    await cancel(sessionId);
  });
});
