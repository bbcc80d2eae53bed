// The auditor's desk API: paginated session search (loan reference prefix, state, outcome, review
// status, creation time) with a stable keyset cursor, and one session's review file — checklist
// with each answer's offset and attempt, the recording's hash state — for auditors and supervisors only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../support/api-client.js';
import { eventually } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { evidenceOf, loanFileOf, verifiedSessionOf } from '../support/reads.js';
import { ALWAYS_OPEN, answerAllRequired, loanFileWithBorrower, losClient, onlineAgent, scheduleCall, stateOf, takeOffer, type OnlineAgent } from '../support/verification.js';

interface SearchPage {
  items: { id: string; loanRef: string; state: string; outcome: string | null; agentName: string | null; review: { id: string; status: string; reason: string } | null }[];
  nextCursor: string | null;
}
interface ReviewFile {
  session: { id: string; state: string; outcome: string | null };
  loanFile: { externalRef: string; amount: string };
  party: { name: string };
  agent: { displayName: string } | null;
  viewerRanSession: boolean;
  items: { id: string; required: boolean; prompt: { en: string; 'zh-CN': string }; answer: { value: string; offsetMs: number | null; attemptId: string | null } | null }[];
  attempts: { id: string; recording: { id: string; state: string; sha256: string | null; contentType: string | null } | null }[];
  review: { id: string; status: string; reason: string } | null;
}

let t: TestApp;
let los: ApiClient;
let agent: OnlineAgent;
let auditor: ApiClient;
interface Booked {
  id: string;
  loanFileId: string;
  ref: string;
}
const sessions: Booked[] = [];

beforeAll(async () => {
  // Every loan of 80 000 is reviewed (threshold 70 000).
  t = await startTestApp({ ...ALWAYS_OPEN, REVIEW_AMOUNT_THRESHOLD: '70000' }, { livekit: true });
  los = await losClient(t);
  agent = await onlineAgent(t, 'desk');
  auditor = await t.signIn({ roles: ['AUDITOR'] });
  for (let i = 0; i < 2; i += 1) {
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550100', product: 'desk' });
    const id = await scheduleCall(los, loanFileId, partyId);
    await takeOffer(agent, id);
    await stateOf(t, id, 'IN_PROGRESS');
    await answerAllRequired(agent, id);
    expect((await agent.client.post(`/api/sessions/${id}/complete`)).status).toBe(200);
    sessions.push({ id, loanFileId, ref: (await loanFileOf(los, loanFileId)).externalRef });
  }
  // A third, still scheduled (nobody takes it).
  await agent.socket.emit('presence:set', { presence: 'away' });
  const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550100', product: 'desk' });
  const open = await scheduleCall(los, loanFileId, partyId);
  sessions.push({ id: open, loanFileId, ref: (await loanFileOf(los, loanFileId)).externalRef });
}, 120_000);
afterAll(async () => {
  agent?.socket.close();
  await t?.stop();
});

describe('GET /api/review-desk/sessions', () => {
  it('finds by loan reference prefix, state, outcome and review status', async () => {
    const [first, second, open] = sessions as [Booked, Booked, Booked];
    const byRef = await auditor.get<SearchPage>(`/api/review-desk/sessions?loanRef=${encodeURIComponent(first.ref.slice(0, 10).toLowerCase())}`);
    expect(byRef.status).toBe(200);
    expect(byRef.body.items.map((s) => s.id)).toEqual([first.id]);
    expect(byRef.body.items[0]).toMatchObject({ loanRef: first.ref, state: 'COMPLETED', outcome: 'PASSED', review: { status: 'PENDING', reason: 'AMOUNT' } });
    expect(byRef.body.items[0]!.agentName).toMatch(/^Test User/);

    const pending = await auditor.get<SearchPage>('/api/review-desk/sessions?reviewStatus=PENDING&order=oldest');
    expect(pending.body.items.map((s) => s.id)).toEqual([first.id, second.id]);
    const scheduled = await auditor.get<SearchPage>('/api/review-desk/sessions?state=SCHEDULED');
    expect(scheduled.body.items.map((s) => s.id)).toEqual([open.id]);
    const failed = await auditor.get<SearchPage>('/api/review-desk/sessions?outcome=FAILED');
    expect(failed.body.items).toEqual([]);
    const future = await auditor.get<SearchPage>(`/api/review-desk/sessions?from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
    expect(future.body.items).toEqual([]);
  });

  it('pages through newest first with a cursor, without gaps or repeats', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: SearchPage } = await auditor.get<SearchPage>(`/api/review-desk/sessions?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(1);
      seen.push(...page.body.items.map((s) => s.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(sessions.map((s) => s.id).reverse());
  });

  it('refuses a forged cursor, a reversed range, agents and API keys', async () => {
    const forged = await auditor.get<{ code: string; errors: { field: string }[] }>('/api/review-desk/sessions?cursor=bm90LWEtY3Vyc29y');
    expect(forged.status).toBe(400);
    expect(forged.body.errors[0]!.field).toBe('cursor');
    const reversed = await auditor.get<{ errors: { field: string }[] }>('/api/review-desk/sessions?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z');
    expect(reversed.status).toBe(400);
    expect(reversed.body.errors[0]!.field).toBe('to');
    expect((await agent.client.get('/api/review-desk/sessions')).status).toBe(403);
    expect((await los.get('/api/review-desk/sessions')).status).toBe(403);
    expect((await (await t.signIn({ roles: ['SUPERVISOR'] })).get('/api/review-desk/sessions')).status).toBe(200);
  });
});

describe('GET /api/review-desk/sessions/:id', () => {
  it('gives the checklist with offsets, the verified recording and the review, personal data masked', async () => {
    const { id, loanFileId } = sessions[0]!;
    // Cross-checked against what the LOS result and the evidence manifest say.
    const reported = await eventually(async () => {
      const r = (await verifiedSessionOf(los, loanFileId, id)).attempts[0]?.recording;
      return r?.state === 'RETAINED' ? r : undefined;
    });
    const manifest = (await evidenceOf(auditor, id)) as { recordings: { id: string; sha256: string | null }[] };
    const recording = manifest.recordings.find((r) => r.id === reported.id)!;
    expect(recording.sha256).toMatch(/^[0-9a-f]{64}$/);
    const res = await auditor.get<ReviewFile>(`/api/review-desk/sessions/${id}`);
    expect(res.status).toBe(200);
    const file = res.body;
    expect(file.session).toMatchObject({ id, state: 'COMPLETED', outcome: 'PASSED' });
    expect(file.loanFile.amount).toBe('80000.00');
    expect(file.party.name).toBe('赵*');
    expect(file.viewerRanSession).toBe(false);
    expect(file.review).toMatchObject({ status: 'PENDING', reason: 'AMOUNT' });
    const attempt = file.attempts[0]!;
    expect(attempt.recording).toMatchObject({ id: recording.id, state: 'RETAINED', sha256: recording.sha256, contentType: 'audio/ogg' });
    const required = file.items.filter((i) => i.required);
    expect(required.length).toBeGreaterThan(0);
    for (const item of required) {
      expect(item.prompt.en.length).toBeGreaterThan(0);
      expect(item.answer).toMatchObject({ value: 'CONFIRMED', attemptId: attempt.id });
      expect(item.answer!.offsetMs).toBeGreaterThanOrEqual(0);
    }
    const stored = (await verifiedSessionOf(los, loanFileId, id)).answers;
    expect(Object.fromEntries(required.map((i) => [i.id, i.answer!.offsetMs]))).toEqual(Object.fromEntries(stored.map((a) => [a.itemId, a.offsetMs])));
  });

  it('is closed to agents, and answers 404 for an unknown session', async () => {
    const { id } = sessions[0]!;
    expect((await agent.client.get(`/api/review-desk/sessions/${id}`)).status).toBe(403);
    expect((await auditor.get('/api/review-desk/sessions/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });
});
