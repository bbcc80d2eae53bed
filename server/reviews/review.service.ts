// Maker-checker review. When a session completes, the sampling rule may select it; an auditor then
// approves it, asks for a recapture (a new session is scheduled) or rejects it. The reviewer may not
// be anyone who ran the session, and a loan file is VERIFIED only once its selected reviews are approved.
import { randomUUID } from 'node:crypto';
import type { DomainEvents } from '../events/domain-events.js';
import { sqlIn, type Db, type Sql } from '../db/client.js';
import { build, rows } from '../db/typed-sql.js';
import type { Review, VerificationSession } from '../db/generated/prisma/client.js';
import { AppError } from '../shared/errors.js';
import { appendAudit, insertAudit } from '../audit/audit.service.js';
import { recomputeLoanFileStatus } from '../verification/loan-file-status.js';
import { reviewReason } from './review-sampling.js';

export interface ReviewRules {
  samplePercent: number;
  amountThreshold: string | undefined;
}

export type ReviewDecision = 'APPROVE' | 'RECAPTURE' | 'REJECT';

export class ReviewService {
  private readonly db: Db;
  private readonly rules: ReviewRules;
  private readonly events: DomainEvents;

  constructor(options: {
    db: Db;
    rules: ReviewRules;
    /** Where a recapture is announced (verification schedules the replacement session). */
    events: DomainEvents;
  }) {
    this.db = options.db;
    this.rules = options.rules;
    this.events = options.events;
  }

  /** Called inside the transaction that completes a session; true when the session was selected. */
  async selectOnCompletion(sql: Sql, session: Pick<VerificationSession, 'id' | 'loanFileId' | 'decidedById'>, amount: string): Promise<boolean> {
    const reason = reviewReason({ sessionId: session.id, escalated: session.decidedById !== null, amount, rules: this.rules });
    if (!reason) return false;
    const created = await rows(
      sql,
      build
        .insertInto('Review')
        .values({ id: randomUUID(), sessionId: session.id, loanFileId: session.loanFileId, reason, createdAt: new Date() })
        .onConflict((oc) => oc.column('sessionId').doNothing())
        .returning('id'),
      'review-select',
    );
    if (created.length === 0) return true; // selected before
    await insertAudit(sql, {
      actor: { type: 'SYSTEM', id: 'review-sampling' },
      entity: { type: 'session', id: session.id },
      event: { action: 'review.selected', v: 1, data: { sessionId: session.id, reason } },
    });
    return true;
  }

  async queue(status: Review['status'] | undefined, limit: number) {
    return this.db.review.findMany({
      where: status ? { status } : {},
      orderBy: [{ createdAt: 'asc' }],
      take: limit,
      include: { session: { select: { kind: true, outcome: true, completedAt: true, assignedAgentId: true, partyId: true } } },
    });
  }

  async decide(reviewId: string, input: { decision: ReviewDecision; note: string }, reviewerId: string, requestId: string): Promise<Review> {
    const review = await this.db.review.findUnique({ where: { id: reviewId }, include: { session: { include: { attempts: { select: { agentId: true } } } } } });
    if (!review) throw new AppError('NOT_FOUND', `No review ${reviewId}`);
    const ranIt = new Set([review.session.assignedAgentId, ...review.session.attempts.map((a) => a.agentId)].filter((id): id is string => Boolean(id)));
    if (ranIt.has(reviewerId)) throw new AppError('FORBIDDEN', 'You ran this session: someone else must review it (maker-checker)');
    const status = input.decision === 'APPROVE' ? 'APPROVED' : input.decision === 'RECAPTURE' ? 'RECAPTURE' : 'REJECTED';
    const decided = await this.db.$transaction(async (tx) => {
      const { count } = await tx.review.updateMany({ where: { id: reviewId, status: 'PENDING' }, data: { status, reviewerId, note: input.note, decidedAt: new Date() } });
      if (count === 0) throw new AppError('SESSION_STATE_CONFLICT', 'This review was already decided');
      await appendAudit(tx, {
        actor: { type: 'USER', id: reviewerId },
        entity: { type: 'session', id: review.sessionId },
        event: { action: 'review.decided', v: 1, data: { sessionId: review.sessionId, status, note: input.note } },
        requestId,
      });
      await recomputeLoanFileStatus(sqlIn(tx), review.loanFileId, { type: 'USER', id: reviewerId }, requestId);
      return tx.review.findUniqueOrThrow({ where: { id: reviewId } });
    });
    if (status === 'RECAPTURE') await this.events.publishCommitted({ type: 'review.recapture-requested', session: review.session, requestId });
    return decided;
  }
}
