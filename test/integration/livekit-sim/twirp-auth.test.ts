// The Twirp surface: every simulated call through the real SDK with the grant the real server requires,
// refused without it, and the HTTP-level behaviour (auth errors, strict decoding, routing) checked raw.
import { createHmac } from 'node:crypto';
import { CreateRoomRequest, Room } from '@livekit/protocol';
import { AccessToken, EgressClient, EncodedFileOutput, RoomServiceClient, SipClient, TwirpError } from 'livekit-server-sdk';
import type { ClaimGrants } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimulatorHarness } from './harness.js';
import { caught, startHarness } from './harness.js';

let h: SimulatorHarness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.stop();
});

/** Signs a token with only the given grants, as a client with a narrower key policy would. */
async function tokenWith(grants: Pick<ClaimGrants, 'video' | 'sip'>, secret = h.sim.apiSecret, apiKey = h.sim.apiKey): Promise<string> {
  const token = new AccessToken(apiKey, secret, { ttl: '5m' });
  if (grants.video !== undefined) token.addGrant(grants.video);
  if (grants.sip !== undefined) token.addSIPGrant(grants.sip);
  return token.toJwt();
}

function clientsWithToken(token: string) {
  return {
    rooms: new RoomServiceClient(h.sim.url, undefined, undefined, { token }),
    egress: new EgressClient(h.sim.url, undefined, undefined, { token }),
    sip: new SipClient(h.sim.url, undefined, undefined, { token }),
  };
}

async function rawTwirp(path: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${h.sim.url}/twirp/${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body,
  });
}

function hs256(payload: Record<string, unknown>, secret: string): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const unsigned = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(payload)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

async function expectPermissionDenied(call: () => Promise<unknown>): Promise<void> {
  const error = await caught(call);
  expect(error).toBeInstanceOf(TwirpError);
  expect(error).toMatchObject({ status: 401, code: 'unauthenticated', message: 'permissions denied' });
}

describe('RoomService', () => {
  it('runs each room call with its grant and refuses it without', async () => {
    const room = await h.rooms.createRoom({ name: 'grants-room', metadata: 'm1' });
    expect(room.sid).toMatch(/^RM_[2-9A-Za-z]{12}$/);
    expect(room.emptyTimeout).toBe(300);

    expect((await h.rooms.listRooms()).map((r) => r.name)).toContain('grants-room');
    expect(await h.rooms.listRooms(['no-such-room'])).toEqual([]);
    expect((await h.rooms.updateRoomMetadata('grants-room', 'm2')).metadata).toBe('m2');
    expect(await h.rooms.listParticipants('grants-room')).toEqual([]);

    const withoutGrants = clientsWithToken(await tokenWith({ video: { room: 'grants-room', canPublish: true } }));
    await expectPermissionDenied(() => withoutGrants.rooms.createRoom({ name: 'x' }));
    await expectPermissionDenied(() => withoutGrants.rooms.deleteRoom('grants-room'));
    await expectPermissionDenied(() => withoutGrants.rooms.listRooms());
    await expectPermissionDenied(() => withoutGrants.rooms.listParticipants('grants-room'));
    await expectPermissionDenied(() => withoutGrants.rooms.getParticipant('grants-room', 'someone'));
    await expectPermissionDenied(() => withoutGrants.rooms.removeParticipant('grants-room', 'someone'));
    await expectPermissionDenied(() => withoutGrants.rooms.updateRoomMetadata('grants-room', 'x'));

    await h.rooms.deleteRoom('grants-room');
    expect((await h.rooms.listRooms()).map((r) => r.name)).not.toContain('grants-room');
  });

  it('requires roomAdmin for the very room named in the request', async () => {
    await h.rooms.createRoom({ name: 'room-a' });
    const adminOfB = clientsWithToken(await tokenWith({ video: { roomAdmin: true, room: 'room-b' } }));
    await expectPermissionDenied(() => adminOfB.rooms.listParticipants('room-a'));
    const adminOfA = clientsWithToken(await tokenWith({ video: { roomAdmin: true, room: 'room-a' } }));
    expect(await adminOfA.rooms.listParticipants('room-a')).toEqual([]);
  });

  it('answers not_found as the real server does', async () => {
    const missingRoom = await caught(() => h.rooms.deleteRoom('never-created'));
    expect(missingRoom).toMatchObject({ status: 404, code: 'not_found', message: 'requested room does not exist' });
    await h.rooms.createRoom({ name: 'nf-room' });
    const missingParticipant = await caught(() => h.rooms.getParticipant('nf-room', 'ghost'));
    expect(missingParticipant).toMatchObject({ status: 404, code: 'not_found', message: 'participant does not exist' });
  });
});

describe('Egress and SIP grants', () => {
  it('requires roomRecord for every egress call', async () => {
    const noRecord = clientsWithToken(await tokenWith({ video: { roomCreate: true, roomList: true } }));
    await h.rooms.createRoom({ name: 'record-room' });
    await expectPermissionDenied(() =>
      noRecord.egress.startRoomCompositeEgress('record-room', { file: new EncodedFileOutput({ filepath: 'x' }) }),
    );
    await expectPermissionDenied(() => noRecord.egress.listEgress());
    await expectPermissionDenied(() => noRecord.egress.stopEgress('EG_whatever'));
    const record = clientsWithToken(await tokenWith({ video: { roomRecord: true } }));
    expect(await record.egress.listEgress()).toEqual([]);
    const unknown = await caught(() => record.egress.stopEgress('EG_unknown'));
    expect(unknown).toMatchObject({ status: 404, code: 'not_found', message: 'egress does not exist' });
  });

  it('requires sip.admin for trunks and sip.call for calls', async () => {
    const callOnly = clientsWithToken(await tokenWith({ sip: { call: true } }));
    await expectPermissionDenied(() => callOnly.sip.createSipOutboundTrunk('t', 'sip.example.com', ['+15550000000']));
    await expectPermissionDenied(() => callOnly.sip.listSipOutboundTrunk());
    await expectPermissionDenied(() => callOnly.sip.deleteSipTrunk('ST_x'));

    const trunk = await h.sip.createSipOutboundTrunk('carrier', 'sip.example.com', ['+15550000000']);
    expect(trunk.sipTrunkId).toMatch(/^ST_/);
    expect((await h.sip.listSipOutboundTrunk()).map((t) => t.sipTrunkId)).toContain(trunk.sipTrunkId);

    const adminOnly = clientsWithToken(await tokenWith({ sip: { admin: true } }));
    await expectPermissionDenied(() => adminOnly.sip.createSipParticipant(trunk.sipTrunkId, '+12025550100', 'sip-room'));

    const deleted = await h.sip.deleteSipTrunk(trunk.sipTrunkId);
    expect(deleted.sipTrunkId).toBe(trunk.sipTrunkId);
    expect((await h.sip.listSipOutboundTrunk()).map((t) => t.sipTrunkId)).not.toContain(trunk.sipTrunkId);
    const again = await caught(() => h.sip.deleteSipTrunk(trunk.sipTrunkId));
    expect(again).toMatchObject({ status: 404, code: 'not_found' });
  });
});

describe('authentication', () => {
  it('refuses a token signed with another secret with a plain-text 401', async () => {
    const token = await tokenWith({ video: { roomList: true } }, 'not-the-secret');
    const response = await rawTwirp('livekit.RoomService/ListRooms', '{}', { Authorization: `Bearer ${token}` });
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await response.text()).toMatch(/^invalid authorization token: /);

    const viaSdk = await caught(() => new RoomServiceClient(h.sim.url, h.sim.apiKey, 'not-the-secret').listRooms());
    expect(viaSdk).toBeInstanceOf(TwirpError);
    expect(viaSdk).toMatchObject({ status: 401, code: undefined });
    expect((viaSdk as TwirpError).message).toMatch(/^invalid authorization token: /);
  });

  it('refuses an expired token and a token for an unknown API key', async () => {
    const now = Math.floor(Date.now() / 1000);
    const expired = hs256({ iss: h.sim.apiKey, nbf: now - 3600, exp: now - 600, video: { roomList: true } }, h.sim.apiSecret);
    const expiredResponse = await rawTwirp('livekit.RoomService/ListRooms', '{}', { Authorization: `Bearer ${expired}` });
    expect(expiredResponse.status).toBe(401);
    expect(await expiredResponse.text()).toMatch(/^invalid authorization token: .*expired/);

    const foreign = await tokenWith({ video: { roomList: true } }, h.sim.apiSecret, 'someone-elses-key');
    const foreignResponse = await rawTwirp('livekit.RoomService/ListRooms', '{}', { Authorization: `Bearer ${foreign}` });
    expect(foreignResponse.status).toBe(401);
    expect(await foreignResponse.text()).toBe('invalid API key');

    const garbage = await rawTwirp('livekit.RoomService/ListRooms', '{}', { Authorization: 'Bearer not-a-jwt' });
    expect(garbage.status).toBe(401);
    expect(await garbage.text()).toBe('invalid authorization token');
  });

  it('answers a request without a token as unauthenticated with an exact application/json body', async () => {
    const response = await rawTwirp('livekit.RoomService/ListRooms', '{}');
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ code: 'unauthenticated', msg: 'permissions denied' });
  });
});

describe('wire format', () => {
  const authorized = async () => ({ Authorization: `Bearer ${await tokenWith({ video: { roomCreate: true } })}` });

  it('answers snake_case with defaults emitted and Content-Type exactly application/json', async () => {
    const response = await rawTwirp('livekit.RoomService/CreateRoom', JSON.stringify({ name: 'wire-room' }), await authorized());
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ name: 'wire-room', empty_timeout: 300, num_participants: 0, metadata: '' });
    expect(typeof body.creation_time).toBe('string');
    expect(body).not.toHaveProperty('emptyTimeout');
  });

  it('rejects an unknown field and a wrongly typed field as malformed', async () => {
    const unknownField = await rawTwirp('livekit.RoomService/CreateRoom', JSON.stringify({ name: 'x', colour: 'blue' }), await authorized());
    expect(unknownField.status).toBe(400);
    expect(unknownField.headers.get('content-type')).toBe('application/json');
    const unknownBody = (await unknownField.json()) as { code: string; msg: string; meta: { cause: string } };
    expect(unknownBody.code).toBe('malformed');
    expect(unknownBody.msg).toBe('the json request could not be decoded');
    expect(unknownBody.meta.cause).toContain('colour');

    const wrongType = await rawTwirp('livekit.RoomService/CreateRoom', JSON.stringify({ name: 'x', emptyTimeout: 'soon' }), await authorized());
    expect(wrongType.status).toBe(400);
    expect(((await wrongType.json()) as { code: string }).code).toBe('malformed');

    const notJson = await rawTwirp('livekit.RoomService/CreateRoom', '{name:', await authorized());
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { code: string }).code).toBe('malformed');
  });

  it('accepts proto field names as well as JSON names, like protojson', async () => {
    const response = await rawTwirp('livekit.RoomService/CreateRoom', JSON.stringify({ name: 'snake-room', empty_timeout: 42 }), await authorized());
    expect(response.status).toBe(200);
    expect(((await response.json()) as { empty_timeout: number }).empty_timeout).toBe(42);
  });

  it('speaks application/protobuf too, and takes the token from ?access_token=', async () => {
    const token = await tokenWith({ video: { roomCreate: true } });
    const response = await fetch(`${h.sim.url}/twirp/livekit.RoomService/CreateRoom?access_token=${token}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/protobuf' },
      body: new CreateRoomRequest({ name: 'protobuf-room', maxParticipants: 2 }).toBinary(),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/protobuf');
    const room = Room.fromBinary(new Uint8Array(await response.arrayBuffer()));
    expect(room).toMatchObject({ name: 'protobuf-room', maxParticipants: 2 });
  });

  it('routes like the Go Twirp server', async () => {
    const headers = await authorized();
    const unknownMethod = await rawTwirp('livekit.RoomService/MakeCoffee', '{}', headers);
    expect(unknownMethod.status).toBe(404);
    expect(await unknownMethod.json()).toEqual({
      code: 'bad_route',
      msg: 'no handler for path "/twirp/livekit.RoomService/MakeCoffee"',
      meta: { twirp_invalid_route: 'POST /twirp/livekit.RoomService/MakeCoffee' },
    });

    const notSimulated = await rawTwirp('livekit.RoomService/SendData', '{}', headers);
    expect(notSimulated.status).toBe(501);
    expect(((await notSimulated.json()) as { code: string }).code).toBe('unimplemented');

    const get = await fetch(`${h.sim.url}/twirp/livekit.RoomService/ListRooms`, { headers });
    expect(get.status).toBe(404);
    expect(((await get.json()) as { code: string }).code).toBe('bad_route');

    const form = await rawTwirp('livekit.RoomService/ListRooms', '{}', { ...headers, 'Content-Type': 'text/plain' });
    expect(form.status).toBe(404);
    expect(((await form.json()) as { msg: string }).msg).toBe('unexpected Content-Type: "text/plain"');

    const health = await fetch(`${h.sim.url}/`);
    expect(await health.text()).toBe('OK');
  });

  it('lets the SDK see the twirp code of a JSON error', async () => {
    const error = await caught(() => h.rooms.createRoom({ name: '' }));
    expect(error).toBeInstanceOf(TwirpError);
    expect(error).toMatchObject({ status: 400, code: 'invalid_argument' });
  });
});
