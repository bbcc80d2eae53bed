// Webhook intake (verify, dedupe, store, enqueue), processing into the domain, and the reconciler
// repairing what lost webhooks left behind. Real SDK, simulator, Postgres, Redis/BullMQ and s3rver.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFacesign } from '../../server/main.js';
import { partyIdentity, sipPartyIdentity } from '../../server/livekit/identities.js';
import { WebhookEvent } from 'livekit-server-sdk';
import { isPresent } from '../../server/livekit/participants.js';
import type { LiveKitSignal } from '../../server/livekit/livekit-events.service.js';
import type { ApiClient } from '../support/api-client.js';
import { createAttempt, eventually } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { attemptOf, entityAuditEventsOf } from '../support/reads.js';
import { losClient } from '../support/verification.js';
import { bodyOf, expiredSignature, participantEvent, postWebhook, signWebhook } from '../support/webhooks.js';

let t: TestApp;
let los: ApiClient;
let auditor: ApiClient;
const signals: LiveKitSignal[] = [];
beforeAll(async () => {
  t = await startTestApp({}, { livekit: true });
  t.facesign.onLiveKitSignals(async (s) => void signals.push(...s));
  los = await losClient(t);
  auditor = await t.signIn({ roles: ['AUDITOR'] });
});
afterAll(async () => t?.stop());

const key = () => t.sim!.apiKey;
const secret = () => t.sim!.apiSecret;
// storage: the participants projection the webhooks maintain (exact join and leave times, SIP call status);
// the API shows only whether the party is connected.
const participant = (attemptId: string, identity: string) =>
  t.facesign.db.attemptParticipant.findUnique({ where: { attemptId_identity: { attemptId, identity } } });

describe('intake', () => {
  it('rejects forged, expired and body-tampered webhooks with 401 and stores nothing', async () => {
    const { room, attempt } = await createAttempt(t.facesign.db, { kind: 'VIDEO' });
    const body = bodyOf(participantEvent('participant_joined', room, partyIdentity(attempt.id), 1_800_000_000, 'EV_forged'));
    const forged = await postWebhook(t.url, body, await signWebhook(body, key(), 'some-other-secret'));
    const expired = await postWebhook(t.url, body, expiredSignature(body, key(), secret()));
    const tampered = await postWebhook(t.url, body.replace('participant_joined', 'participant_left'), await signWebhook(body, key(), secret()));
    const unsigned = await postWebhook(t.url, body, undefined);
    for (const res of [forged, expired, tampered, unsigned]) {
      expect(res.status).toBe(401);
      expect(res.contentType).toContain('application/problem+json');
      expect(res.body.code).toBe('WEBHOOK_SIGNATURE_INVALID');
    }
    // storage: the LiveKit event inbox is what intake writes
    expect(await t.facesign.db.liveKitEvent.count({ where: { id: 'EV_forged' } })).toBe(0);
    expect(await participant(attempt.id, partyIdentity(attempt.id))).toBeNull();
  });

  it('stores and processes a duplicate delivery once', async () => {
    const { room, attempt } = await createAttempt(t.facesign.db, { kind: 'VIDEO' });
    const body = bodyOf(participantEvent('participant_joined', room, partyIdentity(attempt.id), 1_800_000_000, 'EV_dupe_1'));
    const auth = await signWebhook(body, key(), secret());
    const [first, second] = [await postWebhook(t.url, body, auth), await postWebhook(t.url, body, auth)];
    expect(first).toMatchObject({ status: 200, body: { received: true, duplicate: false } });
    expect(second).toMatchObject({ status: 200, body: { received: true, duplicate: true } });
    // storage: the inbox row's outcome and failures are what processing records
    const row = await eventually(async () => {
      const e = await t.facesign.db.liveKitEvent.findUnique({ where: { id: 'EV_dupe_1' } });
      return e?.processedAt ? e : undefined;
    });
    expect(row.outcome).toBe(`participant_joined ${partyIdentity(attempt.id)}`);
    expect(row.failures).toBe(0);
    // Signals go out just after the commit that marks the event processed.
    const mine = () => signals.filter((s) => s.kind === 'participant' && s.attemptId === attempt.id);
    await eventually(async () => mine().length > 0);
    // Processing it again (a re-delivered job) changes nothing.
    expect(await t.facesign.livekit!.processor.process('EV_dupe_1')).toBe(row.outcome);
    expect(mine()).toHaveLength(1);
  });

  it('answers a burst of concurrent deliveries each by its own verdict, storing and queueing every event once', async () => {
    const { room, attempt } = await createAttempt(t.facesign.db, { kind: 'VIDEO' });
    const bodies = Array.from({ length: 40 }, (_, i) => bodyOf(participantEvent(i % 2 ? 'participant_left' : 'participant_joined', room, `observer-${i}`, 1_800_000_000 + i, `EV_burst_${i}`)));
    // Every event twice, all at once: one of each pair is new, the other a duplicate, whichever batch it lands in.
    const deliveries = await Promise.all(
      [...bodies, ...bodies].map(async (body) => ({ body, res: await postWebhook(t.url, body, await signWebhook(body, key(), secret())) })),
    );
    expect(deliveries.every((d) => d.res.status === 200)).toBe(true);
    for (const body of bodies) {
      const verdicts = deliveries.filter((d) => d.body === body).map((d) => (d.res.body as { duplicate: boolean }).duplicate);
      expect(verdicts.sort()).toEqual([false, true]);
    }
    // A forged delivery in the same burst is refused on its own, without failing its neighbours.
    const forged = await postWebhook(t.url, bodies[0]!, await signWebhook(bodies[0]!, key(), 'some-other-secret'));
    expect(forged.status).toBe(401);
    // storage: every event stored once in the inbox, and processed without failures
    expect(await t.facesign.db.liveKitEvent.count({ where: { id: { startsWith: 'EV_burst_' } } })).toBe(40);
    await eventually(async () => (await t.facesign.db.liveKitEvent.count({ where: { id: { startsWith: 'EV_burst_' }, processedAt: null } })) === 0);
    expect((await t.facesign.db.liveKitEvent.findMany({ where: { id: { startsWith: 'EV_burst_' } } })).every((e) => e.failures === 0)).toBe(true);
    expect(attempt.roomName).toBe(room);
  });

  it('answers deliveries it cannot read with problem+json, request id and security headers, like any route', async () => {
    const { room, attempt } = await createAttempt(t.facesign.db, { kind: 'VIDEO' });
    const body = bodyOf(participantEvent('participant_joined', room, partyIdentity(attempt.id), 1_800_000_000, 'EV_shape_1'));
    const auth = await signWebhook(body, key(), secret());
    const post = (headers: Record<string, string>, payload: string | Buffer = body, path = '/livekit/webhook') =>
      fetch(`${t.url}${path}`, { method: 'POST', headers: { authorization: auth, ...headers }, body: payload });
    const cases: [string, Promise<Response>, number, string][] = [
      ['text/plain', post({ 'content-type': 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['a charset other than UTF-8', post({ 'content-type': 'application/webhook+json; charset=latin1' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['gzip', post({ 'content-type': 'application/webhook+json', 'content-encoding': 'gzip' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['an empty body', post({ 'content-type': 'application/webhook+json' }, ''), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['over 1 MB', post({ 'content-type': 'application/webhook+json' }, Buffer.alloc(1024 * 1024 + 1, 32)), 413, 'PAYLOAD_TOO_LARGE'],
    ];
    for (const [what, pending, status, code] of cases) {
      const res = await pending;
      const problem = (await res.json()) as { code: string; instance: string; requestId: string };
      expect({ what, status: res.status, code: problem.code }).toEqual({ what, status, code });
      expect(res.headers.get('content-type'), what).toMatch(/^application\/problem\+json/);
      expect(res.headers.get('x-content-type-options'), what).toBe('nosniff');
      expect(problem.instance, what).toBe('/livekit/webhook');
      expect(problem.requestId, what).toBe(res.headers.get('x-request-id'));
    }
    // Other methods are not this route's.
    const get = await fetch(`${t.url}/livekit/webhook`);
    expect(get.status).toBe(404);
    expect(((await get.json()) as { code: string }).code).toBe('ROUTE_NOT_FOUND');
    // storage: a refused delivery leaves nothing in the inbox
    expect(await t.facesign.db.liveKitEvent.count({ where: { id: 'EV_shape_1' } })).toBe(0);

    // The same delivery, well formed (with a trailing slash and the caller's request id), is taken.
    const ok = await post({ 'content-type': 'application/webhook+json; charset=utf-8', 'x-request-id': 'lk-delivery-0001' }, body, '/livekit/webhook/');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-request-id')).toBe('lk-delivery-0001');
    expect(await ok.json()).toEqual({ received: true, duplicate: false });
    // storage: the accepted delivery is stored and processed
    await eventually(async () => (await t.facesign.db.liveKitEvent.findUnique({ where: { id: 'EV_shape_1' } }))?.processedAt);
  });

  it('hands an event that fails in its batch to its own retrying job, and processes the rest of the batch', async () => {
    const { room, attempt } = await createAttempt(t.facesign.db, { kind: 'VIDEO' });
    // An egress nobody registered: processing it says "retry later" until the recording row exists.
    const orphan = bodyOf(
      WebhookEvent.fromJson({ event: 'egress_updated', id: 'EV_orphan_egress', createdAt: '1800000000', egressInfo: { egressId: 'EG_nobody_started', roomName: room, status: 'EGRESS_ACTIVE' } }),
    );
    const others = Array.from({ length: 6 }, (_, i) => bodyOf(participantEvent('participant_joined', room, `observer-batch-${i}`, 1_800_000_000 + i, `EV_batchmate_${i}`)));
    const deliveries = await Promise.all([orphan, ...others].map(async (body) => postWebhook(t.url, body, await signWebhook(body, key(), secret()))));
    expect(deliveries.map((d) => d.status)).toEqual(Array(7).fill(200));
    // storage: the inbox rows record which events were processed and how often one failed
    await eventually(async () => (await t.facesign.db.liveKitEvent.count({ where: { id: { startsWith: 'EV_batchmate_' }, processedAt: { not: null } } })) === 6);
    // The orphan failed in the batch, then again on its own job (retried with backoff), and is still open.
    // storage: the inbox row's failure count and last error
    const row = await eventually(async () => {
      const e = await t.facesign.db.liveKitEvent.findUnique({ where: { id: 'EV_orphan_egress' } });
      return e && e.failures >= 2 ? e : undefined;
    }, 100);
    expect(row.processedAt).toBeNull();
    expect(row.lastError).toContain('EG_nobody_started');
    const retries = await t.facesign.queues.queue('livekit-event').getJobs(['delayed', 'waiting', 'active', 'failed']);
    expect(retries.some((job) => (job.data as { eventId: string }).eventId === 'EV_orphan_egress')).toBe(true);
    expect(attempt.roomName).toBe(room);
  });

  it('converges when participant_left arrives before participant_joined', async () => {
    const { room, attempt } = await createAttempt(t.facesign.db, { kind: 'VIDEO' });
    const who = partyIdentity(attempt.id);
    const left = bodyOf(participantEvent('participant_left', room, who, 1_800_000_060));
    const joined = bodyOf(participantEvent('participant_joined', room, who, 1_800_000_000));
    await postWebhook(t.url, left, await signWebhook(left, key(), secret()));
    await postWebhook(t.url, joined, await signWebhook(joined, key(), secret()));
    const row = await eventually(async () => {
      const p = await participant(attempt.id, who);
      return p?.joinedAt && p.leftAt ? p : undefined;
    });
    expect(isPresent(row)).toBe(false);
    // A leave counts from the end of its (whole-second) webhook time.
    expect(row.leftAt!.toISOString()).toBe(new Date(1_800_000_060_999).toISOString());
  });

  it('converges for events the simulator reorders and duplicates on a real session', async () => {
    const { room, attempt, session } = await createAttempt(t.facesign.db, { kind: 'VIDEO' });
    const platform = t.facesign.livekit!.platform;
    await platform.createRoom({ name: room, maxParticipants: 3, metadata: { sessionId: session.id, attemptId: attempt.id } });
    t.sim!.control.injectWebhookFault({ action: 'reorder', event: 'participant_joined', room });
    t.sim!.control.injectWebhookFault({ action: 'duplicate', event: 'participant_left', room });
    await t.sim!.control.join(await platform.partyToken({ room, identity: partyIdentity(attempt.id), ttlSeconds: 60 }));
    t.sim!.control.leave(room, partyIdentity(attempt.id));
    await t.sim!.control.settled();
    const row = await eventually(async () => {
      const p = await participant(attempt.id, partyIdentity(attempt.id));
      return p?.joinedAt && p.leftAt ? p : undefined;
    });
    expect(isPresent(row)).toBe(false);
  });

  it('marks events for rooms that are not facesign attempts as ignored', async () => {
    const body = bodyOf(participantEvent('participant_joined', 'someone-elses-room', 'bob', 1_800_000_000, 'EV_foreign'));
    await postWebhook(t.url, body, await signWebhook(body, key(), secret()));
    // storage: the inbox row's outcome is what processing records
    const row = await eventually(async () => (await t.facesign.db.liveKitEvent.findUnique({ where: { id: 'EV_foreign' } }))?.processedAt && t.facesign.db.liveKitEvent.findUnique({ where: { id: 'EV_foreign' } }));
    expect(row!.outcome).toMatch(/^ignored/);
  });
});

describe('processing', () => {
  /** Stores events as intake does, without queueing them: the test runs the batch itself. */
  const store = async (events: WebhookEvent[]) => {
    // fixture: events in the inbox as intake stores them
    await t.facesign.db.liveKitEvent.createMany({
      data: events.map((e) => ({ id: e.id, event: e.event, roomName: e.room?.name ?? null, occurredAt: new Date(Number(e.createdAt) * 1000), body: JSON.parse(bodyOf(e)) as object })),
    });
    return events.map((e) => e.id);
  };
  const roomStarted = (room: string, id: string) => WebhookEvent.fromJson({ event: 'room_started', id, createdAt: '1800000000', room: { name: room, sid: 'RM_test' } });
  const participantSignals = (attemptId: string) =>
    signals.flatMap((s) => (s.kind === 'participant' && s.attemptId === attemptId ? [`${s.identity} ${s.present ? 'in' : 'out'}`] : []));

  it('applies a batch room by room, each room in arrival order, and concludes the events it does not act on', async () => {
    const a = await createAttempt(t.facesign.db, { kind: 'VIDEO' });
    const b = await createAttempt(t.facesign.db, { kind: 'VIDEO' });
    const ids = await store([
      participantEvent('participant_joined', a.room, 'observer-1', 1_800_000_000, 'EV_lane_a1'),
      participantEvent('participant_joined', b.room, 'observer-1', 1_800_000_000, 'EV_lane_b1'),
      roomStarted(a.room, 'EV_lane_a_started'),
      participantEvent('participant_left', a.room, 'observer-1', 1_800_000_010, 'EV_lane_a2'),
      participantEvent('participant_joined', 'someone-elses-room', 'bob', 1_800_000_000, 'EV_lane_foreign'),
      participantEvent('participant_left', b.room, 'observer-1', 1_800_000_010, 'EV_lane_b2'),
      participantEvent('participant_joined', a.room, 'observer-2', 1_800_000_020, 'EV_lane_a3'),
      participantEvent('participant_left', a.room, 'observer-2', 1_800_000_030, 'EV_lane_a4'),
    ]);
    const retried: string[] = [];
    await t.facesign.livekit!.processor.processBatch(ids, async (id) => void retried.push(id));
    expect(retried).toEqual([]);
    // Each room's signals in the order its events arrived.
    expect(participantSignals(a.attempt.id)).toEqual(['observer-1 in', 'observer-1 out', 'observer-2 in', 'observer-2 out']);
    expect(participantSignals(b.attempt.id)).toEqual(['observer-1 in', 'observer-1 out']);
    // storage: each inbox row's outcome is what processing records
    const rows = new Map((await t.facesign.db.liveKitEvent.findMany({ where: { id: { in: ids } } })).map((e) => [e.id, e]));
    expect([...rows.values()].every((e) => e.processedAt !== null && e.failures === 0)).toBe(true);
    expect(rows.get('EV_lane_a_started')!.outcome).toBe('ignored: room_started');
    expect(rows.get('EV_lane_foreign')!.outcome).toBe('ignored: someone-elses-room is not a facesign attempt room');
    expect(rows.get('EV_lane_a3')!.outcome).toBe('participant_joined observer-2');
  });

  it('applies and signals each event once when two nodes process the same batch at once', async () => {
    const { room, attempt } = await createAttempt(t.facesign.db, { kind: 'VIDEO' });
    const ids = await store([
      roomStarted(room, 'EV_twice_started'),
      ...Array.from({ length: 12 }, (_, i) => participantEvent(i % 2 ? 'participant_left' : 'participant_joined', room, `observer-${Math.floor(i / 2)}`, 1_800_000_000 + i, `EV_twice_${i}`)),
      participantEvent('participant_joined', 'someone-elses-room', 'bob', 1_800_000_000, 'EV_twice_foreign'),
    ]);
    const processor = t.facesign.livekit!.processor;
    const applied: string[] = [];
    // Events of earlier tests may still be finishing on the workers: only this batch's are counted.
    const stop = t.facesign.eventLag.listen((sample) => void (sample.stage === 'applied' && ids.includes(sample.eventId) && applied.push(sample.eventId)));
    const retried: string[] = [];
    const outcomes = await Promise.all([
      processor.processBatch(ids, async (id) => void retried.push(id)),
      processor.processBatch([...ids].reverse(), async (id) => void retried.push(id)),
      processor.process('EV_twice_3'),
      processor.process('EV_twice_started'),
    ]);
    stop();
    expect(retried).toEqual([]);
    expect(outcomes[2]).toMatch(/^participant_left observer-1$|^already processed$/);
    // Every event concluded by exactly one of the four, and a participant change signalled once.
    expect(applied.sort()).toEqual([...ids].sort());
    expect(participantSignals(attempt.id)).toHaveLength(12);
    // storage: the inbox rows and the participants projection, each written once however many nodes processed
    const rows = await t.facesign.db.liveKitEvent.findMany({ where: { id: { in: ids } } });
    expect(rows.every((e) => e.processedAt !== null && e.failures === 0)).toBe(true);
    expect(await t.facesign.db.attemptParticipant.count({ where: { attemptId: attempt.id } })).toBe(6);
  });

  it('times every event from its arrival, and shows the lag and the backlog on /metrics', async () => {
    const { room, attempt } = await createAttempt(t.facesign.db, { kind: 'VIDEO' });
    const lag: { eventId: string; stage: string; receivedAt: number; at: number }[] = [];
    const stop = t.facesign.eventLag.listen((sample) => lag.push(sample));
    const body = bodyOf(participantEvent('participant_joined', room, partyIdentity(attempt.id), 1_800_000_000, 'EV_lag_1'));
    const auth = await signWebhook(body, key(), secret());
    const sent = Date.now();
    expect((await postWebhook(t.url, body, auth)).status).toBe(200);
    const answered = Date.now();
    await eventually(async () => lag.some((s) => s.eventId === 'EV_lag_1' && s.stage === 'delivered'));
    stop();
    // storage: the arrival time the inbox row keeps is what the lag is measured from
    const row = await t.facesign.db.liveKitEvent.findUniqueOrThrow({ where: { id: 'EV_lag_1' } });
    // The arrival, not the (earlier) time LiveKit stamped on the event.
    expect(row.receivedAt.getTime()).toBeGreaterThanOrEqual(sent - 1);
    expect(row.receivedAt.getTime()).toBeLessThanOrEqual(answered);
    const queued = lag.find((s) => s.eventId === 'EV_lag_1' && s.stage === 'queued')!;
    const taken = lag.find((s) => s.eventId === 'EV_lag_1' && s.stage === 'taken')!;
    const applied = lag.find((s) => s.eventId === 'EV_lag_1' && s.stage === 'applied')!;
    const delivered = lag.find((s) => s.eventId === 'EV_lag_1' && s.stage === 'delivered')!;
    expect(applied.receivedAt).toBe(row.receivedAt.getTime());
    // Stored and queued before the webhook was answered.
    expect(queued.receivedAt).toBe(row.receivedAt.getTime());
    expect(queued.at).toBeGreaterThanOrEqual(row.receivedAt.getTime());
    expect(queued.at).toBeLessThanOrEqual(answered);
    // Taken off the queue after it arrived (the answer to the webhook came first) and before it was applied.
    expect(taken.receivedAt).toBe(row.receivedAt.getTime());
    expect(taken.at).toBeGreaterThanOrEqual(row.receivedAt.getTime());
    expect(applied.at).toBeGreaterThanOrEqual(taken.at);
    expect(delivered.at).toBeGreaterThanOrEqual(applied.at);

    const metric = (text: string, name: string) => Number(new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    const scrape = async () => (await fetch(`${t.url}/metrics`)).text();
    const text = await scrape();
    expect(metric(text, 'facesign_livekit_event_lag_seconds_count{stage="queued"}')).toBeGreaterThanOrEqual(1);
    expect(metric(text, 'facesign_livekit_event_lag_seconds_count{stage="taken"}')).toBeGreaterThanOrEqual(1);
    expect(metric(text, 'facesign_livekit_event_lag_seconds_count{stage="applied"}')).toBeGreaterThanOrEqual(1);
    expect(metric(text, 'facesign_livekit_event_lag_seconds_count{stage="delivered"}')).toBeGreaterThanOrEqual(1);
    // An event stored and not applied yet is the backlog, with its age.
    // fixture: an event stored 90 s ago whose job never ran
    await t.facesign.db.liveKitEvent.create({ data: { id: 'EV_lag_open', event: 'room_started', roomName: room, occurredAt: new Date(), receivedAt: new Date(Date.now() - 90_000), body: JSON.parse(bodyOf(roomStarted(room, 'EV_lag_open'))) as object } });
    // Other tests' events may come and go meanwhile: the gauge matches the table once it holds still.
    const after = await eventually(async () => {
      const text = await scrape();
      // storage: the gauge is the count of unprocessed inbox rows
      const open = await t.facesign.db.liveKitEvent.count({ where: { processedAt: null } });
      return open >= 1 && metric(text, 'facesign_livekit_events_unprocessed') === open ? text : undefined;
    });
    expect(metric(after, 'facesign_livekit_events_unprocessed_oldest_seconds')).toBeGreaterThanOrEqual(90);
    await t.facesign.livekit!.processor.process('EV_lag_open');

    // A worker-only node, where events are processed in production, shows its own lag (and only that).
    const quiet = new Writable({ write: (_chunk, _enc, done) => done() });
    const worker = await createFacesign({ ...t.facesign.config, roles: { api: false, worker: true }, http: { ...t.facesign.config.http, port: 0 } }, { logDestination: quiet });
    try {
      const workerUrl = await worker.listen();
      await worker.livekit!.processor.processBatch(await store([participantEvent('participant_joined', room, 'observer-w', 1_800_000_000, 'EV_lag_worker')]), async () => undefined);
      const res = await fetch(`${workerUrl}/metrics`);
      expect(res.status).toBe(200);
      const own = await res.text();
      expect(metric(own, 'facesign_livekit_event_lag_seconds_count{stage="applied"}')).toBeGreaterThanOrEqual(1);
      expect(own).not.toContain('facesign_sessions');
    } finally {
      await worker.stop();
    }
  });
});

describe('SIP call progress', () => {
  it('follows sip.callStatus forward only, from dialing to active to hangup', async () => {
    const { room, attempt, session } = await createAttempt(t.facesign.db, { kind: 'CALL' });
    const platform = t.facesign.livekit!.platform;
    await platform.createRoom({ name: room, maxParticipants: 3, metadata: { sessionId: session.id, attemptId: attempt.id } });
    // 55501 11: answers after 1 s and hangs up after 10 s of talk.
    const result = await platform.dial({ room, phoneE164: '+8613805550111', identity: sipPartyIdentity(attempt.id) });
    expect(result.outcome).toBe('ANSWERED');
    await t.sim!.control.settled();
    const row = await eventually(async () => {
      const p = await participant(attempt.id, sipPartyIdentity(attempt.id));
      return p?.sipCallStatus === 'hangup' && p.leftAt ? p : undefined;
    });
    expect(row.kind).toBe('PARTY');
    expect(isPresent(row)).toBe(false);
  });
});

describe('reconciler', () => {
  it('repairs a recording whose egress_ended webhook was dropped', async () => {
    const { room, attempt, session } = await createAttempt(t.facesign.db, { kind: 'CALL' });
    await t.facesign.livekit!.platform.createRoom({ name: room, maxParticipants: 3, metadata: { sessionId: session.id, attemptId: attempt.id } });
    t.sim!.control.injectWebhookFault({ action: 'drop', event: 'egress_ended', room });
    const rec = await t.facesign.livekit!.recordings.startForAttempt(attempt.id);
    // Stopped once it records: a stop while egress is still starting aborts it (a failed recording),
    // which a busy machine's late timers would otherwise make of this test.
    const recordingOf = async () => (await attemptOf(los, session.loanFileId, session.id, attempt.id)).recording;
    await eventually(async () => (await recordingOf())?.state === 'ACTIVE');
    await t.facesign.livekit!.recordings.stopForAttempt(attempt.id);
    await t.sim!.control.settled();
    // storage: the inbox holds no unprocessed event of this egress (those that were delivered are applied)
    await eventually(async () => (await t.facesign.db.liveKitEvent.count({ where: { egressId: rec.egressId, processedAt: null } })) === 0);
    const before = await recordingOf();
    expect(before?.state).toBe('ENDING');
    const ended = t.sim!.control.webhookDeliveries().filter((d) => d.event === 'egress_ended' && d.room === room);
    expect(ended.map((d) => d.status)).toEqual(['dropped']);

    const report = await t.facesign.livekit!.reconciler.runOnce();
    expect(report.recordingsRepaired).toBeGreaterThanOrEqual(1);
    const after = (await recordingOf())!;
    // Repaired to UPLOADED, from where the pipeline carries it on (finalize, retention).
    expect(['UPLOADED', 'VERIFIED', 'RETAINED']).toContain(after.state);
    expect(BigInt(after.reportedSize ?? 0)).toBeGreaterThan(0n);
    const transitions = (await entityAuditEventsOf(auditor, session.id, rec.id)).filter((e) => e.action === 'recording.state_changed');
    expect(transitions.map((a) => a.data)).toContainEqual(expect.objectContaining({ to: 'UPLOADED', source: 'reconciler' }));
  });

  it('logs a step that failed with its error and stack, and goes on with the rest', async () => {
    const { room, attempt, session } = await createAttempt(t.facesign.db, { kind: 'VIDEO' });
    await t.facesign.livekit!.platform.createRoom({ name: room, maxParticipants: 3, metadata: { sessionId: session.id, attemptId: attempt.id } });
    t.sim!.control.injectTwirpFault({ code: 'unavailable', service: 'RoomService', method: 'ListRooms' });
    let report;
    try {
      report = await t.facesign.livekit!.reconciler.runOnce();
    } finally {
      t.sim!.control.clearFaults();
    }
    expect(report.errors).toBeGreaterThan(0);
    const lines = t.logs.map((l) => JSON.parse(l) as { msg?: string; what?: string; err?: { message?: string; stack?: string } });
    const failed = lines.find((l) => l.msg === 'reconcile step failed; next run retries' && l.what === `attempt ${attempt.id}`);
    expect(failed?.err?.message).toBe('livekit-sim: injected fault');
    // Where it failed, not just what: an operator can follow it into the code.
    expect(failed?.err?.stack).toMatch(/\n\s+at .*reconciler\.service\.ts/);
  });

  it('finishes an attempt whose room_finished webhook was dropped, and marks participants gone', async () => {
    const { room, attempt, session } = await createAttempt(t.facesign.db, { kind: 'VIDEO' });
    const platform = t.facesign.livekit!.platform;
    await platform.createRoom({ name: room, maxParticipants: 3, metadata: { sessionId: session.id, attemptId: attempt.id } });
    await t.sim!.control.join(await platform.partyToken({ room, identity: partyIdentity(attempt.id), ttlSeconds: 60 }));
    await eventually(async () => (await participant(attempt.id, partyIdentity(attempt.id)))?.joinedAt);
    t.sim!.control.injectWebhookFault({ action: 'drop', event: '*', room, count: 10 });
    await platform.deleteRoom(room);
    await t.sim!.control.settled();
    expect((await attemptOf(los, session.loanFileId, session.id, attempt.id)).endedAt).toBeNull();

    const report = await t.facesign.livekit!.reconciler.runOnce();
    expect(report.roomsFinished).toBeGreaterThanOrEqual(1);
    expect((await attemptOf(los, session.loanFileId, session.id, attempt.id)).endedAt).not.toBeNull();
    expect(isPresent((await participant(attempt.id, partyIdentity(attempt.id)))!)).toBe(false);
    expect(signals).toContainEqual({ kind: 'room-finished', attemptId: attempt.id });
  });

  it('adds a participant whose participant_joined webhook was dropped', async () => {
    const { room, attempt, session } = await createAttempt(t.facesign.db, { kind: 'VIDEO' });
    const platform = t.facesign.livekit!.platform;
    await platform.createRoom({ name: room, maxParticipants: 3, metadata: { sessionId: session.id, attemptId: attempt.id } });
    t.sim!.control.injectWebhookFault({ action: 'drop', event: 'participant_joined', room });
    await t.sim!.control.join(await platform.partyToken({ room, identity: partyIdentity(attempt.id), ttlSeconds: 60 }));
    await t.sim!.control.settled();
    expect(await participant(attempt.id, partyIdentity(attempt.id))).toBeNull();
    await t.facesign.livekit!.reconciler.runOnce();
    expect(isPresent((await participant(attempt.id, partyIdentity(attempt.id)))!)).toBe(true);
  });

  it('processes inbox events whose job never ran (e.g. Redis was down at intake)', async () => {
    const { room, attempt } = await createAttempt(t.facesign.db, { kind: 'VIDEO' });
    const event = participantEvent('participant_joined', room, partyIdentity(attempt.id), 1_800_000_000, 'EV_stuck');
    // fixture: an event stored a minute ago whose job never ran
    await t.facesign.db.liveKitEvent.create({
      data: { id: 'EV_stuck', event: 'participant_joined', roomName: room, occurredAt: new Date(), receivedAt: new Date(Date.now() - 60_000), body: event.toJson() as object },
    });
    const report = await t.facesign.livekit!.reconciler.runOnce();
    expect(report.inboxEventsProcessed).toBeGreaterThanOrEqual(1);
    // storage: the stuck inbox row is what the reconciler repairs
    const stored = await t.facesign.db.liveKitEvent.findUniqueOrThrow({ where: { id: 'EV_stuck' } });
    expect(stored.processedAt).not.toBeNull();
    expect(stored.outcome).toBe(`participant_joined ${partyIdentity(attempt.id)}`);
    expect((await participant(attempt.id, partyIdentity(attempt.id)))!.joinedAt).not.toBeNull();
  });

  it('binds an egress to a recording row left without one by a crash', async () => {
    const { room, attempt, session } = await createAttempt(t.facesign.db, { kind: 'CALL' });
    const platform = t.facesign.livekit!.platform;
    await platform.createRoom({ name: room, maxParticipants: 3, metadata: { sessionId: session.id, attemptId: attempt.id } });
    const key = `recordings/${session.loanFileId}/${session.id}/${attempt.id}.ogg`;
    // The row was written, LiveKit started the egress, and the process died before saving its id.
    // fixture: the recording row as the crash left it
    const rec = await t.facesign.db.recording.create({ data: { attemptId: attempt.id, audioOnly: true, objectKey: key, createdAt: new Date(Date.now() - 60_000) } });
    const egress = await platform.startRecording({ room, audioOnly: true, objectKey: key });
    await t.facesign.livekit!.reconciler.runOnce();
    // storage: the egress id bound to the row the crash left behind, which no API shows
    const bound = await t.facesign.db.recording.findUniqueOrThrow({ where: { id: rec.id } });
    expect(bound.egressId).toBe(egress.egressId);
  });
});
