// A confirmation call end to end, through the real app, workers, Postgres, Redis, s3rver and the
// LiveKit simulator: the LOS asks for a call; the due job offers it to a free agent over the socket;
// the agent accepts; the call is dialled and answered; the agent walks the checklist and completes;
// the outcome reaches the loan file and the LOS receives a signed webhook.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLosWebhook } from '../../server/loan-files/los-webhooks.service.js';
import { connectAgent, type AgentSocket } from '../support/agent-socket.js';
import type { ApiClient } from '../support/api-client.js';
import { eventually, LOAN_TERMS } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { HttpSink } from '../support/http-sink.js';
import { answersOf, auditEventsOf, reviewFileOf, sessionOf, verifiedSessionOf } from '../support/reads.js';
import { verifySealedChain } from '../support/audit.js';

const LOS_SECRET = 'los-webhook-secret-for-tests';
let t: TestApp;
let los: ApiClient;
let agent: ApiClient;
/** Reads the session as a compliance auditor would. */
let auditor: ApiClient;
let agentSocket: AgentSocket;
let losSink: HttpSink;

interface Checklist {
  items: { id: string; required: boolean; answer: { value: string; offsetMs: number | null } | null }[];
}

beforeAll(async () => {
  losSink = await HttpSink.start();
  t = await startTestApp(
    { LOS_WEBHOOK_URL: `${losSink.url}/facesign`, LOS_WEBHOOK_SECRET: LOS_SECRET, CALLING_HOURS: '00:00-24:00', CALLING_DAYS: 'MON,TUE,WED,THU,FRI,SAT,SUN' },
    { livekit: true },
  );
  const admin = await t.signIn({ roles: ['ADMIN'] });
  const key = await admin.post<{ key: string }>('/api/api-keys', { name: 'LOS', scopes: ['loan-files:read', 'loan-files:write', 'sessions:read', 'sessions:write'] });
  los = t.client().withApiKey(key.body.key);
  agent = await t.signIn({ roles: ['AGENT'], languages: ['zh-CN'], skills: ['consumer-loan'] });
  auditor = await t.signIn({ roles: ['AUDITOR'] });
  agentSocket = await connectAgent(t.url, agent);
  expect(await agentSocket.emit('presence:set', { presence: 'available' })).toEqual({ ok: true });
});
afterAll(async () => {
  agentSocket?.close();
  await t?.stop();
  await losSink?.stop();
});

async function loanFileWithBorrower(ref: string, phone: string) {
  const res = await los.post<{ id: string; parties: { id: string }[] }>('/api/loan-files', {
    externalRef: ref,
    product: 'consumer-loan',
    amount: '50000.00',
    currency: 'CNY',
    terms: LOAN_TERMS,
    parties: [{ role: 'BORROWER', fullName: '王芳', phoneE164: phone, timeZone: 'Asia/Shanghai', locale: 'zh-CN', idNumberLast4: '1234' }],
  });
  expect(res.status).toBe(201);
  return { loanFileId: res.body.id, partyId: res.body.parties[0]!.id };
}

describe('confirmation call happy path', () => {
  it('goes from the LOS request to a PASSED outcome and a signed webhook', async () => {
    const { loanFileId, partyId } = await loanFileWithBorrower('CALL-HAPPY-1', '+8613805550100');
    const scheduled = await los.post<{ id: string; state: string; templateKey: string }>(`/api/loan-files/${loanFileId}/sessions`, { partyId, kind: 'CALL' });
    expect(scheduled.status).toBe(201);
    expect(scheduled.body).toMatchObject({ state: 'SCHEDULED', templateKey: 'call-default' });
    const sessionId = scheduled.body.id;

    // The due job routes it to the only free agent, who is told over the socket.
    const offer = await agentSocket.next('offer:new', (p) => p.sessionId === sessionId);
    expect(offer).toMatchObject({ v: 1, kind: 'CALL' });
    const accepted = await agent.post<{ room: string; token: string; livekitUrl: string }>(`/api/offers/${String(offer.offerId)}/accept`);
    expect(accepted.status).toBe(200);
    expect(accepted.body.room).toMatch(/^fs-/);
    // The accepted offer's timeout job is gone rather than left to fire for nothing.
    await eventually(async () => (await t.facesign.queues.queue('offer-timeout').getJob(`offer-${String(offer.offerId)}`)) === undefined);

    // The dial job calls the party; the scripted number answers at once.
    await eventually(async () => (await sessionOf(los, sessionId)).state === 'IN_PROGRESS');
    const [attempt, ...others] = (await reviewFileOf(auditor, sessionId)).attempts;
    expect(others).toEqual([]);
    expect(attempt).toMatchObject({ number: 1, dialOutcome: 'ANSWERED' });
    expect(attempt!.recordingStartedAt).not.toBeNull();
    expect(t.sim!.control.state().calls.filter((c) => c.room === accepted.body.room)).toHaveLength(1);

    // The agent follows the session live and walks the checklist, one acknowledged answer at a time.
    expect(await agentSocket.emit('session:watch', { sessionId })).toEqual({ ok: true });
    const checklist = await agent.get<Checklist>(`/api/sessions/${sessionId}/checklist`);
    expect(checklist.status).toBe(200);
    const required = checklist.body.items.filter((i) => i.required);
    expect(required.length).toBeGreaterThanOrEqual(8);
    const early = await agent.post<{ code: string; errors: { field: string }[] }>(`/api/sessions/${sessionId}/complete`);
    expect(early.status).toBe(422);
    expect(early.body.code).toBe('CHECKLIST_INCOMPLETE');
    expect(early.body.errors).toHaveLength(required.length);
    for (const item of required) {
      const saved = await agent.request<{ value: string; offsetMs: number }>('PUT', `/api/sessions/${sessionId}/answers/${item.id}`, { value: 'CONFIRMED' });
      expect(saved.status).toBe(200);
      expect(saved.body.offsetMs).toBeGreaterThanOrEqual(0);
    }
    await agentSocket.next('checklist:changed', (p) => p.sessionId === sessionId);
    // A changed answer is a new revision, and each revision has its own audit event saying so.
    const first = required[0]!;
    const changed = await agent.request<{ value: string; revision: number; note: string | null }>('PUT', `/api/sessions/${sessionId}/answers/${first.id}`, { value: 'UNCLEAR', note: 'asked again' });
    expect(changed.body).toMatchObject({ value: 'UNCLEAR', revision: 2, note: 'asked again' });
    const back = await agent.request<{ value: string; revision: number }>('PUT', `/api/sessions/${sessionId}/answers/${first.id}`, { value: 'CONFIRMED' });
    expect(back.body).toMatchObject({ value: 'CONFIRMED', revision: 3 });
    // Checked before the evidence export below, which appends its own audit event.
    expect(await verifySealedChain(t.facesign.db)).toMatchObject({ ok: true, unsealed: 0 });
    const answered = (await auditEventsOf(auditor, sessionId)).filter((e) => e.entityId === sessionId && e.action === 'checklist.answered');
    expect(answered.filter((e) => (e.data as { itemId: string }).itemId === first.id).map((e) => e.data)).toEqual([
      expect.objectContaining({ value: 'CONFIRMED', revision: 1, noted: false }),
      expect.objectContaining({ value: 'UNCLEAR', revision: 2, noted: true }),
      expect.objectContaining({ value: 'CONFIRMED', revision: 3, noted: false }),
    ]);
    expect(answered.every((e) => e.actorId !== null && e.requestId !== null)).toBe(true);

    // The write itself checks the session: an answer racing a change to it waits for that change and
    // is then refused like any answer to a session that is not the agent's (here, unassigned and back).
    const { assignedAgentId } = await sessionOf(los, sessionId);
    const other = new pg.Client({ connectionString: t.facesign.config.database.url });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query(`UPDATE "VerificationSession" SET "assignedAgentId" = NULL WHERE "id" = $1`, [sessionId]);
      const racing = agent.request<{ code: string }>('PUT', `/api/sessions/${sessionId}/answers/${first.id}`, { value: 'DENIED' });
      const settled = await Promise.race([racing.then(() => 'answered'), new Promise((resolve) => setTimeout(() => resolve('waiting'), 500))]);
      expect(settled).toBe('waiting');
      await other.query('COMMIT');
      const refused = await racing;
      expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 404, code: 'NOT_FOUND' });
      await other.query(`UPDATE "VerificationSession" SET "assignedAgentId" = $2 WHERE "id" = $1`, [sessionId, assignedAgentId]);
    } finally {
      await other.end();
    }
    expect((await answersOf(auditor, sessionId)).get(first.id)?.value).toBe('CONFIRMED');

    const ended = await agent.post<{ state: string }>(`/api/sessions/${sessionId}/end`);
    expect(ended.body.state).toBe('WRAP_UP');
    const completed = await agent.post<{ session: { state: string; outcome: string } }>(`/api/sessions/${sessionId}/complete`);
    expect(completed.status).toBe(200);
    expect(completed.body.session).toMatchObject({ state: 'COMPLETED', outcome: 'PASSED' });

    // The loan file follows, and the LOS gets a correctly signed webhook.
    const summary = await los.get<{ status: string; parties: { sessions: { outcome: string; answers: { offsetMs: number }[]; attempts: { recording: unknown }[] }[] }[] }>(`/api/loan-files/${loanFileId}/verification`);
    expect(summary.body.status).toBe('VERIFIED');
    expect(summary.body.parties[0]!.sessions[0]!.answers).toHaveLength(required.length);
    const hook = await losSink.until((r) => r.body.includes(sessionId) && r.body.includes('verification.completed'));
    expect(verifyLosWebhook(LOS_SECRET, hook.headers['facesign-signature'] as string, hook.body, Math.floor(Date.now() / 1000))).toBe(true);
    const event = JSON.parse(hook.body) as { type: string; loanFileId: string; externalRef: string; data: { outcome: string } };
    expect(event).toMatchObject({ type: 'verification.completed', loanFileId, externalRef: 'CALL-HAPPY-1', data: { outcome: 'PASSED' } });
    expect(hook.body).not.toContain('13805550100');

    // The call was recorded to S3, verified (size and SHA-256) and put under retention.
    const recording = await eventually(async () => {
      const r = (await reviewFileOf(auditor, sessionId)).attempts.find((a) => a.id === attempt!.id)?.recording;
      return r?.state === 'RETAINED' ? r : undefined;
    });
    const reported = (await verifiedSessionOf(los, loanFileId, sessionId)).attempts.find((a) => a.id === attempt!.id)?.recording;
    expect(recording.audioOnly).toBe(true);
    expect(recording.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(recording.sizeBytes).not.toBeNull();
    expect(recording.sizeBytes).toBe(reported?.reportedSize);
    expect(new Date(recording.retainUntil!).getTime()).toBeGreaterThan(Date.now() + 9 * 365 * 86_400_000);
  });
});
