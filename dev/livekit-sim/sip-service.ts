// The SIP API: outbound trunks and CreateSIPParticipant, validated as livekit-server and livekit/protocol
// validate them, with the called party played by a script chosen from the dialled number.
import type {
  UpdateSIPOutboundTrunkRequest,
  CreateSIPOutboundTrunkRequest,
  CreateSIPParticipantRequest,
  DeleteSIPTrunkRequest,
  ListSIPOutboundTrunkRequest,
  SIPOutboundTrunkInfo} from '@livekit/protocol';
import {
  ParticipantInfo_Kind,
  ParticipantPermission,
  SIPParticipantInfo,
  SIPTransport,
  SIPTrunkInfo,
} from '@livekit/protocol';
import { createSocket } from 'node:dgram';
import { isIP, connect } from 'node:net';
import type { SimClock } from './clock.js';
import { newId } from './ids.js';
import type { RoomManager } from './rooms.js';
import type { SipCallSnapshot } from './sip-call.js';
import { OutboundCall } from './sip-call.js';
import type { CallFailure } from './sip-errors.js';
import type { SipStatusLine } from './sip-scripts.js';
import { keypadForNumber, scriptForNumber } from './sip-scripts.js';
import type { RoomMedia } from './room-media.js';
import { TwirpError } from './twirp.js';

// The SDK pins 30 s when it waits for an answer; the simulator uses the same when a request sets none.
const DEFAULT_RINGING_TIMEOUT_SECONDS = 30;
// livekit-server waits this long for CreateSIPParticipant with wait_until_answered (pkg/service/sip.go),
// then answers deadline_exceeded; the request's end also ends a call that is still ringing.
const ANSWER_WAIT_SECONDS = 80;
// With no livekit-sip running, livekit-server's psrpc request finds no server after about a second.
const NO_SIP_SERVICE_AFTER_SECONDS = 1;

export class SipService {
  private readonly trunks = new Map<string, SIPOutboundTrunkInfo>();
  private readonly calls = new Map<string, OutboundCall>();
  /** Whether a livekit-sip service is connected (control API). */
  connected = true;
  /** Seconds livekit-sip takes to join the room before it dials (control API): a slow room join. */
  joinDelaySeconds = 0;

  constructor(
    private readonly rooms: RoomManager,
    private readonly clock: SimClock,
    private readonly media?: RoomMedia,
  ) {}

  createOutboundTrunk(request: CreateSIPOutboundTrunkRequest): SIPOutboundTrunkInfo {
    const trunk = request.trunk;
    if (trunk === undefined) throw invalid('missing trunk');
    if (trunk.sipTrunkId !== '') throw invalid('trunk id must not be set');
    if (trunk.numbers.length === 0) throw invalid('no trunk numbers specified');
    if (trunk.address === '') throw invalid('no outbound address specified');
    if (/^[a-z]+:/i.test(trunk.address) || trunk.address.includes('/') || trunk.address.includes('@')) {
      throw invalid(`trunk address should be a hostname or IP, not a URI: ${trunk.address}`);
    }
    const stored = trunk.clone();
    stored.sipTrunkId = newId('ST_');
    this.trunks.set(stored.sipTrunkId, stored);
    return stored.clone();
  }

  /** The `update` form changes the named fields; `replace` swaps the whole trunk (its id kept). */
  updateOutboundTrunk(request: UpdateSIPOutboundTrunkRequest): SIPOutboundTrunkInfo {
    if (request.sipTrunkId === '') throw invalid('trunk ID is required');
    const trunk = this.trunks.get(request.sipTrunkId);
    if (trunk === undefined) throw new TwirpError('not_found', 'requested sip trunk does not exist');
    const { action } = request;
    let next: SIPOutboundTrunkInfo;
    if (action.case === 'replace') {
      next = action.value.clone();
    } else if (action.case === 'update') {
      next = trunk.clone();
      const update = action.value;
      if (update.address !== undefined) next.address = update.address;
      if (update.transport !== undefined) next.transport = update.transport;
      if (update.name !== undefined) next.name = update.name;
      if (update.metadata !== undefined) next.metadata = update.metadata;
      if (update.numbers?.set.length) next.numbers = [...update.numbers.set];
    } else {
      throw invalid('missing update action');
    }
    next.sipTrunkId = request.sipTrunkId;
    if (next.address === '') throw invalid('no outbound address specified');
    this.trunks.set(next.sipTrunkId, next);
    return next.clone();
  }

  listOutboundTrunks(request: ListSIPOutboundTrunkRequest): SIPOutboundTrunkInfo[] {
    return [...this.trunks.values()]
      .filter((trunk) => request.trunkIds.length === 0 || request.trunkIds.includes(trunk.sipTrunkId))
      .filter((trunk) => request.numbers.length === 0 || trunk.numbers.some((number) => request.numbers.includes(number)))
      .map((trunk) => trunk.clone());
  }

  deleteTrunk(request: DeleteSIPTrunkRequest): SIPTrunkInfo {
    if (request.sipTrunkId === '') throw invalid('trunk ID is required');
    if (!this.trunks.delete(request.sipTrunkId)) throw new TwirpError('not_found', 'requested sip trunk does not exist');
    return new SIPTrunkInfo({ sipTrunkId: request.sipTrunkId });
  }

  async createParticipant(request: CreateSIPParticipantRequest): Promise<SIPParticipantInfo> {
    validateParticipantRequest(request);
    const trunk = this.resolveTrunk(request);
    const fromNumber = request.sipNumber || pickNumber(trunk?.numbers ?? []);
    if (fromNumber === undefined) throw new TwirpError('failed_precondition', 'no numbers on outbound trunk');
    if (!this.connected) {
      await this.clock.sleep(NO_SIP_SERVICE_AFTER_SECONDS);
      throw new TwirpError('unavailable', 'no response from servers');
    }
    const trunkId = request.sipTrunkId || (trunk?.sipTrunkId ?? '');
    const trunkAddress = trunk?.address ?? request.trunk?.hostname ?? '';
    const transport = trunk?.transport ?? request.trunk?.transport ?? SIPTransport.SIP_TRANSPORT_AUTO;

    const answered = this.place(request, { trunkId, trunkAddress, transport, fromNumber });
    if (!request.waitUntilAnswered) return answered.then((placed) => placed.info);
    let giveUp = () => {};
    const serverLimit = new Promise<never>((_, reject) => {
      giveUp = this.clock.after(ANSWER_WAIT_SECONDS, () => {
        reject(new TwirpError('deadline_exceeded', 'request timed out'));
        void answered.then((placed) => placed.call.abandonByServer(), () => undefined);
      });
    });
    try {
      const placed = await Promise.race([answered, serverLimit]);
      await Promise.race([placed.call.waitForAnswer(), serverLimit]);
      return placed.info;
    } finally {
      giveUp();
    }
  }

  /** livekit-sip's part: join the room (taking joinDelaySeconds), then dial. */
  private async place(
    request: CreateSIPParticipantRequest,
    via: { trunkId: string; trunkAddress: string; transport: SIPTransport; fromNumber: string },
  ): Promise<{ call: OutboundCall; info: SIPParticipantInfo }> {
    if (this.joinDelaySeconds > 0) await this.clock.sleep(this.joinDelaySeconds);
    const callId = newId('SCL_');
    const identity = request.participantIdentity || `sip_${request.sipCallTo}`;
    const attributes: Record<string, string> = {
      ...request.participantAttributes,
      'sip.callID': callId,
      'sip.trunkID': via.trunkId,
    };
    if (!request.hidePhoneNumber) {
      attributes['sip.phoneNumber'] = request.sipCallTo;
      attributes['sip.hostname'] = via.trunkAddress;
      attributes['sip.trunkPhoneNumber'] = via.fromNumber;
    }
    attributes['sip.callStatus'] = 'dialing';

    const participant = this.rooms.join({
      room: request.roomName,
      identity,
      name: request.participantName,
      metadata: request.participantMetadata,
      attributes,
      kind: ParticipantInfo_Kind.SIP,
      permission: new ParticipantPermission({ canPublish: true, canSubscribe: true, canPublishData: true }),
      onRemoved: (reason) => this.calls.get(callId)?.participantRemoved(reason),
    });
    // livekit-sip publishes its audio track as soon as it is in the room, before dialling.
    this.rooms.publishTrack(request.roomName, identity, { kind: 'audio', source: 'microphone' });

    const call = new OutboundCall(
      { callId, room: request.roomName, identity, participantSid: participant.sid, phoneNumber: request.sipCallTo, trunkId: via.trunkId, trunkAddress: via.trunkAddress },
      this.rooms,
      this.clock,
    );
    this.calls.set(callId, call);
    // A test number that keeps pressing a key: its digits reach the room as SIP DTMF once the call is up.
    const keypad = keypadForNumber(request.sipCallTo);
    const media = this.media;
    if (keypad && media) {
      const times: number[] = [];
      for (let t = keypad.startSeconds; t < keypad.untilSeconds; t += keypad.everySeconds) times.push(t);
      call.whileActive(times, () => {
        media.sendDtmf(request.roomName, identity, keypad.digit);
      });
    }
    const network = await reachTrunk(via.trunkAddress, via.transport);
    call.start(
      network.kind === 'silent' ? { outcome: 'no-response' } : scriptForNumber(request.sipCallTo),
      {
        ringingTimeoutSeconds: durationSeconds(request.ringingTimeout) ?? DEFAULT_RINGING_TIMEOUT_SECONDS,
        maxCallDurationSeconds: durationSeconds(request.maxCallDuration),
        dtmf: request.dtmf,
      },
      network.kind === 'fails' ? network : undefined,
    );
    const info = new SIPParticipantInfo({ participantId: participant.sid, participantIdentity: identity, roomName: request.roomName, sipCallId: callId });
    return { call, info };
  }

  // ---- control ------------------------------------------------------------------------------------------

  listCalls(): SipCallSnapshot[] {
    return [...this.calls.values()].map((call) => call.snapshot());
  }

  answerCall(callId: string): void {
    this.requireCall(callId).answer();
  }

  rejectCall(callId: string, status: SipStatusLine): void {
    this.requireCall(callId).reject(status);
  }

  hangUpCall(callId: string): void {
    this.requireCall(callId).remoteHangUp();
  }

  stop(): void {
    for (const call of this.calls.values()) call.stop();
  }

  private requireCall(callId: string): OutboundCall {
    const call = this.calls.get(callId);
    if (call === undefined) throw new TwirpError('not_found', `no call ${callId}`);
    return call;
  }

  private resolveTrunk(request: CreateSIPParticipantRequest): SIPOutboundTrunkInfo | undefined {
    if (request.sipTrunkId === '') return undefined;
    const trunk = this.trunks.get(request.sipTrunkId);
    if (trunk === undefined) throw new TwirpError('not_found', 'requested sip trunk does not exist');
    return trunk;
  }
}

// livekit/protocol CreateSIPParticipantRequest.ValidateResult, in its order.
function validateParticipantRequest(request: CreateSIPParticipantRequest): void {
  if (request.sipTrunkId === '' && request.trunk === undefined && request.sipNumber === '') {
    throw invalid('missing sip trunk id and sip number');
  }
  if (request.sipCallTo === '') throw invalid('missing sip callee number');
  if (request.sipCallTo.includes('@')) throw invalid('SipCallTo should be a phone number or SIP user, not a full SIP URI');
  if (request.roomName === '') throw invalid('missing room name');
}

function invalid(message: string): TwirpError {
  return new TwirpError('invalid_argument', message);
}

function pickNumber(numbers: readonly string[]): string | undefined {
  return numbers[Math.floor(Math.random() * numbers.length)];
}

type ProtoDuration = NonNullable<CreateSIPParticipantRequest['ringingTimeout']>;

function durationSeconds(duration: ProtoDuration | undefined): number | undefined {
  if (duration === undefined) return undefined;
  const seconds = Number(duration.seconds) + duration.nanos / 1e9;
  return seconds > 0 ? seconds : undefined;
}

/**
 * What the network makes of the trunk's address before any SIP is exchanged. A host under the
 * reserved `.invalid` domain never resolves. An address on this machine is really tried: a TCP trunk
 * whose port refuses the connection fails at once; a UDP one whose port is closed never answers (no
 * SIP response at all, so the call ends at the ringing timeout and never rings). Any other address is
 * the simulated carrier, which answers as the dialled number's script says.
 */
type TrunkReach = { kind: 'carrier' } | { kind: 'silent' } | { kind: 'fails'; failure: CallFailure; afterSeconds: number };

async function reachTrunk(address: string, transport: SIPTransport): Promise<TrunkReach> {
  const { host, port } = splitHostPort(address);
  if (host.toLowerCase().endsWith('.invalid')) return { kind: 'fails', failure: { kind: 'unresolvable', host }, afterSeconds: 0.02 };
  if (!isLoopback(host)) return { kind: 'carrier' };
  const target = port ?? 5060;
  if (transport === SIPTransport.SIP_TRANSPORT_TCP || transport === SIPTransport.SIP_TRANSPORT_TLS) {
    return (await tcpRefused(host, target))
      ? { kind: 'fails', failure: { kind: 'connection-refused', address: `${host}:${target}` }, afterSeconds: 0.05 }
      : { kind: 'carrier' };
  }
  return (await udpRefused(host, target)) ? { kind: 'silent' } : { kind: 'carrier' };
}

function splitHostPort(address: string): { host: string; port: number | undefined } {
  const match = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(address);
  return { host: match?.[1] ?? address, port: match?.[2] ? Number(match[2]) : undefined };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

function tcpRefused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(500, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

/** A closed UDP port on this machine answers a datagram with ICMP port unreachable (ECONNREFUSED). */
function udpRefused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket(isIP(host) === 6 || host === '::1' ? 'udp6' : 'udp4');
    let settled = false;
    const done = (refused: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.close();
      resolve(refused);
    };
    const timer = setTimeout(() => done(false), 200);
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code === 'ECONNREFUSED'));
    socket.connect(port, host === 'localhost' ? '127.0.0.1' : host, () => {
      socket.send(Buffer.from('OPTIONS sip:probe@simulator SIP/2.0\r\n\r\n'), (error) => {
        if (error) done((error as NodeJS.ErrnoException).code === 'ECONNREFUSED');
      });
    });
  });
}
