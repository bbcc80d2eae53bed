// Maker-checker: completed sessions selected by the sampling rule wait for an auditor; the loan file
// is VERIFIED only once the review is approved; whoever ran a session cannot review it; a recapture
// schedules a new session.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../support/api-client.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { auditEventsOf, loanFileOf, partySessions, reviewFileOf } from '../support/reads.js';
import { ALWAYS_OPEN, answerAllRequired, loanFileWithBorrower, losClient, onlineAgent, scheduleCall, stateOf, takeOffer, type OnlineAgent } from '../support/verification.js';

let t: TestApp;
let los: ApiClient;
/** An auditor who ran none of the sessions, to read review files and evidence. */
let reader: ApiClient;

beforeAll(async () => {
  // Every session above 70 000 is reviewed; nothing is sampled at random.
  t = await startTestApp({ ...ALWAYS_OPEN, REVIEW_AMOUNT_THRESHOLD: '70000', REVIEW_SAMPLE_PERCENT: '0' }, { livekit: true });
  los = await losClient(t);
  reader = await t.signIn({ roles: ['AUDITOR'] });
});
afterAll(async () => t?.stop());

async function passedCall(agent: OnlineAgent, skill: string) {
  const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550100', product: skill });
  const sessionId = await scheduleCall(los, loanFileId, partyId);
  await takeOffer(agent, sessionId);
  await stateOf(t, sessionId, 'IN_PROGRESS');
  await answerAllRequired(agent, sessionId);
  const done = await agent.client.post<{ session: { outcome: string } }>(`/api/sessions/${sessionId}/complete`);
  expect(done.body.session.outcome).toBe('PASSED');
  return { loanFileId, partyId, sessionId };
}

describe('review gate', () => {
  it('keeps the loan file from VERIFIED until the sampled review is approved', async () => {
    const agent = await onlineAgent(t, 'review-gate');
    const { loanFileId, sessionId } = await passedCall(agent, 'review-gate');
    const review = (await reviewFileOf(reader, sessionId)).review!;
    expect(review).toMatchObject({ reason: 'AMOUNT', status: 'PENDING' });
    expect((await loanFileOf(los, loanFileId)).status).toBe('IN_VERIFICATION');

    const auditor = await t.signIn({ roles: ['AUDITOR'] });
    const queue = await auditor.get<{ items: { id: string }[] }>('/api/reviews?status=PENDING');
    expect(queue.body.items.map((r) => r.id)).toContain(review.id);
    expect((await agent.client.get('/api/reviews')).status).toBe(403);

    const approved = await auditor.post<{ status: string; reviewerId: string }>(`/api/reviews/${review.id}/decision`, { decision: 'APPROVE', note: 'fine' });
    expect(approved.body.status).toBe('APPROVED');
    expect((await loanFileOf(los, loanFileId)).status).toBe('VERIFIED');
    expect((await auditor.post<{ code: string }>(`/api/reviews/${review.id}/decision`, { decision: 'REJECT', note: 'changed my mind' })).body.code).toBe('SESSION_STATE_CONFLICT');
    const audit = (await auditEventsOf(reader, sessionId)).filter((e) => e.entityId === sessionId && ['review.selected', 'review.decided'].includes(e.action));
    expect(audit.map((a) => a.action)).toEqual(['review.selected', 'review.decided']);
    agent.socket.close();
  });

  it('does not let the agent who ran the session review it', async () => {
    const client = await t.signIn({ roles: ['AGENT', 'AUDITOR'], languages: ['zh-CN'], skills: ['review-self'] });
    const { connectAgent } = await import('../support/agent-socket.js');
    const socket = await connectAgent(t.url, client);
    await socket.emit('presence:set', { presence: 'available' });
    const me = await client.get<{ id: string }>('/api/auth/me');
    const agent: OnlineAgent = { client, socket, userId: me.body.id, seenOffers: new Set() };
    const { sessionId } = await passedCall(agent, 'review-self');
    const review = (await reviewFileOf(reader, sessionId)).review!;
    const own = await client.post<{ code: string; detail: string }>(`/api/reviews/${review.id}/decision`, { decision: 'APPROVE', note: 'looks good to me' });
    expect(own.status).toBe(403);
    expect(own.body.detail).toMatch(/maker-checker/);
    expect((await reviewFileOf(reader, sessionId)).review).toMatchObject({ id: review.id, status: 'PENDING' });
    socket.close();
  });

  it('schedules a new session when the auditor asks for a recapture, and a rejection fails the file', async () => {
    const agent = await onlineAgent(t, 'review-recapture');
    const { loanFileId, partyId, sessionId } = await passedCall(agent, 'review-recapture');
    const auditor = await t.signIn({ roles: ['AUDITOR'] });
    const review = (await reviewFileOf(reader, sessionId)).review!;
    await auditor.post(`/api/reviews/${review.id}/decision`, { decision: 'RECAPTURE', note: 'audio unclear at the fee disclosure' });
    const sessions = (await partySessions(los, loanFileId, partyId)).reverse();
    expect(sessions).toHaveLength(2);
    expect(sessions[1]).toMatchObject({ kind: 'CALL', templateKey: 'call-default' });
    expect(['SCHEDULED', 'DISPATCHING', 'RINGING', 'IN_PROGRESS']).toContain(sessions[1]!.state);
    expect((await loanFileOf(los, loanFileId)).status).toBe('IN_VERIFICATION');
    await t.facesign.verification.scheduling.cancel(sessions[1]!.id, 'test over', { actor: { type: 'SYSTEM' }, requestId: 't', scope: 't' });

    const second = await passedCall(agent, 'review-recapture');
    const r2 = (await reviewFileOf(reader, second.sessionId)).review!;
    await auditor.post(`/api/reviews/${r2.id}/decision`, { decision: 'REJECT', note: 'party was prompted' });
    expect((await loanFileOf(los, second.loanFileId)).status).toBe('FAILED');
    agent.socket.close();
  });
});
