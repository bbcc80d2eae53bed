// The LOS (or a supervisor) asks for a confirmation call or a video face-signing for a party.
// A session pins the latest published checklist version and its own item order, starts no earlier
// than the party's calling hours allow, and is queued for its not-before time and its deadline.
import { sqlIn, type Db } from '../db/client.js';
import type { VerificationSession } from '../db/generated/prisma/client.js';
import { AppError } from '../shared/errors.js';
import { appendAudit, type AuditEntry } from '../audit/audit.service.js';
import { runIdempotent, type StoredResponse } from '../db/idempotency.js';
import type { JobQueues } from '../jobs/queues.js';
import { latestTemplate, templateDocumentOf } from '../checklists/templates.js';
import { pickLivenessPrompt, sessionItemOrder } from '../checklists/randomize.js';
import { isWithinCallingHours, nextAllowedInstant, type CallingHours } from './calling-hours.js';
import { languagesMatch } from './agent-selection.js';
import { recomputeLoanFileStatus } from './loan-file-status.js';
import { createSession } from './verification.repository.js';
import { TERMINAL_STATES } from './session-state.js';
import type { SessionEngine } from './session-engine.js';
import type { ScheduleSessionInput, ScheduleWarning, SessionDto } from './verification.schema.js';
import { createHash, randomUUID } from 'node:crypto';
import type { Prisma } from '../db/generated/prisma/client.js';
import { canonicalJson } from '../audit/canonical-json.js';
import { placeholdersOfTemplate } from '../checklists/template.schema.js';
import { loanTermsInput, missingTerms, type TermsSnapshot } from '../loan-files/loan-terms.js';

const DEFAULT_TEMPLATE = { CALL: 'call-default', VIDEO: 'video-default' } as const;
const DEFAULT_WINDOW_MS = 7 * 24 * 3600_000;

export interface SchedulingSettings {
  callingHours: CallingHours;
  maxDialAttempts: number;
}

/** Sends video parties their link and reminders. */
export interface PartyInviter {
  invite(sessionId: string, template: 'invitation' | 'missed'): Promise<void>;
  scheduleReminders(session: Pick<VerificationSession, 'id' | 'notBefore' | 'version'>): Promise<void>;
}

export interface Caller {
  actor: AuditEntry['actor'];
  requestId: string;
  scope: string;
}

export function sessionDto(s: VerificationSession & { template?: { key: string; version: number } }): SessionDto {
  return {
    id: s.id,
    loanFileId: s.loanFileId,
    partyId: s.partyId,
    kind: s.kind,
    mode: s.mode,
    handOffReason: s.handOffReason,
    state: s.state,
    version: s.version,
    outcome: s.outcome,
    templateKey: s.templateKey,
    templateVersion: s.templateVersion,
    priority: s.priority,
    notBefore: s.notBefore.toISOString(),
    deadline: s.deadline.toISOString(),
    nextAttemptAt: s.nextAttemptAt?.toISOString() ?? null,
    attemptCount: s.attemptCount,
    maxAttempts: s.maxAttempts,
    assignedAgentId: s.assignedAgentId,
    lastDialOutcome: s.lastDialOutcome,
    contractDocumentHash: s.contractDocumentHash,
    createdAt: s.createdAt.toISOString(),
    updatedAt: s.updatedAt.toISOString(),
    completedAt: s.completedAt?.toISOString() ?? null,
  };
}

export interface SchedulingServiceOptions {
  db: Db;
  engine: SessionEngine;
  queues: JobQueues;
  settings: SchedulingSettings;
  inviter: PartyInviter;
}

export class SchedulingService {
  private readonly db: Db;
  private readonly engine: SessionEngine;
  private readonly queues: JobQueues;
  private readonly settings: SchedulingSettings;
  private readonly inviter: PartyInviter;

  constructor(options: SchedulingServiceOptions) {
    this.db = options.db;
    this.engine = options.engine;
    this.queues = options.queues;
    this.settings = options.settings;
    this.inviter = options.inviter;
  }

  async schedule(loanFileId: string, input: ScheduleSessionInput, caller: Caller, idempotencyKey: string | undefined, now = new Date()): Promise<StoredResponse> {
    const request = idempotencyKey ? { scope: `${caller.scope}:sessions`, key: idempotencyKey, body: { loanFileId, ...input } } : undefined;
    const result = await runIdempotent(
      this.db,
      request,
      async (tx) => {
        const loanFile = await tx.loanFile.findUnique({ where: { id: loanFileId } });
        if (!loanFile) throw new AppError('NOT_FOUND', `No loan file ${loanFileId}`);
        if (loanFile.status === 'CANCELLED') throw new AppError('SESSION_STATE_CONFLICT', 'The loan file is cancelled');
        const party = await tx.party.findFirst({ where: { id: input.partyId, loanFileId } });
        if (!party) throw fieldError('partyId', 'is not a party of this loan file');
        const open = await tx.verificationSession.findFirst({ where: { partyId: party.id, kind: input.kind, state: { notIn: [...TERMINAL_STATES] } } });
        if (open) throw new AppError('SESSION_STATE_CONFLICT', `Party already has an open ${input.kind} session ${open.id}`);

        const templateKey = input.templateKey ?? DEFAULT_TEMPLATE[input.kind];
        const template = await latestTemplate(this.db, templateKey);
        if (!template) throw fieldError('templateKey', `no published checklist template "${templateKey}"`);
        if (template.kind !== input.kind) throw fieldError('templateKey', `template "${templateKey}" is for ${template.kind} sessions`);

        const requested = input.notBefore ? new Date(input.notBefore) : now;
        // A time asked for (a video appointment, a call at a set time) must lie inside the party's calling hours:
        // moving it silently would hold the invitation past the appointment the LOS has already announced.
        if (input.notBefore) this.assertCallable(requested, party.timeZone);
        const deadline = input.deadline ? new Date(input.deadline) : new Date(Math.max(requested.getTime(), now.getTime()) + DEFAULT_WINDOW_MS);
        if (deadline <= now) throw fieldError('deadline', 'must be in the future');
        if (deadline <= requested) throw fieldError('deadline', 'must be after notBefore');
        // A session asked for "as soon as possible" starts when the party's calling hours next allow.
        const notBefore = nextAllowedInstant(requested, party.timeZone, this.settings.callingHours);
        if (!notBefore || notBefore >= deadline) {
          throw new AppError('OUTSIDE_CALLING_HOURS', `No calling hours for the party (${party.timeZone}) between notBefore and the deadline`);
        }

        const id = randomUUID();
        const doc = templateDocumentOf(template);
        // The script states these terms: the session keeps them as they are now, and a template naming
        // a term the loan file lacks would have the agent read a variable name to the borrower.
        const stored = loanTermsInput.safeParse(loanFile.terms ?? {});
        const loanTerms: TermsSnapshot = { ...(stored.success ? stored.data : {}), amount: loanFile.amount.toFixed(2), currency: loanFile.currency };
        const missing = missingTerms(placeholdersOfTemplate(doc), loanTerms);
        if (missing.length > 0) {
          const message = `names loan terms the loan file lacks: ${missing.join(', ')}`;
          throw new AppError('LOAN_TERMS_MISSING', `Checklist template ${template.key} v${template.version} ${message}; send them with PATCH /api/loan-files/${loanFileId} (terms) and schedule again`, {
            errors: [{ in: 'body', field: 'templateKey', message }],
          });
        }
        const contractDocumentHash = input.kind === 'VIDEO' ? await bindContract(tx, loanFileId, input.contractDocumentHash) : null;
        const session = await createSession(tx, {
          id,
          loanFileId,
          partyId: party.id,
          kind: input.kind,
          mode: doc.automatedCall === true ? 'AUTOMATED_CALL' : 'AGENT',
          templateId: template.id,
          templateKey: template.key,
          templateVersion: template.version,
          itemOrder: sessionItemOrder(doc, id),
          livenessPromptId: input.kind === 'VIDEO' ? (pickLivenessPrompt(doc, id) ?? null) : null,
          priority: input.priority,
          notBefore,
          deadline,
          maxAttempts: input.maxAttempts ?? this.settings.maxDialAttempts,
          contractDocumentHash,
          loanTerms: loanTerms as Prisma.InputJsonObject,
          productSkill: loanFile.product,
          language: party.locale,
        });
        await appendAudit(tx, {
          actor: caller.actor,
          entity: { type: 'session', id },
          event: {
            action: 'session.scheduled',
            v: 1,
            data: { loanFileId, partyId: party.id, kind: input.kind, templateKey: template.key, templateVersion: template.version, notBefore: notBefore.toISOString(), deadline: deadline.toISOString(), loanTermsSha256: createHash('sha256').update(canonicalJson(loanTerms)).digest('hex') },
          },
          requestId: caller.requestId,
        });
        await recomputeLoanFileStatus(sqlIn(tx), loanFileId, caller.actor, caller.requestId);
        // Scheduled all the same (agents may be added before it is due), but said now rather than discovered on the board.
        const agents = await tx.user.findMany({ where: { roles: { has: 'AGENT' }, disabledAt: null }, select: { languages: true } });
        const covered = agents.some((a) => a.languages.some((language) => languagesMatch(language, party.locale)));
        const warnings: ScheduleWarning[] = covered ? [] : ['NO_AGENT_FOR_LANGUAGE'];
        return { status: 201, body: { ...sessionDto(session), warnings } };
      },
      async () => {
        throw new AppError('SESSION_STATE_CONFLICT', 'A concurrent request scheduled this session; retry with the same Idempotency-Key');
      },
    );
    if (!result.replayed) {
      const session = result.body as SessionDto;
      await this.queueTimers(session.id, 0, new Date(session.notBefore), new Date(session.deadline));
      if (session.kind === 'VIDEO') {
        await this.inviter.invite(session.id, 'invitation');
        await this.inviter.scheduleReminders({ id: session.id, notBefore: new Date(session.notBefore), version: session.version });
      }
      this.engine.announce({ id: session.id, state: session.state as VerificationSession['state'], version: session.version, assignedAgentId: null });
    }
    return result;
  }

  private async queueTimers(sessionId: string, version: number, notBefore: Date, deadline: Date): Promise<void> {
    const delay = (at: Date) => Math.max(0, at.getTime() - Date.now());
    await this.queues.enqueue('session-due', { sessionId }, { jobId: `due-${sessionId}-${version}`, delayMs: delay(notBefore) });
    await this.queues.enqueue('session-deadline', { sessionId }, { jobId: `deadline-${sessionId}`, delayMs: delay(deadline) });
  }

  async reschedule(sessionId: string, notBeforeText: string, caller: Caller, now = new Date()): Promise<SessionDto> {
    const session = await this.db.verificationSession.findUnique({ where: { id: sessionId }, include: { party: true } });
    if (!session) throw new AppError('NOT_FOUND', `No session ${sessionId}`);
    const requested = new Date(notBeforeText);
    if (requested < new Date(now.getTime() - 60_000)) throw fieldError('notBefore', 'must not be in the past');
    this.assertCallable(requested, session.party.timeZone);
    const notBefore = requested;
    if (!notBefore || notBefore >= session.deadline) throw new AppError('OUTSIDE_CALLING_HOURS', 'No allowed time between notBefore and the deadline');
    const applied = await this.engine.apply(sessionId, { type: 'RESCHEDULED', notBefore }, { actor: caller.actor, requestId: caller.requestId });
    return sessionDto(applied.session);
  }

  private assertCallable(at: Date, timeZone: string): void {
    assertCallable(at, timeZone, this.settings.callingHours);
  }

  async cancel(sessionId: string, reason: string, caller: Caller): Promise<SessionDto> {
    const applied = await this.engine.apply(sessionId, { type: 'CANCELLED', reason }, { actor: caller.actor, requestId: caller.requestId, data: { endReason: `cancelled: ${reason}`.slice(0, 200) } });
    return sessionDto(applied.session);
  }
}

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

/**
 * Refuses a time asked for outside the party's calling hours with OUTSIDE_CALLING_HOURS, naming notBefore
 * and carrying the window in the party's own zone, so whoever asked (the LOS, a supervisor, the party on
 * the join page) can say which times would do.
 */
export function assertCallable(at: Date, timeZone: string, hours: CallingHours): void {
  if (isWithinCallingHours(at, timeZone, hours)) return;
  const requestedLocal = localClock(at, timeZone);
  const days = hours.days.map((d) => DAY_NAMES[d]).join(',');
  const message = `is ${requestedLocal.replace('T', ' ')} in ${timeZone}, outside the party's calling hours ${hours.start}-${hours.end} (${days}${hours.holidays.length > 0 ? ', not on holidays' : ''})`;
  throw new AppError('OUTSIDE_CALLING_HOURS', `notBefore ${message}`, {
    errors: [{ in: 'body', field: 'notBefore', message }],
    callingHours: { timeZone, start: hours.start, end: hours.end, days: [...hours.days].sort((a, b) => a - b), requestedLocal },
  });
}

/** 'YYYY-MM-DDTHH:MM' as a clock in `timeZone` reads at `at`. */
function localClock(at: Date, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' })
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour === '24' ? '00' : parts.hour}:${parts.minute}`;
}

/**
 * The contract a video session signs. Without a hash, the loan file's current contract document
 * (if the LOS supplied one). A hash given must name a document supplied for the loan file, when any
 * was; a loan file with no documents keeps the hash alone (the party then sees only the fingerprint).
 */
async function bindContract(tx: Prisma.TransactionClient, loanFileId: string, given: string | undefined): Promise<string | null> {
  if (given === undefined) {
    const current = await tx.contractDocument.findFirst({ where: { loanFileId }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], select: { sha256: true } });
    return current?.sha256 ?? null;
  }
  const documents = await tx.contractDocument.findMany({ where: { loanFileId }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], select: { sha256: true } });
  if (documents.length === 0 || documents.some((d) => d.sha256 === given)) return given;
  const message = `is not the SHA-256 of a contract document supplied for this loan file (the current one is ${documents[0]!.sha256})`;
  throw new AppError('CONTRACT_HASH_MISMATCH', `contractDocumentHash ${message}`, { errors: [{ in: 'body', field: 'contractDocumentHash', message }] });
}

function fieldError(field: string, message: string): AppError {
  return new AppError('VALIDATION_FAILED', `Invalid body: ${field}`, { errors: [{ in: 'body', field, message }] });
}
