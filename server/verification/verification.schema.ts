import { z } from 'zod';
import { plannedTimestamp, timestamp } from '../shared/schemas.js';

export const sessionKindSchema = z.enum(['CALL', 'VIDEO'], { message: 'must be CALL or VIDEO' });

export const scheduleSessionBody = z
  .object({
    partyId: z.uuid({ message: 'must be a UUID' }),
    kind: sessionKindSchema,
    templateKey: z.string().regex(/^[a-z][a-z0-9-]{1,63}$/, 'must be a checklist template key such as call-default').optional(),
    notBefore: plannedTimestamp.optional(),
    deadline: plannedTimestamp.optional(),
    priority: z.number().int().min(0).max(100).default(0),
    maxAttempts: z.number().int().min(1).max(20).optional(),
    contractDocumentHash: z
      .string()
      .regex(/^[0-9a-f]{64}$/, 'must be the lowercase hex SHA-256 of the contract document')
      .optional()
      .meta({ description: 'VIDEO only: the contract the party confirms signing on camera' }),
  })
  .refine((v) => v.kind === 'VIDEO' || v.contractDocumentHash === undefined, { path: ['contractDocumentHash'], message: 'only video sessions sign a contract' })
  .meta({ id: 'ScheduleSession' });
export type ScheduleSessionInput = z.output<typeof scheduleSessionBody>;

export const sessionSchema = z
  .object({
    id: z.uuid(),
    loanFileId: z.uuid(),
    partyId: z.uuid(),
    kind: sessionKindSchema,
    mode: z.enum(['AGENT', 'AUTOMATED_CALL']).describe('AUTOMATED_CALL: the checklist template opts in to automated confirmation calls (docs/automated-calls.md)'),
    handOffReason: z.string().nullable().describe('AUTOMATED_CALL: why the automated part handed the party to a person (DENIED, UNCLEAR, NO_INPUT, HUNG_UP, BOT_FAILED, NOT_RECORDED); null while it has not'),
    state: z.string(),
    version: z.number().int(),
    outcome: z.enum(['PASSED', 'FAILED', 'ESCALATED']).nullable(),
    templateKey: z.string(),
    templateVersion: z.number().int(),
    priority: z.number().int(),
    notBefore: timestamp,
    deadline: timestamp,
    nextAttemptAt: timestamp.nullable(),
    attemptCount: z.number().int(),
    maxAttempts: z.number().int(),
    assignedAgentId: z.uuid().nullable(),
    lastDialOutcome: z.string().nullable(),
    contractDocumentHash: z.string().nullable().describe('VIDEO: SHA-256 of the contract the party signs; null: there is no contract to sign in this session'),
    createdAt: timestamp,
    updatedAt: timestamp,
    completedAt: timestamp.nullable(),
  })
  .meta({ id: 'VerificationSession' });
export type SessionDto = z.infer<typeof sessionSchema>;

/** NO_AGENT_FOR_LANGUAGE: no active agent speaks the party's language; scheduled, but nobody can take it yet. */
export const scheduleWarningSchema = z.enum(['NO_AGENT_FOR_LANGUAGE']);
export type ScheduleWarning = z.infer<typeof scheduleWarningSchema>;
export const scheduledSessionSchema = sessionSchema.extend({ warnings: z.array(scheduleWarningSchema) }).meta({ id: 'ScheduledSession' });

export const rescheduleBody = z.object({ notBefore: plannedTimestamp });
export const cancelBody = z.object({ reason: z.string().trim().min(1).max(500) });
export const decisionBody = z.object({ outcome: z.enum(['PASSED', 'FAILED']), note: z.string().trim().min(1).max(2000) });
export const reassignBody = z.object({ agentId: z.uuid() });

export const joinGrantSchema = z
  .object({ sessionId: z.uuid(), kind: sessionKindSchema, room: z.string(), livekitUrl: z.string(), token: z.string() })
  .meta({ id: 'JoinGrant', description: 'Where and how the agent joins the LiveKit room.' });

export const offerSchema = z
  .object({
    id: z.uuid(),
    sessionId: z.uuid(),
    kind: sessionKindSchema,
    status: z.string(),
    offeredAt: timestamp,
    expiresAt: timestamp,
    mode: z.enum(['AGENT', 'AUTOMATED_CALL']),
    handOffReason: z.string().nullable().describe('Why the automated call handed the party to a person; null for an agent call or one not handed off'),
    expiresInMs: z.number().int().min(0).describe('Milliseconds left when this answer was made. Count down from when it arrived rather than against expiresAt: a console clock that is off then neither shortens nor lengthens the window'),
  })
  .meta({ id: 'SessionOffer' });
