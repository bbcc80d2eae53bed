// Every audited action, versioned. Data holds references and decisions, never personal data:
// the chain is kept for years and cannot be edited, so names and phone numbers stay out of it.
import { z } from 'zod';

const uuid = z.uuid();

export const auditActionSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('auth.login_succeeded'), v: z.literal(1), data: z.object({ loginSessionId: uuid }) }),
  z.object({ action: z.literal('auth.login_failed'), v: z.literal(1), data: z.object({ failedCount: z.number().int(), locked: z.boolean() }) }),
  z.object({ action: z.literal('auth.logged_out'), v: z.literal(1), data: z.object({ loginSessionId: uuid }) }),
  z.object({ action: z.literal('auth.session_revoked'), v: z.literal(1), data: z.object({ loginSessionId: uuid }) }),
  z.object({ action: z.literal('user.created'), v: z.literal(1), data: z.object({ roles: z.array(z.string()) }) }),
  z.object({ action: z.literal('user.roles_changed'), v: z.literal(1), data: z.object({ from: z.array(z.string()), to: z.array(z.string()) }) }),
  z.object({ action: z.literal('user.disabled'), v: z.literal(1), data: z.object({ revokedSessions: z.number().int() }) }),
  z.object({ action: z.literal('user.enabled'), v: z.literal(1), data: z.object({}) }),
  /** An administrator lifted the sign-in hold that failed logins put on the account. */
  z.object({ action: z.literal('user.unlocked'), v: z.literal(1), data: z.object({}) }),
  z.object({ action: z.literal('api_key.created'), v: z.literal(1), data: z.object({ prefix: z.string(), scopes: z.array(z.string()) }) }),
  z.object({ action: z.literal('api_key.revoked'), v: z.literal(1), data: z.object({ prefix: z.string() }) }),
  z.object({
    action: z.literal('loan_file.created'),
    v: z.literal(1),
    data: z.object({ externalRef: z.string(), product: z.string(), amount: z.string(), currency: z.string(), maturityDate: z.string().optional(), termsSha256: z.string().optional() }),
  }),
  z.object({
    action: z.literal('loan_file.updated'),
    v: z.literal(1),
    data: z.object({
      fields: z.array(z.string()),
      maturityDate: z.string().nullable(),
      version: z.number().int(),
      /** SHA-256 of the new key terms' canonical JSON, when they changed. */
      termsSha256: z.string().optional(),
      /** Why, in the caller's words; always there when the change shortened retention. */
      reason: z.string().optional(),
      /** When the change shortened recording retention: how many recordings, and the largest cut. */
      retentionShortened: z.object({ recordings: z.number().int(), from: z.string(), to: z.string() }).optional(),
    }),
  }),
  z.object({ action: z.literal('party.added'), v: z.literal(1), data: z.object({ loanFileId: uuid, role: z.string() }) }),
  z.object({
    action: z.literal('party.updated'),
    v: z.literal(1),
    data: z.object({ loanFileId: uuid, fields: z.array(z.string()), version: z.number().int() }),
  }),
  z.object({
    action: z.literal('recording.state_changed'),
    v: z.literal(1),
    data: z.object({
      attemptId: uuid,
      egressId: z.string().nullable(),
      from: z.string(),
      to: z.string(),
      source: z.enum(['webhook', 'reconciler', 'facesign']),
      reason: z.string().optional(),
    }),
  }),
  z.object({
    action: z.literal('attempt.room_finished'),
    v: z.literal(1),
    data: z.object({ source: z.enum(['webhook', 'reconciler']) }),
  }),
  z.object({
    action: z.literal('session.scheduled'),
    v: z.literal(1),
    data: z.object({ loanFileId: uuid, partyId: uuid, kind: z.string(), templateKey: z.string(), templateVersion: z.number().int(), notBefore: z.string(), deadline: z.string(), loanTermsSha256: z.string().optional() }),
  }),
  z.object({
    action: z.literal('session.transitioned'),
    v: z.literal(1),
    data: z.object({ from: z.string(), to: z.string(), event: z.string(), version: z.number().int(), outcome: z.string().optional(), detail: z.string().optional() }),
  }),
  z.object({
    action: z.literal('session.deferred'),
    v: z.literal(1),
    data: z.object({ from: z.string(), to: z.string(), reason: z.string() }),
  }),
  z.object({ action: z.literal('session.reassigned'), v: z.literal(1), data: z.object({ fromAgentId: z.string().nullable(), toAgentId: uuid }) }),
  /** The assigned agent's consoles were all gone for the grace period while the session was open. */
  z.object({ action: z.literal('session.agent_disconnected'), v: z.literal(1), data: z.object({ agentId: uuid, state: z.string(), leftAt: z.string() }) }),
  z.object({ action: z.literal('offer.created'), v: z.literal(1), data: z.object({ sessionId: uuid, agentId: uuid, expiresAt: z.string() }) }),
  z.object({ action: z.literal('offer.resolved'), v: z.literal(1), data: z.object({ sessionId: uuid, agentId: uuid, status: z.string() }) }),
  z.object({
    action: z.literal('checklist.answered'),
    v: z.literal(1),
    data: z.object({ sessionId: uuid, attemptId: uuid, itemId: z.string(), value: z.string(), revision: z.number().int(), offsetMs: z.number().int().nullable(), noted: z.boolean() }),
  }),
  z.object({
    action: z.literal('risk_flag.raised'),
    v: z.literal(1),
    data: z.object({ sessionId: uuid, attemptId: uuid, code: z.string(), severity: z.string(), offsetMs: z.number().int().nullable() }),
  }),
  z.object({
    action: z.literal('los_webhook.redelivery_requested'),
    v: z.literal(1),
    data: z.object({ eventType: z.string(), previousStatus: z.enum(['FAILED', 'DELIVERED']), previousAttempts: z.number().int() }),
  }),
  z.object({
    action: z.literal('consent.given'),
    v: z.literal(1),
    data: z.object({ consentId: uuid, kind: z.enum(['RECORDING', 'DATA_PROCESSING']), textVersion: z.string(), textHash: z.string(), locale: z.string() }),
  }),
  /** The LOS supplied a contract document for a loan file (stored under its SHA-256). */
  z.object({
    action: z.literal('contract.document_stored'),
    v: z.literal(1),
    /** fetchedFrom: the origin the document was fetched from, when the LOS sent a URL. */
    data: z.object({ loanFileId: uuid, sha256: z.string(), sizeBytes: z.number().int(), fetchedFrom: z.string().optional() }),
  }),
  /** Someone was sent the contract's bytes: staff or the LOS (a loan file or session route) or the borrower (the join page). */
  z.object({
    action: z.literal('contract.document_accessed'),
    v: z.literal(1),
    data: z.object({ loanFileId: uuid, sha256: z.string(), via: z.enum(['loan_file', 'session', 'join']), sessionId: uuid.nullable() }),
  }),
  /** The contract's object was put under retention (Object Lock, or facesign alone where the bucket has none), or its date or hold changed. */
  z.object({
    action: z.literal('contract.retention_applied'),
    v: z.literal(1),
    data: z.object({ sha256: z.string(), retainUntil: z.string(), enforcedBy: z.enum(['object_lock', 'facesign']), lockMode: z.string().nullable(), legalHold: z.boolean() }),
  }),
  /** The retention sweep deleted the contract's object: its date had passed and no retained session needed it. */
  z.object({ action: z.literal('contract.deleted'), v: z.literal(1), data: z.object({ sha256: z.string(), objectKey: z.string(), retainUntil: z.string() }) }),
  /** The assigned agent turned the borrower's view of the contract to a page. */
  z.object({ action: z.literal('contract.page_presented'), v: z.literal(1), data: z.object({ documentHash: z.string(), page: z.number().int(), recordingOffsetMs: z.number().int().nullable() }) }),
  z.object({
    action: z.literal('contract.signing_confirmed'),
    v: z.literal(1),
    data: z.object({ signingId: uuid, attemptId: uuid, documentHash: z.string(), recordingOffsetMs: z.number().int() }),
  }),
  z.object({
    action: z.literal('recording.verified'),
    v: z.literal(1),
    data: z.object({ sha256: z.string(), sizeBytes: z.string(), contentType: z.string().nullable(), retainUntil: z.string().nullable() }),
  }),
  z.object({ action: z.literal('recording.integrity_checked'), v: z.literal(1), data: z.object({ result: z.enum(['ok', 'mismatch', 'missing']), sha256: z.string().nullable() }) }),
  z.object({
    action: z.literal('recording.retention_applied'),
    v: z.literal(1),
    data: z.object({ retainUntil: z.string(), enforcedBy: z.enum(['object_lock', 'facesign']), lockMode: z.string().nullable() }),
  }),
  z.object({
    action: z.literal('recording.retention_changed'),
    v: z.literal(1),
    data: z.object({
      from: z.string(),
      to: z.string(),
      maturityDate: z.string().nullable(),
      enforcedBy: z.enum(['object_lock', 'facesign']),
      lockMode: z.string().nullable(),
      /** The store's lock was extended to `to` (it is never shortened). */
      lockExtended: z.boolean(),
    }),
  }),
  z.object({ action: z.literal('recording.legal_hold_changed'), v: z.literal(1), data: z.object({ legalHold: z.boolean(), reason: z.string() }) }),
  z.object({ action: z.literal('recording.deleted'), v: z.literal(1), data: z.object({ objectKey: z.string(), retainUntil: z.string() }) }),
  z.object({
    action: z.literal('recording.accessed'),
    v: z.literal(1),
    data: z.object({ via: z.enum(['stream', 'presigned']), range: z.string().nullable(), bytes: z.string().nullable() }),
  }),
  z.object({
    action: z.literal('capture.stored'),
    v: z.literal(1),
    data: z.object({ sessionId: uuid, kind: z.string(), sha256: z.string(), sizeBytes: z.number().int(), offsetMs: z.number().int().nullable() }),
  }),
  z.object({ action: z.literal('capture.accessed'), v: z.literal(1), data: z.object({ sessionId: uuid }) }),
  z.object({
    action: z.literal('face_match.completed'),
    v: z.literal(1),
    data: z.object({
      sessionId: uuid,
      idCaptureId: uuid,
      liveCaptureId: uuid,
      status: z.enum(['DONE', 'FAILED']),
      result: z.string().nullable(),
      score: z.number().nullable(),
      matchThreshold: z.number(),
      noMatchThreshold: z.number(),
      model: z.string().nullable(),
    }),
  }),
  z.object({ action: z.literal('face_match.crop_accessed'), v: z.literal(1), data: z.object({ sessionId: uuid, side: z.enum(['id', 'live']) }) }),
  z.object({
    action: z.literal('liveness_check.completed'),
    v: z.literal(1),
    data: z.object({
      sessionId: uuid,
      beforeCaptureId: uuid,
      actionCaptureId: uuid,
      promptId: z.string().nullable(),
      movement: z.string().nullable(),
      status: z.enum(['DONE', 'FAILED']),
      result: z.string().nullable(),
      before: z.object({ yawDeg: z.number(), pitch: z.number(), ear: z.number(), mouth: z.number() }).nullable(),
      action: z.object({ yawDeg: z.number(), pitch: z.number(), ear: z.number(), mouth: z.number() }).nullable(),
      thresholds: z.object({ yawChangeDeg: z.number(), pitchChange: z.number(), eyesClosedBelow: z.number(), eyesOpenAt: z.number(), mouthOpenAt: z.number(), mouthClosedBelow: z.number() }),
      model: z.string().nullable(),
    }),
  }),
  z.object({ action: z.literal('review.selected'), v: z.literal(1), data: z.object({ sessionId: uuid, reason: z.string() }) }),
  z.object({ action: z.literal('review.decided'), v: z.literal(1), data: z.object({ sessionId: uuid, status: z.string(), note: z.string() }) }),
  z.object({ action: z.literal('evidence.exported'), v: z.literal(1), data: z.object({ sessionId: uuid, format: z.enum(['json', 'pdf']), manifestSha256: z.string() }) }),
  z.object({ action: z.literal('loan_file.status_changed'), v: z.literal(1), data: z.object({ from: z.string(), to: z.string() }) }),
]);

export type AuditAction = z.infer<typeof auditActionSchema>;

export type AuditActor =
  | { type: 'USER'; id: string }
  | { type: 'API_KEY'; id: string }
  | { type: 'BORROWER'; id: string }
  | { type: 'SYSTEM'; id?: string };
