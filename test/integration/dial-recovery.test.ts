// What a crashed worker leaves behind on a confirmation call, and how the sweep repairs it without
// ever calling a party twice: a claim with no trace of a call is dialled again; a call LiveKit shows
// was placed is concluded, not re-placed; an outcome written but not applied is applied; an offer
// whose timeout job was lost expires; a LiveKit outage before dialling costs the party no attempt.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../support/api-client.js';
import { createAttempt, eventually } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { attemptOf, sessionOf } from '../support/reads.js';
import { ALWAYS_OPEN, losClient } from '../support/verification.js';
import { finishRoom } from '../../server/livekit/livekit-events.service.js';
import { createDb, sqlTransaction } from '../../server/db/client.js';

let t: TestApp;
let los: ApiClient;
const BUSY = '+8613805550120';
const HOUR = 3_600_000;
// The tests' clock runs a day ahead of the real one: the app's own sweep (which runs once at start,
// whenever its worker gets to it) never sees these claims as old, so only the test recovers them.
const NOW = Date.now() + 24 * HOUR;
const recover = () => t.facesign.verification.jobs.recoverInterruptedDials(new Date(NOW));

beforeAll(async () => {
  t = await startTestApp({ ...ALWAYS_OPEN, SIP_RINGING_TIMEOUT_SECONDS: '5', WORKER_LOCK_SECONDS: '2' }, { livekit: true });
  los = await losClient(t);
});
afterAll(async () => {
  await t?.stop();
});

const callsIn = (room: string) => t.sim!.control.state().calls.filter((c) => c.room === room).length;
const stateOf = async (fx: { session: { id: string } }) => (await sessionOf(los, fx.session.id)).state;
const attemptNow = (fx: { loanFile: { id: string }; session: { id: string }; attempt: { id: string } }) => attemptOf(los, fx.loanFile.id, fx.session.id, fx.attempt.id);

/** A call whose dial was claimed by a worker an hour ago, and never concluded (fixture: the rows a crash leaves). */
async function claimedCall(options: { claimedAgoMs?: number; dialOutcome?: 'BUSY' } = {}) {
  const fx = await createAttempt(t.facesign.db, { kind: 'CALL', phoneE164: BUSY });
  await t.facesign.db.verificationSession.update({ where: { id: fx.session.id }, data: { state: 'DISPATCHING', attemptCount: 1, deadline: new Date(NOW + 48 * HOUR) } });
  await t.facesign.db.attempt.update({
    where: { id: fx.attempt.id },
    data: { dialClaimedAt: new Date(NOW - (options.claimedAgoMs ?? HOUR)), ...(options.dialOutcome ? { dialOutcome: options.dialOutcome } : {}) },
  });
  return fx;
}

describe('dials interrupted by a crash', () => {
  it('dials again, once, when there is no trace of the call', async () => {
    const fx = await claimedCall();
    // A claim younger than the ringing timeout plus the lock may still be a live dial: left alone.
    const young = await claimedCall({ claimedAgoMs: 1_000 });
    expect(await recover()).toBe(1);
    await eventually(async () => (await stateOf(fx)) === 'RETRY_PENDING');
    expect(callsIn(fx.room)).toBe(1);
    const attempt = await attemptNow(fx);
    expect(attempt.dialOutcome).toBe('BUSY');
    // Sweeping again changes nothing and places no second call.
    expect(await recover()).toBe(0);
    expect(callsIn(fx.room)).toBe(1);
    expect(callsIn(young.room)).toBe(0);
    expect(await stateOf(young)).toBe('DISPATCHING');
  });

  it('writes a placed call’s outcome through a database outage, instead of leaving an attempt that looks undialled', async () => {
    // Found by the PostgreSQL-crash fault test: the outcome write failed, the webhooks of the short busy
    // call were lost in the same outage, and the sweep, seeing no trace of a call, dialled it again.
    const fx = await createAttempt(t.facesign.db, { kind: 'CALL', phoneE164: BUSY });
    // fixture: a session being dispatched
    await t.facesign.db.verificationSession.update({ where: { id: fx.session.id }, data: { state: 'DISPATCHING', attemptCount: 1, deadline: new Date(Date.now() + 48 * HOUR) } });
    // A superuser injects the fault: the app's own role may not create tables, functions or triggers.
    const admin = createDb({ url: t.databaseUrl, poolSize: 1 });
    const sql = (text: string) => admin.$executeRawUnsafe(text);
    await sql(`CREATE TABLE "OutageFlag" ("on" boolean)`);
    await sql(`GRANT SELECT ON "OutageFlag" TO facesign_app`);
    await sql(`INSERT INTO "OutageFlag" VALUES (true)`);
    await sql(`CREATE FUNCTION refuse_dial_outcome() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
      IF NEW."dialOutcome" IS DISTINCT FROM OLD."dialOutcome" AND EXISTS (SELECT 1 FROM "OutageFlag") THEN RAISE EXCEPTION 'simulated outage'; END IF;
      RETURN NEW; END $$`);
    await sql(`CREATE TRIGGER refuse_dial_outcome BEFORE UPDATE ON "Attempt" FOR EACH ROW EXECUTE FUNCTION refuse_dial_outcome()`);
    try {
      const dialling = t.facesign.verification.jobs.dial(fx.session.id, fx.attempt.id);
      await eventually(async () => callsIn(fx.room) === 1);
      await new Promise((resolve) => setTimeout(resolve, 1_000)); // the outcome write fails, and is tried again
      expect((await attemptNow(fx)).dialOutcome).toBeNull();
      await sql(`DELETE FROM "OutageFlag"`);
      await dialling;
    } finally {
      await sql(`DROP TRIGGER IF EXISTS refuse_dial_outcome ON "Attempt"`);
      await sql(`DROP FUNCTION IF EXISTS refuse_dial_outcome()`);
      await sql(`DROP TABLE IF EXISTS "OutageFlag"`);
      await admin.$disconnect();
    }
    expect((await attemptNow(fx)).dialOutcome).toBe('BUSY');
    expect(await stateOf(fx)).toBe('RETRY_PENDING');
    expect(callsIn(fx.room)).toBe(1);
  });

  it('concludes, without calling again, a call LiveKit reported placed', async () => {
    const fx = await claimedCall();
    // The webhook said the SIP participant joined (dialling) and left: the call went out and failed.
    // fixture: the participant row that webhook left
    await t.facesign.db.attemptParticipant.create({
      data: { attemptId: fx.attempt.id, identity: `sip-${fx.attempt.id}`, kind: 'PARTY', sipCallStatus: 'ringing', joinedAt: new Date(NOW - HOUR), leftAt: new Date(NOW - HOUR + 5_000) },
    });
    expect(await recover()).toBe(1);
    expect(await stateOf(fx)).toBe('RETRY_PENDING');
    expect((await attemptNow(fx)).dialOutcome).toBe('NO_ANSWER');
    expect(callsIn(fx.room)).toBe(0);
  });

  it('keeps a released attempt open when its old room finishes, so the dial again still places the call', async () => {
    const fx = await claimedCall();
    // The worker died after creating the room; the sweep released the attempt for a new dial.
    // fixture: the claim as the sweep leaves it
    await t.facesign.db.attempt.update({ where: { id: fx.attempt.id }, data: { dialClaimedAt: null } });
    // LiveKit then closes the empty room (webhook or reconciler alike).
    const finished = await sqlTransaction(t.facesign.db, (sql) => finishRoom(sql, fx.attempt.id, new Date(), 'webhook'));
    expect(finished.signals).toEqual([]);
    expect((await attemptNow(fx)).endedAt).toBeNull();
    await t.facesign.verification.jobs.dial(fx.session.id, fx.attempt.id);
    expect(callsIn(fx.room)).toBe(1);
    expect(await stateOf(fx)).toBe('RETRY_PENDING');
    // Once a dial has an outcome, the room finishing ends the attempt as usual.
    const done = await sqlTransaction(t.facesign.db, (sql) => finishRoom(sql, fx.attempt.id, new Date(), 'webhook'));
    expect(done.outcome).toMatch(/room (already )?finished/);
  });

  it('waits while a webhook about the room is still unprocessed', async () => {
    const fx = await claimedCall();
    // fixture: a webhook about the room, stored and not yet processed
    await t.facesign.db.liveKitEvent.create({ data: { id: `EV_pending_${fx.attempt.id.slice(0, 8)}`, event: 'participant_joined', roomName: fx.room, occurredAt: new Date(), body: {} } });
    expect(await recover()).toBe(0);
    expect(await stateOf(fx)).toBe('DISPATCHING');
    expect(callsIn(fx.room)).toBe(0);
  });

  it('applies an outcome that was written but never applied', async () => {
    const fx = await claimedCall({ dialOutcome: 'BUSY' });
    expect(await recover()).toBe(1);
    expect(await sessionOf(los, fx.session.id)).toMatchObject({ state: 'RETRY_PENDING', lastDialOutcome: 'BUSY' });
    expect(callsIn(fx.room)).toBe(0);
  });
});

describe('other work a crash leaves behind', () => {
  it('expires an offer whose timeout job was lost', async () => {
    const fx = await createAttempt(t.facesign.db, { kind: 'CALL', phoneE164: BUSY });
    // fixture: a scheduled session with an offer whose timeout job was lost
    await t.facesign.db.verificationSession.update({ where: { id: fx.session.id }, data: { state: 'SCHEDULED', notBefore: new Date(Date.now() + HOUR) } });
    const agent = await t.signIn({ roles: ['AGENT'], skills: ['nobody-else'] });
    const me = await agent.get<{ id: string }>('/api/auth/me');
    const offer = await t.facesign.db.sessionOffer.create({ data: { sessionId: fx.session.id, agentId: me.body.id, expiresAt: new Date(NOW - 1_000) } });
    expect(await t.facesign.verification.dispatcher.expireOverdue(new Date(NOW))).toBe(1);
    // storage: the overdue offer's own status, which the agent's API (pending offers only) does not show
    expect((await t.facesign.db.sessionOffer.findUniqueOrThrow({ where: { id: offer.id } })).status).toBe('EXPIRED');
    expect(await t.facesign.verification.dispatcher.expireOverdue(new Date(NOW))).toBe(0);
  });

  it('gives the claim back when LiveKit is unreachable before dialling, and never counts it against the party', async () => {
    const fx = await claimedCall();
    // fixture: a released claim, ready to dial
    await t.facesign.db.attempt.update({ where: { id: fx.attempt.id }, data: { dialClaimedAt: null } });
    t.sim!.control.injectTwirpFault({ service: 'RoomService', method: 'CreateRoom', count: 1 });
    await expect(t.facesign.verification.jobs.dial(fx.session.id, fx.attempt.id)).rejects.toThrow();
    // storage: the dial claim is internal to crash recovery; no API names it
    expect((await t.facesign.db.attempt.findUniqueOrThrow({ where: { id: fx.attempt.id } })).dialClaimedAt).toBeNull();
    // The job's retry dials, once.
    await t.facesign.verification.jobs.dial(fx.session.id, fx.attempt.id);
    expect(callsIn(fx.room)).toBe(1);

    // On the job's last try the attempt ends as our outage: the party keeps their attempts.
    const last = await claimedCall();
    await t.facesign.db.attempt.update({ where: { id: last.attempt.id }, data: { dialClaimedAt: null } });
    t.sim!.control.injectTwirpFault({ service: 'RoomService', method: 'CreateRoom', count: 1 });
    await t.facesign.verification.jobs.dial(last.session.id, last.attempt.id, new Date(), { finalTry: true });
    expect(await sessionOf(los, last.session.id)).toMatchObject({ state: 'RETRY_PENDING', lastDialOutcome: 'TRUNK_UNAVAILABLE' });
    expect(callsIn(last.room)).toBe(0);
  });
});
