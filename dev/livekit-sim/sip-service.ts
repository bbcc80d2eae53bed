// The SIP API: outbound trunks and CreateSIPParticipant, validated as livekit-server and livekit/protocol
// validate them, with the called party played by a script chosen from the dialled number.
import type {
  CreateSIPOutboundTrunkRequest,
  CreateSIPParticipantRequest,
  DeleteSIPTrunkRequest,
  ListSIPOutboundTrunkRequest,
  SIPOutboundTrunkInfo} from '@livekit/protocol';
import {
  ParticipantInfo_Kind,
  ParticipantPermission,
  SIPParticipantInfo,
  SIPTrunkInfo,
} from '@livekit/protocol';
import type { SimClock } from './clock.js';
import { newId } from './ids.js';
import type { RoomManager } from './rooms.js';
import type { SipCallSnapshot } from './sip-call.js';
import { OutboundCall } from './sip-call.js';
import type { SipStatusLine } from './sip-scripts.js';
import { scriptForNumber } from './sip-scripts.js';
import { TwirpError } from './twirp.js';

// The SDK pins 30 s when it waits for an answer; the simulator uses the same when a request sets none.
const DEFAULT_RINGING_TIMEOUT_SECONDS = 30;

export class SipService {
  private readonly trunks = new Map<string, SIPOutboundTrunkInfo>();
  private readonly calls = new Map<string, OutboundCall>();

  constructor(
    private readonly rooms: RoomManager,
    private readonly clock: SimClock,
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
    const trunkId = request.sipTrunkId || (trunk?.sipTrunkId ?? '');
    const trunkAddress = trunk?.address ?? request.trunk?.hostname ?? '';

    const callId = newId('SCL_');
    const identity = request.participantIdentity || `sip_${request.sipCallTo}`;
    const attributes: Record<string, string> = {
      ...request.participantAttributes,
      'sip.callID': callId,
      'sip.trunkID': trunkId,
    };
    if (!request.hidePhoneNumber) {
      attributes['sip.phoneNumber'] = request.sipCallTo;
      attributes['sip.hostname'] = trunkAddress;
      attributes['sip.trunkPhoneNumber'] = fromNumber;
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
      { callId, room: request.roomName, identity, participantSid: participant.sid, phoneNumber: request.sipCallTo, trunkId, trunkAddress },
      this.rooms,
      this.clock,
    );
    this.calls.set(callId, call);
    call.start(scriptForNumber(request.sipCallTo), {
      ringingTimeoutSeconds: durationSeconds(request.ringingTimeout) ?? DEFAULT_RINGING_TIMEOUT_SECONDS,
      maxCallDurationSeconds: durationSeconds(request.maxCallDuration),
      dtmf: request.dtmf,
    });

    if (request.waitUntilAnswered) await call.waitForAnswer();
    return new SIPParticipantInfo({
      participantId: participant.sid,
      participantIdentity: identity,
      roomName: request.roomName,
      sipCallId: callId,
    });
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
