// Building blocks for verification-flow tests: an LOS API client, agents online over the socket,
// loan files with a borrower, and taking offers. Each test uses its own product skill, so only its
// own agents are eligible and routing is deterministic.
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { loadTemplateFiles, publishTemplates } from '../../server/checklists/templates.js';
import type { ApiClient } from './api-client.js';
import { connectAgent, type AgentSocket } from './agent-socket.js';
import { eventually, LOAN_TERMS } from './fixtures.js';
import type { TestApp } from './harness.js';
import { sessionOf, type SessionView } from './reads.js';

export const ALWAYS_OPEN = { CALLING_HOURS: '00:00-24:00', CALLING_DAYS: 'MON,TUE,WED,THU,FRI,SAT,SUN' } as const;

export async function losClient(t: TestApp): Promise<ApiClient> {
  const admin = await t.signIn({ roles: ['ADMIN'] });
  const key = await admin.post<{ key: string }>('/api/api-keys', { name: 'LOS', scopes: ['loan-files:read', 'loan-files:write', 'sessions:read', 'sessions:write'] });
  return t.client().withApiKey(key.body.key);
}

export interface OnlineAgent {
  client: ApiClient;
  socket: AgentSocket;
  userId: string;
  /** Offers this agent has already taken or passed on. */
  seenOffers: Set<string>;
}

export async function onlineAgent(t: TestApp, skill: string, languages = ['zh-CN']): Promise<OnlineAgent> {
  const client = await t.signIn({ roles: ['AGENT'], languages, skills: [skill] });
  const me = await client.get<{ id: string }>('/api/auth/me');
  const socket = await connectAgent(t.url, client);
  expect(await socket.emit('presence:set', { presence: 'available' })).toEqual({ ok: true });
  return { client, socket, userId: me.body.id, seenOffers: new Set() };
}

export async function loanFileWithBorrower(los: ApiClient, options: { phone: string; product: string; timeZone?: string; locale?: 'zh-CN' | 'en'; productName?: { 'zh-CN'?: string; en?: string } }) {
  const res = await los.post<{ id: string; parties: { id: string }[] }>('/api/loan-files', {
    externalRef: `T-${randomUUID().slice(0, 12)}`,
    product: options.product,
    ...(options.productName ? { productName: options.productName } : {}),
    amount: '80000.00',
    currency: 'CNY',
    terms: LOAN_TERMS,
    parties: [{ role: 'BORROWER', fullName: '赵敏', phoneE164: options.phone, timeZone: options.timeZone ?? 'Asia/Shanghai', locale: options.locale ?? 'zh-CN' }],
  });
  expect(res.status).toBe(201);
  return { loanFileId: res.body.id, partyId: res.body.parties[0]!.id };
}

export async function scheduleCall(los: ApiClient, loanFileId: string, partyId: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await los.post<{ id: string }>(`/api/loan-files/${loanFileId}/sessions`, { partyId, kind: 'CALL', ...extra });
  expect(res.status).toBe(201);
  return res.body.id;
}

/** Waits for this agent's offer of the session and accepts it. */
export async function takeOffer(agent: OnlineAgent, sessionId: string) {
  const offer = await agent.socket.next('offer:new', (p) => p.sessionId === sessionId && !agent.seenOffers.has(String(p.offerId)));
  agent.seenOffers.add(String(offer.offerId));
  const accepted = await agent.client.post<{ room: string }>(`/api/offers/${String(offer.offerId)}/accept`);
  expect(accepted.status).toBe(200);
  return { offerId: String(offer.offerId), room: accepted.body.room };
}

const auditors = new WeakMap<TestApp, Promise<ApiClient>>();

/** An auditor who reads sessions, answers and audit events for test helpers: one per app (sign-ins are rate limited), signed in on first use. */
export function auditorOf(t: TestApp): Promise<ApiClient> {
  let auditor = auditors.get(t);
  if (!auditor) {
    auditor = t.signIn({ roles: ['AUDITOR'], displayName: 'Test Reader' });
    auditors.set(t, auditor);
  }
  return auditor;
}

/** Waits until the session is in one of the wanted states, and returns it as `GET /api/sessions/:id` shows it. */
export async function stateOf(t: TestApp, sessionId: string, wanted: string | string[]): Promise<SessionView> {
  const states = Array.isArray(wanted) ? wanted : [wanted];
  const reader = await auditorOf(t);
  return eventually(async () => {
    const s = await sessionOf(reader, sessionId);
    return states.includes(s.state) ? s : undefined;
  });
}

export async function answerAllRequired(agent: OnlineAgent, sessionId: string, value: (itemId: string) => string = () => 'CONFIRMED'): Promise<void> {
  const checklist = await agent.client.get<{ items: { id: string; required: boolean }[] }>(`/api/sessions/${sessionId}/checklist`);
  for (const item of checklist.body.items.filter((i) => i.required)) {
    const res = await agent.client.request('PUT', `/api/sessions/${sessionId}/answers/${item.id}`, { value: value(item.id) });
    expect(res.status).toBe(200);
  }
}

/** Publishes the shipped call-default script as `key`, its first required item renamed to `itemId`. */
export async function publishCallTemplateWithItemId(t: TestApp, key: string, itemId: string): Promise<void> {
  const base = (await loadTemplateFiles()).find((d) => d.key === 'call-default')!;
  const renamed = base.sections.flatMap((section) => section.items).find((item) => item.required)!.id;
  const sections = base.sections.map((section) => ({ ...section, items: section.items.map((item) => (item.id === renamed ? { ...item, id: itemId } : item)) }));
  await publishTemplates(t.facesign.db, [{ ...base, key, sections }]);
}
