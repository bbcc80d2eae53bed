// The evidence package of a session: everything an auditor needs years later, in one JSON manifest
// whose parts can each be checked offline (recordings/evidence-verify.ts): the template and its hash,
// answers with offsets, flags, consents, signing, captures and recordings with their SHA-256, and the
// session's audit events with their chain hashes. Personal data is masked: the party is a reference.
// The manifest is signed with the platform key (a JWS over its canonical form, evidence-signature.ts),
// so a package cannot be altered and re-sealed by whoever holds it, and it carries a signed tree head
// of the audit log with an inclusion proof for each of its events, so its audit slice is provably the
// one the log published.
import { createHash } from 'node:crypto';
import type { Db } from '../server/db/client.js';
import { AppError } from '../server/shared/errors.js';
import { appendAudit, exportAuditEvent, isSealed } from '../server/audit/audit.service.js';
import { sealAuditChain } from '../server/audit/audit-sealer.service.js';
import { canonicalJson } from '../server/audit/canonical-json.js';
import { maskName, maskPhone } from '../server/logging.js';
import type { Signer } from '../server/signing/signer.js';
import type { InclusionProof, SignedTreeHead } from '../server/audit/tree-head.js';
import { templateDocumentSchema } from '../server/checklists/template.schema.js';
import { parseTermsSnapshot, promptValues } from '../server/loan-files/loan-terms.js';
import { signingBlock, signManifest } from './evidence-signature.js';
import { faceMatchVerdict } from './captures.service.js';
import { livenessCheckDto } from './liveness.service.js';

export const EVIDENCE_FORMAT = 'facesign-evidence/2';

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);
const extension = (contentType: string | null, fallback: string) =>
  contentType?.includes('ogg') ? 'ogg' : contentType?.includes('mp4') ? 'mp4' : contentType?.includes('png') ? 'png' : contentType?.includes('jpeg') ? 'jpg' : fallback;

/**
 * SHA-256 of the manifest's canonical JSON without its own hash field and signature: the manifest's
 * reference (printed on the PDF, audited on export). It proves nothing alone; the signature does.
 */
export function manifestHash(manifest: Record<string, unknown>): string {
  const { manifestSha256: _ignored, signature: _signature, ...rest } = manifest;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

/**
 * What the script stated: the loan's terms as the session was scheduled with them, and each
 * {placeholder} as it read in each language, so the signed package says what the agent said.
 */
function scriptOf(session: {
  loanTerms: unknown;
  livenessPromptId: string | null;
  party: { phoneE164: string };
  assignedAgent: { displayName: string } | null;
  template: { definition: unknown };
}) {
  const loanTerms = parseTermsSnapshot(session.loanTerms) ?? null;
  const template = templateDocumentSchema.safeParse(session.template.definition);
  const liveness = template.success && session.livenessPromptId ? template.data.livenessPool?.find((p) => p.id === session.livenessPromptId) : undefined;
  return {
    loanTerms,
    values: promptValues(loanTerms ?? undefined, { phoneE164: session.party.phoneE164, agentName: session.assignedAgent?.displayName, livenessPrompt: liveness?.prompt }),
  };
}

/** Signed tree heads and inclusion proofs over the audit log (server/audit/checkpoint.service.ts). */
export interface AuditProver {
  prove(chainSeqs: readonly bigint[]): Promise<{ head: SignedTreeHead; proofs: Map<number, InclusionProof> }>;
}

/** An event's inclusion proof, named by the event it proves. */
export type EventInclusionProof = InclusionProof & { eventId: string };

export class EvidenceService {
  constructor(
    private readonly db: Db,
    private readonly signer: Signer,
    private readonly auditProver: AuditProver,
  ) {}

  /** Builds, seals and signs the manifest, and audits the export in the format it is delivered in. */
  async build(sessionId: string, exportedBy: string, requestId: string, format: 'json' | 'pdf' = 'json') {
    const session = await this.db.verificationSession.findUnique({
      where: { id: sessionId },
      include: {
        loanFile: true,
        party: true,
        assignedAgent: { select: { displayName: true } },
        template: true,
        attempts: { orderBy: { number: 'asc' }, include: { recording: true } },
        answers: { orderBy: { itemId: 'asc' } },
        riskFlags: { orderBy: { createdAt: 'asc' } },
        consents: { orderBy: { grantedAt: 'asc' } },
        signings: { orderBy: { confirmedAt: 'asc' } },
        captures: { orderBy: { createdAt: 'asc' } },
        review: true,
      },
    });
    if (!session) throw new AppError('NOT_FOUND', `No session ${sessionId}`);
    const faceMatches = await this.db.faceMatch.findMany({ where: { sessionId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
    const livenessChecks = await this.db.livenessCheck.findMany({ where: { sessionId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });

    const recordingIds = session.attempts.flatMap((a) => (a.recording ? [a.recording.id] : []));
    const related = [sessionId, ...session.attempts.map((a) => a.id), ...recordingIds, ...session.captures.map((c) => c.id), ...faceMatches.map((m) => m.id), ...livenessChecks.map((c) => c.id)];
    // Everything committed so far is linked into the chain before the slice is read.
    await sealAuditChain(this.db, { wait: true });
    const events = (await this.db.auditEvent.findMany({ where: { entityId: { in: related }, chainSeq: { not: null } }, orderBy: { chainSeq: 'asc' } })).filter(isSealed);
    const head = await this.db.auditEvent.findFirst({ where: { chainSeq: { not: null } }, orderBy: { chainSeq: 'desc' }, select: { seq: true, hash: true } });
    const proven = events.length > 0 ? await this.auditProver.prove(events.map((e) => e.chainSeq!)) : undefined;
    const inclusionProofs: EventInclusionProof[] = events.flatMap((e) => {
      const proof = proven?.proofs.get(Number(e.chainSeq));
      return proof ? [{ eventId: e.id, ...proof }] : [];
    });

    const manifest = {
      format: EVIDENCE_FORMAT,
      generatedAt: new Date().toISOString(),
      session: {
        id: session.id,
        kind: session.kind,
        state: session.state,
        outcome: session.outcome,
        notBefore: iso(session.notBefore),
        deadline: iso(session.deadline),
        completedAt: iso(session.completedAt),
        endReason: session.endReason,
        decisionNote: session.decisionNote,
        contractDocumentHash: session.contractDocumentHash,
        mode: session.mode,
        handOffReason: session.handOffReason,
        itemOrder: session.itemOrder,
        livenessPromptId: session.livenessPromptId,
      },
      loanFile: { id: session.loanFile.id, externalRef: session.loanFile.externalRef, product: session.loanFile.product, amount: session.loanFile.amount.toFixed(2), currency: session.loanFile.currency },
      party: { id: session.party.id, role: session.party.role, locale: session.party.locale, name: maskName(session.party.fullName), phone: maskPhone(session.party.phoneE164) },
      template: { key: session.template.key, version: session.template.version, contentHash: session.template.contentHash, definition: session.template.definition },
      script: scriptOf(session),
      attempts: session.attempts.map((a) => ({ id: a.id, number: a.number, startedAt: iso(a.startedAt), answeredAt: iso(a.answeredAt), endedAt: iso(a.endedAt), dialOutcome: a.dialOutcome, endReason: a.endReason, recordingStartedAt: iso(a.recordingStartedAt) })),
      answers: session.answers.map((a) => ({ itemId: a.itemId, value: a.value, note: a.note, offsetMs: a.offsetMs, attemptId: a.attemptId, revision: a.revision, answeredAt: iso(a.answeredAt), answeredBy: a.answeredById === null ? 'AUTOMATED_CALL' : 'AGENT' })),
      riskFlags: session.riskFlags.map((f) => ({ code: f.code, severity: f.severity, note: f.note, offsetMs: f.offsetMs, attemptId: f.attemptId, createdAt: iso(f.createdAt) })),
      consents: session.consents.map((c) => ({ kind: c.kind, textVersion: c.textVersion, textHash: c.textHash, locale: c.locale, grantedAt: iso(c.grantedAt) })),
      signings: session.signings.map((s) => ({ documentHash: s.documentHash, recordingOffsetMs: s.recordingOffsetMs, attemptId: s.attemptId, confirmedAt: iso(s.confirmedAt) })),
      recordings: session.attempts.flatMap((a) =>
        a.recording
          ? [
              {
                id: a.recording.id,
                attemptId: a.id,
                state: a.recording.state,
                file: `recordings/${a.recording.id}.${extension(a.recording.contentType, a.recording.audioOnly ? 'ogg' : 'mp4')}`,
                objectKey: a.recording.objectKey,
                sha256: a.recording.sha256,
                sizeBytes: a.recording.sizeBytes?.toString() ?? null,
                durationMs: a.recording.reportedDurationMs,
                contentType: a.recording.contentType,
                verifiedAt: iso(a.recording.verifiedAt),
                retainUntil: iso(a.recording.retainUntil),
              },
            ]
          : [],
      ),
      captures: session.captures.map((c) => ({ id: c.id, kind: c.kind, file: `captures/${c.id}.${extension(c.contentType, 'bin')}`, sha256: c.sha256, sizeBytes: String(c.sizeBytes), offsetMs: c.offsetMs, attemptId: c.attemptId })),
      // The face-match assist: what the model said about the ID photo against the live face, with
      // the model and thresholds used. An assist to the agent, not a decision.
      faceMatches: faceMatches.map((m) => ({
        ...faceMatchVerdict(m),
        idCaptureId: m.idCaptureId,
        liveCaptureId: m.liveCaptureId,
        faceCounts: { id: m.idFaceCount, live: m.liveFaceCount },
        crops: {
          id: m.idCropKey && m.idCropSha256 ? { file: `captures/face-match-${m.id}-id.jpg`, sha256: m.idCropSha256 } : null,
          live: m.liveCropKey && m.liveCropSha256 ? { file: `captures/face-match-${m.id}-live.jpg`, sha256: m.liveCropSha256 } : null,
        },
        failure: m.failure,
        createdAt: iso(m.createdAt),
        completedAt: iso(m.completedAt),
      })),
      // The active-liveness assist: the landmark figures of the frame before the prompted movement and
      // the frame during it, the thresholds and the model. An assist to the agent, not a decision.
      livenessChecks: livenessChecks.map((c) => {
        const { sessionId: _sessionId, ...check } = livenessCheckDto(c);
        return check;
      }),
      review: session.review ? { reason: session.review.reason, status: session.review.status, reviewerId: session.review.reviewerId, note: session.review.note, decidedAt: iso(session.review.decidedAt) } : null,
      auditChain: {
        headSeq: head ? head.seq.toString() : null,
        headHash: head?.hash ?? null,
        events: events.map(exportAuditEvent),
        treeHead: proven?.head ?? null,
        inclusionProofs,
      },
    };
    const unsealed = { ...manifest, signing: signingBlock(this.signer, new Date()) };
    const sealed = await signManifest({ ...unsealed, manifestSha256: manifestHash(unsealed) }, this.signer);
    await this.db.$transaction((tx) =>
      appendAudit(tx, {
        actor: { type: 'USER', id: exportedBy },
        entity: { type: 'session', id: sessionId },
        event: { action: 'evidence.exported', v: 1, data: { sessionId, format, manifestSha256: sealed.manifestSha256 } },
        requestId,
      }),
    );
    return sealed;
  }
}

export type EvidenceManifest = Awaited<ReturnType<EvidenceService['build']>>;
