// The agent walks the pinned checklist: each answer and risk flag is saved on its own, with its
// offset into the recording, and acknowledged only after it committed. Completing applies the
// outcome rules; an escalation waits for a supervisor's decision.
import { randomUUID } from 'node:crypto';
import { sql as fragment, type Selectable } from 'kysely';
import { Prisma, sqlAutocommit, sqlPool, type Db } from '../db/client.js';
import { build, prepared, type DB } from '../db/typed-sql.js';
import type { ChecklistAnswer, RiskFlag, VerificationSession } from '../db/generated/prisma/client.js';
import type { AnswerValue, RiskFlagCode, RiskSeverity, SessionState } from '../db/generated/prisma/enums.js';
import { AppError } from '../shared/errors.js';
import { appendAudit, auditInsertSelect, auditRow } from '../audit/audit.service.js';
import type { Principal } from '../auth/principal.js';
import type { RealtimeEmitter } from '../realtime/events.js';
import type { SessionEngine } from '../verification/session-engine.js';
import { decideOutcome } from './outcome-rules.js';
import { templateDocumentOf } from './templates.js';
import type { TemplateDocument, TemplateItem } from './template.schema.js';
import { automatedNoteText, type AutomatedNote } from '../automated-calls/notes.js';
import { parseTermsSnapshot, promptValues, type PromptLocale, type TermsSnapshot } from '../loan-files/loan-terms.js';

type UserPrincipal = Extract<Principal, { kind: 'user' }>;
const NIL_UUID = '00000000-0000-0000-0000-000000000000';
/** Who the audit log names for what an automated confirmation call did. */
export const AUTOMATED_CALL_ACTOR = { type: 'SYSTEM', id: 'automated-call' } as const;
const ANSWERABLE: ReadonlySet<string> = new Set<SessionState>(['IN_PROGRESS', 'WRAP_UP']);
/** Items that record the party's code-confirmed signing of the contract (SigningConfirmation). */
export const SIGNING_ITEM_IDS: ReadonlySet<string> = new Set(['contract_signing_otp']);
/** What the answer write is given (its row and its audit event, less what the statement fills in). */
interface AnswerWrite extends Record<string, unknown>, Pick<ReturnType<typeof auditRow>, 'recordedAt' | 'actorType' | 'actorId' | 'action' | 'actionVersion' | 'entityType' | 'entityId' | 'requestId'> {
  id: string;
  sessionId: string;
  itemId: string;
  value: AnswerValue;
  note: string | null;
  agentId: string;
  answeredAt: Date;
  states: string[];
  templateIds: string[];
  eventId: string;
  eventData: string;
}

/**
 * The answer and its audit event in one statement, built once (the busiest write in the product):
 * the session must be assigned to the agent, open for answers and on one of the templates; FOR SHARE
 * holds it until the statement commits, so a concurrent transition is waited for and re-checked. The
 * event records the attempt, the recording offset and the revision the write produced.
 */
const writeAnswerStatement = prepared<AnswerWrite, Selectable<DB['ChecklistAnswer']>>(
  'checklist-answer-write',
  ['id', 'sessionId', 'itemId', 'value', 'note', 'agentId', 'answeredAt', 'states', 'templateIds', 'eventId', 'recordedAt', 'actorType', 'actorId', 'action', 'actionVersion', 'entityType', 'entityId', 'requestId', 'eventData'],
  (p) =>
    build
      .with('target', (db) =>
        db
          .selectFrom('VerificationSession as s')
          .innerJoinLateral((eb) => eb.selectFrom('Attempt').select(['Attempt.id', 'Attempt.recordingStartedAt']).whereRef('Attempt.sessionId', '=', 's.id').orderBy('Attempt.number', 'desc').limit(1).as('a'), (join) => join.onTrue())
          .select((eb) => [
            's.id',
            'a.id as attemptId',
            fragment<number | null>`CASE WHEN ${eb.ref('a.recordingStartedAt')} IS NULL THEN NULL ELSE GREATEST(0, floor(extract(epoch FROM (${p.answeredAt}::timestamptz - ${eb.ref('a.recordingStartedAt')})) * 1000))::int END`.as('offsetMs'),
          ])
          .where('s.id', '=', p.sessionId)
          .where('s.assignedAgentId', '=', p.agentId)
          .where((eb) => fragment<boolean>`${eb.ref('s.state')}::text = ANY(${p.states}::text[])`)
          .where((eb) => eb('s.templateId', '=', eb.fn.any(eb.val(p.templateIds))))
          .forShare('s'),
      )
      .with('saved', (db) =>
        db
          .insertInto('ChecklistAnswer')
          .columns(['id', 'sessionId', 'attemptId', 'itemId', 'value', 'note', 'offsetMs', 'answeredById', 'answeredAt', 'revision'])
          .expression(
            db.selectFrom('target').select((eb) => [
              eb.cast<string>(eb.val(p.id), 'uuid').as('id'),
              'target.id as sessionId',
              'target.attemptId',
              eb.cast<string>(eb.val(p.itemId), 'text').as('itemId'),
              eb.cast<AnswerValue>(eb.val(p.value), fragment`"AnswerValue"`).as('value'),
              eb.cast<string | null>(eb.val(p.note), 'text').as('note'),
              'target.offsetMs',
              eb.cast<string>(eb.val(p.agentId), 'uuid').as('answeredById'),
              eb.cast<Date>(eb.val(p.answeredAt), 'timestamptz').as('answeredAt'),
              eb.lit(1).as('revision'),
            ]),
          )
          .onConflict((oc) =>
            oc.columns(['sessionId', 'itemId']).doUpdateSet((eb) => ({
              attemptId: eb.ref('excluded.attemptId'),
              value: eb.ref('excluded.value'),
              note: eb.ref('excluded.note'),
              offsetMs: eb.ref('excluded.offsetMs'),
              answeredById: eb.ref('excluded.answeredById'),
              answeredAt: eb.ref('excluded.answeredAt'),
              revision: eb('ChecklistAnswer.revision', '+', eb.lit(1)),
              noteCode: fragment<null>`NULL`,
              noteParams: fragment<null>`NULL`,
            })),
          )
          .returningAll(),
      )
      .with('audited', (db) =>
        auditInsertSelect(
          db.selectFrom('saved').select((eb) => [
            eb.cast<string>(eb.val(p.eventId), 'uuid').as('id'),
            eb.cast<Date>(eb.val(p.answeredAt), 'timestamptz').as('occurredAt'),
            eb.cast<Date>(eb.val(p.recordedAt), 'timestamptz').as('recordedAt'),
            eb.cast<string>(eb.val(p.actorType), fragment`"AuditActorType"`).as('actorType'),
            eb.cast<string | null>(eb.val(p.actorId), 'text').as('actorId'),
            eb.cast<string>(eb.val(p.action), 'text').as('action'),
            eb.cast<number>(eb.val(p.actionVersion), 'integer').as('actionVersion'),
            eb.cast<string>(eb.val(p.entityType), 'text').as('entityType'),
            eb.cast<string>(eb.val(p.entityId), 'text').as('entityId'),
            eb.cast<string | null>(eb.val(p.requestId), 'text').as('requestId'),
            fragment<unknown>`${p.eventData}::jsonb || jsonb_build_object('attemptId', ${eb.ref('saved.attemptId')}, 'offsetMs', ${eb.ref('saved.offsetMs')}, 'revision', ${eb.ref('saved.revision')})`.as('data'),
          ]),
        ),
      )
      .selectFrom('saved')
      .selectAll(),
);

const answersClosed = (state: string) => new AppError('SESSION_STATE_CONFLICT', `Answers are recorded during the conversation or wrap-up, not while ${state}`);
const answerRefused = () => new AppError('SESSION_STATE_CONFLICT', 'The session left the conversation or was reassigned while the answer was being saved');

/** What writing to a session's checklist needs to know about the session. */
type WritableSession = Pick<VerificationSession, 'id' | 'version' | 'assignedAgentId' | 'templateId' | 'itemOrder'> & { state: SessionState };

export interface ChecklistView {
  sessionId: string;
  state: string;
  version: number;
  templateKey: string;
  templateVersion: number;
  contentHash: string;
  items: (Pick<TemplateItem, 'id' | 'kind' | 'required' | 'prompt'> & {
    sectionId: string;
    guidance: TemplateItem['guidance'] | null;
    answer: ({ value: AnswerValue; note: string | null; offsetMs: number | null; revision: number; answeredAt: string } & AnswerSource) | null;
  })[];
  flags: { id: string; code: RiskFlagCode; severity: RiskSeverity; note: string | null; offsetMs: number | null; createdAt: string }[];
  liveness: { id: string; prompt: { 'zh-CN': string; en: string } } | null;
  /** The loan's terms as scheduled; null for sessions scheduled before loan files carried terms. */
  loanTerms: TermsSnapshot | null;
  /** What each {placeholder} reads as, per language; a name absent here is not known for this session. */
  values: Record<PromptLocale, Record<string, string>>;
}

/** Who answered, and the automated call's note as a code the console words in the viewer's language. */
export interface AnswerSource {
  answeredBy: 'AGENT' | 'AUTOMATED_CALL';
  noteCode: string | null;
  noteParams: Record<string, string | number> | null;
}

export const answerSource = (a: Pick<ChecklistAnswer, 'answeredById' | 'noteCode' | 'noteParams'>): AnswerSource => ({
  answeredBy: a.answeredById === null ? 'AUTOMATED_CALL' : 'AGENT',
  noteCode: a.noteCode,
  noteParams: a.noteCode && a.noteParams && typeof a.noteParams === 'object' && !Array.isArray(a.noteParams) ? (a.noteParams as Record<string, string | number>) : null,
});

export const answerDto = (a: ChecklistAnswer) => ({ itemId: a.itemId, value: a.value, note: a.note, offsetMs: a.offsetMs, revision: a.revision, answeredAt: a.answeredAt.toISOString(), ...answerSource(a) });
export const flagDto = (f: RiskFlag) => ({ id: f.id, code: f.code, severity: f.severity, note: f.note, offsetMs: f.offsetMs, createdAt: f.createdAt.toISOString() });

export class ChecklistService {
  constructor(
    private readonly db: Db,
    private readonly engine: SessionEngine,
    private readonly realtime: RealtimeEmitter,
  ) {}

  /** Assigned agent, supervisors, admins and auditors may read; nobody else learns the session exists. */
  async canRead(principal: UserPrincipal, session: Pick<VerificationSession, 'assignedAgentId'>): Promise<boolean> {
    return principal.roles.some((r) => r === 'SUPERVISOR' || r === 'ADMIN' || r === 'AUDITOR') || session.assignedAgentId === principal.userId;
  }

  /** Published template versions never change, so each is read and parsed once per process. */
  private readonly documents = new Map<string, TemplateDocument>();

  private async documentOf(templateId: string): Promise<TemplateDocument> {
    const cached = this.documents.get(templateId);
    if (cached) return cached;
    const doc = templateDocumentOf(await this.db.checklistTemplate.findUniqueOrThrow({ where: { id: templateId }, select: { definition: true } }));
    this.documents.set(templateId, doc);
    return doc;
  }

  private async load(sessionId: string) {
    const session = await this.db.verificationSession.findUnique({
      where: { id: sessionId },
      include: {
        template: { select: { key: true, version: true, contentHash: true } },
        party: { select: { phoneE164: true } },
        assignedAgent: { select: { displayName: true } },
      },
    });
    if (!session) throw new AppError('NOT_FOUND', `No session ${sessionId}`);
    return { session, doc: await this.documentOf(session.templateId) };
  }

  async view(sessionId: string, principal: UserPrincipal): Promise<ChecklistView> {
    const { session, doc } = await this.load(sessionId);
    if (!(await this.canRead(principal, session))) throw new AppError('NOT_FOUND', `No session ${sessionId}`);
    const [answers, flags] = await Promise.all([
      this.db.checklistAnswer.findMany({ where: { sessionId } }),
      this.db.riskFlag.findMany({ where: { sessionId }, orderBy: { createdAt: 'asc' } }),
    ]);
    const byItem = new Map(answers.map((a) => [a.itemId, a]));
    const located = locateItems(doc);
    const order = session.itemOrder.length > 0 ? session.itemOrder : [...located.keys()];
    const liveness = session.livenessPromptId ? doc.livenessPool?.find((p) => p.id === session.livenessPromptId) : undefined;
    const loanTerms = parseTermsSnapshot(session.loanTerms);
    return {
      sessionId,
      state: session.state,
      version: session.version,
      templateKey: session.template.key,
      templateVersion: session.template.version,
      contentHash: session.template.contentHash,
      items: order.flatMap((id) => {
        const found = located.get(id);
        if (!found) return [];
        const answer = byItem.get(id);
        return [
          {
            id,
            sectionId: found.sectionId,
            kind: found.item.kind,
            required: found.item.required,
            prompt: found.item.prompt,
            guidance: found.item.guidance ?? null,
            answer: answer ? { value: answer.value, note: answer.note, offsetMs: answer.offsetMs, revision: answer.revision, answeredAt: answer.answeredAt.toISOString(), ...answerSource(answer) } : null,
          },
        ];
      }),
      flags: flags.map(flagDto),
      liveness: liveness ? { id: liveness.id, prompt: liveness.prompt } : null,
      loanTerms: loanTerms ?? null,
      values: promptValues(loanTerms, {
        phoneE164: session.party.phoneE164,
        agentName: session.assignedAgent?.displayName,
        livenessPrompt: liveness?.prompt,
      }),
    };
  }

  /** Only the assigned agent writes, and only while the conversation or its wrap-up is on. */
  private async writable(sessionId: string, principal: UserPrincipal) {
    // The session and its latest attempt in one named statement: this runs on every answer an agent saves.
    const { rows } = await sqlPool(this.db).query<WritableSession & { attemptId: string | null; recordingStartedAt: Date | null }>({
      name: 'checklist-writable-session',
      text: `SELECT s."id", s."state"::text AS "state", s."version", s."assignedAgentId", s."templateId", s."itemOrder", a."id" AS "attemptId", a."recordingStartedAt"
        FROM "VerificationSession" s
        LEFT JOIN LATERAL (SELECT "id", "recordingStartedAt" FROM "Attempt" WHERE "sessionId" = s."id" ORDER BY "number" DESC LIMIT 1) a ON true
        WHERE s."id" = $1::uuid`,
      values: [sessionId],
    });
    const found = rows[0];
    if (!found) throw new AppError('NOT_FOUND', `No session ${sessionId}`);
    const { attemptId, recordingStartedAt, ...session } = found;
    const doc = await this.documentOf(session.templateId);
    if (session.assignedAgentId !== principal.userId) {
      if (await this.canRead(principal, session)) throw new AppError('FORBIDDEN', 'Only the assigned agent records answers');
      throw new AppError('NOT_FOUND', `No session ${sessionId}`);
    }
    if (!ANSWERABLE.has(session.state)) throw answersClosed(session.state);
    if (!attemptId) throw new AppError('SESSION_STATE_CONFLICT', 'The session has no attempt');
    const offsetMs = recordingStartedAt ? Math.max(0, Date.now() - recordingStartedAt.getTime()) : null;
    return { session, doc, attempt: { id: attemptId }, offsetMs };
  }

  async answer(sessionId: string, itemId: string, input: { value: AnswerValue; note?: string | undefined }, principal: UserPrincipal, requestId: string) {
    // "Signed with the code" is the system's fact, not the agent's impression: it is confirmed only once the party signed.
    if (input.value === 'CONFIRMED' && SIGNING_ITEM_IDS.has(itemId)) {
      const signed = await this.db.signingConfirmation.findFirst({ where: { sessionId }, select: { id: true } });
      if (!signed) {
        await this.writable(sessionId, principal);
        throw new AppError('SIGNING_NOT_CONFIRMED', 'The party has not confirmed signing with the signing code in this session', {
          errors: [{ in: 'body', field: 'value', message: 'CONFIRMED needs the party\'s signing confirmation; with no contract to sign, answer UNCLEAR and say why in the note' }],
        });
      }
    }
    // One statement checks the session (this agent's, open for answers, its template has this item)
    // and writes the answer with its audit event. Only when it writes nothing is the session read:
    // to say exactly why, or to learn a template this process has not loaded yet.
    let saved = await this.writeAnswer(sessionId, itemId, input, principal, requestId, this.templatesWithItem(itemId));
    if (!saved) {
      const { session, doc } = await this.writable(sessionId, principal);
      if (!locateItems(doc).has(itemId)) {
        throw new AppError('VALIDATION_FAILED', 'Invalid params: itemId', { errors: [{ in: 'params', field: 'itemId', message: 'is not an item of this session\'s checklist' }] });
      }
      saved = await this.writeAnswer(sessionId, itemId, input, principal, requestId, [session.templateId]);
      if (!saved) throw answerRefused();
    }
    const change = { v: 1 as const, sessionId, itemId, revision: saved.revision };
    this.realtime.toSessionWatchers(sessionId, 'checklist:changed', change, { andAgent: principal.userId }); // and the agent's other tabs
    return answerDto(saved);
  }

  /** The loaded templates that have this item (the write checks the session's template is one of them). */
  private templatesWithItem(itemId: string): string[] {
    return [...this.documents].filter(([, doc]) => locateItems(doc).has(itemId)).map(([templateId]) => templateId);
  }

  /**
   * The answer and its audit event in one statement (one round trip, atomic), written only while the
   * session is assigned to this agent, open for answers and on one of `templateIds`; FOR SHARE holds
   * the session until the statement commits, so a concurrent transition is waited for and re-checked.
   * The event records the attempt, recording offset and revision the write produced.
   */
  private async writeAnswer(sessionId: string, itemId: string, input: { value: AnswerValue; note?: string | undefined }, principal: UserPrincipal, requestId: string, templateIds: string[]) {
    if (templateIds.length === 0) return undefined;
    const answeredAt = new Date();
    // attemptId, offsetMs and revision are the statement's to fill in from the row it writes.
    const event = auditRow({
      actor: { type: 'USER', id: principal.userId },
      entity: { type: 'session', id: sessionId },
      event: { action: 'checklist.answered', v: 1, data: { sessionId, attemptId: NIL_UUID, itemId, value: input.value, revision: 0, offsetMs: null, noted: Boolean(input.note) } },
      occurredAt: answeredAt,
      requestId,
    });
    // The event's own columns first; the answer's id and the rest are the answer's.
    const [saved] = await writeAnswerStatement(sqlAutocommit(this.db), {
      ...event,
      id: randomUUID(),
      sessionId,
      itemId,
      value: input.value,
      note: input.note ?? null,
      agentId: principal.userId,
      answeredAt,
      states: [...ANSWERABLE],
      templateIds,
      eventId: event.id,
      eventData: JSON.stringify(event.data),
    });
    return saved;
  }

  async raiseFlag(sessionId: string, input: { code: RiskFlagCode; severity: RiskSeverity; note?: string | undefined }, principal: UserPrincipal, requestId: string) {
    const { attempt, offsetMs } = await this.writable(sessionId, principal);
    const flag = await this.db.$transaction(async (tx) => {
      const row = await tx.riskFlag.create({ data: { sessionId, attemptId: attempt.id, code: input.code, severity: input.severity, note: input.note ?? null, offsetMs, raisedById: principal.userId } });
      await appendAudit(tx, {
        actor: { type: 'USER', id: principal.userId },
        entity: { type: 'session', id: sessionId },
        event: { action: 'risk_flag.raised', v: 1, data: { sessionId, attemptId: attempt.id, code: input.code, severity: input.severity, offsetMs } },
        requestId,
      });
      return row;
    });
    this.realtime.toSessionWatchers(sessionId, 'checklist:changed', { v: 1, sessionId, itemId: `flag:${flag.id}`, revision: 1 });
    return flagDto(flag);
  }

  /** The outcome rules over the session's answers and flags as they are now. */
  private async decision(session: Pick<VerificationSession, 'id' | 'itemOrder'>, doc: TemplateDocument) {
    const [answers, flags] = await Promise.all([this.db.checklistAnswer.findMany({ where: { sessionId: session.id } }), this.db.riskFlag.findMany({ where: { sessionId: session.id } })]);
    const order = session.itemOrder.length > 0 ? session.itemOrder : [...locateItems(doc).keys()];
    const located = locateItems(doc);
    return decideOutcome({
      items: order.flatMap((id) => (located.get(id) ? [{ id, required: located.get(id)!.item.required }] : [])),
      answers: new Map(answers.map((a) => [a.itemId, a.value])),
      flags: flags.map((f) => ({ code: f.code, severity: f.severity })),
    });
  }

  /**
   * The automated confirmation call records the party's keypad answer: the same row and audit action
   * as an agent's, with no agent (answeredById null) and the automated actor. Written only while that
   * call is the session's current attempt and still on (undefined otherwise). `at` is when the key
   * was pressed: the offset into the recording counts to then.
   */
  async answerAutomated(sessionId: string, attemptId: string, itemId: string, input: { value: 'CONFIRMED' | 'DENIED' | 'UNCLEAR'; note?: AutomatedNote | undefined; at: Date }) {
    const saved = await this.db.$transaction(async (tx) => {
      const [target] = await tx.$queryRaw<{ recordingStartedAt: Date | null }[]>`
        SELECT a."recordingStartedAt" FROM "VerificationSession" s JOIN "Attempt" a ON a."id" = ${attemptId}::uuid AND a."sessionId" = s."id"
        WHERE s."id" = ${sessionId}::uuid AND s."mode" = 'AUTOMATED_CALL' AND s."handedOffAt" IS NULL AND s."state" = 'IN_PROGRESS' AND a."number" = s."attemptCount"
        FOR SHARE OF s`;
      if (!target) return undefined;
      const offsetMs = target.recordingStartedAt ? Math.max(0, input.at.getTime() - target.recordingStartedAt.getTime()) : null;
      const fields = {
        attemptId, value: input.value, offsetMs, answeredById: null, answeredAt: input.at,
        note: input.note ? automatedNoteText(input.note) : null,
        noteCode: input.note?.code ?? null,
        noteParams: input.note ? input.note.params : Prisma.DbNull,
      };
      const row = await tx.checklistAnswer.upsert({
        where: { sessionId_itemId: { sessionId, itemId } },
        create: { sessionId, itemId, ...fields },
        update: { ...fields, revision: { increment: 1 } },
      });
      await appendAudit(tx, {
        actor: AUTOMATED_CALL_ACTOR,
        entity: { type: 'session', id: sessionId },
        event: { action: 'checklist.answered', v: 1, data: { sessionId, attemptId, itemId, value: input.value, revision: row.revision, offsetMs, noted: Boolean(input.note) } },
        occurredAt: input.at,
      });
      return row;
    });
    if (saved) this.realtime.toSessionWatchers(sessionId, 'checklist:changed', { v: 1, sessionId, itemId, revision: saved.revision });
    return saved;
  }

  /**
   * The automated call got through its script: the outcome rules decide as for an agent. undefined
   * when a required item is still open (the caller hands the party to a person instead).
   */
  async completeAutomated(sessionId: string) {
    const session = await this.db.verificationSession.findUnique({ where: { id: sessionId } });
    if (!session || session.mode !== 'AUTOMATED_CALL' || session.handedOffAt) return undefined;
    const decision = await this.decision(session, await this.documentOf(session.templateId));
    if (decision.kind === 'incomplete') return undefined;
    const applied = await this.engine.apply(sessionId, { type: 'CHECKLIST_SUBMITTED', outcome: decision.outcome }, {
      actor: AUTOMATED_CALL_ACTOR,
      expectVersion: session.version,
      data: { endReason: decision.reasons.join(',').slice(0, 200) || null },
    });
    return applied.session;
  }

  /** Applies the outcome rules; refuses while a required item is open. */
  async complete(sessionId: string, principal: UserPrincipal, requestId: string) {
    const { session, doc } = await this.writable(sessionId, principal);
    const decision = await this.decision(session, doc);
    if (decision.kind === 'incomplete') {
      throw new AppError('CHECKLIST_INCOMPLETE', `Required items still open: ${decision.missing.join(', ')}`, {
        errors: decision.missing.map((id) => ({ in: 'body' as const, field: `items.${id}`, message: 'is required and not answered' })),
      });
    }
    const applied = await this.engine.apply(sessionId, { type: 'CHECKLIST_SUBMITTED', outcome: decision.outcome }, {
      actor: { type: 'USER', id: principal.userId },
      requestId,
      expectVersion: session.version,
      data: { endReason: decision.reasons.join(',').slice(0, 200) || null },
    });
    return { session: applied.session, reasons: decision.reasons };
  }

  async decide(sessionId: string, input: { outcome: 'PASSED' | 'FAILED'; note: string }, principal: UserPrincipal, requestId: string) {
    const applied = await this.engine.apply(sessionId, { type: 'SUPERVISOR_DECIDED', outcome: input.outcome }, {
      actor: { type: 'USER', id: principal.userId },
      requestId,
      data: { decidedById: principal.userId, decisionNote: input.note },
    });
    return applied.session;
  }
}

const locatedItems = new WeakMap<TemplateDocument, Map<string, { sectionId: string; item: TemplateItem }>>();

/** A template's items by id (computed once per document: published templates never change). */
function locateItems(doc: TemplateDocument): Map<string, { sectionId: string; item: TemplateItem }> {
  let located = locatedItems.get(doc);
  if (!located) {
    located = new Map(doc.sections.flatMap((section) => section.items.map((item) => [item.id, { sectionId: section.id, item }] as const)));
    locatedItems.set(doc, located);
  }
  return located;
}
