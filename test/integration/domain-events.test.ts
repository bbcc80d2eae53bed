// The domain-event dispatcher against Postgres: an in-transaction subscriber writes in the publisher's
// transaction (invisible to other connections until it commits), and a subscriber that throws rolls
// the publisher's whole transaction back, its own writes and the other subscribers' with it.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/harness.js';
import { sqlTransaction } from '../../server/db/client.js';
import type { VerificationSession } from '../../server/db/generated/prisma/client.js';
import { insertAudit } from '../../server/audit/audit.service.js';
import { DomainEvents } from '../../server/events/domain-events.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ FACESIGN_ROLES: 'api' });
});
afterAll(async () => {
  await t?.stop();
});

// storage: which connection sees the row, and when, is what the dispatcher's transaction tests are about
const selectedFor = (sessionId: string) => t.facesign.db.auditEvent.count({ where: { entityId: sessionId, action: 'review.selected' } });

function completed(sessionId: string) {
  return { type: 'session.completed' as const, session: { id: sessionId } as VerificationSession, loanFile: { amount: '1000.00' } };
}

/** A subscriber that records a review selection for the session, in the transaction it is given. */
function selecting(events: DomainEvents): void {
  events.subscribe('session.completed', async ({ session }, tx) => {
    await insertAudit(tx, { actor: { type: 'SYSTEM', id: 'test' }, entity: { type: 'session', id: session.id }, event: { action: 'review.selected', v: 1, data: { sessionId: session.id, reason: 'SAMPLED' } } });
  });
}

describe('domain events in a Postgres transaction', () => {
  it('runs the subscriber in the publisher\'s transaction: seen inside it, by others only after commit', async () => {
    const events = new DomainEvents();
    selecting(events);
    const sessionId = randomUUID();
    await sqlTransaction(t.facesign.db, async (tx) => {
      await events.publish(tx, completed(sessionId));
      const inside = await tx.query<{ n: number }>({ text: `SELECT count(*)::int AS "n" FROM "AuditEvent" WHERE "entityId" = $1 AND "action" = 'review.selected'`, values: [sessionId] });
      expect(inside[0]?.n).toBe(1);
      expect(await selectedFor(sessionId)).toBe(0);
    });
    expect(await selectedFor(sessionId)).toBe(1);
  });

  it('rolls the whole transaction back when a subscriber throws', async () => {
    const events = new DomainEvents();
    selecting(events);
    events.subscribe('session.completed', async () => {
      throw new Error('sampling failed');
    });
    const sessionId = randomUUID();
    await expect(
      sqlTransaction(t.facesign.db, async (tx) => {
        await insertAudit(tx, { actor: { type: 'SYSTEM', id: 'test' }, entity: { type: 'session', id: sessionId }, event: { action: 'review.selected', v: 1, data: { sessionId, reason: 'AMOUNT' } } });
        await events.publish(tx, completed(sessionId));
      }),
    ).rejects.toThrow('sampling failed');
    expect(await selectedFor(sessionId)).toBe(0);
  });
});
