import { z } from 'zod';
import { defineRoute, type RouteDefinition } from '../http/route.js';
import { binaryBody, idParam, iso, isoOrNull, timestamp } from '../http/schemas.js';
import { requireUser } from '../auth/principal.js';
import type { ReviewService } from '../../recordings/review.service.js';
import type { EvidenceService } from '../../recordings/evidence.js';
import type { EvidencePdfService } from '../../recordings/evidence-pdf.js';
import { streamToClient } from '../../recordings/playback.routes.js';

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

const manifestSchema = z.record(z.string(), z.unknown()).meta({ id: 'EvidenceManifest' });

export function reviewRoutes(reviews: ReviewService, evidence: EvidenceService, evidencePdf: EvidencePdfService): RouteDefinition[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/sessions/:id/evidence',
      summary:
        'The evidence package: the JSON manifest signed with the platform key (a detached JWS, with the audit log\'s signed tree head and inclusion proofs), or a readable PAdES-signed PDF of it with `?format=pdf` or `Accept: application/pdf`; check either offline with `npm run evidence:verify -- <file> --trust <certificate>`; every export is audited',
      tags: ['reviews'],
      access: { roles: ['AUDITOR', 'SUPERVISOR', 'ADMIN'] },
      params: idParam,
      query: z.object({ format: z.enum(['json', 'pdf']).optional().meta({ description: 'Overrides the Accept header' }) }),
      responses: {
        200: {
          description: 'The signed manifest (JSON), or its signed PDF rendering; a PDF carries the manifest\'s SHA-256 on every page and in X-Evidence-Manifest-Sha256',
          schema: manifestSchema,
          contentTypes: { 'application/json': manifestSchema, 'application/pdf': binaryBody },
        },
        503: { description: 'EVIDENCE_PDF_UNAVAILABLE: the PDF\'s CJK font is missing on this server (the JSON is still served)' },
      },
      async handler({ params, query, ctx, req }) {
        const userId = requireUser(ctx.principal).userId;
        const format = query.format ?? (req.accepts(['application/json', 'application/pdf']) === 'application/pdf' ? 'pdf' : 'json');
        if (format === 'pdf') {
          const { manifestSha256, pdf } = await evidencePdf.export(params.id, userId, ctx.requestId);
          return {
            status: 200,
            respond: async (res) => {
              res
                .status(200)
                .type('application/pdf')
                .setHeader('Content-Disposition', `attachment; filename="evidence-${params.id}.pdf"`)
                .setHeader('Cache-Control', 'no-store')
                .setHeader('Vary', 'Accept')
                .setHeader('X-Evidence-Manifest-Sha256', manifestSha256);
              await streamToClient(pdf, res, ctx.log);
            },
          };
        }
        const manifest = await evidence.build(params.id, userId, ctx.requestId, 'json');
        return { status: 200, body: manifest, headers: { 'Content-Disposition': `attachment; filename="evidence-${params.id}.json"`, 'Cache-Control': 'no-store', Vary: 'Accept' } };
      },
    }),
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
