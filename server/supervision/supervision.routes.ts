import { z } from 'zod';
import { defineRoute, type RouteDefinition } from '../http/route.js';
import { timestamp } from '../shared/schemas.js';
import type { SupervisionService } from './supervision.service.js';

const kind = z.enum(['CALL', 'VIDEO']);

const boardSchema = z
  .object({
    generatedAt: timestamp,
    agents: z.array(
      z.object({
        id: z.uuid(),
        displayName: z.string(),
        presence: z.enum(['available', 'busy', 'away', 'offline', 'in_session', 'offered']),
        languages: z.array(z.string()),
        skills: z.array(z.string()),
        current: z.object({ sessionId: z.uuid(), kind, state: z.string(), since: timestamp, loanFileRef: z.string() }).nullable(),
        offer: z.object({ sessionId: z.uuid(), expiresAt: timestamp }).nullable(),
      }),
    ),
    sessions: z.array(
      z.object({
        id: z.uuid(),
        kind,
        state: z.string(),
        column: z.enum(['waiting', 'offered', 'dialling', 'retry_pending', 'in_progress', 'wrap_up', 'escalated']),
        version: z.number().int(),
        loanFileRef: z.string(),
        product: z.string(),
        productName: z.object({ 'zh-CN': z.string().optional(), en: z.string().optional() }).nullable().describe('The product as the lender names it to the party (what the borrower\'s page shows), when the LOS sent a name'),
        partyRole: z.string(),
        language: z.string(),
        priority: z.number().int(),
        assignedAgent: z.object({ id: z.uuid(), displayName: z.string() }).nullable(),
        offer: z.object({ agentId: z.uuid(), agentName: z.string(), expiresAt: timestamp }).nullable(),
        createdAt: timestamp,
        notBefore: timestamp,
        since: timestamp,
        attemptCount: z.number().int(),
        maxAttempts: z.number().int(),
        lastDialOutcome: z.string().nullable(),
        mode: z.enum(['AGENT', 'AUTOMATED_CALL']),
        handOffReason: z.string().nullable().describe('Why the automated call handed the party to a person; null when it did not'),
        nextAttemptAt: timestamp.nullable(),
        recaptureRequired: z.boolean(),
        reasons: z.array(z.string()),
        agentOffline: z.boolean(),
      }),
    ),
    alerts: z.array(
      z.object({
        id: z.string(),
        kind: z.enum(['recording_failed', 'recording_integrity', 'retries_exhausted', 'agent_disconnected']),
        sessionId: z.uuid().nullable(),
        loanFileRef: z.string().nullable(),
        at: timestamp,
        detail: z.string().nullable(),
        agentName: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: 'SupervisorBoard' });

export function supervisionRoutes(supervision: SupervisionService): RouteDefinition[] {
  return [
    defineRoute({
      method: 'get',
      path: '/api/supervision/board',
      summary: 'The live board: agents with presence and current session, open sessions by column, recent alerts',
      tags: ['supervisor'],
      access: { roles: ['SUPERVISOR', 'ADMIN'] },
      responses: { 200: { description: 'A snapshot; follow `presence:changed`, `session:changed` and `alert` on /agent and load it again', schema: boardSchema } },
      async handler() {
        return { status: 200, body: await supervision.board() };
      },
    }),
  ];
}
