import { z } from 'zod';
import { defineRoute, type RouteDefinition } from '../http/route.js';
import { idParam, timestamp } from '../shared/schemas.js';
import { requireUser } from '../auth/principal.js';
import { sessionDto } from '../verification/scheduling.service.js';
import { decisionBody, sessionSchema } from '../verification/verification.schema.js';
import type { ChecklistService } from './checklist.service.js';
import { promptValuesSchema, termsSnapshotSchema } from '../loan-files/loan-terms.js';

const localized = z.object({ 'zh-CN': z.string(), en: z.string() });
const answerValue = z.enum(['CONFIRMED', 'DENIED', 'UNCLEAR', 'NOT_ASKED'], { message: 'must be CONFIRMED, DENIED, UNCLEAR or NOT_ASKED' });
const flagCode = z.enum(['EVASIVE', 'NERVOUS', 'THIRD_PARTY_PRESENT', 'PROMPTED', 'INCONSISTENT', 'IDENTITY_MISMATCH', 'COERCION_SUSPECTED', 'POOR_AUDIO_VIDEO']);
const severity = z.enum(['LOW', 'MEDIUM', 'HIGH']);

const answerSchema = z
  .object({
    itemId: z.string(),
    value: answerValue,
    note: z.string().nullable(),
    offsetMs: z.number().int().nullable(),
    revision: z.number().int(),
    answeredAt: timestamp,
    answeredBy: z.enum(['AGENT', 'AUTOMATED_CALL']).describe('AUTOMATED_CALL: read from the party\'s keypad by the automated confirmation call'),
    noteCode: z.string().nullable().describe('The automated call\'s note as a code (NO_KEY, NO_KEY_SPOKE, DENIED_KEY, REPEATS_USED); `note` holds its English wording. null for an agent\'s note'),
    noteParams: z.record(z.string(), z.union([z.string(), z.number()])).nullable().describe('Values the note code\'s wording uses'),
  })
  .meta({ id: 'ChecklistAnswer' });
const flagSchema = z
  .object({ id: z.uuid(), code: flagCode, severity, note: z.string().nullable(), offsetMs: z.number().int().nullable(), createdAt: timestamp })
  .meta({ id: 'RiskFlag' });
const checklistSchema = z
  .object({
    sessionId: z.uuid(),
    state: z.string(),
    version: z.number().int(),
    templateKey: z.string(),
    templateVersion: z.number().int(),
    contentHash: z.string(),
    items: z.array(
      z.object({
        id: z.string(),
        sectionId: z.string(),
        kind: z.string(),
        required: z.boolean(),
        prompt: localized,
        guidance: localized.nullable(),
        answer: answerSchema.omit({ itemId: true }).nullable(),
      }),
    ),
    flags: z.array(flagSchema),
    liveness: z.object({ id: z.string(), prompt: localized }).nullable(),
    loanTerms: termsSnapshotSchema.nullable(),
    values: promptValuesSchema,
  })
  .meta({ id: 'Checklist' });


export function checklistRoutes(checklists: ChecklistService): RouteDefinition[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/sessions/:id/checklist',
      summary: "The session's checklist in its randomised order, with answers and flags so far",
      tags: ['checklists'],
      access: { roles: ['AGENT', 'SUPERVISOR', 'ADMIN', 'AUDITOR'] },
      params: idParam,
      responses: { 200: { description: 'Checklist', schema: checklistSchema } },
      async handler({ params, ctx }) {
        return { status: 200, body: await checklists.view(params.id, requireUser(ctx.principal)) };
      },
    }),
    defineRoute({
      method: 'put',
      path: '/api/sessions/:id/answers/:itemId',
      summary: 'Record (or change) the answer to one item; acknowledged once stored',
      tags: ['checklists'],
      access: { roles: ['AGENT'] },
      params: idParam.extend({ itemId: z.string().regex(/^[a-z][a-z0-9_]{1,63}$/, 'must be a checklist item id') }),
      body: z.object({ value: answerValue, note: z.string().trim().max(2000).optional() }),
      responses: { 200: { description: 'Stored', schema: answerSchema } },
      async handler({ params, body, ctx }) {
        return { status: 200, body: await checklists.answer(params.id, params.itemId, body, requireUser(ctx.principal), ctx.requestId) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/sessions/:id/risk-flags',
      summary: 'Raise a risk flag (evasive, prompted, coercion suspected, …)',
      tags: ['checklists'],
      access: { roles: ['AGENT'] },
      params: idParam,
      body: z.object({ code: flagCode, severity, note: z.string().trim().max(2000).optional() }),
      responses: { 201: { description: 'Stored', schema: flagSchema } },
      async handler({ params, body, ctx }) {
        return { status: 201, body: await checklists.raiseFlag(params.id, body, requireUser(ctx.principal), ctx.requestId) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/sessions/:id/complete',
      summary: 'Submit the checklist: PASSED, FAILED or ESCALATED by the outcome rules',
      tags: ['checklists'],
      access: { roles: ['AGENT'] },
      params: idParam,
      responses: { 200: { description: 'Completed', schema: z.object({ session: sessionSchema, reasons: z.array(z.string()) }) } },
      async handler({ params, ctx }) {
        const result = await checklists.complete(params.id, requireUser(ctx.principal), ctx.requestId);
        return { status: 200, body: { session: sessionDto(result.session), reasons: result.reasons } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/sessions/:id/decision',
      summary: 'A supervisor decides an escalated session',
      tags: ['supervisor'],
      access: { roles: ['SUPERVISOR'] },
      params: idParam,
      body: decisionBody,
      responses: { 200: { description: 'Decided', schema: sessionSchema } },
      async handler({ params, body, ctx }) {
        return { status: 200, body: sessionDto(await checklists.decide(params.id, body, requireUser(ctx.principal), ctx.requestId)) };
      },
    }),
  ];
}
