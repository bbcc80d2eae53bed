// Who is in a room, as facesign merges it from LiveKit's webhooks and the reconciler, when a borrower
// reloads: LiveKit gives the new page a new session (sid) under the same identity and may report the
// old session's participant_left after the new one joined, stamped later than the new join. Every
// order of the same observations must converge to the same row, and to what is true.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookEvent } from 'livekit-server-sdk';
import { sqlAutocommit } from '../../server/db/client.js';
import { partyIdentity } from '../../server/livekit/identities.js';
import { isPresent, mergeParticipant, type ParticipantFact } from '../../server/livekit/participants.js';
import { createAttempt, eventually } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { bodyOf, postWebhook, signWebhook } from '../support/webhooks.js';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({}, { livekit: true });
});
afterAll(async () => t?.stop());

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

type Observation = Omit<ParticipantFact, 'attemptId' | 'identity' | 'role'>;

/** Applies the observations in every order, each order to its own identity; returns the rows. */
async function everyOrder(observations: Observation[]) {
  const { attempt } = await createAttempt(t.facesign.db, { kind: 'VIDEO' });
  const sql = sqlAutocommit(t.facesign.db);
  const orders = permutations(observations);
  for (const [n, order] of orders.entries()) {
    for (const o of order) await mergeParticipant(sql, { attemptId: attempt.id, identity: `party-order-${n}`, role: 'PARTY', ...o });
  }
  // storage: the participants projection the merge writes is what these tests are about
  const rows = await t.facesign.db.attemptParticipant.findMany({ where: { attemptId: attempt.id }, orderBy: { identity: 'asc' } });
  expect(rows).toHaveLength(orders.length);
  return rows;
}

const shapes = (rows: { sid: string | null; joinedAt: Date | null; leftAt: Date | null }[]) => new Set(rows.map((r) => `${r.sid} ${r.joinedAt?.toISOString()} ${r.leftAt?.toISOString()}`));

// As livekit-server 1.13 sent them when a page died and was opened again: the stale session is
// removed (DUPLICATE_IDENTITY) when the new one joins, its participant_left stamped in the same whole
// second (placed at that second's end) and so later than the new session's millisecond join time.
const s = 1_800_000_057_000;
const joinOld: Observation = { sid: 'PA_old', joinedAt: new Date(s - 8_130) };
const leaveOld: Observation = { sid: 'PA_old', joinedAt: new Date(s - 8_130), leftAt: new Date(s + 999) };
const joinNew: Observation = { sid: 'PA_new', joinedAt: new Date(s + 105) };
const leaveNew: Observation = { sid: 'PA_new', joinedAt: new Date(s + 105), leftAt: new Date(s + 30_999) };

describe('a borrower who reloads', () => {
  it('is present once the new session joined, whatever order the old leave and the new join come in', async () => {
    const rows = await everyOrder([joinOld, leaveOld, joinNew]);
    expect(rows.map(isPresent)).toEqual(rows.map(() => true));
    expect(shapes(rows).size).toBe(1);
    expect(rows[0]).toMatchObject({ sid: 'PA_new', joinedAt: joinNew.joinedAt });
  });

  it('is gone once the new session left too, in every order', async () => {
    const rows = await everyOrder([joinOld, leaveOld, joinNew, leaveNew]);
    expect(rows.map(isPresent)).toEqual(rows.map(() => false));
    expect(shapes(rows).size).toBe(1);
    expect(rows[0]).toMatchObject({ sid: 'PA_new', leftAt: leaveNew.leftAt });
  });

  it('is present when only the new join and the old leave arrived (the old join was lost)', async () => {
    const rows = await everyOrder([leaveOld, joinNew]);
    expect(rows.map(isPresent)).toEqual([true, true]);
    expect(shapes(rows).size).toBe(1);
  });
});

describe('the reconciler saw nobody at a moment', () => {
  // ListParticipants names no session: "not in the room at T" ends whatever session was there.
  const seenAbsent: Observation = { leftAt: new Date(s + 60_000) };

  it('stays absent when a late join of a session that began before that moment arrives', async () => {
    const rows = await everyOrder([joinOld, seenAbsent, { sid: 'PA_between', joinedAt: new Date(s + 20_000) }]);
    expect(rows.map(isPresent)).toEqual(rows.map(() => false));
    expect(shapes(rows).size).toBe(1);
  });

  it('is present for a session that joined after it', async () => {
    const rows = await everyOrder([joinOld, seenAbsent, { sid: 'PA_later', joinedAt: new Date(s + 61_000) }]);
    expect(rows.map(isPresent)).toEqual(rows.map(() => true));
  });
});

describe('through the webhook endpoint', () => {
  it('applies a reload as livekit-server reports it: the old session kicked, its tracks gone, the new one in', async () => {
    const { room, attempt } = await createAttempt(t.facesign.db, { kind: 'VIDEO' });
    const identity = partyIdentity(attempt.id);
    const second = Math.floor(Date.now() / 1000);
    const participant = (sid: string, joinedAtMs: number, extra: Record<string, unknown> = {}) => ({
      sid, identity, state: 'ACTIVE', joinedAt: String(Math.floor(joinedAtMs / 1000)), joinedAtMs: String(joinedAtMs), ...extra,
    });
    const events = [
      { event: 'participant_joined', createdAt: second - 9, participant: participant('PA_old', second * 1000 - 8_130) },
      { event: 'participant_left', createdAt: second, participant: participant('PA_old', second * 1000 - 8_130, { state: 'DISCONNECTED', disconnectReason: 'DUPLICATE_IDENTITY' }) },
      { event: 'participant_joined', createdAt: second, participant: participant('PA_new', second * 1000 + 105) },
      // Track events carry only the publisher's sid and identity: they say nothing of when anyone joined.
      { event: 'track_unpublished', createdAt: second + 1, participant: { sid: 'PA_old', identity }, track: { sid: 'TR_old_video', type: 'VIDEO' } },
    ];
    for (const [n, e] of events.entries()) {
      const body = bodyOf(WebhookEvent.fromJson({ id: `EV_reload_${attempt.id}_${n}`, event: e.event, createdAt: String(e.createdAt), room: { name: room, sid: 'RM_test' }, participant: e.participant, ...(e.track ? { track: e.track } : {}) }));
      expect((await postWebhook(t.url, body, await signWebhook(body, t.sim!.apiKey, t.sim!.apiSecret))).status).toBe(200);
    }
    // storage: every event stored and applied (the inbox), then the participants projection they produced
    await eventually(async () => (await t.facesign.db.liveKitEvent.count({ where: { roomName: room, processedAt: null } })) === 0 && (await t.facesign.db.liveKitEvent.count({ where: { roomName: room } })) === events.length);
    const row = await t.facesign.db.attemptParticipant.findUniqueOrThrow({ where: { attemptId_identity: { attemptId: attempt.id, identity } } });
    expect(row).toMatchObject({ sid: 'PA_new', joinedAt: new Date(second * 1000 + 105) });
    expect(isPresent(row)).toBe(true);
  });

  it('shows a participant present from a track_published processed before its participant_joined', async () => {
    // Events are processed by parallel jobs: a call answered at once can have its track before its join.
    const { room, attempt } = await createAttempt(t.facesign.db, { kind: 'CALL' });
    const identity = `sip-${attempt.id}`;
    const body = bodyOf(WebhookEvent.fromJson({ id: `EV_track_first_${attempt.id}`, event: 'track_published', createdAt: String(Math.floor(Date.now() / 1000)), room: { name: room, sid: 'RM_test' }, participant: { sid: 'PA_phone', identity }, track: { sid: 'TR_phone_audio', type: 'AUDIO' } }));
    expect((await postWebhook(t.url, body, await signWebhook(body, t.sim!.apiKey, t.sim!.apiSecret))).status).toBe(200);
    // storage: the participants projection (session id, tracks), which the API shows only as connected or not
    const row = await eventually(async () => (await t.facesign.db.attemptParticipant.findUnique({ where: { attemptId_identity: { attemptId: attempt.id, identity } } })) ?? undefined);
    expect(row).toMatchObject({ sid: 'PA_phone', tracks: ['TR_phone_audio'] });
    expect(isPresent(row)).toBe(true);
  });
});
