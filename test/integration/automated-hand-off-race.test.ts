// An automated call's hand-off that loses a race with another change of its session: the party hangs
// up (the session moves to wrap-up) between the hand-off reading the session and writing it. The
// hand-off must still happen, on the session as it now is, rather than leave the party for the sweep.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAttempt, eventually } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { stateOf } from '../support/verification.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.stop();
});

describe('an automated call handed to a person', () => {
  it('is handed over even when the party hangs up while the hand-off is being written', async () => {
    const fx = await createAttempt(t.facesign.db, { kind: 'CALL' });
    // fixture: an automated call in conversation
    await t.facesign.db.verificationSession.update({ where: { id: fx.session.id }, data: { mode: 'AUTOMATED_CALL' } });
    const { version } = await stateOf(t, fx.session.id, 'IN_PROGRESS');

    let handing: Promise<boolean> | undefined;
    await t.facesign.db.$transaction(async (tx) => {
      // fixture: the row held, so the hand-off reads the session and then waits to write it
      await tx.$queryRaw`SELECT 1 FROM "VerificationSession" WHERE "id" = ${fx.session.id}::uuid FOR UPDATE`;
      handing = t.facesign.automatedCalls.handOff(fx.session.id, 'HUNG_UP');
      // storage: the hand-off's write waiting on the row lock, i.e. it has read the session as it was
      await eventually(async () => (await t.facesign.db.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)[0]!.n > 0);
      // fixture: meanwhile the party's hang-up moves the session to wrap-up, as the engine would
      await tx.verificationSession.update({ where: { id: fx.session.id }, data: { state: 'WRAP_UP', version: { increment: 1 } } });
    });

    expect(await handing).toBe(true);
    const session = await stateOf(t, fx.session.id, 'SCHEDULED');
    expect({ handOffReason: session.handOffReason, version: session.version }).toEqual({ handOffReason: 'HUNG_UP', version: version + 2 });
  });
});
