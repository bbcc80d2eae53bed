// Reads through the public API, for tests that check what a user of facesign would see rather than
// how it is stored. Each helper expects a 200 and returns the body typed by the OpenAPI document.
import { expect } from 'vitest';
import type { components } from '../../agent-console/src/shared/api-schema.js';
import type { ApiClient } from './api-client.js';

type Schemas = components['schemas'];
export type SessionView = Schemas['VerificationSession'];
export type LoanFileView = Schemas['LoanFile'];
export type VerificationView = Schemas['LoanFileVerification'];
export type VerificationSessionView = VerificationView['parties'][number]['sessions'][number];
export type ChecklistView = Schemas['Checklist'];
export type ReviewFileView = Schemas['SessionReviewFile'];
export type ReviewView = Schemas['Review'];
export type RecordingRetentionView = Schemas['RecordingRetention'];

async function read<T>(client: ApiClient, path: string): Promise<T> {
  const res = await client.get<T>(path);
  expect(res.status, `GET ${path}`).toBe(200);
  return res.body;
}

/** `GET /api/sessions/:id` (agents, staff, or a key with `sessions:read`). */
export const sessionOf = (client: ApiClient, sessionId: string) => read<SessionView>(client, `/api/sessions/${sessionId}`);

/** `GET /api/loan-files/:id` with its parties. */
export const loanFileOf = (client: ApiClient, loanFileId: string) => read<LoanFileView>(client, `/api/loan-files/${loanFileId}`);

/** `GET /api/loan-files/:id/verification`: per party, sessions with attempts, answers, flags, signing. */
export const verificationOf = (client: ApiClient, loanFileId: string) => read<VerificationView>(client, `/api/loan-files/${loanFileId}/verification`);

/** One session of a loan file's verification. */
export async function verifiedSessionOf(client: ApiClient, loanFileId: string, sessionId: string): Promise<VerificationSessionView> {
  const sessions = (await verificationOf(client, loanFileId)).parties.flatMap((p) => p.sessions);
  const session = sessions.find((s) => s.id === sessionId);
  expect(session, `session ${sessionId} in loan file ${loanFileId}`).toBeDefined();
  return session!;
}

/** The sessions scheduled for a party, newest first. */
export async function partySessions(client: ApiClient, loanFileId: string, partyId: string): Promise<VerificationSessionView[]> {
  const party = (await verificationOf(client, loanFileId)).parties.find((p) => p.partyId === partyId);
  return [...(party?.sessions ?? [])].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

/** `GET /api/sessions/:id/checklist`: items in the session's order, with answers and flags. */
export const checklistOf = (client: ApiClient, sessionId: string) => read<ChecklistView>(client, `/api/sessions/${sessionId}/checklist`);

/** The answers given so far, by item id. */
export async function answersOf(client: ApiClient, sessionId: string) {
  const items = (await checklistOf(client, sessionId)).items;
  return new Map(items.flatMap((item) => (item.answer ? [[item.id, item.answer] as const] : [])));
}

/** `GET /api/review-desk/sessions/:id` (auditors; reading it is not audited). */
export const reviewFileOf = (client: ApiClient, sessionId: string) => read<ReviewFileView>(client, `/api/review-desk/sessions/${sessionId}`);

/** `GET /api/sessions/:id/evidence` as JSON (the export is audited). */
export const evidenceOf = (client: ApiClient, sessionId: string) => read<Record<string, unknown>>(client, `/api/sessions/${sessionId}/evidence?format=json`);

export interface EvidenceAuditEvent {
  action: string;
  entityType: string;
  entityId: string;
  actorType: string;
  actorId: string | null;
  requestId: string | null;
  data: Record<string, unknown>;
  occurredAt: string;
}

/** The audit events the evidence manifest carries for a session (its own, its attempts', recordings', captures'). */
export async function auditEventsOf(client: ApiClient, sessionId: string): Promise<EvidenceAuditEvent[]> {
  const manifest = (await evidenceOf(client, sessionId)) as { auditChain: { events: EvidenceAuditEvent[] } };
  return manifest.auditChain.events;
}

/** The session's randomised item order, as the evidence manifest records it. */
export async function itemOrderOf(client: ApiClient, sessionId: string): Promise<string[]> {
  const manifest = (await evidenceOf(client, sessionId)) as { session: { itemOrder: string[] } };
  return manifest.session.itemOrder;
}

/** The signed-in agent's pending offers of one session (`GET /api/agent/offers`). */
export async function pendingOffersOf(agent: ApiClient, sessionId: string): Promise<Schemas['SessionOffer'][]> {
  const offers = await read<{ items: Schemas['SessionOffer'][] }>(agent, '/api/agent/offers');
  return offers.items.filter((o) => o.sessionId === sessionId);
}
