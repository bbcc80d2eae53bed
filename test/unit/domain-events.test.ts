// The domain-event dispatcher: in-transaction subscribers share the publisher's transaction (what they
// write commits or rolls back with it), committed subscribers run in order, and a composition that
// left an event without a subscriber is refused.
import { describe, expect, it } from 'vitest';
import type { Sql } from '../../server/db/client.js';
import type { VerificationSession } from '../../server/db/generated/prisma/client.js';
import { DomainEvents } from '../../server/events/domain-events.js';

/** A transaction over an in-memory table: statements are buffered and applied on commit only. */
function memoryDatabase() {
  const committed: string[] = [];
  return {
    committed,
    async transaction<T>(fn: (tx: Sql & { written: string[] }) => Promise<T>): Promise<T> {
      const written: string[] = [];
      const tx = {
        written,
        query: async <R>(statement: { text: string }) => {
          written.push(statement.text);
          return [] as R[];
        },
      };
      const result = await fn(tx);
      committed.push(...written);
      return result;
    },
  };
}

const session = { id: 's-1', loanFileId: 'l-1' } as VerificationSession;

describe('DomainEvents', () => {
  it('runs in-transaction subscribers in the publisher\'s transaction, in subscription order', async () => {
    const events = new DomainEvents();
    const db = memoryDatabase();
    const seen: Sql[] = [];
    events.subscribe('session.completed', async (event, tx) => {
      seen.push(tx);
      await tx.query({ text: `review ${event.session.id}` });
    });
    events.subscribe('session.completed', async (_event, tx) => void (await tx.query({ text: 'second' })));
    await db.transaction(async (tx) => {
      await tx.query({ text: 'transition' });
      await events.publish(tx, { type: 'session.completed', session, loanFile: { amount: '1000.00' } });
      expect(seen).toEqual([tx]);
    });
    expect(db.committed).toEqual(['transition', 'review s-1', 'second']);
  });

  it('rolls the publisher\'s transaction back when a subscriber throws', async () => {
    const events = new DomainEvents();
    const db = memoryDatabase();
    events.subscribe('session.completed', async (_event, tx) => void (await tx.query({ text: 'written before the failure' })));
    events.subscribe('session.completed', async () => {
      throw new Error('sampling failed');
    });
    await expect(
      db.transaction(async (tx) => {
        await tx.query({ text: 'transition' });
        await events.publish(tx, { type: 'session.completed', session, loanFile: { amount: '1000.00' } });
      }),
    ).rejects.toThrow('sampling failed');
    expect(db.committed).toEqual([]);
  });

  it('hands committed facts to their subscribers only, and passes a failure to the publisher', async () => {
    const events = new DomainEvents();
    const heard: string[] = [];
    events.subscribeCommitted('loan-file.maturity-changed', async (event) => void heard.push(`${event.loanFileId}@${event.version}`));
    events.subscribeCommitted('routing.needed', async () => void heard.push('routing'));
    await events.publishCommitted({ type: 'loan-file.maturity-changed', loanFileId: 'l-1', version: 3 });
    expect(heard).toEqual(['l-1@3']);
    events.subscribeCommitted('call.answered', async () => {
      throw new Error('queue down');
    });
    await expect(events.publishCommitted({ type: 'call.answered', sessionId: 's-1', attemptId: 'a-1' })).rejects.toThrow('queue down');
  });

  it('refuses a composition that left an event without a subscriber', () => {
    const events = new DomainEvents();
    events.subscribe('session.completed', async () => undefined);
    events.subscribeCommitted('routing.needed', async () => undefined);
    expect(() => events.assertSubscribed()).toThrow(/loan-file\.maturity-changed.*review\.recapture-requested.*login-sessions\.ended.*user\.access-changed.*call\.answered/);
    events.subscribeCommitted('loan-file.maturity-changed', async () => undefined);
    events.subscribeCommitted('review.recapture-requested', async () => undefined);
    events.subscribeCommitted('login-sessions.ended', async () => undefined);
    events.subscribeCommitted('user.access-changed', async () => undefined);
    events.subscribeCommitted('call.answered', async () => undefined);
    expect(() => events.assertSubscribed()).not.toThrow();
  });
});
