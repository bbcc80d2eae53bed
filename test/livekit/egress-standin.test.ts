// Recording a call on the real stack. LiveKit's egress cannot be built here; the stack runs
// dev/real-livekit/egress-standin instead, which serves livekit-server's internal egress RPC for
// audio-only room composites, so start, stop, status and webhooks are livekit-server's own: the
// recording is driven by the real egress_started / egress_updated / egress_ended webhooks, and the
// file in the bucket is what the stand-in mixed from the room (an Ogg Opus file).
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { RoomServiceClient } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../recordings/object-store.js';
import { roomNameFor } from '../../server/livekit/identities.js';
import { createAttempt, eventually } from '../support/fixtures.js';
import type { ApiClient } from '../support/api-client.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { entityAuditEventsOf, reviewedRecordingOf, sessionOf, verifiedSessionOf } from '../support/reads.js';
import { ALWAYS_OPEN, loanFileWithBorrower, losClient, scheduleCall, stateOf } from '../support/verification.js';

let app: TestApp;
let los: ApiClient;
let auditor: ApiClient;

beforeAll(async () => {
  app = await startTestApp({ ...ALWAYS_OPEN, AUTOMATED_CALL_ANSWER_TIMEOUT_SECONDS: '4', AUTOMATED_CALL_TTS_WORDS_PER_MINUTE: '260' }, { livekit: 'real' });
  los = await losClient(app);
  auditor = await app.signIn({ roles: ['AUDITOR'] });
});
afterAll(async () => {
  await app?.stop();
});

interface OggOpus {
  preSkip: number;
  /** Granule position of the last page: samples at 48 kHz, pre-skip included. */
  lastGranule: bigint;
  /** Sizes of the audio packets (after OpusHead and OpusTags), from the pages' lacing values. */
  packetSizes: number[];
  endOfStream: boolean;
}

/** Walks the Ogg pages (RFC 3533) of a single-stream Ogg Opus file (RFC 7845). */
function parseOggOpus(file: Buffer): OggOpus {
  const packets: Buffer[] = [];
  let lastGranule = 0n;
  let endOfStream = false;
  let partial: Buffer[] = [];
  for (let at = 0; at < file.length; ) {
    if (file.toString('latin1', at, at + 4) !== 'OggS') throw new Error(`no Ogg page at byte ${at}`);
    const flags = file[at + 5]!;
    lastGranule = file.readBigInt64LE(at + 6);
    endOfStream = (flags & 0x04) !== 0;
    const count = file[at + 26]!;
    const lacing = file.subarray(at + 27, at + 27 + count);
    let body = at + 27 + count;
    for (const size of lacing) {
      partial.push(file.subarray(body, body + size));
      body += size;
      if (size < 255) {
        packets.push(Buffer.concat(partial));
        partial = [];
      }
    }
    at = body;
  }
  const [head, tags, ...audio] = packets;
  if (!head || head.toString('latin1', 0, 8) !== 'OpusHead') throw new Error('the first packet is not OpusHead');
  if (!tags || tags.toString('latin1', 0, 8) !== 'OpusTags') throw new Error('the second packet is not OpusTags');
  return { preSkip: head.readUInt16LE(10), lastGranule, packetSizes: audio.map((p) => p.length), endOfStream };
}

describe('a call recorded through the egress stand-in on the real livekit-server', () => {
  it('goes REQUESTED -> ACTIVE -> UPLOADED -> VERIFIED on LiveKit\'s own egress webhooks, and the bucket holds the call as Ogg Opus', async () => {
    // An automated call: the bot speaks only once LiveKit reports the recording active. +86 138 0555 0101
    // answers after 1 s and presses nothing, so after the first question the bot hands the call to a
    // person, which stops the recording.
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550101', product: 'egress-standin', locale: 'en' });
    const sessionId = await scheduleCall(los, loanFileId, partyId, { templateKey: 'call-automated' });
    await stateOf(app, sessionId, 'IN_PROGRESS');
    const attemptNow = async () => (await verifiedSessionOf(los, loanFileId, sessionId)).attempts.reduce((a, b) => (b.number > a.number ? b : a));
    const attempt = { ...(await attemptNow()), roomName: roomNameFor((await attemptNow()).id) };

    const handedOff = await eventually(async () => {
      const s = await sessionOf(los, sessionId);
      return s.handOffReason ? s : undefined;
    }, 200);
    // NO_INPUT: the first question was asked (NOT_RECORDED would mean the recording never became active).
    expect(handedOff.handOffReason).toBe('NO_INPUT');

    const recordingId = (await eventually(async () => (await attemptNow()).recording, 200)).id;
    const recording = await eventually(async () => {
      const r = await reviewedRecordingOf(auditor, sessionId, recordingId);
      return r.state === 'VERIFIED' || r.state === 'RETAINED' || r.state === 'FAILED' ? r : undefined;
    }, 200);
    // Retention may already have moved it on (RETAINED): it was verified first.
    expect({ verified: ['VERIFIED', 'RETAINED'].includes(recording.state), failureReason: recording.failureReason }).toEqual({ verified: true, failureReason: null });
    const { objectKey } = (await attemptNow()).recording!;
    // storage: the egress and when LiveKit said it started and ended, which no API shows
    const egress = await app.facesign.db.recording.findUniqueOrThrow({ where: { id: recordingId }, select: { egressId: true, egressStartedAt: true, egressEndedAt: true } });
    expect(egress.egressId).toMatch(/^EG_/);

    // The path, from the audit log: active and uploaded as LiveKit's webhooks said, verified by facesign.
    const changes = (await entityAuditEventsOf(auditor, sessionId, recordingId)).filter((e) => e.action === 'recording.state_changed');
    const path = changes.map((e) => e.data as { from: string; to: string; source: string });
    const untilVerified = path.slice(0, path.findIndex((p) => p.to === 'VERIFIED') + 1);
    expect(untilVerified.filter((p) => p.to !== 'ENDING').map((p) => `${p.from}->${p.to} (${p.source})`)).toEqual([
      'REQUESTED->ACTIVE (webhook)',
      expect.stringMatching(/^(ACTIVE|ENDING)->UPLOADED \(webhook\)$/),
      'UPLOADED->VERIFIED (facesign)',
    ]);
    const events = app.real!.webhooks.eventsOf(attempt.roomName).filter((e) => e.startsWith('egress_'));
    expect(events[0]).toBe('egress_started');
    expect(events).toContain('egress_updated');
    expect(events.at(-1)).toBe('egress_ended');

    // The stored object: Ogg Opus, as long as the egress ran, and not silence.
    const s3 = createS3Client(app.facesign.config.s3);
    const object = await s3.send(new GetObjectCommand({ Bucket: app.facesign.config.s3.bucket, Key: objectKey }));
    const file = Buffer.from(await object.Body!.transformToByteArray());
    expect(file.subarray(0, 4).toString('latin1')).toBe('OggS');
    expect(String(file.length)).toBe(recording.sizeBytes);
    expect(object.ContentType).toBe('audio/ogg');
    const ogg = parseOggOpus(file);
    expect(ogg.endOfStream).toBe(true);
    const durationMs = (Number(ogg.lastGranule) - ogg.preSkip) / 48;
    expect(Math.abs(durationMs - Number(recording.durationMs))).toBeLessThan(100);
    const egressMs = egress.egressEndedAt!.getTime() - egress.egressStartedAt!.getTime();
    expect(Math.abs(durationMs - egressMs)).toBeLessThan(1_000);
    // The question, the 4 s wait for a key and the goodbye.
    expect(durationMs).toBeGreaterThan(5_000);
    // 20 ms packets throughout. At the stand-in's 32 kb/s, digital silence encodes to 35 bytes a packet, the
    // quiet line to about 55 and speech to 80 or more: seconds of those are the bot's question and goodbye.
    expect(ogg.packetSizes.length).toBe(Math.round(durationMs / 20));
    expect(ogg.packetSizes.filter((size) => size > 65).length).toBeGreaterThan(100);

    await app.facesign.verification.scheduling.cancel(sessionId, 'test over', { actor: { type: 'SYSTEM' }, requestId: 'test', scope: 'test' });
  });

  it('declines a video recording as before: LiveKit finds no egress to take it, and nothing is recorded', async () => {
    const { attempt } = await createAttempt(app.facesign.db, { kind: 'VIDEO' });
    await new RoomServiceClient(app.real!.url, app.real!.apiKey, app.real!.apiSecret).createRoom({ name: attempt.roomName, emptyTimeout: 30 });
    await expect(app.facesign.livekit!.platform.startRecording({ room: attempt.roomName, audioOnly: false, objectKey: `recordings/video/${attempt.id}.mp4` })).rejects.toThrow();
    expect(app.real!.webhooks.eventsOf(attempt.roomName).filter((e) => e.startsWith('egress_'))).toEqual([]);
    expect(await app.real!.logs(50)).toMatch(/declining egress EG_\w+: only audio_only room composites are recorded/);
  });
});
