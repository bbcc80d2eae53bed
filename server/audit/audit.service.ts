// Append-only, hash-chained audit log. Appends happen inside the caller's transaction, so the event
// commits or rolls back with the state change it records. A transaction-scoped advisory lock
// serialises appends across every process, so the chain never forks.
import { createHash, randomUUID } from 'node:crypto';
import type { Tx } from '../db/client.js';
import { canonicalJson } from './canonical-json.js';
import { auditActionSchema, type AuditAction, type AuditActor } from './audit.actions.js';
import type { Principal } from '../auth/principal.js';

export const GENESIS_HASH = '0'.repeat(64);
const AUDIT_CHAIN_LOCK = 7_241_001;

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

export function exportAuditEvent(row: HashedAuditFields & { seq: bigint; hash: string; occurredAt: Date; recordedAt: Date }): ExportedAuditEvent {
  return { ...hashedFieldsOf(row), seq: row.seq.toString(), hash: row.hash, occurredAt: row.occurredAt.toISOString(), recordedAt: row.recordedAt.toISOString() };
}

export function auditEventIntact(event: HashedAuditFields & { hash: string }): boolean {
  return hashAuditRow(event) === event.hash;
}

export function actorOf(principal: Principal | undefined): AuditActor {
  if (!principal) return { type: 'SYSTEM' };
  return principal.kind === 'user' ? { type: 'USER', id: principal.userId } : { type: 'API_KEY', id: principal.apiKeyId };
}

export async function appendAudit(tx: Tx, entry: AuditEntry): Promise<{ id: string; hash: string }> {
  const event = auditActionSchema.parse(entry.event);
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK})`;
  const last = await tx.$queryRaw<{ hash: string }[]>`SELECT hash FROM "AuditEvent" ORDER BY seq DESC LIMIT 1`;
  const now = new Date();
  const fields: HashedAuditFields = {
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
    data: event.data,
    prevHash: last[0]?.hash ?? GENESIS_HASH,
  };
  const hash = hashAuditRow(fields);
  await tx.auditEvent.create({
    data: { ...fields, actorType: entry.actor.type, data: event.data as object, hash },
  });
  return { id: fields.id, hash };
}
