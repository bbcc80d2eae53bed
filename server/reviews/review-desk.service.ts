// The auditor's desk: find sessions (by loan reference, state, outcome, review status, date) a page at
// a time, and read one session's whole record for review — the checklist with each answer's offset
// into its attempt's recording, flags, recordings with their hash state, the review and who ran it.
// Reading is not exporting: the audited evidence export stays GET /api/sessions/:id/evidence.
import type { Db } from '../db/client.js';
import type { Prisma } from '../db/generated/prisma/client.js';
import type { ReviewStatus, SessionKind, SessionOutcome, SessionState } from '../db/generated/prisma/enums.js';
import { AppError } from '../shared/errors.js';
import { maskName } from '../logging.js';
import { escapeLike } from '../db/like-pattern.js';
import type { UserPrincipal } from '../auth/principal.js';
import type { ChecklistService } from '../checklists/checklist.service.js';
import { productNameSchema } from '../loan-files/loan-files.schema.js';

export interface SessionSearch {
  loanRef?: string | undefined;
  state?: SessionState | undefined;
  outcome?: SessionOutcome | undefined;
  kind?: SessionKind | undefined;
  reviewStatus?: ReviewStatus | undefined;
  /** Sessions created at or after this instant. */
  from?: Date | undefined;
  /** Sessions created before this instant. */
  to?: Date | undefined;
  order: 'newest' | 'oldest';
  limit: number;
  cursor?: string | undefined;
}

interface Cursor {
  createdAt: Date;
  id: string;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.createdAt.toISOString()}|${c.id}`, 'utf8').toString('base64url');
}

export function decodeCursor(text: string): Cursor | undefined {
  const [at, id] = Buffer.from(text, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at ?? '');
  if (!id || !/^[0-9a-f-]{36}$/.test(id) || Number.isNaN(createdAt.getTime())) return undefined;
  return { createdAt, id };
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

export class ReviewDesk {
  constructor(
    private readonly db: Db,
    private readonly checklists: ChecklistService,
  ) {}

  async search(q: SessionSearch) {
    const cursor = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
    if (q.cursor !== undefined && !cursor) {
      throw new AppError('VALIDATION_FAILED', 'Invalid query: cursor', { errors: [{ in: 'query', field: 'cursor', message: 'is not a cursor this API handed out' }] });
    }
    const dir = q.order === 'newest' ? 'desc' : 'asc';
    const past = q.order === 'newest' ? 'lt' : 'gt';
    const where: Prisma.VerificationSessionWhereInput = {
      ...(q.state ? { state: q.state } : {}),
      ...(q.outcome ? { outcome: q.outcome } : {}),
      ...(q.kind ? { kind: q.kind } : {}),
      ...(q.loanRef ? { loanFile: { externalRef: { startsWith: escapeLike(q.loanRef), mode: 'insensitive' } } } : {}),
      ...(q.reviewStatus ? { review: { status: q.reviewStatus } } : {}),
      ...(q.from || q.to ? { createdAt: { ...(q.from ? { gte: q.from } : {}), ...(q.to ? { lt: q.to } : {}) } } : {}),
      ...(cursor ? { OR: [{ createdAt: { [past]: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { [past]: cursor.id } }] } : {}),
    };
    const rows = await this.db.verificationSession.findMany({
      where,
      orderBy: [{ createdAt: dir }, { id: dir }],
      take: q.limit + 1,
      include: {
        loanFile: { select: { externalRef: true, product: true, status: true } },
        assignedAgent: { select: { displayName: true } },
        review: { select: { id: true, status: true, reason: true, createdAt: true } },
      },
    });
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    return {
      items: page.map((s) => ({
        id: s.id,
        kind: s.kind,
        state: s.state,
        outcome: s.outcome,
        loanFileId: s.loanFileId,
        loanRef: s.loanFile.externalRef,
        product: s.loanFile.product,
        loanFileStatus: s.loanFile.status,
        agentName: s.assignedAgent?.displayName ?? null,
        mode: s.mode,
        handOffReason: s.handOffReason,
        createdAt: s.createdAt.toISOString(),
        completedAt: iso(s.completedAt),
        review: s.review ? { id: s.review.id, status: s.review.status, reason: s.review.reason, createdAt: s.review.createdAt.toISOString() } : null,
      })),
      nextCursor: rows.length > q.limit && last ? encodeCursor(last) : null,
    };
  }

  async file(sessionId: string, principal: UserPrincipal) {
    const session = await this.db.verificationSession.findUnique({
      where: { id: sessionId },
      include: {
        loanFile: true,
        party: true,
        assignedAgent: { select: { id: true, displayName: true } },
        attempts: { orderBy: { number: 'asc' }, include: { recording: true } },
        answers: { select: { itemId: true, attemptId: true } },
        riskFlags: { select: { id: true, attemptId: true } },
        review: true,
      },
    });
    if (!session) throw new AppError('NOT_FOUND', `No session ${sessionId}`);
    const checklist = await this.checklists.view(sessionId, principal);
    const answerAttempt = new Map(session.answers.map((a) => [a.itemId, a.attemptId]));
    const flagAttempt = new Map(session.riskFlags.map((f) => [f.id, f.attemptId]));
    const [signing, presented] = await Promise.all([
      this.db.signingConfirmation.findFirst({ where: { sessionId }, orderBy: { confirmedAt: 'desc' } }),
      this.db.auditEvent.findMany({ where: { entityType: 'session', entityId: sessionId, action: 'contract.page_presented' }, orderBy: { seq: 'asc' }, select: { occurredAt: true, data: true } }),
    ]);
    // A page was presented in the attempt under way then (its offset is into that attempt's recording).
    const attemptAt = (at: Date) => session.attempts.filter((a) => a.startedAt <= at).at(-1)?.id ?? null;
    const pagesPresented = presented.flatMap((e) => {
      const data = e.data as { page?: unknown; recordingOffsetMs?: unknown };
      return typeof data.page === 'number' && typeof data.recordingOffsetMs === 'number' ? [{ page: data.page, offsetMs: data.recordingOffsetMs, attemptId: attemptAt(e.occurredAt), at: e.occurredAt.toISOString() }] : [];
    });
    const reviewer = session.review?.reviewerId ? await this.db.user.findUnique({ where: { id: session.review.reviewerId }, select: { displayName: true } }) : null;
    const ranBy = new Set([session.assignedAgentId, ...session.attempts.map((a) => a.agentId)].filter((id): id is string => Boolean(id)));
    return {
      session: {
        id: session.id,
        kind: session.kind,
        state: session.state,
        outcome: session.outcome,
        language: session.language,
        createdAt: session.createdAt.toISOString(),
        completedAt: iso(session.completedAt),
        endReason: session.endReason,
        decisionNote: session.decisionNote,
        recaptureRequired: session.recaptureRequired,
        mode: session.mode,
        handOffReason: session.handOffReason,
        handedOffAt: iso(session.handedOffAt),
      },
      loanFile: {
        id: session.loanFile.id,
        externalRef: session.loanFile.externalRef,
        product: session.loanFile.product,
        productName: productNameSchema.safeParse(session.loanFile.productName).data ?? null,
        amount: session.loanFile.amount.toFixed(2),
        currency: session.loanFile.currency,
        status: session.loanFile.status,
      },
      party: { role: session.party.role, name: maskName(session.party.fullName), locale: session.party.locale },
      agent: session.assignedAgent,
      /** The viewer ran this session (maker-checker: they may read it but not decide its review). */
      viewerRanSession: ranBy.has(principal.userId),
      template: { key: checklist.templateKey, version: checklist.templateVersion, contentHash: checklist.contentHash },
      loanTerms: checklist.loanTerms,
      values: checklist.values,
      items: checklist.items.map((item) => ({ ...item, answer: item.answer ? { ...item.answer, attemptId: answerAttempt.get(item.id) ?? null } : null })),
      flags: checklist.flags.map((f) => ({ ...f, attemptId: flagAttempt.get(f.id) ?? null })),
      signing: signing ? { documentHash: signing.documentHash, offsetMs: signing.recordingOffsetMs, attemptId: signing.attemptId, confirmedAt: signing.confirmedAt.toISOString() } : null,
      pagesPresented,
      attempts: session.attempts.map((a) => ({
        id: a.id,
        number: a.number,
        startedAt: a.startedAt.toISOString(),
        endedAt: iso(a.endedAt),
        recordingStartedAt: iso(a.recordingStartedAt),
        dialOutcome: a.dialOutcome,
        endReason: a.endReason,
        recording: a.recording
          ? {
              id: a.recording.id,
              state: a.recording.state,
              audioOnly: a.recording.audioOnly,
              contentType: a.recording.contentType,
              sha256: a.recording.sha256,
              sizeBytes: a.recording.sizeBytes?.toString() ?? null,
              durationMs: a.recording.reportedDurationMs,
              verifiedAt: iso(a.recording.verifiedAt),
              lastIntegrityCheckAt: iso(a.recording.lastIntegrityCheckAt),
              retainUntil: iso(a.recording.retainUntil),
              legalHold: a.recording.legalHold,
              failureReason: a.recording.failureReason,
            }
          : null,
      })),
      review: session.review
        ? {
            id: session.review.id,
            status: session.review.status,
            reason: session.review.reason,
            note: session.review.note,
            reviewerName: reviewer?.displayName ?? null,
            decidedAt: iso(session.review.decidedAt),
            createdAt: session.review.createdAt.toISOString(),
          }
        : null,
    };
  }
}
