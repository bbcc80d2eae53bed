import { z } from 'zod';
import type { Db } from '../db/client.js';
import type { Role } from '../db/generated/prisma/enums.js';
import { defineRoute, type RouteDefinition } from '../http/route.js';
import { AppError } from '../shared/errors.js';
import { idParam, iso, isoOrNull, timestamp } from '../shared/schemas.js';
import { actorOf } from '../audit/audit.service.js';
import { principalScope, requireUser, type Principal } from '../auth/principal.js';
import { idempotencyHeaders } from '../loan-files/loan-files.schema.js';
import type { Dispatcher } from './dispatcher.js';
import type { SessionEngine } from './session-engine.js';
import { sessionDto, type Caller, type SchedulingService } from './scheduling.service.js';
import { signingDto } from './contract-presentation.service.js';
import { signingSchema } from './contract.routes.js';
import { cancelBody, joinGrantSchema, offerSchema, reassignBody, rescheduleBody, scheduleSessionBody, scheduledSessionSchema, sessionSchema } from './verification.schema.js';

const MANAGERS: Role[] = ['SUPERVISOR', 'ADMIN'];
const READERS: Role[] = ['SUPERVISOR', 'ADMIN', 'AUDITOR'];

function caller(ctx: { principal: Principal | undefined; requestId: string }): Caller {
  return { actor: actorOf(ctx.principal), requestId: ctx.requestId, scope: ctx.principal ? principalScope(ctx.principal) : 'anonymous' };
}


const verificationSummary = z
  .object({
    loanFileId: z.uuid(),
    externalRef: z.string(),
    status: z.string(),
    parties: z.array(
      z.object({
        partyId: z.uuid(),
        role: z.string(),
        sessions: z.array(
          sessionSchema.extend({
            attempts: z.array(
              z.object({
                id: z.uuid(),
                number: z.number().int(),
                startedAt: timestamp,
                answeredAt: timestamp.nullable(),
                endedAt: timestamp.nullable(),
                dialOutcome: z.string().nullable(),
                endReason: z.string().nullable(),
                recording: z
                  .object({ id: z.uuid(), state: z.string(), objectKey: z.string(), reportedSize: z.string().nullable(), reportedDurationMs: z.number().nullable() })
                  .nullable(),
              }),
            ),
            answers: z.array(
              z.object({
                itemId: z.string(),
                value: z.string(),
                note: z.string().nullable(),
                offsetMs: z.number().nullable(),
                attemptId: z.uuid(),
                revision: z.number().int(),
                answeredBy: z.enum(['AGENT', 'AUTOMATED_CALL']).describe('AUTOMATED_CALL: read from the party\'s keypad by the automated confirmation call'),
              }),
            ),
            riskFlags: z.array(z.object({ code: z.string(), severity: z.string(), note: z.string().nullable(), offsetMs: z.number().nullable(), attemptId: z.uuid() })),
            decisionNote: z.string().nullable(),
            contractDocumentStored: z.boolean().describe('The contract document itself (not only its hash) is stored for this session\'s hash'),
            signing: signingSchema.nullable().describe('The party\'s code-confirmed signing: time, document hash, recording offset; null: not signed (or no contract)'),
          }),
        ),
      }),
    ),
  })
  .meta({ id: 'LoanFileVerification' });

export function verificationRoutes(db: Db, scheduling: SchedulingService, engine: SessionEngine, dispatcher: Dispatcher): RouteDefinition[] {
  const sessionOr404 = async (id: string, principal: Principal | undefined) => {
    const session = await db.verificationSession.findUnique({ where: { id } });
    const isAgentOnly = principal?.kind === 'user' && !principal.roles.some((r) => READERS.includes(r));
    if (!session || (isAgentOnly && session.assignedAgentId !== principal.userId)) throw new AppError('NOT_FOUND', `No session ${id}`);
    return session;
  };

  return [
    defineRoute({
      method: 'post',
      path: '/api/loan-files/:id/sessions',
      summary: 'Schedule a confirmation call or a video face-signing for a party',
      tags: ['sessions'],
      access: { roles: MANAGERS, apiKeyScope: 'sessions:write' },
      params: idParam,
      headers: idempotencyHeaders,
      body: scheduleSessionBody,
      responses: { 201: { description: 'Scheduled; warnings name what will keep it from being taken (e.g. no agent speaks the party\'s language)', schema: scheduledSessionSchema } },
      async handler({ params, body, headers, ctx }) {
        const result = await scheduling.schedule(params.id, body, caller(ctx), headers['idempotency-key']);
        return { status: result.status, body: result.body, headers: result.replayed ? { 'Idempotent-Replayed': 'true' } : undefined };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/sessions/:id',
      summary: 'A verification session',
      tags: ['sessions'],
      access: { roles: ['AGENT', ...READERS], apiKeyScope: 'sessions:read' },
      params: idParam,
      responses: { 200: { description: 'The session', schema: sessionSchema } },
      async handler({ params, ctx }) {
        return { status: 200, body: sessionDto(await sessionOr404(params.id, ctx.principal)) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/sessions/:id/reschedule',
      summary: 'Move a session that has not started to another time',
      tags: ['sessions'],
      access: { roles: MANAGERS, apiKeyScope: 'sessions:write' },
      params: idParam,
      body: rescheduleBody,
      responses: { 200: { description: 'Rescheduled', schema: sessionSchema } },
      async handler({ params, body, ctx }) {
        return { status: 200, body: await scheduling.reschedule(params.id, body.notBefore, caller(ctx)) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/sessions/:id/cancel',
      summary: 'Cancel a session (ends any call or room)',
      tags: ['sessions'],
      access: { roles: MANAGERS, apiKeyScope: 'sessions:write' },
      params: idParam,
      body: cancelBody,
      responses: { 200: { description: 'Cancelled', schema: sessionSchema } },
      async handler({ params, body, ctx }) {
        return { status: 200, body: await scheduling.cancel(params.id, body.reason, caller(ctx)) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/agent/offers',
      summary: "The signed-in agent's pending offers",
      tags: ['agent'],
      access: { roles: ['AGENT'] },
      responses: { 200: { description: 'Offers', schema: z.object({ items: z.array(offerSchema) }) } },
      async handler({ ctx }) {
        const now = new Date();
        const offers = await db.sessionOffer.findMany({ where: { agentId: requireUser(ctx.principal).userId, status: 'PENDING', expiresAt: { gt: now } }, include: { session: { select: { kind: true, mode: true, handOffReason: true } } }, orderBy: { offeredAt: 'asc' } });
        return {
          status: 200,
          body: { items: offers.map((o) => ({ id: o.id, sessionId: o.sessionId, kind: o.session.kind, mode: o.session.mode, handOffReason: o.session.handOffReason, status: o.status, offeredAt: iso(o.offeredAt), expiresAt: iso(o.expiresAt), expiresInMs: Math.max(0, o.expiresAt.getTime() - now.getTime()) })) },
        };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/offers/:id/accept',
      summary: 'Accept an offer: calls are dialled, video agents get a join token',
      tags: ['agent'],
      access: { roles: ['AGENT'] },
      params: idParam,
      responses: { 200: { description: 'Accepted; join the room with the token', schema: joinGrantSchema } },
      async handler({ params, ctx }) {
        return { status: 200, body: await dispatcher.accept(params.id, requireUser(ctx.principal).userId, ctx.requestId) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/offers/:id/decline',
      summary: 'Decline an offer (it goes to the next agent)',
      tags: ['agent'],
      access: { roles: ['AGENT'] },
      params: idParam,
      responses: { 204: { description: 'Declined' } },
      async handler({ params, ctx }) {
        await dispatcher.decline(params.id, requireUser(ctx.principal).userId, ctx.requestId);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/sessions/:id/join',
      summary: 'A fresh join token for the assigned agent (e.g. after a page reload)',
      tags: ['agent'],
      access: { roles: ['AGENT'] },
      params: idParam,
      responses: { 200: { description: 'Join grant', schema: joinGrantSchema } },
      async handler({ params, ctx }) {
        const principal = requireUser(ctx.principal);
        const session = await sessionOr404(params.id, principal);
        if (session.assignedAgentId !== principal.userId) throw new AppError('FORBIDDEN', 'Only the assigned agent joins');
        const attempt = await db.attempt.findFirst({ where: { sessionId: session.id, endedAt: null }, orderBy: { number: 'desc' } });
        if (!attempt) throw new AppError('SESSION_STATE_CONFLICT', 'There is no live attempt to join');
        return { status: 200, body: await dispatcher.joinGrant(session.id, session.kind, attempt.roomName, principal.userId) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/sessions/:id/end',
      summary: 'The agent ends the conversation (wrap-up follows)',
      tags: ['agent'],
      access: { roles: ['AGENT'] },
      params: idParam,
      responses: { 200: { description: 'Ended', schema: sessionSchema } },
      async handler({ params, ctx }) {
        const principal = requireUser(ctx.principal);
        const session = await sessionOr404(params.id, principal);
        if (session.assignedAgentId !== principal.userId) throw new AppError('FORBIDDEN', 'Only the assigned agent ends the conversation');
        const applied = await engine.apply(session.id, { type: 'CONVERSATION_ENDED' }, { actor: { type: 'USER', id: principal.userId }, requestId: ctx.requestId });
        return { status: 200, body: sessionDto(applied.session) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/sessions/:id/call-back',
      summary: 'From wrap-up, call the party again (e.g. the line dropped)',
      tags: ['agent'],
      access: { roles: ['AGENT'] },
      params: idParam,
      responses: { 200: { description: 'Dialling', schema: joinGrantSchema } },
      async handler({ params, ctx }) {
        const principal = requireUser(ctx.principal);
        const session = await sessionOr404(params.id, principal);
        if (session.assignedAgentId !== principal.userId) throw new AppError('FORBIDDEN', 'Only the assigned agent calls back');
        const applied = await engine.apply(session.id, { type: 'CALL_BACK' }, { actor: { type: 'USER', id: principal.userId }, requestId: ctx.requestId });
        return { status: 200, body: await dispatcher.joinGrant(session.id, session.kind, applied.attempt!.roomName, principal.userId) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/sessions/:id/reassign',
      summary: 'Give a session to another agent',
      tags: ['supervisor'],
      access: { roles: MANAGERS },
      params: idParam,
      body: reassignBody,
      responses: { 200: { description: 'Reassigned', schema: sessionSchema } },
      async handler({ params, body, ctx }) {
        return { status: 200, body: sessionDto(await dispatcher.reassign(params.id, body.agentId, requireUser(ctx.principal).userId, ctx.requestId)) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/api/loan-files/:id/verification',
      summary: "The loan file's verification: per party, sessions, attempts, answers with offsets, flags, outcomes, recordings",
      tags: ['loan-files'],
      access: { roles: READERS, apiKeyScope: 'loan-files:read' },
      params: idParam,
      responses: { 200: { description: 'Verification summary', schema: verificationSummary } },
      async handler({ params }) {
        const loanFile = await db.loanFile.findUnique({
          where: { id: params.id },
          include: {
            parties: {
              orderBy: { createdAt: 'asc' },
              include: {
                sessions: {
                  orderBy: { createdAt: 'asc' },
                  include: { attempts: { orderBy: { number: 'asc' }, include: { recording: true } }, answers: true, riskFlags: { orderBy: { createdAt: 'asc' } }, signings: { orderBy: { confirmedAt: 'desc' }, take: 1 } },
                },
              },
            },
            contracts: { select: { sha256: true } },
          },
        });
        if (!loanFile) throw new AppError('NOT_FOUND', `No loan file ${params.id}`);
        const storedContracts = new Set(loanFile.contracts.map((c) => c.sha256));
        return {
          status: 200,
          body: {
            loanFileId: loanFile.id,
            externalRef: loanFile.externalRef,
            status: loanFile.status,
            parties: loanFile.parties.map((p) => ({
              partyId: p.id,
              role: p.role,
              sessions: p.sessions.map((s) => ({
                ...sessionDto(s),
                decisionNote: s.decisionNote,
                contractDocumentStored: s.contractDocumentHash !== null && storedContracts.has(s.contractDocumentHash),
                signing: s.signings[0] ? signingDto(s.signings[0]) : null,
                attempts: s.attempts.map((a) => ({
                  id: a.id,
                  number: a.number,
                  startedAt: iso(a.startedAt),
                  answeredAt: isoOrNull(a.answeredAt),
                  endedAt: isoOrNull(a.endedAt),
                  dialOutcome: a.dialOutcome,
                  endReason: a.endReason,
                  recording: a.recording
                    ? { id: a.recording.id, state: a.recording.state, objectKey: a.recording.objectKey, reportedSize: a.recording.reportedSize?.toString() ?? null, reportedDurationMs: a.recording.reportedDurationMs }
                    : null,
                })),
                answers: s.answers.map((a) => ({ itemId: a.itemId, value: a.value, note: a.note, offsetMs: a.offsetMs, attemptId: a.attemptId, revision: a.revision, answeredBy: a.answeredById === null ? ('AUTOMATED_CALL' as const) : ('AGENT' as const) })),
                riskFlags: s.riskFlags.map((f) => ({ code: f.code, severity: f.severity, note: f.note, offsetMs: f.offsetMs, attemptId: f.attemptId })),
              })),
            })),
          },
        };
      },
    }),
  ];
}
