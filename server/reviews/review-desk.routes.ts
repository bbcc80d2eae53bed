import { z } from 'zod';
import { defineRoute, type RouteDefinition } from '../http/route.js';
import { idParam, timestamp } from '../shared/schemas.js';
import { requireUser } from '../auth/principal.js';
import type { Role } from '../db/generated/prisma/enums.js';
import type { ReviewDesk } from './review-desk.service.js';
import { promptValuesSchema, termsSnapshotSchema } from '../loan-files/loan-terms.js';

const READERS: Role[] = ['AUDITOR', 'SUPERVISOR', 'ADMIN'];
const states = ['SCHEDULED', 'DISPATCHING', 'RINGING', 'WAITING', 'IN_PROGRESS', 'RETRY_PENDING', 'WRAP_UP', 'ESCALATED', 'COMPLETED', 'EXHAUSTED', 'CANCELLED', 'EXPIRED'] as const;
const outcomes = ['PASSED', 'FAILED', 'ESCALATED'] as const;
const reviewStatuses = ['PENDING', 'APPROVED', 'RECAPTURE', 'REJECTED'] as const;
const localized = z.object({ 'zh-CN': z.string(), en: z.string() });
const sessionMode = z.enum(['AGENT', 'AUTOMATED_CALL']);
const handOffReason = z.string().nullable().describe('Why the automated call handed the party to a person (DENIED, UNCLEAR, NO_INPUT, HUNG_UP, BOT_FAILED, NOT_RECORDED); null when it did not');

export const sessionSearchQuery = z
  .object({
    loanRef: z.string().trim().min(1).max(128).optional(),
    state: z.enum(states).optional(),
    outcome: z.enum(outcomes).optional(),
    kind: z.enum(['CALL', 'VIDEO']).optional(),
    reviewStatus: z.enum(reviewStatuses).optional(),
    from: timestamp.optional().meta({ description: 'created at or after this instant' }),
    to: timestamp.optional().meta({ description: 'created before this instant' }),
    order: z.enum(['newest', 'oldest']).default('newest'),
    limit: z.coerce.number().int().min(1).max(100).default(25),
    cursor: z.string().max(200).optional().meta({ description: 'nextCursor of the previous page' }),
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) < Date.parse(q.to), { path: ['to'], message: 'must be after from' });

const searchResult = z
  .object({
    items: z.array(
      z.object({
        id: z.uuid(),
        kind: z.enum(['CALL', 'VIDEO']),
        state: z.enum(states),
        outcome: z.enum(outcomes).nullable(),
        loanFileId: z.uuid(),
        loanRef: z.string(),
        product: z.string(),
        loanFileStatus: z.string(),
        agentName: z.string().nullable(),
        mode: sessionMode,
        handOffReason: handOffReason,
        createdAt: timestamp,
        completedAt: timestamp.nullable(),
        review: z.object({ id: z.uuid(), status: z.enum(reviewStatuses), reason: z.string(), createdAt: timestamp }).nullable(),
      }),
    ),
    nextCursor: z.string().nullable(),
  })
  .meta({ id: 'SessionSearchPage' });

const reviewFile = z
  .object({
    session: z.object({
      id: z.uuid(),
      kind: z.enum(['CALL', 'VIDEO']),
      state: z.enum(states),
      outcome: z.enum(outcomes).nullable(),
      language: z.string(),
      createdAt: timestamp,
      completedAt: timestamp.nullable(),
      endReason: z.string().nullable(),
      decisionNote: z.string().nullable(),
      recaptureRequired: z.boolean(),
      mode: sessionMode,
      handOffReason: handOffReason,
      handedOffAt: timestamp.nullable(),
    }),
    loanFile: z.object({ id: z.uuid(), externalRef: z.string(), product: z.string(), productName: z.object({ 'zh-CN': z.string().optional(), en: z.string().optional() }).nullable().describe('The product as the lender names it to the party (what the borrower\'s page shows), when the LOS sent a name'), amount: z.string(), currency: z.string(), status: z.string() }),
    party: z.object({ role: z.string(), name: z.string(), locale: z.string() }),
    agent: z.object({ id: z.uuid(), displayName: z.string() }).nullable(),
    viewerRanSession: z.boolean(),
    template: z.object({ key: z.string(), version: z.number().int(), contentHash: z.string() }),
    loanTerms: termsSnapshotSchema.nullable(),
    values: promptValuesSchema,
    items: z.array(
      z.object({
        id: z.string(),
        sectionId: z.string(),
        kind: z.string(),
        required: z.boolean(),
        prompt: localized,
        guidance: localized.nullable(),
        answer: z
          .object({
            value: z.string(),
            note: z.string().nullable(),
            offsetMs: z.number().int().nullable(),
            revision: z.number().int(),
            answeredAt: timestamp,
            attemptId: z.uuid().nullable(),
            answeredBy: z.enum(['AGENT', 'AUTOMATED_CALL']).describe('AUTOMATED_CALL: read from the party\'s keypad by the automated confirmation call'),
            noteCode: z.string().nullable().describe('The automated call\'s note as a code; `note` holds its English wording'),
            noteParams: z.record(z.string(), z.union([z.string(), z.number()])).nullable(),
          })
          .nullable(),
      }),
    ),
    flags: z.array(z.object({ id: z.uuid(), code: z.string(), severity: z.string(), note: z.string().nullable(), offsetMs: z.number().int().nullable(), createdAt: timestamp, attemptId: z.uuid().nullable() })),
    signing: z
      .object({ documentHash: z.string(), offsetMs: z.number().int().describe('Into the recording of the attempt'), attemptId: z.uuid(), confirmedAt: timestamp })
      .nullable()
      .describe('The borrower\'s code-confirmed signing of the contract; null: not signed'),
    pagesPresented: z
      .array(z.object({ page: z.number().int(), offsetMs: z.number().int(), attemptId: z.uuid().nullable(), at: timestamp }))
      .describe('Each contract page the agent presented, with its offset into the recording of the attempt under way then'),
    attempts: z.array(
      z.object({
        id: z.uuid(),
        number: z.number().int(),
        startedAt: timestamp,
        endedAt: timestamp.nullable(),
        recordingStartedAt: timestamp.nullable(),
        dialOutcome: z.string().nullable(),
        endReason: z.string().nullable(),
        recording: z
          .object({
            id: z.uuid(),
            state: z.string(),
            audioOnly: z.boolean(),
            contentType: z.string().nullable(),
            sha256: z.string().nullable(),
            sizeBytes: z.string().nullable(),
            durationMs: z.number().int().nullable(),
            verifiedAt: timestamp.nullable(),
            lastIntegrityCheckAt: timestamp.nullable(),
            retainUntil: timestamp.nullable(),
            legalHold: z.boolean(),
            failureReason: z.string().nullable(),
          })
          .nullable(),
      }),
    ),
    review: z
      .object({
        id: z.uuid(),
        status: z.enum(reviewStatuses),
        reason: z.string(),
        note: z.string().nullable(),
        reviewerName: z.string().nullable(),
        decidedAt: timestamp.nullable(),
        createdAt: timestamp,
      })
      .nullable(),
  })
  .meta({ id: 'SessionReviewFile' });

export function reviewDeskRoutes(desk: ReviewDesk): RouteDefinition[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/review-desk/sessions',
      summary: 'Find sessions by loan reference (prefix), state, outcome, kind, review status and creation time, a page at a time',
      tags: ['reviews'],
      access: { roles: READERS },
      query: sessionSearchQuery,
      responses: { 200: { description: 'One page; pass nextCursor back as cursor for the next', schema: searchResult } },
      async handler({ query }) {
        const { from, to, ...rest } = query;
        return { status: 200, body: await desk.search({ ...rest, from: from ? new Date(from) : undefined, to: to ? new Date(to) : undefined }) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/review-desk/sessions/:id',
      summary: "One session as an auditor reviews it: checklist with answer offsets, flags, recordings and their hash state, the review",
      tags: ['reviews'],
      access: { roles: READERS },
      params: idParam,
      responses: { 200: { description: 'The session file', schema: reviewFile } },
      async handler({ params, ctx }) {
        return { status: 200, body: await desk.file(params.id, requireUser(ctx.principal)) };
      },
    }),
  ];
}
