// Append-only, hash-chained audit log. Appends happen inside the caller's transaction, so the event
// commits or rolls back with the state change it records. The append itself takes no lock: the row
// is inserted unsealed, and the sealer (audit-sealer.service.ts) links committed rows into the chain one
// batch at a time under a cluster-wide lock, so the chain never forks and audited writes never queue
// behind each other.
import { createHash, randomUUID } from 'node:crypto';
import { sql as fragment, type Expression } from 'kysely';
import { sqlIn, type Sql, type Tx } from '../db/client.js';
import { build, rows, type DB } from '../db/typed-sql.js';
import { canonicalJson } from './canonical-json.js';
import { auditAppended } from './audit-appended.js';
import { auditActionSchema, type AuditAction, type AuditActor } from './audit.actions.js';
import type { Principal } from '../auth/principal.js';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditEntry {
  actor: AuditActor;
  entity: { type: string; id: string };
  event: AuditAction;
  occurredAt?: Date;
  requestId?: string | undefined;
}

/** The fields that the hash covers. Times may be Dates or ISO strings: canonicalJson writes both alike. */
export interface HashedAuditFields {
  id: string;
  occurredAt: Date | string;
  recordedAt: Date | string;
  actorType: string;
  actorId: string | null;
  action: string;
  actionVersion: number;
  entityType: string;
  entityId: string;
  requestId: string | null;
  data: unknown;
  prevHash: string;
}

export function hashAuditRow(row: HashedAuditFields): string {
  const f = hashedFieldsOf(row);
  const { prevHash, ...rest } = f;
  return createHash('sha256').update(prevHash).update(canonicalJson(rest)).digest('hex');
}

/** Exactly the hashed fields of a row (a stored row carries more: seq, hash). */
export function hashedFieldsOf(row: HashedAuditFields): HashedAuditFields {
  const { id, occurredAt, recordedAt, actorType, actorId, action, actionVersion, entityType, entityId, requestId, data, prevHash } = row;
  return { id, occurredAt, recordedAt, actorType, actorId, action, actionVersion, entityType, entityId, requestId, data, prevHash };
}

/** An audit event as exported (evidence packages): JSON-safe, checkable on its own with auditEventIntact. */
export type ExportedAuditEvent = HashedAuditFields & { seq: string; hash: string; occurredAt: string; recordedAt: string };

/** A sealed row as read from the database. */
export type SealedAuditRow = Omit<HashedAuditFields, 'prevHash'> & { seq: bigint; prevHash: string; hash: string; occurredAt: Date; recordedAt: Date };

export function isSealed<T extends { prevHash: string | null; hash: string | null }>(row: T): row is T & { prevHash: string; hash: string } {
  return row.prevHash !== null && row.hash !== null;
}

export function exportAuditEvent(row: SealedAuditRow): ExportedAuditEvent {
  return { ...hashedFieldsOf(row), seq: row.seq.toString(), hash: row.hash, occurredAt: row.occurredAt.toISOString(), recordedAt: row.recordedAt.toISOString() };
}

export function auditEventIntact(event: HashedAuditFields & { hash: string }): boolean {
  return hashAuditRow(event) === event.hash;
}

export function actorOf(principal: Principal | undefined): AuditActor {
  if (!principal) return { type: 'SYSTEM' };
  return principal.kind === 'user' ? { type: 'USER', id: principal.userId } : { type: 'API_KEY', id: principal.apiKeyId };
}

/** Records an event in the caller's transaction; the sealer chains it once the transaction commits. */
export async function appendAudit(tx: Tx, entry: AuditEntry): Promise<{ id: string }> {
  return insertAudit(sqlIn(tx), entry);
}

/** One event, in the caller's transaction (Prisma's, through `sqlIn`, or one on the shared pool). */
export async function insertAudit(sql: Sql, entry: AuditEntry): Promise<{ id: string }> {
  const [id] = await insertAuditMany(sql, [entry]);
  return { id: id! };
}

/** Several events in one insert, stored (and so sealed) in this order; returns their ids. */
export async function insertAuditMany(sql: Sql, entries: readonly AuditEntry[]): Promise<string[]> {
  if (entries.length === 0) return [];
  const { ids, json } = auditRowsParam(entries);
  await rows(sql, auditInsert(json), 'audit-insert');
  return ids;
}

/** Events as the one JSON parameter `auditInsert` reads (validated), and their ids. */
export function auditRowsParam(entries: readonly AuditEntry[], now = new Date()): { ids: string[]; json: string } {
  const rows = entries.map((entry) => auditRow(entry, now));
  return { ids: rows.map((row) => row.id), json: JSON.stringify(rows) };
}

/** The columns an event is inserted with, in the order `auditRow` builds them. */
const AUDIT_COLUMNS = ['id', 'occurredAt', 'recordedAt', 'actorType', 'actorId', 'action', 'actionVersion', 'entityType', 'entityId', 'requestId', 'data'] as const satisfies readonly (keyof DB['AuditEvent'])[];
const AUDIT_RECORD = 'r("id" uuid, "occurredAt" timestamptz, "recordedAt" timestamptz, "actorType" "AuditActorType", "actorId" text, "action" text, "actionVersion" int, "entityType" text, "entityId" text, "requestId" text, "data" jsonb)';

/**
 * The insert of one event per row of `select`, which names every column (`id`, `occurredAt`, …,
 * `data`), as a CTE of the caller's statement: for the one write whose event data joins what that
 * statement wrote (the answer: its attempt, offset and revision).
 */
export function auditInsertSelect(select: Expression<Record<(typeof AUDIT_COLUMNS)[number], unknown>>) {
  return build.insertInto('AuditEvent').columns(AUDIT_COLUMNS).expression(select);
}

/**
 * The insert of the events in `json` (from `auditRowsParam`), in their order, for use on its own or
 * as a CTE of a larger statement; `onlyIf` is a condition that must hold (e.g. that the statement's
 * conditional update matched a row).
 */
export function auditInsert(json: string, onlyIf?: Expression<boolean>) {
  const values = fragment.join(AUDIT_COLUMNS.map((c) => fragment.ref(`r.${c}`)));
  return build.insertInto('AuditEvent').columns(AUDIT_COLUMNS).expression(
    fragment`SELECT ${values} FROM jsonb_array_elements(${json}::jsonb) WITH ORDINALITY AS e(v, n), jsonb_to_record(e.v) AS ${fragment.raw(AUDIT_RECORD)}
      ${onlyIf ? fragment`WHERE ${onlyIf}` : fragment``} ORDER BY e.n`,
  );
}

/** The row an event is stored as (validated), for writers that insert it themselves in a larger statement. */
export function auditRow(entry: AuditEntry, now = new Date()) {
  const event = auditActionSchema.parse(entry.event);
  auditAppended();
  return {
    id: randomUUID(),
    occurredAt: entry.occurredAt ?? now,
    recordedAt: now,
    actorType: entry.actor.type,
    actorId: entry.actor.id ?? null,
    action: event.action,
    actionVersion: event.v,
    entityType: entry.entity.type,
    entityId: entry.entity.id,
    requestId: entry.requestId ?? null,
    data: event.data as object,
  };
}
