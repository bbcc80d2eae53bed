// Session transitions as the engine writes them: most in one statement (no transaction), the state
// change together with the attempt it opens or ends and its audit event, or nothing at all when the
// session moved on meanwhile; the attempt the engine hands back is the row as stored.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAttempt } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import type { ApiClient } from '../support/api-client.js';
import { auditLogOf } from '../support/reads.js';
import { sqlAutocommit } from '../../server/db/client.js';
import { writeTransition } from '../../server/verification/verification.repository.js';

let t: TestApp;
let auditor: ApiClient;
const SYSTEM = { type: 'SYSTEM' as const, id: 'test' };

beforeAll(async () => {
  t = await startTestApp();
  auditor = await t.signIn({ roles: ['AUDITOR'] });
});
afterAll(async () => {
  await t?.stop();
});

/** A session at `state` with its first attempt, on a loan file already in verification. */
async function sessionAt(kind: 'CALL' | 'VIDEO', state: 'DISPATCHING' | 'SCHEDULED') {
  const fx = await createAttempt(t.facesign.db, { kind });
  // fixture: the session mid-flow, without dialling
  await t.facesign.db.loanFile.update({ where: { id: fx.loanFile.id }, data: { status: 'IN_VERIFICATION' } });
  const session = await t.facesign.db.verificationSession.update({ where: { id: fx.session.id }, data: { state, attemptCount: 1 } });
  return { ...fx, session };
}

const transitionsOf = (sessionId: string) => auditLogOf(auditor, { entityType: 'session', entityId: sessionId, action: 'session.transitioned' });

describe('session engine', () => {
  it('ends the attempt, moves the state and appends the audit event of a failed dial together', async () => {
    const fx = await sessionAt('CALL', 'DISPATCHING');
    // storage: the engine hands back and writes rows; every column as stored is the point here
    const stored = await t.facesign.db.attempt.findUniqueOrThrow({ where: { id: fx.attempt.id } });
    const retryAt = new Date(Date.now() + 3_600_000);
    const applied = await t.facesign.verification.engine.apply(fx.session.id, { type: 'DIAL_FAILED', retry: { kind: 'retry', notBefore: retryAt, countsAgainstLimit: true } }, { actor: SYSTEM, data: { lastDialOutcome: 'BUSY' } });

    expect(applied.attempt).toEqual(stored); // the attempt as it was read, every column as Prisma reads it
    // storage: the transition statement's rows are what this test checks, every column as stored
    const session = await t.facesign.db.verificationSession.findUniqueOrThrow({ where: { id: fx.session.id } });
    expect(session).toMatchObject({ state: 'RETRY_PENDING', version: fx.session.version + 1, nextAttemptAt: retryAt, lastDialOutcome: 'BUSY' });
    expect(applied.session).toEqual(session);
    // storage: the attempt the same statement ended
    const attempt = await t.facesign.db.attempt.findUniqueOrThrow({ where: { id: fx.attempt.id } });
    expect(attempt.endReason).toBe('dial_failed');
    expect(attempt.endedAt).toEqual(session.updatedAt);
    const [audited] = await transitionsOf(fx.session.id);
    expect(audited?.data).toMatchObject({ from: 'DISPATCHING', to: 'RETRY_PENDING', event: 'DIAL_FAILED', version: fx.session.version + 1 });
  });

  it('hands back the attempt it opened exactly as stored', async () => {
    const fx = await sessionAt('VIDEO', 'SCHEDULED');
    const applied = await t.facesign.verification.engine.apply(fx.session.id, { type: 'PARTY_READY' }, { actor: SYSTEM });
    expect(applied.attempt?.number).toBe(2);
    // storage: the attempt handed back is the row as stored
    expect(applied.attempt).toEqual(await t.facesign.db.attempt.findUniqueOrThrow({ where: { id: applied.attempt!.id } }));
    expect(applied.session).toMatchObject({ state: 'WAITING', attemptCount: 2 });
  });

  it('writes nothing when the session moved on after it was read', async () => {
    const fx = await sessionAt('CALL', 'DISPATCHING');
    const written = await writeTransition(sqlAutocommit(t.facesign.db), {
      current: { id: fx.session.id, state: 'DISPATCHING', version: fx.session.version - 1 },
      write: { state: 'RETRY_PENDING' },
      now: new Date(),
      open: { id: randomUUID(), number: 2, agentId: null },
      end: { attemptId: fx.attempt.id, reason: 'dial_failed' },
      audit: { actor: SYSTEM, entity: { type: 'session', id: fx.session.id }, event: { action: 'session.transitioned', v: 1, data: { from: 'DISPATCHING', to: 'RETRY_PENDING', event: 'DIAL_FAILED', version: fx.session.version } } },
    });
    expect(written).toBeUndefined();
    // storage: not one row was written, whatever an API would show
    expect(await t.facesign.db.verificationSession.findUniqueOrThrow({ where: { id: fx.session.id } })).toEqual(fx.session);
    expect(await t.facesign.db.attempt.findMany({ where: { sessionId: fx.session.id } })).toEqual([await t.facesign.db.attempt.findUniqueOrThrow({ where: { id: fx.attempt.id } })]);
    expect((await t.facesign.db.attempt.findUniqueOrThrow({ where: { id: fx.attempt.id } })).endedAt).toBeNull();
    expect(await transitionsOf(fx.session.id)).toEqual([]);
  });
});
