// The borrower's join page API. Public (the link is the credential), rate-limited per client address;
// every step after the one-time code needs the party token in the X-Party-Token header.
import type { Request } from 'express';
import { z } from 'zod';
import { defineRoute, type RouteDefinition } from '../http/route.js';
import { AppError } from '../shared/errors.js';
import { plannedTimestamp, timestamp } from '../shared/schemas.js';
import type { BorrowerLinks } from '../auth/borrower-links.service.js';
import type { RateLimiter } from '../auth/rate-limiter.js';
import { promptValuesSchema, termsSnapshotSchema } from '../loan-files/loan-terms.js';
import type { PartyJoinService } from './party-join.service.js';

const tokenParam = z.object({ token: z.string().max(128) });
const localized = z.object({ 'zh-CN': z.string(), en: z.string() });
const codeStatusSchema = z.object({
  pending: z.boolean().describe('A code was sent and has not expired'),
  triesLeft: z.number().int(),
  lockedUntil: timestamp.nullable(),
  resendAt: timestamp.nullable().describe('When another code may be requested'),
});
const overviewSchema = z
  .object({
    sessionId: z.uuid(),
    kind: z.enum(['CALL', 'VIDEO']),
    state: z.string(),
    appointmentAt: timestamp,
    deadline: timestamp,
    locale: z.string(),
    partyName: z.string(),
    verified: z.boolean(),
    authenticated: z.boolean().describe('The request carried this link\'s valid X-Party-Token'),
    consented: z.boolean(),
    waitingRoomOpensAt: timestamp,
    position: z.number().int().nullable().describe('In the waiting room: 1 = next; 0 = an agent has taken the session; null outside it'),
    canReschedule: z.boolean().describe('The party may still pick another slot'),
    contractToSign: z.boolean(),
    otp: z.object({ join: codeStatusSchema, sign: codeStatusSchema }),
    terms: z
      .object({
        loanReference: z.string(),
        product: z.string(),
        productName: z.object({ 'zh-CN': z.string().optional(), en: z.string().optional() }).nullable().describe('The product as the lender names it, when the LOS sent a name'),
        amount: z.string().describe('Decimal, two places'),
        currency: z.string(),
        documentHash: z.string().nullable(),
        signedAt: timestamp.nullable(),
        loanTerms: termsSnapshotSchema.describe('The terms the session\'s script states (as scheduled); the contract viewer highlights them'),
        values: promptValuesSchema.describe('Each term in words per language (¥88,000.00, 4.35%); dueDay is the bare day'),
      })
      .nullable()
      .describe('The loan\'s key terms; only with a valid X-Party-Token'),
    consentTexts: z.object({ RECORDING: localized.extend({ version: z.string() }), DATA_PROCESSING: localized.extend({ version: z.string() }) }),
  })
  .meta({ id: 'PartyJoinOverview' });
const readySchema = z.object({ state: z.string(), room: z.string(), livekitUrl: z.string(), token: z.string(), position: z.number().int() }).meta({ id: 'PartyJoinGrant' });

export function partyRoutes(links: BorrowerLinks, join: PartyJoinService, limiter: RateLimiter, ratePerMinute = 60): RouteDefinition[] {
  const throttle = async (req: Request) => {
    const wait = await limiter.hit(`join:ip:${req.ip ?? 'unknown'}`, ratePerMinute, 60);
    if (wait > 0) throw new AppError('RATE_LIMITED', 'Too many requests from this address', { retryAfterSeconds: wait });
  };
  const asParty = async (req: Request, token: string, requestId: string) => {
    await throttle(req);
    const { link, session } = await links.authenticateParty(token, req.get('x-party-token'));
    return { link, session, ip: req.ip, userAgent: req.get('user-agent'), requestId };
  };

  return [
    defineRoute({
      method: 'get',
      path: '/api/join/:token',
      summary: 'What the borrower link is for (clear errors for expired, used up or closed links); the key terms with X-Party-Token',
      tags: ['borrower'],
      access: 'public',
      params: tokenParam,
      responses: { 200: { description: 'The appointment', schema: overviewSchema } },
      async handler({ params, req }) {
        await throttle(req);
        return { status: 200, body: await join.overview(await links.resolve(params.token), req.get('x-party-token')), headers: { 'Cache-Control': 'no-store' } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/join/:token/otp',
      summary: 'Send a one-time code by SMS (to enter, or to confirm signing)',
      tags: ['borrower'],
      access: 'public',
      params: tokenParam,
      body: z.object({ purpose: z.enum(['join', 'sign']).default('join') }),
      responses: { 202: { description: 'Sent' } },
      async handler({ params, body, req }) {
        await throttle(req);
        const resolved = body.purpose === 'sign' ? await links.authenticateParty(params.token, req.get('x-party-token')) : await links.resolve(params.token);
        await join.sendCode(resolved, body.purpose);
        return { status: 202 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/join/:token/otp/verify',
      summary: 'Check the one-time code; returns the party token for the next steps (5 wrong codes per link, resent codes included, then locked)',
      tags: ['borrower'],
      access: 'public',
      params: tokenParam,
      body: z.object({ code: z.string().trim().max(12) }),
      responses: { 200: { description: 'Verified', schema: z.object({ partyToken: z.string() }) } },
      async handler({ params, body, req }) {
        await throttle(req);
        return { status: 200, body: { partyToken: await join.verifyJoinCode(await links.resolve(params.token), body.code) } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/join/:token/consent',
      summary: 'Consent to recording and personal-data processing (with optional coarse location)',
      tags: ['borrower'],
      access: 'public',
      params: tokenParam,
      body: z.object({
        recording: z.boolean(),
        dataProcessing: z.boolean(),
        locale: z.enum(['zh-CN', 'en']),
        location: z.object({ country: z.string().length(2), region: z.string().max(80).optional(), city: z.string().max(80).optional() }).optional(),
      }),
      responses: { 204: { description: 'Recorded' } },
      async handler({ params, body, req, ctx }) {
        await join.consent(await asParty(req, params.token, ctx.requestId), body);
        return { status: 204 };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/join/:token/ready',
      summary: 'Enter the waiting room (or rejoin the call); returns the LiveKit room and token',
      tags: ['borrower'],
      access: 'public',
      params: tokenParam,
      responses: { 200: { description: 'In the waiting room', schema: readySchema } },
      async handler({ params, req, ctx }) {
        return { status: 200, body: await join.ready(await asParty(req, params.token, ctx.requestId)) };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/join/:token/reschedule',
      summary: 'Pick another slot before the appointment',
      tags: ['borrower'],
      access: 'public',
      params: tokenParam,
      body: z.object({ notBefore: plannedTimestamp }),
      responses: { 200: { description: 'Rescheduled', schema: z.object({ appointmentAt: timestamp }) } },
      async handler({ params, body, req, ctx }) {
        const session = await join.reschedule(await asParty(req, params.token, ctx.requestId), new Date(body.notBefore));
        return { status: 200, body: { appointmentAt: session.notBefore.toISOString() } };
      },
    }),
    defineRoute({
      method: 'post',
      path: '/api/join/:token/sign',
      summary: 'Confirm signing the contract with a fresh one-time code, during the call',
      tags: ['borrower'],
      access: 'public',
      params: tokenParam,
      body: z.object({ code: z.string().trim().max(12) }),
      responses: { 201: { description: 'Signing confirmed', schema: z.object({ id: z.uuid(), documentHash: z.string(), recordingOffsetMs: z.number().int(), confirmedAt: timestamp }) } },
      async handler({ params, body, req, ctx }) {
        const signing = await join.sign(await asParty(req, params.token, ctx.requestId), body.code);
        return { status: 201, body: { id: signing.id, documentHash: signing.documentHash, recordingOffsetMs: signing.recordingOffsetMs, confirmedAt: signing.confirmedAt.toISOString() } };
      },
    }),
  ];
}
