// Loan files and their parties, as the lender's LOS sends them. Creation is idempotent by
// externalRef and by Idempotency-Key, also under concurrent identical requests.
import { createHash } from 'node:crypto';
import type { DomainEvents } from '../events/domain-events.js';
import type { Db, Tx } from '../db/client.js';
import { Prisma } from '../db/client.js';
import type { LoanFile, Party } from '../db/generated/prisma/client.js';
import type { Role } from '../db/generated/prisma/enums.js';
import { AppError } from '../shared/errors.js';
import { appendAudit, type AuditEntry } from '../audit/audit.service.js';
import { runIdempotent, type StoredResponse } from '../db/idempotency.js';
import type { RetentionRules } from '../../recordings/retention.js';
import { productNameSchema, type CreateLoanFileInput, type LoanFileDto, type PartyDto, type PartyInput, type PartyPatch, type ProductName, type UpdateLoanFileInput } from './loan-files.schema.js';
import { canonicalJson } from '../audit/canonical-json.js';
import { loanTermsInput, type LoanTerms } from './loan-terms.js';
import { decideMaturityChange, maturityBeforeCreation, utcDay, type MaturityDecision } from './maturity-change.js';
import { insertLoanFile, insertParty, updateLoanFileAt, updateParty } from './loan-files.repository.js';

export interface Caller {
  actor: AuditEntry['actor'];
  requestId: string;
  scope: string;
  /** The user's roles; none for an API key. */
  roles: readonly Role[];
}

export function partyDto(p: Party): PartyDto {
  return {
    id: p.id,
    loanFileId: p.loanFileId,
    role: p.role,
    fullName: p.fullName,
    phoneE164: p.phoneE164,
    timeZone: p.timeZone,
    locale: p.locale,
    idNumberLast4: p.idNumberLast4,
    version: p.version,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}

export function loanFileDto(lf: LoanFile & { parties: Party[] }): LoanFileDto {
  return {
    id: lf.id,
    externalRef: lf.externalRef,
    product: lf.product,
    productName: storedProductName(lf.productName),
    amount: lf.amount.toFixed(2),
    currency: lf.currency,
    maturityDate: dateOnly(lf.maturityDate),
    terms: storedTerms(lf.terms),
    status: lf.status,
    version: lf.version,
    createdAt: lf.createdAt.toISOString(),
    updatedAt: lf.updatedAt.toISOString(),
    parties: [...lf.parties].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id)).map(partyDto),
  };
}

/** The terms column as stored (validated on the way in); null when none were sent. */
function storedTerms(value: Prisma.JsonValue): LoanTerms | null {
  if (value === null) return null;
  const parsed = loanTermsInput.safeParse(value);
  return parsed.success ? parsed.data : null;
}
function storedProductName(value: Prisma.JsonValue): ProductName | null {
  if (value === null) return null;
  const parsed = productNameSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}
const sameTermsAs = (a: Prisma.JsonValue, b: LoanTerms | undefined) => canonicalJson(a ?? null) === canonicalJson(b ?? null);
const termsDigest = (terms: LoanTerms | undefined) => createHash('sha256').update(canonicalJson(terms ?? null)).digest('hex');

/** A @db.Date column as YYYY-MM-DD (Prisma gives it as UTC midnight). */
const dateOnly = (d: Date | null): string | null => (d ? d.toISOString().slice(0, 10) : null);
const sameDay = (a: Date | null, b: Date | null) => dateOnly(a) === dateOnly(b);
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function maturityFieldError(createdOn: string): AppError {
  const message = `must not be before the loan file was created (${createdOn})`;
  return new AppError('VALIDATION_FAILED', `Invalid body: maturityDate ${message}`, { errors: [{ in: 'body', field: 'maturityDate', message }] });
}

/** The refusals of decideMaturityChange as problems. */
function refusal(decision: Exclude<MaturityDecision, { kind: 'allowed' }>, from: Date | null, to: Date | null): AppError {
  if (decision.kind === 'before-creation') return maturityFieldError(decision.createdOn);
  const { cut } = decision;
  const what = `Moving the maturity date from ${dateOnly(from) ?? '(none)'} to ${dateOnly(to) ?? '(none)'} shortens the retention of ${plural(cut.recordings, 'recording')} (one from ${cut.from.toISOString()} to ${cut.to.toISOString()})`;
  if (decision.kind === 'needs-admin') return new AppError('FORBIDDEN', `${what}; only an ADMIN may make this change, with a reason`);
  const message = 'is required when the change shortens the retention of recordings';
  return new AppError('VALIDATION_FAILED', `${what}: say why in reason`, { errors: [{ in: 'body', field: 'reason', message }] });
}

interface Cursor {
  createdAt: string;
  id: string;
}
const encodeCursor = (c: Cursor) => Buffer.from(JSON.stringify([c.createdAt, c.id])).toString('base64url');
function decodeCursor(text: string): Cursor {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof createdAt === 'string' && typeof id === 'string' && !Number.isNaN(Date.parse(createdAt))) return { createdAt, id };
  } catch {
    // fall through to the validation error below
  }
  throw new AppError('VALIDATION_FAILED', 'Invalid query: cursor', {
    errors: [{ in: 'query', field: 'cursor', message: 'is not a cursor returned by this endpoint' }],
  });
}

export class LoanFileService {
  private readonly db: Db;
  private readonly retentionRules: RetentionRules;
  private readonly events: DomainEvents;

  constructor(options: {
    db: Db;
    /** The retention rules, to tell whether a maturity change shortens a recording's retention. */
    retentionRules: RetentionRules;
    /**
     * Told (after commit) when a loan file's maturity date changed: recording retention counts from
     * it. The retention sweep also re-checks the rule before deleting.
     */
    events: DomainEvents;
  }) {
    this.db = options.db;
    this.retentionRules = options.retentionRules;
    this.events = options.events;
  }

  async create(input: CreateLoanFileInput, caller: Caller, idempotencyKey: string | undefined): Promise<StoredResponse> {
    const request = idempotencyKey ? { scope: `${caller.scope}:loan-files`, key: idempotencyKey, body: input } : undefined;
    return runIdempotent(
      this.db,
      request,
      async (tx) => ({ status: 201, body: loanFileDto(await this.insert(tx, input, caller)) }),
      () => this.existingFor(input),
    );
  }

  private async insert(tx: Tx, input: CreateLoanFileInput, caller: Caller) {
    const loanFile = await insertLoanFile(tx, {
      externalRef: input.externalRef,
      product: input.product,
      amount: new Prisma.Decimal(input.amount),
      currency: input.currency,
      maturityDate: input.maturityDate ? new Date(input.maturityDate) : null,
      ...(input.terms ? { terms: input.terms as Prisma.InputJsonObject } : {}),
      ...(input.productName ? { productName: input.productName as Prisma.InputJsonObject } : {}),
    });
    // Checked against the row's own creation time, as PATCH does; throwing rolls the insert back.
    if (loanFile.maturityDate && maturityBeforeCreation(loanFile.maturityDate, loanFile.createdAt)) throw maturityFieldError(utcDay(loanFile.createdAt));
    await appendAudit(tx, {
      actor: caller.actor,
      entity: { type: 'loan_file', id: loanFile.id },
      event: {
        action: 'loan_file.created',
        v: 1,
        data: {
          externalRef: loanFile.externalRef,
          product: loanFile.product,
          amount: loanFile.amount.toFixed(2),
          currency: loanFile.currency,
          ...(input.maturityDate ? { maturityDate: input.maturityDate } : {}),
          ...(input.terms ? { termsSha256: termsDigest(input.terms) } : {}),
        },
      },
      requestId: caller.requestId,
    });
    const parties: Party[] = [];
    for (const party of input.parties) parties.push(await this.insertParty(tx, loanFile.id, party, caller));
    return { ...loanFile, parties };
  }

  /** The same externalRef with the same terms is the same loan file; different terms are a conflict. */
  private async existingFor(input: CreateLoanFileInput): Promise<StoredResponse> {
    const existing = await this.db.loanFile.findUnique({ where: { externalRef: input.externalRef }, include: { parties: true } });
    if (!existing) throw new AppError('VERSION_CONFLICT', 'A concurrent request changed this loan file; retry');
    const sameTerms =
      existing.product === input.product &&
      existing.currency === input.currency &&
      existing.amount.equals(new Prisma.Decimal(input.amount)) &&
      (input.maturityDate === undefined || input.maturityDate === dateOnly(existing.maturityDate)) &&
      (input.terms === undefined || sameTermsAs(existing.terms, input.terms)) &&
      (input.productName === undefined || canonicalJson(existing.productName ?? null) === canonicalJson(input.productName));
    if (!sameTerms) {
      throw new AppError('EXTERNAL_REF_CONFLICT', `Loan file ${input.externalRef} already exists with a different product, amount, currency, maturity date or terms (change the maturity date or terms with PATCH)`);
    }
    return { status: 200, body: loanFileDto(existing), replayed: true };
  }

  private async insertParty(tx: Tx, loanFileId: string, input: PartyInput, caller: Caller): Promise<Party> {
    const party = await insertParty(tx, {
      loanFileId,
      role: input.role,
      fullName: input.fullName,
      phoneE164: input.phoneE164,
      timeZone: input.timeZone,
      locale: input.locale,
      idNumberLast4: input.idNumberLast4 ?? null,
    });
    await appendAudit(tx, {
      actor: caller.actor,
      entity: { type: 'party', id: party.id },
      event: { action: 'party.added', v: 1, data: { loanFileId, role: party.role } },
      requestId: caller.requestId,
    });
    return party;
  }

  async get(id: string): Promise<LoanFileDto> {
    const lf = await this.db.loanFile.findUnique({ where: { id }, include: { parties: true } });
    if (!lf) throw new AppError('NOT_FOUND', `No loan file ${id}`);
    return loanFileDto(lf);
  }

  async list(filter: {
    status?: LoanFile['status'] | undefined;
    product?: string | undefined;
    externalRef?: string | undefined;
    createdFrom?: string | undefined;
    createdTo?: string | undefined;
    limit: number;
    cursor?: string | undefined;
  }): Promise<{ items: LoanFileDto[]; nextCursor: string | null }> {
    const cursor = filter.cursor ? decodeCursor(filter.cursor) : undefined;
    const and: Prisma.LoanFileWhereInput[] = [];
    if (filter.status) and.push({ status: filter.status });
    if (filter.product) and.push({ product: filter.product });
    if (filter.externalRef) and.push({ externalRef: filter.externalRef });
    if (filter.createdFrom) and.push({ createdAt: { gte: new Date(filter.createdFrom) } });
    if (filter.createdTo) and.push({ createdAt: { lt: new Date(filter.createdTo) } });
    if (cursor) {
      const at = new Date(cursor.createdAt);
      and.push({ OR: [{ createdAt: { lt: at } }, { createdAt: at, id: { lt: cursor.id } }] });
    }
    const rows = await this.db.loanFile.findMany({
      where: { AND: and },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: filter.limit + 1,
      include: { parties: true },
    });
    const page = rows.slice(0, filter.limit);
    const last = page.at(-1);
    return {
      items: page.map(loanFileDto),
      nextCursor: rows.length > filter.limit && last ? encodeCursor({ createdAt: last.createdAt.toISOString(), id: last.id }) : null,
    };
  }

  /**
   * Changes the maturity date and/or the key terms (optionally only at a given version), audited.
   * Retention follows the maturity date: a date before the loan file's creation is refused, and so is a
   * change that would shorten any recording's retention unless an ADMIN makes it with a reason (see
   * decideMaturityChange). New terms replace the old as a whole; scheduled sessions keep their snapshot.
   */
  async update(id: string, patch: UpdateLoanFileInput, caller: Caller, now: Date = new Date()): Promise<LoanFileDto> {
    const { dto, maturityChanged } = await this.db.$transaction(async (tx) => {
      const current = await tx.loanFile.findUnique({ where: { id } });
      if (!current) throw new AppError('NOT_FOUND', `No loan file ${id}`);
      if (patch.version !== undefined && patch.version !== current.version) {
        throw new AppError('VERSION_CONFLICT', `The loan file is at version ${current.version}, not ${patch.version}`);
      }
      const maturityDate = patch.maturityDate === undefined ? current.maturityDate : patch.maturityDate === null ? null : new Date(patch.maturityDate);
      const maturityChanges = !sameDay(current.maturityDate, maturityDate);
      const termsChange = patch.terms !== undefined && !sameTermsAs(current.terms, patch.terms);
      if (!maturityChanges && !termsChange) {
        return { dto: loanFileDto(await tx.loanFile.findUniqueOrThrow({ where: { id }, include: { parties: true } })), maturityChanged: false };
      }
      let cut: Extract<MaturityDecision, { kind: 'allowed' }>['cut'] | undefined;
      if (maturityChanges) {
        const recordings = await tx.recording.findMany({
          where: { attempt: { session: { loanFileId: id } }, state: { notIn: ['FAILED', 'DELETED'] } },
          select: { verifiedAt: true },
        });
        const decision = decideMaturityChange({
          createdAt: current.createdAt,
          from: current.maturityDate,
          to: maturityDate,
          verifiedAt: recordings.map((r) => r.verifiedAt ?? now),
          rules: this.retentionRules,
          byAdmin: caller.roles.includes('ADMIN'),
          reason: patch.reason,
        });
        if (decision.kind !== 'allowed') throw refusal(decision, current.maturityDate, maturityDate);
        cut = decision.cut;
      }
      const changed = await updateLoanFileAt(tx, id, current.version, {
        ...(maturityChanges ? { maturityDate } : {}),
        ...(termsChange ? { terms: patch.terms as Prisma.InputJsonObject } : {}),
      });
      if (!changed) throw new AppError('VERSION_CONFLICT', 'The loan file was changed by someone else; fetch it and try again');
      const updated = await tx.loanFile.findUniqueOrThrow({ where: { id }, include: { parties: true } });
      await appendAudit(tx, {
        actor: caller.actor,
        entity: { type: 'loan_file', id },
        event: {
          action: 'loan_file.updated',
          v: 1,
          data: {
            fields: [...(maturityChanges ? ['maturityDate'] : []), ...(termsChange ? ['terms'] : [])],
            maturityDate: dateOnly(updated.maturityDate),
            version: updated.version,
            ...(termsChange ? { termsSha256: termsDigest(patch.terms) } : {}),
            ...(patch.reason ? { reason: patch.reason } : {}),
            ...(cut ? { retentionShortened: { recordings: cut.recordings, from: cut.from.toISOString(), to: cut.to.toISOString() } } : {}),
          },
        },
        requestId: caller.requestId,
      });
      return { dto: loanFileDto(updated), maturityChanged: maturityChanges };
    });
    if (maturityChanged) await this.events.publishCommitted({ type: 'loan-file.maturity-changed', loanFileId: id, version: dto.version });
    return dto;
  }

  async addParty(loanFileId: string, input: PartyInput, caller: Caller): Promise<PartyDto> {
    return this.db.$transaction(async (tx) => {
      const lf = await tx.loanFile.findUnique({ where: { id: loanFileId }, select: { id: true } });
      if (!lf) throw new AppError('NOT_FOUND', `No loan file ${loanFileId}`);
      return partyDto(await this.insertParty(tx, loanFileId, input, caller));
    });
  }

  async updateParty(loanFileId: string, partyId: string, patch: PartyPatch, caller: Caller): Promise<PartyDto> {
    const { version, ...changes } = patch;
    const fields = Object.keys(changes).filter((k) => changes[k as keyof typeof changes] !== undefined);
    return this.db.$transaction(async (tx) => {
      if (!(await updateParty(tx, { id: partyId, loanFileId, version }, changes))) {
        const exists = await tx.party.findFirst({ where: { id: partyId, loanFileId }, select: { version: true } });
        if (!exists) throw new AppError('NOT_FOUND', `No party ${partyId} on loan file ${loanFileId}`);
        throw new AppError('VERSION_CONFLICT', `The party is at version ${exists.version}, not ${version}`);
      }
      const party = await tx.party.findUniqueOrThrow({ where: { id: partyId } });
      await appendAudit(tx, {
        actor: caller.actor,
        entity: { type: 'party', id: partyId },
        event: { action: 'party.updated', v: 1, data: { loanFileId, fields, version: party.version } },
        requestId: caller.requestId,
      });
      return partyDto(party);
    });
  }
}
