// The desk's view of a session, as the API documents it; the service's type is derived from it.
import { z } from 'zod';
import { timestamp } from '../shared/schemas.js';

export const deskSessionSchema = z
  .object({
    id: z.uuid(),
    kind: z.enum(['CALL', 'VIDEO']),
    state: z.string(),
    version: z.number().int(),
    outcome: z.string().nullable(),
    notBefore: timestamp,
    nextAttemptAt: timestamp.nullable(),
    completedAt: timestamp.nullable(),
    attemptCount: z.number().int(),
    maxAttempts: z.number().int(),
    /** How the last dial ended (BUSY, NO_ANSWER, …): why a retry-pending session was not reached. */
    lastDialOutcome: z.string().nullable(),
    mode: z.enum(['AGENT', 'AUTOMATED_CALL']),
    /** Why the automated call handed the party to a person (DENIED, UNCLEAR, NO_INPUT, HUNG_UP, BOT_FAILED, NOT_RECORDED); null while it has not. */
    handOffReason: z.string().nullable(),
    handedOffAt: timestamp.nullable(),
    loan: z.object({ externalRef: z.string(), product: z.string(), productName: z.object({ 'zh-CN': z.string().optional(), en: z.string().optional() }).nullable().describe('The product as the lender names it to the party (what the borrower\'s page shows), when the LOS sent a name'), amount: z.string(), currency: z.string() }),
    party: z.object({
      name: z.string(),
      role: z.string(),
      phoneLast4: z.string(),
      idNumberLast4: z.string().nullable(),
      locale: z.string(),
      timeZone: z.string(),
    }),
    attempt: z
      .object({
        id: z.uuid(),
        number: z.number().int(),
        startedAt: timestamp,
        answeredAt: timestamp.nullable(),
        endedAt: timestamp.nullable(),
        recordingStartedAt: timestamp.nullable(),
        partyConnected: z.boolean(),
        callStatus: z.string().nullable(),
      })
      .nullable(),
    recording: z.object({ id: z.uuid(), state: z.string() }).nullable(),
  })
  .meta({ id: 'DeskSession', description: 'A session as the agent desk shows it: masked party card, live attempt, recording state' });

export type DeskSession = z.infer<typeof deskSessionSchema>;
