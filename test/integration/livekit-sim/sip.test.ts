// Outbound calls through the real SipClient: every scripted number, the SIP participant's attributes and
// webhooks, background dialling, and the control API playing the far end.
import { DisconnectReason, ParticipantInfo_Kind, SIPTransport } from '@livekit/protocol';
import type { AddressInfo } from 'node:net';
import { ServerError, SipCallError } from 'livekit-server-sdk';
import type { SIPOutboundTrunkInfo } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimulatorHarness } from './harness.js';
import { caught, eventually, startHarness } from './harness.js';

let h: SimulatorHarness;
let trunk: SIPOutboundTrunkInfo;
let roomCounter = 0;

beforeAll(async () => {
  h = await startHarness();
  trunk = await h.sip.createSipOutboundTrunk('test-carrier', 'sip.carrier.example', ['+862161234567']);
});

afterAll(async () => {
  await h.stop();
});

const nextRoom = () => `call-${(roomCounter += 1)}`;

interface DialOptions {
  wait?: boolean;
  maxCallDuration?: number;
  ringingTimeout?: number;
}

function dial(number: string, room: string, options: DialOptions = {}) {
  return h.sip.createSipParticipant(trunk.sipTrunkId, number, room, {
    participantIdentity: 'borrower-phone',
    participantName: 'Borrower',
    waitUntilAnswered: options.wait ?? true,
    ...(options.maxCallDuration === undefined ? {} : { maxCallDuration: options.maxCallDuration }),
    ...(options.ringingTimeout === undefined ? {} : { ringingTimeout: options.ringingTimeout }),
  });
}

/** Calls to the manual number ring for up to 10 simulated minutes, so the test decides what happens. */
const RING_LONG = { ringingTimeout: 600 };

async function callStatus(room: string, identity = 'borrower-phone'): Promise<string | undefined> {
  return (await h.rooms.getParticipant(room, identity)).attributes['sip.callStatus'];
}

describe('scripted numbers that fail with a SIP status', () => {
  // Expectations written out from livekit/protocol's SIP-to-gRPC table and livekit-sip's error texts.
  const cases = [
    { number: '+12025550120', code: 486, status: 'Busy Here', twirp: 'resource_exhausted', http: 429, reason: DisconnectReason.USER_REJECTED },
    { number: '+12025550121', code: 603, status: 'Decline', twirp: 'permission_denied', http: 403, reason: DisconnectReason.USER_REJECTED },
    { number: '+12025550123', code: 480, status: 'Temporarily Unavailable', twirp: 'resource_exhausted', http: 429, reason: DisconnectReason.USER_UNAVAILABLE },
    { number: '+12025550124', code: 408, status: 'Request Timeout', twirp: 'deadline_exceeded', http: 408, reason: DisconnectReason.USER_UNAVAILABLE },
    { number: '+12025550130', code: 404, status: 'Not Found', twirp: 'not_found', http: 404, reason: DisconnectReason.USER_UNAVAILABLE },
    { number: '+12025550131', code: 484, status: 'Address Incomplete', twirp: 'invalid_argument', http: 400, reason: DisconnectReason.USER_UNAVAILABLE },
    { number: '+8613805550140', code: 480, status: 'Temporarily Unavailable', twirp: 'resource_exhausted', http: 429, reason: DisconnectReason.USER_UNAVAILABLE },
    { number: '+12025550141', code: 503, status: 'Service Unavailable', twirp: 'failed_precondition', http: 412, reason: DisconnectReason.CLIENT_INITIATED },
    { number: '+12025550142', code: 500, status: 'Server Internal Error', twirp: 'failed_precondition', http: 412, reason: DisconnectReason.CLIENT_INITIATED },
    { number: '+12025550151', code: 503, status: 'CPS limit exceeded', twirp: 'failed_precondition', http: 412, reason: DisconnectReason.CLIENT_INITIATED },
    { number: '+12025550152', code: 403, status: 'Forbidden', twirp: 'permission_denied', http: 403, reason: DisconnectReason.USER_REJECTED },
  ];

  it.each(cases)('$number fails with SIP $code $status', async (expected) => {
    const room = nextRoom();
    const error = await caught(() => dial(expected.number, room));
    expect(error).toBeInstanceOf(SipCallError);
    const sipError = error as SipCallError;
    expect(sipError.sipStatusCode).toBe(expected.code);
    expect(sipError.sipStatus).toBe(expected.status);
    expect(sipError.code).toBe(expected.twirp);
    expect(sipError.status).toBe(expected.http);
    expect(sipError.metadata?.error_details).toMatch(/^[A-Za-z0-9+/]+=*$/);

    await h.webhooks.untilEvent(room, 'participant_left');
    const left = h.webhooks.events({ room, event: 'participant_left' })[0];
    expect(left?.participant?.disconnectReason).toBe(expected.reason);
    expect(await h.rooms.listParticipants(room)).toEqual([]);
  });
});

describe('scripted numbers that fail without a SIP status', () => {
  it('no answer: LiveKit gives up at the ringing timeout with a plain canceled error', async () => {
    const room = nextRoom();
    const error = await caught(() => dial('+12025550122', room));
    expect(error).toBeInstanceOf(ServerError);
    expect(error).not.toBeInstanceOf(SipCallError);
    expect(error).toMatchObject({ status: 408, code: 'canceled', message: 'sip request timed out' });
    await h.webhooks.untilEvent(room, 'participant_left');
    const left = h.webhooks.events({ room, event: 'participant_left' })[0];
    expect(left?.participant?.disconnectReason).toBe(DisconnectReason.USER_UNAVAILABLE);
    // The phone rang before LiveKit gave up; a failed call keeps its last status.
    expect(left?.participant?.attributes['sip.callStatus']).toBe('ringing');
  });

  it('nothing answers the INVITE (row 50): canceled at the ringing timeout, never rang', async () => {
    const room = nextRoom();
    const error = await caught(() => dial('+12025550150', room, { ringingTimeout: 8 }));
    expect(error).toBeInstanceOf(ServerError);
    expect(error).not.toBeInstanceOf(SipCallError);
    expect(error).toMatchObject({ status: 408, code: 'canceled' });
    expect((error as ServerError).message).toContain('sip request timed out');
    await h.webhooks.untilEvent(room, 'participant_left');
    expect(h.webhooks.events({ room, event: 'participant_left' })[0]?.participant?.attributes['sip.callStatus']).toBe('dialing');
  });

  it('takes the status text of a 480 from the carrier header, as livekit-sip does, not from the reason phrase', async () => {
    const error = await caught(() => dial('+12025550125', nextRoom()));
    expect(error).toBeInstanceOf(SipCallError);
    expect(error).toMatchObject({ sipStatusCode: 480, sipStatus: '32009 subscriber did not answer', code: 'resource_exhausted' });
  });
});

describe('LiveKit\'s own limits', () => {
  it('stops waiting for an answer after 80 s with deadline_exceeded, and the ringing call ends with it', async () => {
    const room = nextRoom();
    const error = await caught(() => dial('+12025550122', room, { ringingTimeout: 100 }));
    expect(error).toBeInstanceOf(ServerError);
    expect(error).toMatchObject({ code: 'deadline_exceeded' });
    expect((error as ServerError).message).toContain('request timed out');
    await h.webhooks.untilEvent(room, 'participant_left');
    expect(h.webhooks.events({ room, event: 'participant_left' })[0]?.participant?.attributes['sip.callStatus']).toBe('ringing');
  });
});

describe('trunk addresses the network cannot serve', () => {
  const deadPort = async () => {
    const { createServer } = await import('node:net');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
  };
  const dialVia = async (trunkId: string, room: string, ringingTimeout = 8) =>
    caught(() => h.sip.createSipParticipant(trunkId, '+12025550101', room, { participantIdentity: 'borrower-phone', waitUntilAnswered: true, ringingTimeout }));

  it('a host that does not resolve: invalid_argument at once, with no SIP status', async () => {
    const dead = await h.sip.createSipOutboundTrunk('dns', 'carrier.invalid', ['+862161234567']);
    const error = await dialVia(dead.sipTrunkId, nextRoom());
    expect(error).not.toBeInstanceOf(SipCallError);
    expect(error).toMatchObject({ code: 'invalid_argument' });
    expect((error as ServerError).message).toContain('fail to resolve target for "carrier.invalid"');
  });

  it('a closed port over UDP: no response, canceled at the ringing timeout, never rang', async () => {
    const dead = await h.sip.createSipOutboundTrunk('udp', `127.0.0.1:${await deadPort()}`, ['+862161234567']);
    const room = nextRoom();
    const error = await dialVia(dead.sipTrunkId, room);
    expect(error).toMatchObject({ code: 'canceled' });
    expect((error as ServerError).message).toContain('sip request timed out');
    await h.webhooks.untilEvent(room, 'participant_left');
    expect(h.webhooks.events({ room, event: 'participant_left' })[0]?.participant?.attributes['sip.callStatus']).toBe('dialing');
  });

  it('a closed port over TCP: failed_precondition at once, connection refused', async () => {
    const port = await deadPort();
    const dead = await h.sip.createSipOutboundTrunk('tcp', `127.0.0.1:${port}`, ['+862161234567'], { transport: SIPTransport.SIP_TRANSPORT_TCP });
    const error = await dialVia(dead.sipTrunkId, nextRoom());
    expect(error).toMatchObject({ code: 'failed_precondition' });
    expect((error as ServerError).message).toContain(`127.0.0.1:${port}: connect: connection refused`);
  });
});

describe('answered calls', () => {
  it('returns once answered, with the SIP participant active in the room', async () => {
    const room = nextRoom();
    const info = await dial('+12025550100', room);
    expect(info.participantIdentity).toBe('borrower-phone');
    expect(info.roomName).toBe(room);
    expect(info.sipCallId).toMatch(/^SCL_/);
    expect(info.participantId).toMatch(/^PA_/);

    const participant = await h.rooms.getParticipant(room, 'borrower-phone');
    expect(participant.kind).toBe(ParticipantInfo_Kind.SIP);
    expect(participant.sid).toBe(info.participantId);
    expect(participant.name).toBe('Borrower');
    expect(participant.attributes).toMatchObject({
      'sip.callStatus': 'active',
      'sip.callID': info.sipCallId,
      'sip.phoneNumber': '+12025550100',
      'sip.trunkID': trunk.sipTrunkId,
      'sip.trunkPhoneNumber': '+862161234567',
    });

    // participant_joined fires when the SIP participant joins, before the INVITE: status dialing.
    await h.webhooks.untilEvent(room, 'track_published');
    expect(h.webhooks.names(room)).toEqual(['room_started', 'participant_joined', 'track_published']);
    const joined = h.webhooks.events({ room, event: 'participant_joined' })[0];
    expect(joined?.participant?.attributes['sip.callStatus']).toBe('dialing');
    expect(joined?.participant?.kind).toBe(ParticipantInfo_Kind.SIP);
  });

  it('ends with hangup when the callee hangs up mid-call', async () => {
    const room = nextRoom();
    await dial('+12025550112', room);
    await h.webhooks.untilEvent(room, 'participant_left');
    const left = h.webhooks.events({ room, event: 'participant_left' })[0];
    expect(left?.participant?.disconnectReason).toBe(DisconnectReason.CLIENT_INITIATED);
    expect(left?.participant?.attributes['sip.callStatus']).toBe('hangup');
  });

  it('hangs up when maxCallDuration is reached', async () => {
    const room = nextRoom();
    await dial('+12025550101', room, { maxCallDuration: 60 });
    await h.webhooks.untilEvent(room, 'participant_left');
    expect(h.webhooks.events({ room, event: 'participant_left' })[0]?.participant?.attributes['sip.callStatus']).toBe('hangup');
  });

  it('answers any number outside the test range after a short ring', async () => {
    const room = nextRoom();
    await dial('+8613912345678', room);
    expect(await callStatus(room)).toBe('active');
  });
});

describe('dialling in the background', () => {
  it('returns before the call is answered and lets the status attribute progress to active', async () => {
    const room = nextRoom();
    const info = await dial('+12025550190', room, { wait: false, ...RING_LONG });
    expect(info.sipCallId).toMatch(/^SCL_/);
    expect(['dialing', 'ringing']).toContain(await callStatus(room));
    h.sim.control.answerCall(info.sipCallId);
    expect(await callStatus(room)).toBe('active');
  });

  it('lets a scripted callee answer in the background', async () => {
    const room = nextRoom();
    await dial('+12025550105', room, { wait: false });
    await eventually(async () => ((await callStatus(room)) === 'active' ? true : undefined));
  });

  it('reports a busy callee only through the participant leaving', async () => {
    const room = nextRoom();
    await dial('+12025550120', room, { wait: false });
    await h.webhooks.untilEvent(room, 'participant_left');
    expect(h.webhooks.events({ room, event: 'participant_left' })[0]?.participant?.disconnectReason).toBe(DisconnectReason.USER_REJECTED);
    const call = h.sim.control.state().calls.find((entry) => entry.room === room);
    expect(call).toMatchObject({ status: 'failed', sipStatus: { code: 486, reason: 'Busy Here' } });
  });
});

describe('the far end through the control API', () => {
  it('answers and hangs up a manual call', async () => {
    const room = nextRoom();
    const answered = dial('+12025550190', room, RING_LONG);
    const call = await eventually(() => h.sim.control.state().calls.find((entry) => entry.room === room && entry.status === 'ringing'));
    h.sim.control.answerCall(call.callId);
    await answered;
    expect(await callStatus(room)).toBe('active');
    h.sim.control.hangUpCall(call.callId);
    await h.webhooks.untilEvent(room, 'participant_left');
    expect(h.sim.control.state().calls.find((entry) => entry.callId === call.callId)?.status).toBe('hangup');
  });

  it('rejects a manual call with any SIP status', async () => {
    const room = nextRoom();
    const dialling = caught(() => dial('+12025550190', room, RING_LONG));
    const call = await eventually(() => h.sim.control.state().calls.find((entry) => entry.room === room && entry.status === 'ringing'));
    h.sim.control.rejectCall(call.callId, 600);
    const error = await dialling;
    expect(error).toBeInstanceOf(SipCallError);
    expect(error).toMatchObject({ sipStatusCode: 600, sipStatus: 'Busy Everywhere', code: 'resource_exhausted' });
  });

  it('cancels a ringing call when the participant is removed', async () => {
    const room = nextRoom();
    const dialling = caught(() => dial('+12025550190', room, RING_LONG));
    await eventually(() => h.sim.control.state().calls.find((entry) => entry.room === room && entry.status === 'ringing'));
    await h.rooms.removeParticipant(room, 'borrower-phone');
    expect(await dialling).toMatchObject({ code: 'canceled' });
    await h.webhooks.untilEvent(room, 'participant_left');
    expect(h.webhooks.events({ room, event: 'participant_left' })[0]?.participant?.disconnectReason).toBe(DisconnectReason.PARTICIPANT_REMOVED);
  });
});

describe('request validation', () => {
  it('refuses an unknown trunk and a SIP URI as the callee', async () => {
    const unknownTrunk = await caught(() => h.sip.createSipParticipant('ST_doesnotexist', '+12025550100', nextRoom()));
    expect(unknownTrunk).toMatchObject({ status: 404, code: 'not_found', message: 'requested sip trunk does not exist' });
    const uri = await caught(() => h.sip.createSipParticipant(trunk.sipTrunkId, 'sip:someone@example.com', nextRoom()));
    expect(uri).toMatchObject({ status: 400, code: 'invalid_argument' });
  });

  it('refuses a trunk without numbers', async () => {
    const error = await caught(() => h.sip.createSipOutboundTrunk('empty', 'sip.example.com', []));
    expect(error).toMatchObject({ status: 400, code: 'invalid_argument', message: 'no trunk numbers specified' });
  });
});
