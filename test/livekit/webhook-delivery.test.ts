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
  livekit: { url: real.url, apiKey: real.apiKey, apiSecret: real.apiSecret, relay: real.webhooks, trunkAddress: real.phoneAddress!, scale: 1 },
  simulator: { url: sim.url, apiKey: sim.apiKey, apiSecret: sim.apiSecret, relay: simRelay, trunkAddress: 'sip.carrier.test', scale: SIM_SCALE },
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function failingRoomAndHealthyRoom(b: Backend, tag: string) {
  const rooms = new RoomServiceClient(b.url, b.apiKey, b.apiSecret);
  const sip = new SipClient(b.url, b.apiKey, b.apiSecret);
  const trunk = await sip.createSipOutboundTrunk(`delivery ${tag}`, b.trunkAddress, ['+10000000000']);
  const failing = `failing-${tag}`;
  const healthy = `healthy-${tag}`;
  b.relay.refuse(failing);
  // The failing room gets a handful of events in its first second: started, a phone joining, its track.
  await rooms.createRoom({ name: failing });
  await sip.createSipParticipant(trunk.sipTrunkId, '+12025550101', failing, { participantIdentity: 'phone', waitUntilAnswered: true, ringingTimeout: 10 });
  await rooms.createRoom({ name: healthy });
  await rooms.deleteRoom(healthy);
  await rooms.deleteRoom(failing);
  // Five tries of the first event take 15 s, five of the second another 15 s; the rest are then too old.
  await sleep(36_000 * b.scale);
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

    // The failing room: its first two events were each tried five times (1, 2, 4, 8 s apart); every
    // later one had waited over 30 s when its turn came and was dropped unsent.
    expect(tries(deliveries, failing)).toEqual([
      { event: 'room_started', tries: 5 },
      { event: 'participant_joined', tries: 5 },
    ]);
    const first = deliveries.filter((d) => d.room === failing && d.event === 'room_started').map((d) => d.at);
    const gaps = first.slice(1).map((at, i) => (at - first[i]!) / 1000 / b.scale);
    gaps.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(2 ** i * 0.9));

    // The healthy room's events were not held up behind the failing room's retries.
    const healthyEvents = deliveries.filter((d) => d.room === healthy);
    expect(healthyEvents.map((d) => [d.event, d.status])).toEqual([
      ['room_started', 200],
      ['room_finished', 200],
    ]);
    expect(Math.max(...healthyEvents.map((d) => d.at))).toBeLessThan(first[1]!);

    // LiveKit's resource notifier never reports what it dropped.
    expect(deliveries.every((d) => d.numDropped === 0)).toBe(true);
  });
});
