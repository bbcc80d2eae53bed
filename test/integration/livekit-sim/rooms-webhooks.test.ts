// Rooms, video parties and the webhooks they cause, received and verified by the SDK's WebhookReceiver.
import { DisconnectReason, ParticipantInfo_Kind } from '@livekit/protocol';
import { TrackSource, TrackType } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimulatorHarness } from './harness.js';
import { caught, joinToken, startHarness } from './harness.js';

let h: SimulatorHarness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.stop();
});

const videoGrant = (room: string) => ({ roomJoin: true, room });

describe('a video session', () => {
  it('sends room_started, participant_joined, track_published, participant_left, room_finished in order', async () => {
    const room = 'video-session';
    await h.rooms.createRoom({ name: room, departureTimeout: 5 });
    const agent = await h.sim.control.join(await joinToken(h.sim, 'agent-7', videoGrant(room), { name: 'Agent Seven' }));
    await h.sim.control.publishTrack(room, 'agent-7', { kind: 'video' });
    await h.sim.control.join(
      await joinToken(h.sim, 'borrower-1', videoGrant(room), { metadata: '{"loanFile":"LF-1"}', attributes: { role: 'borrower' } }),
    );
    await h.sim.control.publishTrack(room, 'borrower-1', { kind: 'audio' });
    h.sim.control.leave(room, 'borrower-1');
    h.sim.control.leave(room, 'agent-7');
    await h.webhooks.untilEvent(room, 'room_finished');

    expect(h.webhooks.names(room)).toEqual([
      'room_started',
      'participant_joined',
      'track_published',
      'participant_joined',
      'track_published',
      'participant_left',
      'participant_left',
      'room_finished',
    ]);
    expect(h.webhooks.rejected).toEqual([]);

    const events = h.webhooks.events({ room });
    const ids = events.map((event) => event.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const event of events) {
      expect(event.id).toMatch(/^EV_/);
      expect(event.createdAt).toBeGreaterThan(0n);
    }

    const [, agentJoined, agentTrack, borrowerJoined] = events;
    expect(agentJoined?.participant).toMatchObject({ identity: 'agent-7', name: 'Agent Seven', sid: agent.sid, kind: ParticipantInfo_Kind.STANDARD });
    expect(borrowerJoined?.participant?.metadata).toBe('{"loanFile":"LF-1"}');
    expect(borrowerJoined?.participant?.attributes).toEqual({ role: 'borrower' });
    expect(agentTrack?.track).toMatchObject({ type: TrackType.VIDEO, source: TrackSource.CAMERA });
    expect(agentTrack?.track?.sid).toMatch(/^TR_/);
    expect(agentTrack?.participant?.sid).toBe(agent.sid);

    const left = h.webhooks.events({ room, event: 'participant_left' });
    expect(left.map((event) => event.participant?.disconnectReason)).toEqual([
      DisconnectReason.CLIENT_INITIATED,
      DisconnectReason.CLIENT_INITIATED,
    ]);
    expect(h.webhooks.events({ room, event: 'room_finished' })[0]?.room?.numParticipants).toBe(0);
  });

  it('posts protojson as application/webhook+json', async () => {
    const room = 'wire-webhooks';
    await h.rooms.createRoom({ name: room });
    await h.webhooks.untilEvent(room, 'room_started');
    const delivery = h.webhooks.received.find((entry) => entry.event.room?.name === room);
    expect(delivery?.contentType).toBe('application/webhook+json');
    const body = JSON.parse(delivery?.rawBody ?? '{}') as Record<string, unknown>;
    expect(body.event).toBe('room_started');
    expect(typeof body.createdAt).toBe('string');
    expect(body).not.toHaveProperty('created_at');
    expect(body).not.toHaveProperty('numDropped');
  });

  it('shows participants and their tracks to ListParticipants and GetParticipant', async () => {
    const room = 'listing-room';
    await h.sim.control.join(await joinToken(h.sim, 'p1', videoGrant(room)));
    const track = h.sim.control.publishTrack(room, 'p1', { kind: 'audio', name: 'mic' });
    const listed = await h.rooms.listParticipants(room);
    expect(listed.map((p) => p.identity)).toEqual(['p1']);
    const p1 = await h.rooms.getParticipant(room, 'p1');
    expect(p1.tracks.map((t) => t.sid)).toEqual([track.sid]);
    expect(p1.isPublisher).toBe(true);
    expect((await h.rooms.listRooms([room]))[0]).toMatchObject({ numParticipants: 1, numPublishers: 1 });
  });

  it('creates a room on first join when it does not exist', async () => {
    const room = 'auto-created';
    await h.sim.control.join(await joinToken(h.sim, 'first', videoGrant(room)));
    await h.webhooks.untilEvent(room, 'participant_joined');
    expect(h.webhooks.names(room).slice(0, 2)).toEqual(['room_started', 'participant_joined']);
  });

  it('closes a room nobody joined after its empty timeout', async () => {
    const room = 'empty-room';
    await h.rooms.createRoom({ name: room, emptyTimeout: 2 });
    await h.webhooks.untilEvent(room, 'room_finished');
    expect(h.webhooks.names(room)).toEqual(['room_started', 'room_finished']);
    expect(await h.rooms.listRooms([room])).toEqual([]);
  });
});

describe('server-side removal', () => {
  it('reports RemoveParticipant and DeleteRoom as LiveKit does', async () => {
    const room = 'removal-room';
    await h.sim.control.join(await joinToken(h.sim, 'stays', videoGrant(room)));
    await h.sim.control.join(await joinToken(h.sim, 'kicked', videoGrant(room)));
    await h.rooms.removeParticipant(room, 'kicked');
    expect((await h.rooms.listParticipants(room)).map((p) => p.identity)).toEqual(['stays']);

    await h.rooms.deleteRoom(room);
    await h.webhooks.untilEvent(room, 'room_finished');
    const left = h.webhooks.events({ room, event: 'participant_left' });
    expect(left.map((event) => [event.participant?.identity, event.participant?.disconnectReason])).toEqual([
      ['kicked', DisconnectReason.PARTICIPANT_REMOVED],
      ['stays', DisconnectReason.ROOM_DELETED],
    ]);
    expect(h.webhooks.names(room).at(-1)).toBe('room_finished');
  });

  it('replaces a participant that joins twice with the same identity', async () => {
    const room = 'duplicate-room';
    const first = await h.sim.control.join(await joinToken(h.sim, 'same', videoGrant(room)));
    const second = await h.sim.control.join(await joinToken(h.sim, 'same', videoGrant(room)));
    expect(second.sid).not.toBe(first.sid);
    await h.webhooks.untilEvent(room, 'participant_joined', 2);
    const left = h.webhooks.events({ room, event: 'participant_left' });
    expect(left.map((event) => [event.participant?.sid, event.participant?.disconnectReason])).toEqual([
      [first.sid, DisconnectReason.DUPLICATE_IDENTITY],
    ]);
  });
});

describe('video parties through the control API', () => {
  it('accepts only a valid join token for the room', async () => {
    const noJoin = await joinToken(h.sim, 'x', { roomAdmin: true, room: 'r' });
    expect(await caught(() => h.sim.control.join(noJoin))).toMatchObject({ code: 'unauthenticated' });
    const forged = await joinToken({ apiKey: h.sim.apiKey, apiSecret: 'wrong-secret' }, 'x', videoGrant('r'));
    const forgedError = await caught(() => h.sim.control.join(forged));
    expect(forgedError).toMatchObject({ code: 'unauthenticated' });
    expect((forgedError as Error).message).toMatch(/^invalid authorization token/);
  });

  it('honours canPublish from the token', async () => {
    const room = 'viewer-room';
    await h.sim.control.join(await joinToken(h.sim, 'viewer', { ...videoGrant(room), canPublish: false }));
    const refused = await caught(async () => h.sim.control.publishTrack(room, 'viewer', { kind: 'video' }));
    expect(refused).toMatchObject({ code: 'permission_denied' });
  });

  it('reconnects after a drop with a new sid and republished tracks', async () => {
    const room = 'flaky-room';
    await h.sim.control.join(await joinToken(h.sim, 'anchor', videoGrant(room)));
    const before = await h.sim.control.join(await joinToken(h.sim, 'borrower', videoGrant(room)));
    h.sim.control.publishTrack(room, 'borrower', { kind: 'video' });
    const after = await h.sim.control.reconnect(room, 'borrower', { offlineSeconds: 3 });
    expect(after.sid).not.toBe(before.sid);
    expect(after.tracks.map((t) => t.type)).toEqual([TrackType.VIDEO]);
    await h.webhooks.untilEvent(room, 'track_published', 2);
    expect(h.webhooks.names(room).slice(-4)).toEqual(['track_published', 'participant_left', 'participant_joined', 'track_published']);
    const left = h.webhooks.events({ room, event: 'participant_left' })[0];
    expect(left?.participant).toMatchObject({ sid: before.sid, disconnectReason: DisconnectReason.CONNECTION_TIMEOUT });
  });

  it('reports a join whose connection never comes up as participant_connection_aborted', async () => {
    const room = 'aborted-room';
    await h.sim.control.joinAborted(await joinToken(h.sim, 'ghost', videoGrant(room)));
    await h.webhooks.untilEvent(room, 'participant_connection_aborted');
    expect(h.webhooks.names(room)).toEqual(['room_started', 'participant_connection_aborted']);
    expect(await h.rooms.listParticipants(room)).toEqual([]);
  });

  it('is driven the same way over HTTP under /_sim/', async () => {
    const room = 'http-room';
    const post = (path: string, body: unknown) =>
      fetch(`${h.sim.url}/_sim/${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

    const joined = await post('participants/join', { token: await joinToken(h.sim, 'browser', videoGrant(room)) });
    expect(joined.status).toBe(200);
    expect(((await joined.json()) as { identity: string; sid: string }).identity).toBe('browser');

    const published = await post('tracks/publish', { room, identity: 'browser', kind: 'video', source: 'camera' });
    expect(((await published.json()) as { type: string; source: string })).toMatchObject({ type: 'VIDEO', source: 'CAMERA' });

    const state = (await (await fetch(`${h.sim.url}/_sim/state`)).json()) as {
      rooms: { room: { name: string }; participants: { identity: string }[] }[];
    };
    expect(state.rooms.find((entry) => entry.room.name === room)?.participants.map((p) => p.identity)).toEqual(['browser']);

    const missing = await post('participants/leave', { room, identity: 'nobody' });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ code: 'not_found', msg: 'participant does not exist' });

    const invalid = await post('tracks/publish', { room, identity: 'browser', kind: 'hologram' });
    expect(invalid.status).toBe(400);
    expect(((await invalid.json()) as { code: string }).code).toBe('invalid_argument');

    expect((await post('participants/leave', { room, identity: 'browser' })).status).toBe(204);
    await h.webhooks.untilEvent(room, 'participant_left');
    expect(await h.rooms.listParticipants(room)).toEqual([]);
  });
});
