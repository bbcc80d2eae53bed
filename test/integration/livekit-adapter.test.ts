// The LiveKit adapter through the real SDK against the simulator: rooms, tokens and grants, SIP
// dial outcomes, egress to S3.
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { SipClient, TokenVerifier } from 'livekit-server-sdk';
import { startLiveKitSimulator } from '../../dev/livekit-sim/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../recordings/object-store.js';
import { agentIdentity, partyIdentity, roomNameFor, sipPartyIdentity } from '../../server/livekit/identities.js';
import { LiveKitPlatform, type VideoPlatform } from '../../server/livekit/video-platform.js';
import type { ApiClient } from '../support/api-client.js';
import { createAttempt, eventually } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { attemptOf, entityAuditEventsOf } from '../support/reads.js';
import { losClient } from '../support/verification.js';

let t: TestApp;
let platform: VideoPlatform;
let los: ApiClient;
let auditor: ApiClient;
beforeAll(async () => {
  t = await startTestApp({}, { livekit: true });
  platform = t.facesign.livekit!.platform;
  los = await losClient(t);
  auditor = await t.signIn({ roles: ['AUDITOR'] });
});
afterAll(async () => t?.stop());

describe('rooms and tokens', () => {
  it('creates a room per attempt carrying the session id, not personal data', async () => {
    const { session, attempt, room } = await createAttempt(t.facesign.db, { kind: 'VIDEO' });
    await platform.createRoom({ name: room, maxParticipants: 3, metadata: { sessionId: session.id, attemptId: attempt.id } });
    const created = t.sim!.control.state().rooms.find((r) => r.room.name === room)!.room;
    expect(created.maxParticipants).toBe(3);
    expect(created.emptyTimeout).toBe(300);
    expect(JSON.parse(created.metadata)).toEqual({ sessionId: session.id, attemptId: attempt.id });
    expect(await platform.listParticipants(room)).toEqual([]);
    await platform.deleteRoom(room);
    await platform.deleteRoom(room); // already gone: fine
    expect(await platform.listParticipants(room)).toBeUndefined();
  });

  it('lists agents and parties by role and removes a participant', async () => {
    const { session, attempt, room } = await createAttempt(t.facesign.db, { kind: 'VIDEO' });
    await platform.createRoom({ name: room, maxParticipants: 3, metadata: { sessionId: session.id, attemptId: attempt.id } });
    await t.sim!.control.join(await platform.agentToken({ room, identity: agentIdentity('u9'), displayName: 'A', ttlSeconds: 60 }));
    await t.sim!.control.join(await platform.partyToken({ room, identity: partyIdentity(attempt.id), ttlSeconds: 60 }));
    const listed = (await platform.listParticipants(room))!;
    expect(listed.map((p) => [p.identity, p.role, p.isSip]).sort()).toEqual([
      ['agent-u9', 'AGENT', false],
      [partyIdentity(attempt.id), 'PARTY', false],
    ]);
    await platform.removeParticipant(room, partyIdentity(attempt.id));
    await platform.removeParticipant(room, partyIdentity(attempt.id)); // already gone: fine
    expect((await platform.listParticipants(room))!.map((p) => p.identity)).toEqual(['agent-u9']);
    // storage: the participants projection; the API shows only whether the party is connected
    const agentRow = await eventually(() => t.facesign.db.attemptParticipant.findUnique({ where: { attemptId_identity: { attemptId: attempt.id, identity: 'agent-u9' } } }));
    expect(agentRow.kind).toBe('AGENT');
  });

  it('gives agents a short-lived token for one room with publish and subscribe', async () => {
    const room = roomNameFor('00000000-0000-4000-8000-00000000000a');
    const jwt = await platform.agentToken({ room, identity: agentIdentity('u1'), displayName: 'Agent 7', ttlSeconds: 600 });
    const claims = await new TokenVerifier(t.sim!.apiKey, t.sim!.apiSecret).verify(jwt);
    expect(claims.video).toMatchObject({ roomJoin: true, room, canPublish: true, canSubscribe: true });
    expect(claims.video?.roomAdmin).toBeFalsy();
    expect(claims.video?.roomRecord).toBeFalsy();
    expect(claims.exp! - claims.nbf!).toBeLessThanOrEqual(600);
    const joined = await t.sim!.control.join(jwt);
    expect(joined.identity).toBe('agent-u1');
    // The same token does not open another room.
    await expect(t.sim!.control.join(jwt, { room: 'fs-other' })).resolves.toMatchObject({ identity: 'agent-u1' });
    expect(t.sim!.control.state().rooms.some((r) => r.room.name === 'fs-other')).toBe(false);
  });

  it('gives parties camera and microphone only, under an identity without personal data', async () => {
    const attemptId = '00000000-0000-4000-8000-00000000000b';
    const jwt = await platform.partyToken({ room: roomNameFor(attemptId), identity: partyIdentity(attemptId), ttlSeconds: 900 });
    const claims = await new TokenVerifier(t.sim!.apiKey, t.sim!.apiSecret).verify(jwt);
    expect(claims.sub).toBe(`party-${attemptId}`);
    expect(claims.name).toBeUndefined();
    expect(claims.video).toMatchObject({ roomJoin: true, room: roomNameFor(attemptId), canSubscribe: true, canPublishData: false });
    expect(claims.video?.canPublishSources).toEqual(['camera', 'microphone']);
  });

  it('fails as the real server fails when the credentials are wrong', async () => {
    const wrong = new LiveKitPlatform(
      { ...t.facesign.config.livekit!, apiSecret: 'not-the-secret' },
      { bucket: 'b', region: 'us-east-1', forcePathStyle: true },
    );
    await expect(wrong.ping()).rejects.toMatchObject({ status: 401 });
    await expect(wrong.createRoom({ name: 'fs-x', maxParticipants: 2, metadata: { sessionId: 's', attemptId: 'a' } })).rejects.toMatchObject({ status: 401 });
  });
});

describe('SIP dialling', () => {
  // Simulator test numbers: the last two digits of 55501XX pick the behaviour.
  const table = [
    ['+8613805550100', 'ANSWERED'],
    ['+8613805550120', 'BUSY'],
    ['+8613805550121', 'DECLINED'],
    ['+8613805550122', 'NO_ANSWER'],
    ['+8613805550124', 'NO_ANSWER'],
    ['+8613805550130', 'INVALID_NUMBER'],
    ['+8613805550131', 'INVALID_NUMBER'],
    ['+8613805550140', 'CARRIER_FAILURE'],
    ['+8613805550141', 'CARRIER_FAILURE'],
    ['+8613805550142', 'CARRIER_FAILURE'],
    ['+8613805550150', 'TRUNK_UNAVAILABLE'],
    ['+8613805550151', 'RATE_LIMITED'],
    ['+8613805550152', 'TRUNK_UNAVAILABLE'],
  ] as const;

  it.each(table)('%s -> %s', async (phone, expected) => {
    const { attempt, session, room } = await createAttempt(t.facesign.db, { kind: 'CALL', phoneE164: phone });
    await platform.createRoom({ name: room, maxParticipants: 3, metadata: { sessionId: session.id, attemptId: attempt.id } });
    const result = await platform.dial({ room, phoneE164: phone, identity: sipPartyIdentity(attempt.id) });
    expect(result.outcome).toBe(expected);
    if (result.outcome === 'ANSWERED') {
      expect(result.sipCallId).toMatch(/^SCL_/);
      const [party] = (await platform.listParticipants(room))!;
      expect(party).toMatchObject({ identity: sipPartyIdentity(attempt.id), role: 'PARTY', isSip: true, sipCallStatus: 'active' });
    }
  });

  it('reports a missing trunk as TRUNK_UNAVAILABLE without calling anyone', async () => {
    const noTrunk = new LiveKitPlatform({ ...t.facesign.config.livekit!, sipTrunkId: undefined }, { bucket: 'b', region: 'us-east-1', forcePathStyle: true });
    const result = await noTrunk.dial({ room: 'fs-none', phoneE164: '+8613805550100', identity: 'sip-x' });
    expect(result.outcome).toBe('TRUNK_UNAVAILABLE');
    expect(t.sim!.control.state().calls.some((c) => c.room === 'fs-none')).toBe(false);
  });
});

describe("dialling within LiveKit's own limits", () => {
  it('waits out a slow room join instead of giving up at the ringing timeout + 2 s as the SDK would', { timeout: 30_000 }, async () => {
    // Real time: the SDK's own timeout is in real seconds. livekit-sip joins the room (here 4 s) before
    // its ringing timer (6 s) starts; the phone answers 5 s into ringing, 9 s after the request.
    const slow = await startLiveKitSimulator({ timeScale: 1 });
    try {
      const sip = new SipClient(slow.url, slow.apiKey, slow.apiSecret);
      const trunk = await sip.createSipOutboundTrunk('slow join', 'sip.carrier.test', ['+10000000000']);
      slow.control.setSipJoinDelay(4);
      const lk = t.facesign.config.livekit!;
      const dialler = new LiveKitPlatform(
        { ...lk, url: slow.url, apiKey: slow.apiKey, apiSecret: slow.apiSecret, sipTrunkId: trunk.sipTrunkId, ringingTimeoutSeconds: 6, callStatusPollMs: 500 },
        { bucket: 'b', region: 'us-east-1', forcePathStyle: true },
      );
      await dialler.createRoom({ name: 'fs-slow-join', maxParticipants: 3, metadata: { sessionId: 's', attemptId: 'a' } });
      const result = await dialler.dial({ room: 'fs-slow-join', phoneE164: '+8613805550105', identity: 'sip-slow' });
      expect(result.outcome).toBe('ANSWERED');
    } finally {
      await slow.stop();
    }
  });

  it('hangs up a call LiveKit stopped waiting for (deadline_exceeded after 80 s) and reads it as unanswered when it rang', async () => {
    // A 40 s room join plus 60 s of ringing passes livekit-server's 80 s wait while the phone rings.
    const { attempt, session, room } = await createAttempt(t.facesign.db, { kind: 'CALL', phoneE164: '+8613805550190' });
    await platform.createRoom({ name: room, maxParticipants: 3, metadata: { sessionId: session.id, attemptId: attempt.id } });
    const long = new LiveKitPlatform({ ...t.facesign.config.livekit!, ringingTimeoutSeconds: 60 }, { bucket: 'b', region: 'us-east-1', forcePathStyle: true });
    t.sim!.control.setSipJoinDelay(40);
    try {
      const statuses: string[] = [];
      const result = await long.dial({ room, phoneE164: '+8613805550190', identity: sipPartyIdentity(attempt.id), onCallStatus: (s) => statuses.push(s) });
      expect(result).toMatchObject({ outcome: 'NO_ANSWER', twirpCode: 'deadline_exceeded' });
      expect(statuses).toContain('ringing');
    } finally {
      t.sim!.control.setSipJoinDelay(0);
    }
    const call = t.sim!.control.state().calls.find((c) => c.room === room)!;
    expect(call.status).toBe('failed');
    expect(await platform.listParticipants(room)).toEqual([]);
  });

  it('caps the ringing timeout it asks for below what livekit-server waits', async () => {
    const { attempt, session, room } = await createAttempt(t.facesign.db, { kind: 'CALL', phoneE164: '+8613805550122' });
    await platform.createRoom({ name: room, maxParticipants: 3, metadata: { sessionId: session.id, attemptId: attempt.id } });
    // A settings object built around the config's validation still never asks LiveKit for more than 60 s.
    const eager = new LiveKitPlatform({ ...t.facesign.config.livekit!, ringingTimeoutSeconds: 120 }, { bucket: 'b', region: 'us-east-1', forcePathStyle: true });
    const result = await eager.dial({ room, phoneE164: '+8613805550122', identity: sipPartyIdentity(attempt.id) });
    // Rang until the 60 s ringing timeout (canceled), not until the server's 80 s limit (deadline_exceeded).
    expect(result).toMatchObject({ outcome: 'NO_ANSWER', twirpCode: 'canceled' });
  });
});

describe('recording', () => {
  it('records a video attempt to a real S3 object whose size equals what egress reported', async () => {
    const { attempt, session, loanFile, room } = await createAttempt(t.facesign.db, { kind: 'VIDEO' });
    await platform.createRoom({ name: room, maxParticipants: 3, metadata: { sessionId: session.id, attemptId: attempt.id } });
    await t.sim!.control.join(await platform.partyToken({ room, identity: partyIdentity(attempt.id), ttlSeconds: 60 }));
    const recordings = t.facesign.livekit!.recordings;
    const started = await recordings.startForAttempt(attempt.id);
    expect(started.egressId).toMatch(/^EG_/);
    expect(started.audioOnly).toBe(false);
    expect(started.objectKey).toBe(`recordings/${loanFile.id}/${session.id}/${attempt.id}.mp4`);
    expect((await recordings.startForAttempt(attempt.id)).egressId).toBe(started.egressId); // idempotent

    // Egress records in Chrome for video; the recorder joins the room as a participant of kind EGRESS,
    // which is LiveKit's machinery, not a person: neither listed by facesign nor kept as a participant.
    expect(t.sim!.control.state().egress.find((e) => e.info.egressId === started.egressId)?.pipeline).toBe('web');
    await eventually(async () => t.sim!.control.state().rooms.find((r) => r.room.name === room)?.participants.some((p) => p.identity === started.egressId));
    expect((await platform.listParticipants(room))!.map((p) => p.identity)).toEqual([partyIdentity(attempt.id)]);

    await recordings.stopForAttempt(attempt.id);
    await t.sim!.control.settled();
    // storage: the webhooks of the room are all applied (the inbox), and the participants projection kept no recorder
    await eventually(async () => (await t.facesign.db.liveKitEvent.count({ where: { roomName: room, processedAt: null } })) === 0);
    expect(t.sim!.control.webhookDeliveries().some((d) => d.event === 'participant_joined' && d.room === room && d.status === 'delivered')).toBe(true);
    const people = await t.facesign.db.attemptParticipant.findMany({ where: { attemptId: attempt.id } });
    expect(people.map((p) => p.identity)).toEqual([partyIdentity(attempt.id)]);
    const uploaded = await eventually(async () => {
      const r = (await attemptOf(los, loanFile.id, session.id, attempt.id)).recording;
      return r && ['UPLOADED', 'VERIFIED', 'RETAINED'].includes(r.state) ? r : undefined;
    });
    const head = await createS3Client(t.facesign.config.s3).send(new HeadObjectCommand({ Bucket: t.facesign.config.s3.bucket, Key: uploaded.objectKey }));
    expect(String(head.ContentLength)).toBe(uploaded.reportedSize);
    expect(uploaded.reportedDurationMs).toBeGreaterThan(0);
    // storage: the location egress reported, which no API shows
    expect((await t.facesign.db.recording.findUniqueOrThrow({ where: { id: started.id } })).location).toContain(uploaded.objectKey);
    const transitions = await entityAuditEventsOf(auditor, session.id, started.id);
    expect(transitions.map((e) => (e.data as { to: string }).to)).toEqual(expect.arrayContaining(['ENDING', 'UPLOADED']));
  });

  it('records calls audio-only as OGG', async () => {
    const { attempt, session, room } = await createAttempt(t.facesign.db, { kind: 'CALL' });
    await platform.createRoom({ name: room, maxParticipants: 3, metadata: { sessionId: session.id, attemptId: attempt.id } });
    const rec = await t.facesign.livekit!.recordings.startForAttempt(attempt.id);
    expect(rec.audioOnly).toBe(true);
    expect(rec.objectKey.endsWith('.ogg')).toBe(true);
    // Audio only with no layout: real egress then takes its light pipeline instead of rendering the room in Chrome.
    expect(t.sim!.control.state().egress.find((e) => e.info.egressId === rec.egressId)?.pipeline).toBe('audio');
    const listed = await platform.listRecordings({ room });
    expect(listed.map((e) => e.egressId)).toEqual([rec.egressId]);
  });
});
