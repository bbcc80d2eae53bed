// Reading the audit log: the events about one entity (a loan file, a party, a user, a session...), of one
// action or written by one request, a page at a time in the order they were written (seq).
// Events are shown as stored, sealed or not yet: an unsealed event has no chain position or hash yet.
// Reading is not exporting, so it is not audited itself (the log holds references, never personal data);
// the audited export of a session's events with their proofs stays the evidence package.
import type { Db } from '../db/client.js';
import type { Prisma } from '../db/generated/prisma/client.js';
import type { AuditActorType } from '../db/generated/prisma/enums.js';

export interface AuditEventQuery {
  entityType?: string | undefined;
  entityId?: string | undefined;
  action?: string | undefined;
  requestId?: string | undefined;
  /** Only events written after the one with this seq. */
  after?: bigint | undefined;
  limit: number;
}

export interface AuditEventView {
  seq: string;
  id: string;
  occurredAt: string;
  recordedAt: string;
  actorType: AuditActorType;
  actorId: string | null;
  action: string;
  actionVersion: number;
  entityType: string;
  entityId: string;
  requestId: string | null;
  data: Record<string, unknown>;
  chainSeq: string | null;
  prevHash: string | null;
  hash: string | null;
}

export class AuditLog {
  constructor(private readonly db: Db) {}

  async events(q: AuditEventQuery): Promise<{ items: AuditEventView[]; nextAfter: string | null }> {
    const where: Prisma.AuditEventWhereInput = {
      ...(q.entityType !== undefined ? { entityType: q.entityType } : {}),
      ...(q.entityId !== undefined ? { entityId: q.entityId } : {}),
      ...(q.action !== undefined ? { action: q.action } : {}),
      ...(q.requestId !== undefined ? { requestId: q.requestId } : {}),
      ...(q.after !== undefined ? { seq: { gt: q.after } } : {}),
    };
    const rows = await this.db.auditEvent.findMany({ where, orderBy: { seq: 'asc' }, take: q.limit + 1 });
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    return {
      items: page.map((row) => ({
        seq: row.seq.toString(),
        id: row.id,
        occurredAt: row.occurredAt.toISOString(),
        recordedAt: row.recordedAt.toISOString(),
        actorType: row.actorType,
        actorId: row.actorId,
        action: row.action,
        actionVersion: row.actionVersion,
        entityType: row.entityType,
        entityId: row.entityId,
        requestId: row.requestId,
        data: row.data as Record<string, unknown>,
        chainSeq: row.chainSeq === null ? null : row.chainSeq.toString(),
        prevHash: row.prevHash,
        hash: row.hash,
      })),
      nextAfter: rows.length > q.limit && last ? last.seq.toString() : null,
    };
  }
}
