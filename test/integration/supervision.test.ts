// The supervisor board API and the alerts supervisors hear: who may read the board, agents' presence
// and current sessions, sessions by column as they move, escalations with their reasons, and alerts
// (retries exhausted, a recording LiveKit failed) both live on the socket and in the snapshot.
// Real app, workers, Postgres, Redis, LiveKit simulator.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../support/api-client.js';
import { connectAgent, type AgentSocket } from '../support/agent-socket.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { sessionOf, verifiedSessionOf } from '../support/reads.js';
import { ALWAYS_OPEN, answerAllRequired, loanFileWithBorrower, losClient, onlineAgent, scheduleCall, stateOf, takeOffer } from '../support/verification.js';
import type { BoardSnapshot } from '../../server/supervision/supervision.service.js';

let t: TestApp;
let los: ApiClient;
let supervisor: ApiClient;
let supervisorSocket: AgentSocket;

beforeAll(async () => {
  t = await startTestApp({ ...ALWAYS_OPEN, AGENT_DISCONNECT_GRACE_SECONDS: '1' }, { livekit: true });
  los = await losClient(t);
  supervisor = await t.signIn({ roles: ['SUPERVISOR'] });
  supervisorSocket = await connectAgent(t.url, supervisor);
});
afterAll(async () => {
  supervisorSocket?.close();
  await t?.stop();
});

async function board(client: ApiClient = supervisor): Promise<BoardSnapshot> {
  const res = await client.get<BoardSnapshot>('/api/supervision/board');
  expect(res.status).toBe(200);
  return res.body;
}

describe('who may read the board', () => {
  it('lets supervisors and admins in, and refuses agents, auditors and anonymous callers', async () => {
    const agent = await t.signIn({ roles: ['AGENT'] });
    const auditor = await t.signIn({ roles: ['AUDITOR'] });
    const admin = await t.signIn({ roles: ['ADMIN'] });
    const agentRes = await agent.get<{ code: string }>('/api/supervision/board');
    expect(agentRes.status).toBe(403);
    expect(agentRes.contentType).toContain('application/problem+json');
    expect(agentRes.body.code).toBe('FORBIDDEN');
    expect((await auditor.get('/api/supervision/board')).status).toBe(403);
    expect((await t.client().get('/api/supervision/board')).status).toBe(401);
    // The LOS's API key has no business on the supervisor's board.
    expect((await los.get('/api/supervision/board')).status).toBe(403);
    const adminView = await board(admin);
    expect(Array.isArray(adminView.agents) && Array.isArray(adminView.sessions) && Array.isArray(adminView.alerts)).toBe(true);
  });
});

describe('agents and sessions', () => {
  it('shows an agent going from offline to available, then the session they are offered, take and finish', async () => {
    const agentClient = await t.signIn({ roles: ['AGENT'], languages: ['zh-CN'], skills: ['board-skill'], displayName: 'Board Agent' });
    const agentId = (await agentClient.get<{ id: string }>('/api/auth/me')).body.id;
    const before = (await board()).agents.find((a) => a.id === agentId);
    expect(before).toMatchObject({ displayName: 'Board Agent', presence: 'offline', current: null, offer: null, skills: ['board-skill'] });

    const socket = await connectAgent(t.url, agentClient);
    expect(await socket.emit('presence:set', { presence: 'available' })).toEqual({ ok: true });
    await supervisorSocket.next('presence:changed', (p) => p.agentId === agentId && p.presence === 'available');
    expect((await board()).agents.find((a) => a.id === agentId)?.presence).toBe('available');

    // A call that answers after 9 s: offered, then dialling, then in progress with the agent on it.
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550109', product: 'board-skill' });
    const sessionId = await scheduleCall(los, loanFileId, partyId);
    // The offer changes no session state: supervisors hear of it by its own event.
    const offerEvent = await supervisorSocket.next('offer:changed', (p) => p.sessionId === sessionId && p.status === 'PENDING');
    expect(offerEvent).toMatchObject({ v: 1, agentId });
    const offered = (await board()).sessions.find((s) => s.id === sessionId);
    expect(offered?.column).toBe('offered');
    expect(offered).toMatchObject({ kind: 'CALL', state: 'SCHEDULED', partyRole: 'BORROWER', offer: { agentId, agentName: 'Board Agent' }, assignedAgent: null });
    expect(JSON.stringify(offered)).not.toContain('赵敏'); // no personal data on the board
    expect(JSON.stringify(offered)).not.toContain('5550109');
    expect((await board()).agents.find((a) => a.id === agentId)?.offer?.sessionId).toBe(sessionId);

    await takeOffer({ client: agentClient, socket, userId: agentId, seenOffers: new Set() }, sessionId);
    await supervisorSocket.next('offer:changed', (p) => p.sessionId === sessionId && p.status === 'ACCEPTED');
    await supervisorSocket.next('session:changed', (p) => p.sessionId === sessionId && p.state === 'DISPATCHING');
    const dialling = (await board()).sessions.find((s) => s.id === sessionId);
    expect(dialling).toMatchObject({ column: 'dialling', assignedAgent: { id: agentId, displayName: 'Board Agent' }, offer: null, attemptCount: 1 });

    await stateOf(t, sessionId, 'IN_PROGRESS');
    const live = await board();
    expect(live.sessions.find((s) => s.id === sessionId)).toMatchObject({ column: 'in_progress', state: 'IN_PROGRESS' });
    expect(live.agents.find((a) => a.id === agentId)).toMatchObject({ presence: 'in_session', current: { sessionId, kind: 'CALL', state: 'IN_PROGRESS' } });

    await answerAllRequired({ client: agentClient, socket, userId: agentId, seenOffers: new Set() }, sessionId);
    expect((await agentClient.post(`/api/sessions/${sessionId}/complete`)).status).toBe(200);
    const after = await board();
    expect(after.sessions.find((s) => s.id === sessionId)).toBeUndefined();
    expect(after.agents.find((a) => a.id === agentId)).toMatchObject({ presence: 'available', current: null });

    // Closing the console: off routing at once; away and offline once the grace period is over.
    socket.close();
    await expect.poll(() => t.facesign.verification.presence.get(agentId)).toBe('away');
    await supervisorSocket.next('presence:changed', (p) => p.agentId === agentId && p.presence === 'away');
    expect((await board()).agents.find((a) => a.id === agentId)?.presence).toBe('offline');
  });

  it('lists an escalated session with the reasons the supervisor must weigh, until it is decided', async () => {
    const agent = await onlineAgent(t, 'escalate-skill');
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550100', product: 'escalate-skill' });
    const sessionId = await scheduleCall(los, loanFileId, partyId);
    await takeOffer(agent, sessionId);
    await stateOf(t, sessionId, 'IN_PROGRESS');
    await answerAllRequired(agent, sessionId, (itemId) => (itemId === 'identity_name' ? 'UNCLEAR' : 'CONFIRMED'));
    expect((await agent.client.post(`/api/sessions/${sessionId}/risk-flags`, { code: 'PROMPTED', severity: 'HIGH' })).status).toBe(201);
    expect((await agent.client.post(`/api/sessions/${sessionId}/complete`)).status).toBe(200);

    const escalated = (await board()).sessions.find((s) => s.id === sessionId);
    expect(escalated).toMatchObject({ column: 'escalated', state: 'ESCALATED' });
    expect(escalated!.reasons).toEqual(expect.arrayContaining(['required_unclear:identity_name', 'high_risk_flag:PROMPTED']));

    expect((await supervisor.post(`/api/sessions/${sessionId}/decision`, { outcome: 'PASSED', note: 'Identity confirmed on a call back' })).status).toBe(200);
    expect((await board()).sessions.find((s) => s.id === sessionId)).toBeUndefined();
    agent.socket.close();
  });
});

describe('sessions not reached yet', () => {
  it('lists a busy line as retry pending, with the dial outcome and when it is tried again', async () => {
    const agent = await onlineAgent(t, 'board-busy');
    // The simulator's …20 is busy.
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550120', product: 'board-busy' });
    const sessionId = await scheduleCall(los, loanFileId, partyId);
    await takeOffer(agent, sessionId);
    const pending = await stateOf(t, sessionId, 'RETRY_PENDING');
    const listed = (await board()).sessions.find((s) => s.id === sessionId);
    expect(listed).toMatchObject({ column: 'retry_pending', state: 'RETRY_PENDING', lastDialOutcome: 'BUSY', attemptCount: 1, nextAttemptAt: pending.nextAttemptAt });
    // Not the agent's current work: they are free for other calls meanwhile.
    expect((await board()).agents.find((a) => a.id === agent.userId)?.current).toBeNull();
    await t.facesign.verification.scheduling.cancel(sessionId, 'test over', { actor: { type: 'SYSTEM' }, requestId: 'test', scope: 'test' });
    expect((await board()).sessions.find((s) => s.id === sessionId)).toBeUndefined();
    agent.socket.close();
  });
});

describe('alerts', () => {
  it('alerts supervisors live, after commit, when a session runs out of attempts, and keeps it on the board', async () => {
    const agent = await onlineAgent(t, 'exhaust-skill');
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550130', product: 'exhaust-skill' });
    const sessionId = await scheduleCall(los, loanFileId, partyId);
    await takeOffer(agent, sessionId);
    const alert = await supervisorSocket.next('alert', (p) => p.sessionId === sessionId);
    expect(alert).toMatchObject({ v: 1, kind: 'retries_exhausted', sessionId, message: expect.stringContaining('INVALID_NUMBER') });
    // Emitted after the commit: whoever reacts to it already reads the exhausted session.
    expect((await sessionOf(los, sessionId)).state).toBe('EXHAUSTED');
    expect(supervisorSocket.events.filter((e) => e.event === 'alert' && e.payload.sessionId === sessionId)).toHaveLength(1);

    const snapshot = await board();
    expect(snapshot.alerts.find((a) => a.sessionId === sessionId)).toMatchObject({ id: `retries_exhausted:${sessionId}`, kind: 'retries_exhausted', detail: 'INVALID_NUMBER' });
    // Agents never hear supervisors' alerts.
    expect(agent.socket.events.some((e) => e.event === 'alert')).toBe(false);
    agent.socket.close();
  });

  it('alerts live when LiveKit egress fails a recording, and lists it with the reason, newest first', async () => {
    const agent = await onlineAgent(t, 'egress-skill');
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550100', product: 'egress-skill' });
    const sessionId = await scheduleCall(los, loanFileId, partyId);
    t.sim!.control.injectEgressFault({ kind: 'fail', error: 'encoder crashed', afterSeconds: 1 });
    await takeOffer(agent, sessionId);
    const alert = await supervisorSocket.next('alert', (p) => p.sessionId === sessionId);
    expect(alert).toMatchObject({ v: 1, kind: 'recording_failed', sessionId });
    const recording = (await verifiedSessionOf(los, loanFileId, sessionId)).attempts[0]?.recording;
    expect(recording?.state).toBe('FAILED');
    if (!recording) throw new Error('no recording');

    const snapshot = await board();
    const listed = snapshot.alerts.find((a) => a.id === `recording_failed:${recording.id}`);
    expect(listed).toMatchObject({ kind: 'recording_failed', sessionId, detail: expect.stringContaining('encoder crashed') });
    expect(snapshot.alerts[0]!.id).toBe(listed!.id);
    const times = snapshot.alerts.map((a) => a.at);
    expect([...times].sort().reverse()).toEqual(times);
    await t.facesign.verification.scheduling.cancel(sessionId, 'test over', { actor: { type: 'SYSTEM' }, requestId: 'test', scope: 'test' });
    agent.socket.close();
  });
});
