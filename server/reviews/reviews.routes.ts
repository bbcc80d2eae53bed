// The compliance review queue and an auditor's decision on a review (review.service.ts).
import { z } from 'zod';
import { defineRoute, type RouteDefinition } from '../http/route.js';
import { idParam, iso, isoOrNull, timestamp } from '../shared/schemas.js';
import { requireUser } from '../auth/principal.js';
import type { ReviewService } from './review.service.js';

const reviewSchema = z
  .object({
    id: z.uuid(),
    sessionId: z.uuid(),
    loanFileId: z.uuid(),
    reason: z.enum(['ESCALATED', 'AMOUNT', 'SAMPLED']),
    status: z.enum(['PENDING', 'APPROVED', 'RECAPTURE', 'REJECTED']),
    reviewerId: z.uuid().nullable(),
    note: z.string().nullable(),
    decidedAt: timestamp.nullable(),
    createdAt: timestamp,
  })
  .meta({ id: 'Review' });

type ReviewRow = Awaited<ReturnType<ReviewService['decide']>>;
const reviewDto = (r: ReviewRow) => ({
  id: r.id,
  sessionId: r.sessionId,
  loanFileId: r.loanFileId,
  reason: r.reason,
  status: r.status,
  reviewerId: r.reviewerId,
  note: r.note,
  decidedAt: isoOrNull(r.decidedAt),
  createdAt: iso(r.createdAt),
});

export function reviewRoutes(reviews: ReviewService): RouteDefinition[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/reviews',
      summary: 'The compliance review queue (oldest first)',
      tags: ['reviews'],
      access: { roles: ['AUDITOR', 'SUPERVISOR', 'ADMIN'] },
      query: z.object({ status: z.enum(['PENDING', 'APPROVED', 'RECAPTURE', 'REJECTED']).optional(), limit: z.coerce.number().int().min(1).max(200).default(50) }),
      responses: { 200: { description: 'Reviews', schema: z.object({ items: z.array(reviewSchema) }) } },
      async handler({ query }) {
        return { status: 200, body: { items: (await reviews.queue(query.status, query.limit)).map(reviewDto) } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/reviews/:id/decision',
      summary: 'Approve, ask for a recapture (schedules a new session) or reject; never by whoever ran the session',
      tags: ['reviews'],
      access: { roles: ['AUDITOR'] },
      params: idParam,
      body: z.object({ decision: z.enum(['APPROVE', 'RECAPTURE', 'REJECT']), note: z.string().trim().min(1).max(2000) }),
      responses: { 200: { description: 'Decided', schema: reviewSchema } },
      async handler({ params, body, ctx }) {
        return { status: 200, body: reviewDto(await reviews.decide(params.id, body, requireUser(ctx.principal).userId, ctx.requestId)) };
      },
    }),
  ];
}
