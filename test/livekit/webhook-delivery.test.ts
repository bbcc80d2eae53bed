// How LiveKit delivers webhooks when the receiver fails, on the real livekit-server and on the
// simulator alike: one queue per room (so a failing room never holds up another), five tries per event
// (1, 2, 4 and 8 s apart), events that waited more than 30 s dropped unsent, and numDropped never set.
// facesign's reconciler exists because of exactly this.
import { RoomServiceClient, SipClient } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLiveKitSimulator, type RunningLiveKitSimulator } from '../../dev/livekit-sim/index.js';
import { startRealLiveKit, WebhookRelay, type RealLiveKit, type WebhookDelivery } from '../../dev/real-livekit/stack.js';

interface Backend {
  url: string;
  apiKey: string;
  apiSecret: string;
  relay: WebhookRelay;
  trunkAddress: string;
  /** Real seconds per LiveKit second. */
  scale: number;
  /** The events LiveKit itself says it dropped because they waited too long: `<event> <room>`. */
  droppedForAge(): Promise<string[]>;
}

let real: RealLiveKit;
let sim: RunningLiveKitSimulator;
let simRelay: WebhookRelay;
const SIM_SCALE = 0.1;

beforeAll(async () => {
  real = await startRealLiveKit();
  simRelay = new WebhookRelay();
  await simRelay.listen();
  sim = await startLiveKitSimulator({ timeScale: SIM_SCALE, webhookUrls: [simRelay.url] });
});
afterAll(async () => {
  await real?.stop();
  await sim?.stop();
  await simRelay?.close();
});

const backends = (): Record<'livekit' | 'simulator', Backend> => ({
  livekit: {
    url: real.url,
    apiKey: real.apiKey,
    apiSecret: real.apiSecret,
    relay: real.webhooks,
    trunkAddress: real.phoneAddress!,
    scale: 1,
    // livekit-server logs `dropped webhook … "event": …, "room": …, "reason": "age"`.
    droppedForAge: async () =>
      (await real.serverLog())
        .split('\n')
        .filter((line) => line.includes('dropped webhook') && line.includes('"reason": "age"'))
        .map((line) => `${/"event": "([^"]+)"/.exec(line)?.[1]} ${/"room": "([^"]+)"/.exec(line)?.[1]}`),
  },
  simulator: {
    url: sim.url,
    apiKey: sim.apiKey,
    apiSecret: sim.apiSecret,
    relay: simRelay,
    trunkAddress: 'sip.carrier.test',
    scale: SIM_SCALE,
    droppedForAge: async () => sim.control.webhookDeliveries().filter((d) => d.status === 'dropped' && d.reason === 'age').map((d) => `${d.event} ${d.room}`),
  },
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A room whose webhooks the receiver refuses (503) and a healthy one beside it. Five tries of an
 * event take 15 s, and an event still queued 30 s after it was queued is dropped when its turn comes.
 * The failing room: started at 0 s (tried 0-15 s), a phone joins at 5 s with its track (tried 15-30 s
 * and 30-45 s: 10 and 25 s old at their turn), the room is deleted at about 6 s (its events' turn
 * comes at 45 s, 39 s after: dropped unsent). Every margin is 5 s or more.
 */
async function failingRoomAndHealthyRoom(b: Backend, tag: string) {
  const rooms = new RoomServiceClient(b.url, b.apiKey, b.apiSecret);
  const sip = new SipClient(b.url, b.apiKey, b.apiSecret);
  const trunk = await sip.createSipOutboundTrunk(`delivery ${tag}`, b.trunkAddress, ['+10000000000']);
  const failing = `failing-${tag}`;
  const healthy = `healthy-${tag}`;
  b.relay.refuse(failing);
  await rooms.createRoom({ name: failing });
  await sleep(5_000 * b.scale);
  await sip.createSipParticipant(trunk.sipTrunkId, '+12025550101', failing, { participantIdentity: 'phone', waitUntilAnswered: true, ringingTimeout: 10 });
  await rooms.createRoom({ name: healthy });
  await rooms.deleteRoom(healthy);
  await rooms.deleteRoom(failing);
  await sleep(48_000 * b.scale);
  return { failing, healthy };
}

const tries = (deliveries: WebhookDelivery[], room: string) => {
  const byEvent = new Map<string, { event: string; tries: number }>();
  for (const d of deliveries.filter((x) => x.room === room)) byEvent.set(d.id, { event: d.event, tries: (byEvent.get(d.id)?.tries ?? 0) + 1 });
  return [...byEvent.values()];
};

describe.each(['livekit', 'simulator'] as const)('webhook delivery by %s', (name) => {
  it('keeps one queue per room, tries an event five times, and drops what waited over 30 s', { timeout: 90_000 }, async () => {
    const b = backends()[name];
    const { failing, healthy } = await failingRoomAndHealthyRoom(b, name);
    const deliveries = b.relay.deliveries;

    // The failing room: its first events were each tried five times, 1, 2, 4 and 8 s apart, one
    // event at a time; the deletion's events were never tried.
    expect(tries(deliveries, failing)).toEqual([
      { event: 'room_started', tries: 5 },
      { event: 'participant_joined', tries: 5 },
      { event: 'track_published', tries: 5 },
    ]);
    const first = deliveries.filter((d) => d.room === failing && d.event === 'room_started').map((d) => d.at);
    const gaps = first.slice(1).map((at, i) => (at - first[i]!) / 1000 / b.scale);
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(2 ** i * 0.9));
    // LiveKit says why: they had waited over 30 s when their turn came.
    expect(await b.droppedForAge()).toEqual(expect.arrayContaining([`participant_left ${failing}`, `room_finished ${failing}`]));

    // The healthy room's events were not held up behind the failing room's retries: they arrived while
    // the failing room's first event was still being retried.
    const healthyEvents = deliveries.filter((d) => d.room === healthy);
    expect(healthyEvents.map((d) => [d.event, d.status])).toEqual([
      ['room_started', 200],
      ['room_finished', 200],
    ]);
    expect(Math.max(...healthyEvents.map((d) => d.at))).toBeLessThan(first[first.length - 1]!);

    // LiveKit's resource notifier never reports what it dropped.
    expect(deliveries.every((d) => d.numDropped === 0)).toBe(true);
  });
});
