// Presence follows the agent's real state: an agent in a session shows as in a session on the board
// whatever status they chose; a reload (a new socket) keeps the status the server holds; an agent whose
// consoles all go mid-session is offline after the grace period, the session is flagged and supervisors
// are alerted, unless the agent came back in time. Real app, workers, Postgres, Redis, LiveKit simulator.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Facesign } from '../../server/main.js';
import type { ApiClient } from '../support/api-client.js';
import { connectAgent, type AgentSocket } from '../support/agent-socket.js';
import { startSecondNode, startTestApp, type TestApp } from '../support/harness.js';
import { auditEventsOf, loanFileOf, sessionOf } from '../support/reads.js';
import { ALWAYS_OPEN, loanFileWithBorrower, losClient, scheduleCall, stateOf, takeOffer, type OnlineAgent } from '../support/verification.js';
import type { BoardSnapshot } from '../../server/supervision/supervision.service.js';

const GRACE_MS = 2_000;
let t: TestApp;
let los: ApiClient;
let supervisor: ApiClient;
let supervisorSocket: AgentSocket;
const open: AgentSocket[] = [];

beforeAll(async () => {
  t = await startTestApp({ ...ALWAYS_OPEN, AGENT_DISCONNECT_GRACE_SECONDS: String(GRACE_MS / 1000) }, { livekit: true });
  los = await losClient(t);
  supervisor = await t.signIn({ roles: ['SUPERVISOR'] });
  supervisorSocket = await connectAgent(t.url, supervisor);
});
afterAll(async () => {
  for (const socket of [supervisorSocket, ...open]) socket?.close();
  await t?.stop();
});

async function board(): Promise<BoardSnapshot> {
  const res = await supervisor.get<BoardSnapshot>('/api/supervision/board');
  expect(res.status).toBe(200);
  return res.body;
}
const presenceOf = async (agentId: string) => (await board()).agents.find((a) => a.id === agentId)?.presence;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function agentAt(skill: string): Promise<OnlineAgent> {
  const client = await t.signIn({ roles: ['AGENT'], languages: ['zh-CN'], skills: [skill] });
  const userId = (await client.get<{ id: string }>('/api/auth/me')).body.id;
  const socket = await connect(client);
  expect(await socket.emit('presence:set', { presence: 'available' })).toEqual({ ok: true });
  return { client, socket, userId, seenOffers: new Set() };
}
async function connect(client: ApiClient): Promise<AgentSocket> {
  const socket = await connectAgent(t.url, client);
  open.push(socket);
  return socket;
}
/** An agent in a call that the party answered and nobody hung up. */
async function inCall(skill: string, phone: string): Promise<{ agent: OnlineAgent; sessionId: string; loanFileRef: string }> {
  const agent = await agentAt(skill);
  const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone, product: skill });
  const sessionId = await scheduleCall(los, loanFileId, partyId);
  await takeOffer(agent, sessionId);
  await stateOf(t, sessionId, 'IN_PROGRESS');
  const loanFileRef = (await loanFileOf(los, loanFileId)).externalRef;
  return { agent, sessionId, loanFileRef };
}

/** The session's `session.agent_disconnected` audit events, as its evidence carries them. */
const disconnections = async (sessionId: string) =>
  (await auditEventsOf(supervisor, sessionId)).filter((e) => e.entityId === sessionId && e.action === 'session.agent_disconnected');

describe('an agent in a session', () => {
  it('shows as offered, then in a session through the call whatever they chose, and as their own status again after', async () => {
    const agent = await agentAt('presence-busy');
    expect(await presenceOf(agent.userId)).toBe('available');
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613900007701', product: 'presence-busy' });
    const sessionId = await scheduleCall(los, loanFileId, partyId);
    await agent.socket.next('offer:new', (p) => p.sessionId === sessionId);
    expect(await presenceOf(agent.userId)).toBe('offered');
    await takeOffer(agent, sessionId);
    await stateOf(t, sessionId, 'IN_PROGRESS');
    // The agent left their status on Available: the board does not say so while they talk.
    expect(await t.facesign.verification.presence.chosen(agent.userId)).toBe('available');
    expect(await presenceOf(agent.userId)).toBe('in_session');
    // Choosing away mid-call does not hide the call either.
    expect(await agent.socket.emit('presence:set', { presence: 'away' })).toEqual({ ok: true });
    expect(await presenceOf(agent.userId)).toBe('in_session');

    await t.facesign.verification.scheduling.cancel(sessionId, 'test over', { actor: { type: 'SYSTEM' }, requestId: 'test', scope: 'test' });
    await stateOf(t, sessionId, 'CANCELLED');
    expect(await presenceOf(agent.userId)).toBe('away');
  });
});

describe('a reload', () => {
  it('keeps the status the agent chose: a new socket reads it back and routing counts the agent, with no alert', async () => {
    const agent = await agentAt('presence-reload');
    agent.socket.close();
    // The desk is reloading: off routing at once (no desk to show an offer on), the board unchanged.
    await expect.poll(() => t.facesign.verification.presence.get(agent.userId)).toBe('away');
    expect(await presenceOf(agent.userId)).toBe('available');

    const again = await connect(agent.client);
    expect(await again.emit('presence:get')).toEqual({ ok: true, presence: 'available' });
    await expect.poll(() => t.facesign.verification.presence.get(agent.userId)).toBe('available');
    await pause(GRACE_MS + 1_000);
    expect(await presenceOf(agent.userId)).toBe('available');
    expect(await t.facesign.verification.presence.chosen(agent.userId)).toBe('available');

    // Offered work without stating a presence again.
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613900007702', product: 'presence-reload' });
    const sessionId = await scheduleCall(los, loanFileId, partyId);
    await again.next('offer:new', (p) => p.sessionId === sessionId);
    await t.facesign.verification.scheduling.cancel(sessionId, 'test over', { actor: { type: 'SYSTEM' }, requestId: 'test', scope: 'test' });
  });

  it('keeps a session going without an alert when the agent is back within the grace period', async () => {
    const { agent, sessionId } = await inCall('presence-back', '+8613900007703');
    agent.socket.close();
    await pause(300);
    const again = await connect(agent.client);
    expect(await again.emit('presence:get')).toEqual({ ok: true, presence: 'available' });
    await pause(GRACE_MS + 1_500);
    expect(supervisorSocket.events.some((e) => e.event === 'alert' && e.payload.sessionId === sessionId)).toBe(false);
    const snapshot = await board();
    expect(snapshot.agents.find((a) => a.id === agent.userId)?.presence).toBe('in_session');
    expect(snapshot.sessions.find((s) => s.id === sessionId)).toMatchObject({ state: 'IN_PROGRESS', agentOffline: false });
    expect(snapshot.alerts.some((a) => a.sessionId === sessionId)).toBe(false);
    await t.facesign.verification.scheduling.cancel(sessionId, 'test over', { actor: { type: 'SYSTEM' }, requestId: 'test', scope: 'test' });
  });

  describe('on another node', () => {
    let nodeB: Facesign;
    let urlB: string;
    beforeAll(async () => {
      // A second node on the same database and Redis, with its own workers: the grace check may run on either.
      ({ node: nodeB, url: urlB } = await startSecondNode(t));
    });
    afterAll(async () => nodeB?.stop());

    it('keeps the status and the session, with no alert, when the console comes back through another node', async () => {
      const { agent, sessionId } = await inCall('presence-node', '+8613900007705');
      agent.socket.close();
      const again = await connectAgent(urlB, agent.client);
      open.push(again);
      expect(await again.emit('presence:get')).toEqual({ ok: true, presence: 'available' });
      await pause(GRACE_MS + 1_500);
      expect(supervisorSocket.events.some((e) => e.event === 'alert' && e.payload.sessionId === sessionId)).toBe(false);
      expect(await disconnections(sessionId)).toEqual([]);
      expect(await presenceOf(agent.userId)).toBe('in_session');
      expect(await t.facesign.verification.presence.get(agent.userId)).toBe('available');
      await t.facesign.verification.scheduling.cancel(sessionId, 'test over', { actor: { type: 'SYSTEM' }, requestId: 'test', scope: 'test' });
    });
  });
});

describe('an agent who closes the console mid-session', () => {
  it('is offline after the grace period: the session is flagged and left open, and supervisors are alerted once', async () => {
    const { agent, sessionId, loanFileRef } = await inCall('presence-gone', '+8613900007704');
    const name = (await agent.client.get<{ displayName: string }>('/api/auth/me')).body.displayName;
    agent.socket.close();
    // Within the grace period nothing is raised: it may be a reload.
    await pause(300);
    const during = await board();
    expect(during.agents.find((a) => a.id === agent.userId)?.presence).toBe('in_session');
    expect(during.sessions.find((s) => s.id === sessionId)?.agentOffline).toBe(false);
    expect(supervisorSocket.events.some((e) => e.event === 'alert' && e.payload.sessionId === sessionId)).toBe(false);

    const alert = await supervisorSocket.next('alert', (p) => p.sessionId === sessionId);
    expect(alert).toMatchObject({ v: 1, kind: 'agent_disconnected', sessionId, message: expect.stringContaining(loanFileRef) });
    await supervisorSocket.next('presence:changed', (p) => p.agentId === agent.userId && p.presence === 'away');

    const after = await board();
    expect(after.agents.find((a) => a.id === agent.userId)).toMatchObject({ presence: 'offline', current: { sessionId, state: 'IN_PROGRESS' } });
    expect(after.sessions.find((s) => s.id === sessionId)).toMatchObject({ column: 'in_progress', agentOffline: true, assignedAgent: { id: agent.userId } });
    expect(after.alerts.filter((a) => a.sessionId === sessionId)).toEqual([
      expect.objectContaining({ kind: 'agent_disconnected', loanFileRef, detail: 'IN_PROGRESS', agentName: name }),
    ]);
    // The session is not failed behind the supervisor's back; the fact is in the audit log.
    expect((await sessionOf(los, sessionId)).state).toBe('IN_PROGRESS');
    const audit = await disconnections(sessionId);
    expect(audit).toHaveLength(1);
    expect(audit[0]!.data).toMatchObject({ agentId: agent.userId, state: 'IN_PROGRESS' });
    // Gone for good: the next sign-in starts away, not available.
    expect(await t.facesign.verification.presence.chosen(agent.userId)).toBe('away');

    // The job running again (a retry) raises nothing more.
    const leftAt = Date.parse(String((audit[0]!.data as { leftAt: string }).leftAt));
    await t.facesign.verification.departures.graceOver(agent.userId, leftAt);
    expect(await disconnections(sessionId)).toHaveLength(1);

    // Coming back later: present again, the flag clears (the alert stays in the list until dismissed).
    const back = await connect(agent.client);
    expect(await back.emit('presence:get')).toEqual({ ok: true, presence: 'away' });
    await expect.poll(async () => (await board()).sessions.find((s) => s.id === sessionId)?.agentOffline).toBe(false);
    expect(await presenceOf(agent.userId)).toBe('in_session');
    expect(supervisorSocket.events.filter((e) => e.event === 'alert' && e.payload.sessionId === sessionId)).toHaveLength(1);
    await t.facesign.verification.scheduling.cancel(sessionId, 'test over', { actor: { type: 'SYSTEM' }, requestId: 'test', scope: 'test' });
  });
});
