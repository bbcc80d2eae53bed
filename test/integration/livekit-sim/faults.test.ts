// Fault injection: each fault does what it says and nothing else, in-process and over /_sim/ HTTP.
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { EgressStatus } from 'livekit-server-sdk';
import type { EgressInfo } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { S3Harness, SimulatorHarness } from './harness.js';
import { caught, fileOutput, joinToken, startHarness, startS3 } from './harness.js';

let h: SimulatorHarness;
let s3: S3Harness;

beforeAll(async () => {
  s3 = await startS3();
  h = await startHarness();
});

afterAll(async () => {
  await h?.stop();
  await s3?.stop();
});

const join = async (room: string, identity: string) => h.sim.control.join(await joinToken(h.sim, identity, { roomJoin: true, room }));

describe('webhook faults', () => {
  it('drop: the event never arrives, and nothing tells the receiver (LiveKit never sets numDropped)', async () => {
    const room = 'drop-room';
    h.sim.control.injectWebhookFault({ action: 'drop', event: 'participant_joined', room });
    await join(room, 'a');
    await join(room, 'b');
    await h.sim.control.settled();

    const joined = h.webhooks.received.filter((entry) => entry.event.room?.name === room && entry.event.event === 'participant_joined');
    expect(joined.map((entry) => entry.event.participant?.identity)).toEqual(['b']);
    expect(joined[0]?.event.numDropped).toBe(0);
    expect(joined[0]?.rawBody).not.toContain('numDropped');
    const dropped = h.sim.control.webhookDeliveries().filter((entry) => entry.room === room && entry.status === 'dropped');
    expect(dropped.map((entry) => [entry.event, entry.reason])).toEqual([['participant_joined', 'fault']]);
  });

  it('duplicate: the same event, byte for byte, arrives twice', async () => {
    const room = 'duplicate-webhook-room';
    h.sim.control.injectWebhookFault({ action: 'duplicate', event: 'room_started', room });
    await h.rooms.createRoom({ name: room });
    await h.sim.control.settled();
    const started = h.webhooks.received.filter((entry) => entry.event.room?.name === room && entry.event.event === 'room_started');
    expect(started).toHaveLength(2);
    expect(started[0]?.event.id).toBe(started[1]?.event.id);
    expect(started[0]?.rawBody).toBe(started[1]?.rawBody);
  });

  it('delay: later events overtake the delayed one', async () => {
    const room = 'delay-room';
    h.sim.control.injectWebhookFault({ action: 'delay', event: 'participant_joined', room, delaySeconds: 30 });
    await join(room, 'late');
    h.sim.control.publishTrack(room, 'late', { kind: 'audio' });
    await h.sim.control.settled();
    expect(h.webhooks.names(room)).toEqual(['room_started', 'track_published', 'participant_joined']);
  });

  it('reorder: the held event arrives right after the next one', async () => {
    const room = 'reorder-room';
    h.sim.control.injectWebhookFault({ action: 'reorder', event: 'room_started', room });
    await join(room, 'first');
    await h.sim.control.settled();
    expect(h.webhooks.names(room)).toEqual(['participant_joined', 'room_started']);
  });

  it('affects only as many matching events as asked', async () => {
    const room = 'count-room';
    h.sim.control.injectWebhookFault({ action: 'drop', event: 'participant_joined', room, count: 2 });
    for (const identity of ['one', 'two', 'three']) await join(room, identity);
    await h.sim.control.settled();
    expect(h.webhooks.events({ room, event: 'participant_joined' }).map((event) => event.participant?.identity)).toEqual(['three']);
  });
});

describe('Twirp faults', () => {
  it('answers unavailable for the next N calls', async () => {
    h.sim.control.injectTwirpFault({ count: 2 });
    for (let i = 0; i < 2; i += 1) {
      expect(await caught(() => h.rooms.listRooms())).toMatchObject({ status: 503, code: 'unavailable' });
    }
    expect(Array.isArray(await h.rooms.listRooms())).toBe(true);
  });

  it('answers unavailable until cleared, for the chosen method only', async () => {
    h.sim.control.injectTwirpFault({ service: 'SIP', method: 'CreateSIPParticipant' });
    for (let i = 0; i < 3; i += 1) {
      const error = await caught(() => h.sip.createSipParticipant('ST_x', '+12025550100', 'fault-room'));
      expect(error).toMatchObject({ status: 503, code: 'unavailable' });
    }
    expect(Array.isArray(await h.sip.listSipOutboundTrunk())).toBe(true);
    h.sim.control.clearFaults();
    const afterClear = await caught(() => h.sip.createSipParticipant('ST_x', '+12025550100', 'fault-room'));
    expect(afterClear).toMatchObject({ status: 404, code: 'not_found' });
  });
});

describe('egress faults', () => {
  const output = (filepath: string, bucket = s3.bucket) => fileOutput(s3, filepath, { bucket });

  async function endedInfo(egressId: string): Promise<EgressInfo> {
    await h.webhooks.until(() => h.webhooks.events({ event: 'egress_ended' }).some((event) => event.egressInfo?.egressId === egressId));
    const info = h.webhooks.events({ event: 'egress_ended' }).find((event) => event.egressInfo?.egressId === egressId)?.egressInfo;
    if (info === undefined) throw new Error('no egress_ended');
    return info;
  }

  async function objectExists(key: string): Promise<boolean> {
    const error = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: key })).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    if (error === undefined) return true;
    expect(error).toMatchObject({ name: 'NotFound' });
    return false;
  }

  it('fail: the recording fails while active with the given error', async () => {
    const room = 'egress-fail-room';
    await join(room, 'agent');
    h.sim.control.injectEgressFault({ kind: 'fail', room, error: 'encoder crashed', afterSeconds: 5 });
    const started = await h.egress.startRoomCompositeEgress(room, output('failing/rec'), { audioOnly: true });
    const info = await endedInfo(started.egressId);
    expect(info).toMatchObject({ status: EgressStatus.EGRESS_FAILED, error: 'encoder crashed', errorCode: 500 });
    expect(await objectExists('failing/rec.ogg')).toBe(false);
    const statuses = h.webhooks.events({ room }).filter((event) => event.egressInfo !== undefined).map((event) => event.egressInfo?.status);
    expect(statuses).toEqual([EgressStatus.EGRESS_STARTING, EgressStatus.EGRESS_ACTIVE, EgressStatus.EGRESS_FAILED]);
  });

  it('failEgress fails a running egress on demand', async () => {
    const room = 'egress-fail-now';
    await join(room, 'agent');
    const started = await h.egress.startRoomCompositeEgress(room, output('fail-now/rec'), { audioOnly: true });
    await h.webhooks.until(() =>
      h.webhooks.events({ room, event: 'egress_updated' }).some((event) => event.egressInfo?.status === EgressStatus.EGRESS_ACTIVE),
    );
    h.sim.control.failEgress(started.egressId, 'disk full');
    expect(await endedInfo(started.egressId)).toMatchObject({ status: EgressStatus.EGRESS_FAILED, error: 'disk full' });
    expect((await h.egress.listEgress({ egressId: started.egressId }))[0]?.status).toBe(EgressStatus.EGRESS_FAILED);
  });

  it('upload: storage refuses the file and the egress ends FAILED with an upload error', async () => {
    const room = 'egress-upload-room';
    await join(room, 'agent');
    h.sim.control.injectEgressFault({ kind: 'upload', room });
    const started = await h.egress.startRoomCompositeEgress(room, output('upload-fault/rec'), { audioOnly: true });
    await h.webhooks.until(() =>
      h.webhooks.events({ room, event: 'egress_updated' }).some((event) => event.egressInfo?.status === EgressStatus.EGRESS_ACTIVE),
    );
    await h.egress.stopEgress(started.egressId);
    const info = await endedInfo(started.egressId);
    expect(info.status).toBe(EgressStatus.EGRESS_FAILED);
    expect(info.error).toMatch(/^S3 upload failed: .*InvalidAccessKeyId/);
    expect(info.errorCode).toBe(400);
    expect(await objectExists('upload-fault/rec.ogg')).toBe(false);
  });

  it('a bucket that does not exist fails the upload without any injected fault', async () => {
    const room = 'egress-no-bucket';
    await join(room, 'agent');
    const started = await h.egress.startRoomCompositeEgress(room, output('x/rec', 'no-such-bucket'), { audioOnly: true });
    await h.webhooks.until(() =>
      h.webhooks.events({ room, event: 'egress_updated' }).some((event) => event.egressInfo?.status === EgressStatus.EGRESS_ACTIVE),
    );
    await h.egress.stopEgress(started.egressId);
    const info = await endedInfo(started.egressId);
    expect(info.status).toBe(EgressStatus.EGRESS_FAILED);
    expect(info.error).toMatch(/^S3 upload failed: .*NoSuchBucket/);
  });
});

describe('faults over HTTP', () => {
  const post = (path: string, body: unknown) =>
    fetch(`${h.sim.url}/_sim/${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

  it('injects and clears faults through /_sim/faults', async () => {
    expect((await post('faults/twirp', { code: 'internal' })).status).toBe(204);
    expect(await caught(() => h.rooms.listRooms())).toMatchObject({ status: 500, code: 'internal' });
    expect((await fetch(`${h.sim.url}/_sim/faults`, { method: 'DELETE' })).status).toBe(204);
    expect(Array.isArray(await h.rooms.listRooms())).toBe(true);

    const room = 'http-fault-room';
    expect((await post('faults/webhook', { action: 'drop', event: 'room_started', room })).status).toBe(204);
    await h.rooms.createRoom({ name: room, emptyTimeout: 1 });
    await h.webhooks.untilEvent(room, 'room_finished');
    expect(h.webhooks.names(room)).toEqual(['room_finished']);

    const invalid = await post('faults/webhook', { action: 'explode', event: 'room_started' });
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as { code: string }).code).toBe('invalid_argument');
  });
});
