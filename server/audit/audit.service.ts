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

/** The fields that the hash covers, in the shape canonicalJson sees them. */
export interface HashedAuditFields {
  id: string;
  occurredAt: Date;
  recordedAt: Date;
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
  const { prevHash, ...rest } = row;
  return createHash('sha256').update(prevHash).update(canonicalJson(rest)).digest('hex');
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
