// Reads through the public API, for tests that check what a user of facesign would see rather than
// how it is stored. Each helper expects a 200 and returns the body typed by the OpenAPI document.
import { expect } from 'vitest';
import type { components, paths } from '../../agent-console/src/shared/api-schema.js';
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

// Attempts and recordings, for the LiveKit, recording and call tests.

export type AttemptView = VerificationSessionView['attempts'][number];
export type ReviewedRecordingView = NonNullable<ReviewFileView['attempts'][number]['recording']>;

/** One attempt of a session, as the loan file's verification shows it (with its recording's state and reported size). */
export async function attemptOf(client: ApiClient, loanFileId: string, sessionId: string, attemptId: string): Promise<AttemptView> {
  const attempt = (await verifiedSessionOf(client, loanFileId, sessionId)).attempts.find((a) => a.id === attemptId);
  expect(attempt, `attempt ${attemptId} of session ${sessionId}`).toBeDefined();
  return attempt!;
}

/** A recording as an auditor's review file shows it: state, hash, size, failure, integrity check, retention. */
export async function reviewedRecordingOf(auditor: ApiClient, sessionId: string, recordingId: string): Promise<ReviewedRecordingView> {
  const recording = (await reviewFileOf(auditor, sessionId)).attempts.flatMap((a) => (a.recording ? [a.recording] : [])).find((r) => r.id === recordingId);
  expect(recording, `recording ${recordingId} of session ${sessionId}`).toBeDefined();
  return recording!;
}

/** An audit event as the evidence manifest exports it, with when it was recorded (`occurredAt` is the business time). */
export type ChainedAuditEvent = EvidenceAuditEvent & { seq: string; recordedAt: string };

/** `GET /api/recordings/:id/retention`: state, retain-until, legal hold, lock mode, who enforces them. */
export const retentionOf = (client: ApiClient, recordingId: string) => read<RecordingRetentionView>(client, `/api/recordings/${recordingId}/retention`);

/** The audit events the evidence manifest carries for one entity of the session (e.g. a recording), in chain order. */
export async function entityAuditEventsOf(client: ApiClient, sessionId: string, entityId: string): Promise<ChainedAuditEvent[]> {
  return ((await auditEventsOf(client, sessionId)) as ChainedAuditEvent[]).filter((e) => e.entityId === entityId);
}

export type AuditEventView = Schemas['AuditEventPage']['items'][number];
export type AuditEventFilter = Omit<NonNullable<paths['/api/audit-events']['get']['parameters']['query']>, 'after' | 'limit'>;

/**
 * `GET /api/audit-events` (auditors, supervisors, administrators; reading is not audited): every event
 * that matches, oldest first, through all pages.
 */
export async function auditLogOf(client: ApiClient, filter: AuditEventFilter): Promise<AuditEventView[]> {
  const events: AuditEventView[] = [];
  let after: string | null = null;
  do {
    const query = new URLSearchParams({ ...filter, limit: '500', ...(after ? { after } : {}) });
    const page: Schemas['AuditEventPage'] = await read(client, `/api/audit-events?${query}`);
    events.push(...page.items);
    after = page.nextAfter;
  } while (after);
  return events;
}

/** The first audit event that matches; fails when there is none. */
export async function auditEventOf(client: ApiClient, filter: AuditEventFilter): Promise<AuditEventView> {
  const [first] = await auditLogOf(client, filter);
  expect(first, `an audit event ${JSON.stringify(filter)}`).toBeDefined();
  return first!;
}

export type LivenessCheckView = Schemas['LivenessCheck'];
export type FaceMatchView = Schemas['FaceMatch'];

/** `GET /api/sessions/:id/liveness-checks`, newest first. */
export const livenessChecksOf = async (client: ApiClient, sessionId: string) => (await read<{ items: LivenessCheckView[] }>(client, `/api/sessions/${sessionId}/liveness-checks`)).items;

/** `GET /api/sessions/:id/face-matches`, newest first. */
export const faceMatchesOf = async (client: ApiClient, sessionId: string) => (await read<{ items: FaceMatchView[] }>(client, `/api/sessions/${sessionId}/face-matches`)).items;
