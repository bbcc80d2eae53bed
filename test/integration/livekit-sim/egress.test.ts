// Room composite egress through the real EgressClient, recording into s3rver through the S3 API.
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { DisconnectReason, ParticipantInfo_Kind } from '@livekit/protocol';
import { EgressStatus, EncodedFileType } from 'livekit-server-sdk';
import type { EgressInfo } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { S3Harness, SimulatorHarness } from './harness.js';
import { caught, eventually, fileOutput, joinToken, startHarness, startS3 } from './harness.js';

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

const output = (filepath: string, fileType = EncodedFileType.DEFAULT_FILETYPE) => fileOutput(s3, filepath, { fileType });

async function roomWithParty(room: string): Promise<void> {
  await h.rooms.createRoom({ name: room });
  await h.sim.control.join(await joinToken(h.sim, 'agent', { roomJoin: true, room }));
}

async function ended(egressId: string, on: SimulatorHarness = h): Promise<EgressInfo> {
  await on.webhooks.until(() => on.webhooks.events({ event: 'egress_ended' }).some((event) => event.egressInfo?.egressId === egressId));
  const event = on.webhooks.events({ event: 'egress_ended' }).find((candidate) => candidate.egressInfo?.egressId === egressId);
  if (event?.egressInfo === undefined) throw new Error('egress_ended without egressInfo');
  return event.egressInfo;
}

async function active(egressId: string, on: SimulatorHarness = h): Promise<void> {
  await on.webhooks.until(() =>
    on.webhooks.events({ event: 'egress_updated' }).some(
      (event) => event.egressInfo?.egressId === egressId && event.egressInfo.status === EgressStatus.EGRESS_ACTIVE,
    ),
  );
}

/** Resolves once `identity` has had a participant_left in `room`, and returns that participant. */
async function leftRoom(room: string, identity: string) {
  const find = () => h.webhooks.events({ room, event: 'participant_left' }).find((event) => event.participant?.identity === identity);
  await h.webhooks.until(() => find() !== undefined);
  return find()?.participant;
}

async function objectBytes(key: string): Promise<Buffer> {
  const object = await s3.client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  if (object.Body === undefined) throw new Error(`no body for ${key}`);
  return Buffer.from(await object.Body.transformToByteArray());
}

describe('recording a call', () => {
  it('stores an audio-only recording as OGG and reports its real size and nanosecond times', async () => {
    const room = 'egress-audio';
    await roomWithParty(room);
    const started = await h.egress.startRoomCompositeEgress(room, output('calls/{room_name}/{time}'), { audioOnly: true });
    expect(started.egressId).toMatch(/^EG_/);
    expect(started.status).toBe(EgressStatus.EGRESS_STARTING);
    expect(started.roomName).toBe(room);

    await active(started.egressId);
    const stopping = await h.egress.stopEgress(started.egressId);
    expect(stopping.status).toBe(EgressStatus.EGRESS_ENDING);

    const info = await ended(started.egressId);
    expect(info.status).toBe(EgressStatus.EGRESS_COMPLETE);
    expect(info.error).toBe('');
    const [file] = info.fileResults;
    if (file === undefined) throw new Error('no file result');
    expect(file.filename).toMatch(new RegExp(`^calls/${room}/\\d{4}-\\d{2}-\\d{2}T\\d{6}\\.ogg$`));
    expect(file.location).toBe(`${s3.server.endpoint}/${s3.bucket}/${file.filename}`);

    const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: file.filename }));
    expect(BigInt(head.ContentLength ?? -1)).toBe(file.size);
    expect(head.ContentType).toBe('audio/ogg');
    expect((await objectBytes(file.filename)).subarray(0, 4).toString('latin1')).toBe('OggS');

    // Nanoseconds since the epoch: 2020-01-01 is 1.577e18 ns.
    expect(file.startedAt).toBeGreaterThan(1_577_836_800_000_000_000n);
    expect(file.endedAt).toBeGreaterThan(file.startedAt);
    expect(file.duration).toBe(file.endedAt - file.startedAt);
    expect(info.endedAt).toBeGreaterThanOrEqual(file.endedAt);

    // The request comes back with the storage credentials redacted, as LiveKit stores it.
    expect(info.request.case).toBe('roomComposite');
    const s3Settings = info.request.case === 'roomComposite' ? info.request.value.fileOutputs[0]?.output : undefined;
    expect(s3Settings?.case === 's3' ? [s3Settings.value.accessKey, s3Settings.value.secret] : []).toEqual(['{access_key}', '{secret}']);

    const manifestKey = `calls/${room}/${started.egressId}.json`;
    expect(info.manifestLocation).toBe(`${s3.server.endpoint}/${s3.bucket}/${manifestKey}`);
    const manifest = JSON.parse((await objectBytes(manifestKey)).toString('utf8')) as { egress_id: string; files: { filename: string }[] };
    expect(manifest.egress_id).toBe(started.egressId);
    expect(manifest.files.map((entry) => entry.filename)).toEqual([file.filename]);

    const lifecycle = h.webhooks
      .events({ room })
      .filter((event) => event.egressInfo?.egressId === started.egressId)
      .map((event) => [event.event, event.egressInfo?.status]);
    expect(lifecycle).toEqual([
      ['egress_started', EgressStatus.EGRESS_STARTING],
      ['egress_updated', EgressStatus.EGRESS_ACTIVE],
      ['egress_updated', EgressStatus.EGRESS_ENDING],
      ['egress_ended', EgressStatus.EGRESS_COMPLETE],
    ]);
  });

  it('stores audio and video as MP4 and forces the extension to match', async () => {
    const room = 'egress-video';
    await roomWithParty(room);
    const started = await h.egress.startRoomCompositeEgress(room, output('sessions/face-sign.ogg'));
    await active(started.egressId);
    await h.egress.stopEgress(started.egressId);
    const info = await ended(started.egressId);
    const file = info.fileResults[0];
    expect(file?.filename).toBe('sessions/face-sign.mp4');
    const bytes = await objectBytes('sessions/face-sign.mp4');
    expect(bytes.subarray(4, 8).toString('latin1')).toBe('ftyp');
    expect(BigInt(bytes.byteLength)).toBe(file?.size);
  });

  it('follows an explicit fileType', async () => {
    const room = 'egress-mp3';
    await roomWithParty(room);
    const started = await h.egress.startRoomCompositeEgress(room, output('mp3/{room_id}', EncodedFileType.MP3), { audioOnly: true });
    await active(started.egressId);
    await h.egress.stopEgress(started.egressId);
    const file = (await ended(started.egressId)).fileResults[0];
    expect(file?.filename).toBe(`mp3/${started.roomId}.mp3`);
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: file?.filename }));
    expect(head.ContentType).toBe('audio/mpeg');
    expect(BigInt(head.ContentLength ?? -1)).toBe(file?.size);
  });

  it('ends the recording when the room is deleted', async () => {
    const room = 'egress-room-closes';
    await roomWithParty(room);
    const started = await h.egress.startRoomCompositeEgress(room, output(''), { audioOnly: true });
    await active(started.egressId);
    expect((await h.rooms.listRooms([room]))[0]?.activeRecording).toBe(true);
    await h.rooms.deleteRoom(room);
    const info = await ended(started.egressId);
    expect(info.status).toBe(EgressStatus.EGRESS_COMPLETE);
    expect(info.details).toBe('End reason: Source closed');
    expect(info.fileResults[0]?.filename).toMatch(new RegExp(`^${room}-\\d{4}-\\d{2}-\\d{2}T\\d{6}\\.ogg$`));
  });
});

describe('egress API', () => {
  it('lists egress by room, by id and active only', async () => {
    const room = 'egress-list';
    await roomWithParty(room);
    const first = await h.egress.startRoomCompositeEgress(room, output('list/first'), { audioOnly: true });
    const second = await h.egress.startRoomCompositeEgress(room, output('list/second'), { audioOnly: true });
    await active(first.egressId);
    await h.egress.stopEgress(first.egressId);
    await ended(first.egressId);

    expect((await h.egress.listEgress({ roomName: room })).map((e) => e.egressId).sort()).toEqual([first.egressId, second.egressId].sort());
    expect((await h.egress.listEgress({ egressId: first.egressId })).map((e) => e.status)).toEqual([EgressStatus.EGRESS_COMPLETE]);
    expect((await h.egress.listEgress({ roomName: room, active: true })).map((e) => e.egressId)).toEqual([second.egressId]);
    // An id is looked up on its own: LiveKit ignores `active` and `roomName` next to it.
    expect((await h.egress.listEgress({ egressId: first.egressId, active: true })).map((e) => e.egressId)).toEqual([first.egressId]);
    expect((await h.egress.listEgress({ egressId: first.egressId, roomName: 'another-room' })).map((e) => e.egressId)).toEqual([first.egressId]);

    const again = await caught(() => h.egress.stopEgress(first.egressId));
    expect(again).toMatchObject({ status: 412, code: 'failed_precondition', message: 'egress with status EGRESS_COMPLETE cannot be stopped' });
  });

  it('answers not_found for an egress id it does not know, and no egress for a room it does not know', async () => {
    const unknown = await caught(() => h.egress.listEgress({ egressId: 'EG_doesnotexist' }));
    expect(unknown).toMatchObject({ status: 404, code: 'not_found', message: 'egress does not exist' });
    expect(await h.egress.listEgress({ roomName: 'no-such-room-ever' })).toEqual([]);
  });

  it('forgets an egress 24 simulated hours after it ended', async () => {
    // 24 simulated hours pass in 0.864 real seconds.
    const fast = await startHarness({ timeScale: 0.00001 });
    try {
      const room = 'purge-room';
      await fast.rooms.createRoom({ name: room });
      await fast.sim.control.join(await joinToken(fast.sim, 'agent', { roomJoin: true, room }));
      const started = await fast.egress.startRoomCompositeEgress(room, output('purge/rec'), { audioOnly: true });
      await active(started.egressId, fast);
      await fast.egress.stopEgress(started.egressId);
      await ended(started.egressId, fast);
      expect((await fast.egress.listEgress({ egressId: started.egressId })).map((e) => e.status)).toEqual([EgressStatus.EGRESS_COMPLETE]);

      const forgotten = await eventually(() =>
        fast.egress.listEgress({ egressId: started.egressId }).then(
          () => undefined,
          (error: unknown) => error,
        ),
      );
      expect(forgotten).toMatchObject({ status: 404, code: 'not_found', message: 'egress does not exist' });
      expect(await fast.egress.listEgress({ roomName: room })).toEqual([]);
      expect(fast.sim.control.state().egress).toEqual([]);
      expect(await caught(() => fast.egress.stopEgress(started.egressId))).toMatchObject({ status: 404, code: 'not_found' });
    } finally {
      await fast.stop();
    }
  });

  it('refuses a missing room and an audio format with video', async () => {
    const missing = await caught(() => h.egress.startRoomCompositeEgress('no-such-room', output('x')));
    expect(missing).toMatchObject({ status: 404, code: 'not_found', message: 'requested room does not exist' });
    await roomWithParty('egress-invalid');
    const ogg = await caught(() => h.egress.startRoomCompositeEgress('egress-invalid', output('x', EncodedFileType.OGG)));
    expect(ogg).toMatchObject({ status: 400, code: 'invalid_argument', message: 'format audio/ogg incompatible with codec video/h264' });
  });

  it('aborts an egress stopped before it started', async () => {
    // A second simulator at real speed, so the egress is certainly still starting when it is stopped.
    const slow = await startHarness({ timeScale: 1 });
    try {
      await slow.rooms.createRoom({ name: 'abort-room' });
      const started = await slow.egress.startRoomCompositeEgress('abort-room', output('abort/x'), { audioOnly: true });
      const stopped = await slow.egress.stopEgress(started.egressId);
      expect(stopped.status).toBe(EgressStatus.EGRESS_ABORTED);
      expect(stopped.error).toBe('Stop called before pipeline could start');
      await slow.webhooks.untilEvent('abort-room', 'egress_ended');
    } finally {
      await slow.stop();
    }
  });
});

describe('the recorder in the room', () => {
  it('joins as a hidden EGRESS participant while it records, without counting as a participant', async () => {
    const room = 'egress-recorder';
    await roomWithParty(room);
    const started = await h.egress.startRoomCompositeEgress(room, output('recorder/rec'), { audioOnly: true });
    await active(started.egressId);

    const recorder = (await h.rooms.listParticipants(room)).find((p) => p.identity === started.egressId);
    expect(recorder).toMatchObject({
      kind: ParticipantInfo_Kind.EGRESS,
      permission: { hidden: true, recorder: true, canSubscribe: true, canPublish: false, canPublishData: false },
    });
    expect((await h.rooms.listRooms([room]))[0]).toMatchObject({ numParticipants: 1, activeRecording: true });

    await h.egress.stopEgress(started.egressId);
    const left = await leftRoom(room, started.egressId);
    expect(left).toMatchObject({ kind: ParticipantInfo_Kind.EGRESS, disconnectReason: DisconnectReason.CLIENT_INITIATED });
    await ended(started.egressId);
    expect((await h.rooms.listParticipants(room)).map((p) => p.identity)).toEqual(['agent']);
    expect((await h.rooms.listRooms([room]))[0]?.activeRecording).toBe(false);

    const joined = h.webhooks.events({ room, event: 'participant_joined' }).find((event) => event.participant?.identity === started.egressId);
    expect(joined?.participant?.kind).toBe(ParticipantInfo_Kind.EGRESS);
  });

  it('does not keep the room open: the room closes after the last party leaves, and the recording ends', async () => {
    const room = 'egress-recorder-departure';
    await h.rooms.createRoom({ name: room, departureTimeout: 2 });
    await h.sim.control.join(await joinToken(h.sim, 'agent', { roomJoin: true, room }));
    const started = await h.egress.startRoomCompositeEgress(room, output('recorder/departure'), { audioOnly: true });
    await active(started.egressId);

    h.sim.control.leave(room, 'agent');
    await h.webhooks.untilEvent(room, 'room_finished');
    expect(await leftRoom(room, started.egressId)).toMatchObject({ disconnectReason: DisconnectReason.ROOM_CLOSED });
    expect(await ended(started.egressId)).toMatchObject({ status: EgressStatus.EGRESS_COMPLETE, details: 'End reason: Source closed' });
  });

  it('ends the recording when the server removes the recorder', async () => {
    const room = 'egress-recorder-removed';
    await roomWithParty(room);
    const started = await h.egress.startRoomCompositeEgress(room, output('recorder/removed'), { audioOnly: true });
    await active(started.egressId);
    await h.rooms.removeParticipant(room, started.egressId);
    expect(await leftRoom(room, started.egressId)).toMatchObject({ disconnectReason: DisconnectReason.PARTICIPANT_REMOVED });
    expect(await ended(started.egressId)).toMatchObject({ status: EgressStatus.EGRESS_COMPLETE, details: 'End reason: Source closed' });
  });

  it('is not counted by a room that nobody joined: the room still closes on its empty timeout', async () => {
    const room = 'egress-recorder-only';
    await h.rooms.createRoom({ name: room, emptyTimeout: 20 });
    const started = await h.egress.startRoomCompositeEgress(room, output('recorder/alone'), { audioOnly: true });
    await active(started.egressId);
    await h.webhooks.untilEvent(room, 'room_finished');
    expect(await ended(started.egressId)).toMatchObject({ status: EgressStatus.EGRESS_COMPLETE, details: 'End reason: Source closed' });
  });
});

describe('the egress pipeline', () => {
  it('is the light audio pipeline only for audio-only without a layout; anything else renders in Chrome', async () => {
    const room = 'egress-pipelines';
    await roomWithParty(room);
    const audio = await h.egress.startRoomCompositeEgress(room, output('pipeline/audio'), { audioOnly: true });
    const speaker = await h.egress.startRoomCompositeEgress(room, output('pipeline/speaker'), { audioOnly: true, layout: 'speaker' });
    const video = await h.egress.startRoomCompositeEgress(room, output('pipeline/video'));

    const pipelines = new Map(h.sim.control.state().egress.map((entry) => [entry.info.egressId, entry.pipeline]));
    expect([audio, speaker, video].map((info) => pipelines.get(info.egressId))).toEqual(['audio', 'web', 'web']);

    const state = (await (await fetch(`${h.sim.url}/_sim/state`)).json()) as { egress: { info: { egressId: string }; pipeline: string }[] };
    expect(state.egress.find((entry) => entry.info.egressId === audio.egressId)?.pipeline).toBe('audio');
    expect(state.egress.find((entry) => entry.info.egressId === speaker.egressId)?.pipeline).toBe('web');

    for (const info of [audio, speaker, video]) {
      await active(info.egressId);
      await h.egress.stopEgress(info.egressId);
    }
  });
});
