// Webhook delivery as LiveKit's ResourceURLNotifier does it: per URL, one queue per resource (the egress
// for egress events, else the room), each delivered in order and one at a time, independent of the
// others; go-retryablehttp's retries; events dropped when they waited too long or the queue is full.
import { EgressStatus } from 'livekit-server-sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { S3Harness, SimulatorHarness } from './harness.js';
import { fileOutput, joinToken, startHarness, startS3 } from './harness.js';

let h: SimulatorHarness;
let s3: S3Harness;

beforeAll(async () => {
  s3 = await startS3();
  h = await startHarness();
});

afterEach(() => {
  h.webhooks.respond = () => 200;
});

afterAll(async () => {
  await h?.stop();
  await s3?.stop();
});

const join = async (room: string, identity: string) => h.sim.control.join(await joinToken(h.sim, identity, { roomJoin: true, room }));

/** A receiver that is stuck: requests given `held` get no answer until `release()`. */
function stuckReceiver(): { held: Promise<number>; release: () => void } {
  let release = (): void => undefined;
  const held = new Promise<number>((resolve) => {
    release = () => resolve(200);
  });
  return { held, release };
}

const deliveriesOf = (room: string) => h.sim.control.webhookDeliveries().filter((entry) => entry.room === room);

describe('one queue per resource', () => {
  it('a room whose receiver is stuck holds up neither another room nor its own egress', async () => {
    const stuck = 'queue-stuck-room';
    const other = 'queue-other-room';
    const receiver = stuckReceiver();
    h.webhooks.respond = (event) => (event.room?.name === stuck && event.egressInfo === undefined ? receiver.held : 200);

    await h.rooms.createRoom({ name: stuck });
    await join(stuck, 'agent');
    const egress = await h.egress.startRoomCompositeEgress(
      stuck,
      fileOutput(s3, 'queues/rec'),
      { audioOnly: true },
    );
    await h.rooms.createRoom({ name: other });
    await join(other, 'agent');

    await h.webhooks.untilEvent(other, 'participant_joined');
    await h.webhooks.until(() =>
      h.webhooks.events({ event: 'egress_updated' }).some(
        (event) => event.egressInfo?.egressId === egress.egressId && event.egressInfo.status === EgressStatus.EGRESS_ACTIVE,
      ),
    );
    expect(h.webhooks.events({ room: stuck }).filter((event) => event.egressInfo === undefined)).toEqual([]);
    expect(deliveriesOf(stuck).filter((entry) => entry.resource === stuck).map((entry) => entry.status)).toEqual([
      'pending',
      'pending',
      'pending',
    ]);

    receiver.release();
    await h.webhooks.untilEvent(stuck, 'participant_joined', 2);
    // Still in order within the room's own queue: the room, the agent, then the recorder.
    const roomEvents = h.webhooks.events({ room: stuck }).filter((event) => event.egressInfo === undefined);
    expect(roomEvents.map((event) => [event.event, event.participant?.identity])).toEqual([
      ['room_started', undefined],
      ['participant_joined', 'agent'],
      ['participant_joined', egress.egressId],
    ]);
    await h.egress.stopEgress(egress.egressId);
    await h.sim.control.settled();
  });
});

describe('retries', () => {
  it('tries an event five times on 5xx, the same bytes each time, then gives up and moves on', async () => {
    const room = 'retry-room';
    h.webhooks.respond = (event) => (event.room?.name === room && event.event === 'room_started' ? 503 : 200);
    await h.rooms.createRoom({ name: room });
    await join(room, 'agent');
    await h.webhooks.untilEvent(room, 'participant_joined');
    await h.sim.control.settled();

    const tries = h.webhooks.received.filter((entry) => entry.event.room?.name === room && entry.event.event === 'room_started');
    expect(tries.map((entry) => entry.status)).toEqual([503, 503, 503, 503, 503]);
    expect(new Set(tries.map((entry) => entry.rawBody)).size).toBe(1);
    expect(deliveriesOf(room).map((entry) => [entry.event, entry.status, entry.attempts])).toEqual([
      ['room_started', 'failed', 5],
      ['participant_joined', 'delivered', 1],
    ]);
  });

  it('waits as long as Retry-After on a 503 asks, instead of its own back-off', async () => {
    const room = 'retry-after-room';
    let asked = false;
    // room_started is answered 503 "Retry-After: 40" once: by the time it is retried and delivered,
    // participant_joined, queued behind it, has waited more than 30 s and is dropped.
    h.webhooks.respond = (event) => {
      if (event.room?.name !== room || event.event !== 'room_started' || asked) return 200;
      asked = true;
      return { status: 503, headers: { 'Retry-After': '40' } };
    };
    await h.rooms.createRoom({ name: room });
    await join(room, 'agent');
    await h.sim.control.settled();

    expect(deliveriesOf(room).map((entry) => [entry.event, entry.status, entry.reason, entry.attempts])).toEqual([
      ['room_started', 'delivered', undefined, 2],
      ['participant_joined', 'dropped', 'age', 0],
    ]);
  });
});

describe('limits', () => {
  it('drops an event that waited more than 30 s in its queue when its turn comes', async () => {
    const room = 'age-room';
    const tries = new Map<string, number>();
    // room_started fails every try (15 s of back-off), participant_joined once (1 s), the first
    // track_published every try (15 s): the second track_published has waited 31 s by its turn.
    h.webhooks.respond = (event) => {
      if (event.room?.name !== room) return 200;
      const attempt = (tries.get(event.id) ?? 0) + 1;
      tries.set(event.id, attempt);
      return event.event === 'participant_joined' && attempt > 1 ? 200 : 503;
    };
    await h.rooms.createRoom({ name: room });
    await join(room, 'agent');
    h.sim.control.publishTrack(room, 'agent', { kind: 'audio', name: 'first' });
    h.sim.control.publishTrack(room, 'agent', { kind: 'video', name: 'second' });
    await h.sim.control.settled();

    expect(deliveriesOf(room).map((entry) => [entry.event, entry.status, entry.reason, entry.attempts])).toEqual([
      ['room_started', 'failed', undefined, 5],
      ['participant_joined', 'delivered', undefined, 2],
      ['track_published', 'failed', undefined, 5],
      ['track_published', 'dropped', 'age', 0],
    ]);
  });

  it('keeps at most 200 events waiting per resource and drops the ones beyond', async () => {
    const room = 'depth-room';
    const receiver = stuckReceiver();
    h.webhooks.respond = (event) => (event.room?.name === room && event.event === 'room_started' ? receiver.held : 200);
    // room_started is being sent (stuck) and does not count; participant_joined and the first 199 tracks wait.
    await h.rooms.createRoom({ name: room });
    await join(room, 'agent');
    for (let index = 0; index < 204; index += 1) h.sim.control.publishTrack(room, 'agent', { kind: 'audio', name: `track-${index}` });
    receiver.release();
    await h.sim.control.settled();

    const log = deliveriesOf(room);
    expect(log.filter((entry) => entry.status === 'delivered')).toHaveLength(201);
    expect(log.filter((entry) => entry.status === 'dropped').map((entry) => [entry.event, entry.reason])).toEqual(
      Array.from({ length: 5 }, () => ['track_published', 'depth']),
    );
    const published = h.webhooks.events({ room, event: 'track_published' }).map((event) => event.track?.name);
    expect(published).toEqual(Array.from({ length: 199 }, (_, index) => `track-${index}`));
  });
});
