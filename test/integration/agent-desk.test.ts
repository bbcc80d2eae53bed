// GET /api/agent/desk and /api/agent/sessions/:id: what the desk shows, masked, and to whom.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { ALWAYS_OPEN, loanFileWithBorrower, losClient, onlineAgent, publishCallTemplateWithItemId, scheduleCall, stateOf, takeOffer, type OnlineAgent } from '../support/verification.js';

let t: TestApp;
let agent: OnlineAgent;
let sessionId: string;

beforeAll(async () => {
  t = await startTestApp({ ...ALWAYS_OPEN, DIAL_RATE_PER_SECOND: '50' }, { livekit: true });
  agent = await onlineAgent(t, 'consumer-loan');
  const los = await losClient(t);
  const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550100', product: 'consumer-loan' });
  sessionId = await scheduleCall(los, loanFileId, partyId);
  await takeOffer(agent, sessionId);
  await stateOf(t, sessionId, 'IN_PROGRESS');
});
afterAll(async () => {
  await agent?.socket.close();
  await t?.stop();
});

describe('agent desk API', () => {
  it("lists the agent's live session with a masked party card, the live attempt and the recording state", async () => {
    type Desk = { active: Record<string, unknown>[]; today: unknown[]; upcoming: unknown[]; day: { start: string; end: string } };
    // The call is answered before LiveKit's participant webhooks are processed and before the recording
    // is requested (just after the commit): the desk shows each once it has happened.
    const res = await eventually(async () => {
      const r = await agent.client.get<Desk>('/api/agent/desk?timeZone=Asia/Shanghai');
      const first = r.body.active?.[0];
      return (first?.attempt as { partyConnected?: boolean } | undefined)?.partyConnected && first?.recording ? r : undefined;
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.body.active).toHaveLength(1);
    const live = res.body.active[0]!;
    expect(live).toMatchObject({
      id: sessionId,
      kind: 'CALL',
      state: 'IN_PROGRESS',
      loan: { product: 'consumer-loan', productName: null, amount: '80000.00', currency: 'CNY' },
      party: { name: '赵敏', role: 'BORROWER', phoneLast4: '0100', locale: 'zh-CN' },
      attempt: { number: 1, partyConnected: true },
    });
    expect(JSON.stringify(res.body)).not.toContain('13805550100');
    expect((live.recording as { state: string }).state).toMatch(/REQUESTED|ACTIVE/);
    // Shanghai has no DST: the local day is exactly 24 hours starting at 16:00Z.
    expect(Date.parse(res.body.day.end) - Date.parse(res.body.day.start)).toBe(86_400_000);
    expect(res.body.day.start).toMatch(/T16:00:00\.000Z$/);
  });

  it('shows one session to its agent and supervisors only', async () => {
    expect((await agent.client.get(`/api/agent/sessions/${sessionId}`)).status).toBe(200);
    const other = await t.signIn({ roles: ['AGENT'] });
    // Another agent's session is not theirs to know of: 404, as for an unknown id.
    const refused = await other.get<{ code: string }>(`/api/agent/sessions/${sessionId}`);
    expect(refused.status).toBe(404);
    expect(refused.body.code).toBe('NOT_FOUND');
    const supervisor = await t.signIn({ roles: ['SUPERVISOR'] });
    expect((await supervisor.get(`/api/agent/sessions/${sessionId}`)).status).toBe(200);
    const auditor = await t.signIn({ roles: ['AUDITOR'] });
    expect((await auditor.get(`/api/agent/sessions/${sessionId}`)).status).toBe(403);
    expect((await auditor.get('/api/agent/desk')).status).toBe(403);
    expect((await t.client().get('/api/agent/desk')).status).toBe(401);
  });

  it('names a bad time zone', async () => {
    const res = await agent.client.get<{ code: string; errors: { field: string; message: string }[] }>('/api/agent/desk?timeZone=Mars/Olympus');
    expect(res.status).toBe(400);
    expect(res.body.errors[0]).toMatchObject({ field: 'timeZone', message: expect.stringContaining('IANA') });
  });

  it('moves a finished session to "handled today"', async () => {
    const checklist = await agent.client.get<{ items: { id: string }[] }>(`/api/sessions/${sessionId}/checklist`);
    for (const item of checklist.body.items) await agent.client.request('PUT', `/api/sessions/${sessionId}/answers/${item.id}`, { value: 'CONFIRMED' });
    expect((await agent.client.post(`/api/sessions/${sessionId}/complete`)).status).toBe(200);
    const res = await agent.client.get<{ active: unknown[]; today: { id: string; outcome: string }[] }>('/api/agent/desk?timeZone=UTC');
    expect(res.body.active).toEqual([]);
    expect(res.body.today).toEqual([expect.objectContaining({ id: sessionId, outcome: 'PASSED' })]);
  });
});

describe('calls that have not reached the party', () => {
  type Desk = { active: DeskView[]; today: DeskView[]; upcoming: DeskView[] };
  type DeskView = { id: string; state: string; lastDialOutcome: string | null; nextAttemptAt: string | null; attempt: { partyConnected: boolean; callStatus: string | null } | null };

  it('shows a ringing phone as ringing, never as a connected party', async () => {
    const ringer = await onlineAgent(t, 'desk-ringing');
    try {
      const los = await losClient(t);
      // The simulator's …22 rings until the ringing timeout.
      const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550122', product: 'desk-ringing' });
      const ringing = await scheduleCall(los, loanFileId, partyId);
      await takeOffer(ringer, ringing);
      await stateOf(t, ringing, 'RINGING');
      // The phone's participant joined the room when it was dialled; it is not the party on the line.
      // storage: the room's participants are not exposed; the API shows only whether the party is connected
      await eventually(async () => (await t.facesign.db.attemptParticipant.count({ where: { attempt: { sessionId: ringing }, kind: 'PARTY', joinedAt: { not: null } } })) > 0);
      const r = await ringer.client.get<Desk>('/api/agent/desk?timeZone=Asia/Shanghai');
      expect(r.body.active.find((a) => a.id === ringing)).toMatchObject({ state: 'RINGING', attempt: { partyConnected: false } });
      await t.facesign.verification.scheduling.cancel(ringing, 'test over', { actor: { type: 'SYSTEM' }, requestId: 'test', scope: 'test' });
    } finally {
      await ringer.socket.close();
    }
  });

  it('keeps a busy line on the desk with the dial outcome and the next attempt', async () => {
    const dialler = await onlineAgent(t, 'desk-busy');
    try {
      const los = await losClient(t);
      // The simulator's …20 is busy.
      const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550120', product: 'desk-busy' });
      const busy = await scheduleCall(los, loanFileId, partyId);
      await takeOffer(dialler, busy);
      const pending = await stateOf(t, busy, 'RETRY_PENDING');
      const res = await dialler.client.get<Desk>('/api/agent/desk?timeZone=Asia/Shanghai');
      expect(res.body.active.find((s) => s.id === busy)).toBeUndefined();
      // In one place: still to come, not "handled today".
      expect(res.body.today.find((s) => s.id === busy)).toBeUndefined();
      const listed = res.body.upcoming.find((s) => s.id === busy);
      expect(listed).toMatchObject({ state: 'RETRY_PENDING', lastDialOutcome: 'BUSY', nextAttemptAt: pending.nextAttemptAt });
      expect(Date.parse(listed!.nextAttemptAt!)).toBeGreaterThan(Date.now());
      await t.facesign.verification.scheduling.cancel(busy, 'test over', { actor: { type: 'SYSTEM' }, requestId: 'test', scope: 'test' });
    } finally {
      await dialler.socket.close();
    }
  });
});

describe('presence heartbeats', () => {
  it('say when the presence lapsed, so the console can state it again', async () => {
    const online = await onlineAgent(t, 'heartbeat-check');
    try {
      expect(await online.socket.emit('heartbeat', {})).toEqual({ ok: true, lapsed: false });
      // Redis restarted empty (or the laptop slept past the TTL): the agent would stay away while online.
      await t.facesign.redis.multi().hdel('presence', online.userId).del(`presence:alive:${online.userId}`).exec();
      expect(await t.facesign.verification.presence.get(online.userId)).toBe('away');
      expect(await online.socket.emit('heartbeat', {})).toEqual({ ok: true, lapsed: true });
      expect(await online.socket.emit('presence:set', { presence: 'available' })).toEqual({ ok: true });
      expect(await t.facesign.verification.presence.get(online.userId)).toBe('available');
      expect(await online.socket.emit('heartbeat', {})).toEqual({ ok: true, lapsed: false });
    } finally {
      await online.socket.close();
    }
  });
});

describe('a checklist item whose id names a property every object inherits', () => {
  it('stays open until answered: completing without it names it, and its answer then decides', async () => {
    // `constructor` matches the item id pattern; an object lookup would find Object's constructor and
    // count the item as answered, letting the agent submit PASSED without asking it.
    await publishCallTemplateWithItemId(t, 'call-inherited-ids', 'constructor');

    const desk = await onlineAgent(t, 'inherited-ids');
    try {
      const los = await losClient(t);
      const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550100', product: 'inherited-ids' });
      const id = await scheduleCall(los, loanFileId, partyId, { templateKey: 'call-inherited-ids' });
      await takeOffer(desk, id);
      await stateOf(t, id, 'IN_PROGRESS');

      const checklist = await desk.client.get<{ items: { id: string; required: boolean; answer: unknown }[] }>(`/api/sessions/${id}/checklist`);
      expect(checklist.body.items.find((item) => item.id === 'constructor')).toMatchObject({ required: true, answer: null });
      for (const item of checklist.body.items.filter((i) => i.required && i.id !== 'constructor')) {
        expect((await desk.client.request('PUT', `/api/sessions/${id}/answers/${item.id}`, { value: 'CONFIRMED' })).status).toBe(200);
      }
      const early = await desk.client.post<{ code: string; errors: { field: string }[] }>(`/api/sessions/${id}/complete`);
      expect(early.status).toBe(422);
      expect(early.body.code).toBe('CHECKLIST_INCOMPLETE');
      expect(early.body.errors.map((e) => e.field)).toEqual(['items.constructor']);

      expect((await desk.client.request('PUT', `/api/sessions/${id}/answers/constructor`, { value: 'DENIED' })).status).toBe(200);
      const done = await desk.client.post<{ session: { outcome: string }; reasons: string[] }>(`/api/sessions/${id}/complete`);
      expect(done.status).toBe(200);
      expect(done.body.session.outcome).toBe('FAILED');
      expect(done.body.reasons).toEqual(['required_denied:constructor']);
    } finally {
      await desk.socket.close();
    }
  });
});
