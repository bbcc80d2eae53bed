// The simulator's own control surface (no LiveKit equivalent): plays the people and devices that would
// connect over WebRTC, the far end of phone calls, and the faults a real deployment has. Every method
// causes exactly the webhooks LiveKit would send for the same thing happening.
import { DisconnectReason, ListSIPOutboundTrunkRequest, TrackSource, TrackType } from '@livekit/protocol';
import type { ParticipantInfo, Room, SIPOutboundTrunkInfo, TrackInfo } from '@livekit/protocol';
import type { ApiKeyPair, Claims } from './auth.js';
import { verifyToken } from './auth.js';
import type { SimClock } from './clock.js';
import type { EgressService, EgressSnapshot } from './egress-service.js';
import type { EgressFault, FaultPlan, TwirpFault, WebhookFault } from './faults.js';
import type { JoinRequest, PublishTrackInput, RoomManager } from './rooms.js';
import type { PlayedSummary, RoomMedia } from './room-media.js';
import { participantKindFromClaim, permissionFromGrant } from './rooms.js';
import type { SipCallSnapshot } from './sip-call.js';
import type { SipService } from './sip-service.js';
import { TwirpError } from './twirp.js';
import type { WebhookDelivery, WebhookDispatcher } from './webhooks.js';

export type DisconnectReasonName = keyof typeof DisconnectReason;

export interface SimulatorState {
  rooms: { room: Room; participants: ParticipantInfo[] }[];
  /** Every egress LiveKit still knows (ended ones are forgotten after 24 h), with the pipeline it runs on. */
  egress: EgressSnapshot[];
  trunks: SIPOutboundTrunkInfo[];
  calls: SipCallSnapshot[];
  webhookUrls: string[];
}

export interface ControlDependencies {
  keys: ApiKeyPair;
  clock: SimClock;
  rooms: RoomManager;
  sip: SipService;
  egress: EgressService;
  webhooks: WebhookDispatcher;
  faults: FaultPlan;
  media: RoomMedia;
}

export class SimulatorControl {
  /** How each party joined, so a reconnect comes back with the same identity and permissions. */
  private readonly joins = new Map<string, JoinRequest>();

  constructor(private readonly deps: ControlDependencies) {}

  // ---- media the simulator does not carry: keypad digits and played audio --------------------------------

  /** A phone in the room presses a key (LiveKit SIP delivers it to the room as a SIP DTMF packet). */
  pressKey(room: string, identity: string, digit: string): void {
    if (!this.deps.rooms.hasParticipant(room, identity)) throw new TwirpError('not_found', `participant ${identity} is not in room ${room}`);
    this.deps.media.sendDtmf(room, identity, digit);
  }

  /** Hears the room's keypad digits, as a participant in it would; returns the function that stops. */
  onDtmf(room: string, listener: (digit: string, fromIdentity: string) => void): () => void {
    return this.deps.media.onDtmf(room, listener);
  }

  /**
   * A participant plays audio on its published audio track (a bot speaking). The simulator keeps its
   * duration and loudness, and resolves once it has played, in simulated time.
   */
  async playAudio(room: string, identity: string, audio: { seconds: number; rms: number }): Promise<void> {
    const participant = this.deps.rooms.listParticipants(room).find((p) => p.identity === identity);
    if (!participant) throw new TwirpError('not_found', `participant ${identity} is not in room ${room}`);
    if (!participant.tracks.some((t) => t.type === TrackType.AUDIO)) throw new TwirpError('failed_precondition', `participant ${identity} has no audio track`);
    await this.deps.media.play(room, { identity, ...audio });
  }

  /** Whether a participant is in the room now. */
  isPresent(room: string, identity: string): boolean {
    return this.deps.rooms.hasParticipant(room, identity);
  }

  /** What each participant of a room played: total simulated seconds, the loudest RMS and when it began. */
  audioPlayed(room: string): Record<string, PlayedSummary> {
    return this.deps.media.playedIn(room);
  }

  // ---- video parties ------------------------------------------------------------------------------------

  /**
   * Connects a party with a real access token, as a browser would: the token must verify against the
   * simulator's key pair and carry `roomJoin`; identity, name, metadata, attributes and kind come from it.
   * `room` is only used when the token names no room (LiveKit's `room` connect parameter).
   */
  async join(token: string, options: { room?: string } = {}): Promise<ParticipantInfo> {
    const request = await this.joinRequestFromToken(token, options.room);
    const participant = this.deps.rooms.join(request);
    this.joins.set(joinKey(request.room, request.identity), request);
    return participant;
  }

  /** A join whose WebRTC connection never comes up (participant_connection_aborted). */
  async joinAborted(token: string, options: { room?: string } = {}): Promise<ParticipantInfo> {
    return this.deps.rooms.abortJoin(await this.joinRequestFromToken(token, options.room));
  }

  /** The party hangs up / closes the tab properly. */
  leave(room: string, identity: string): void {
    this.deps.rooms.leave(room, identity, DisconnectReason.CLIENT_INITIATED);
  }

  /** The party's connection is lost for good (LiveKit: CONNECTION_TIMEOUT unless told otherwise). */
  disconnect(room: string, identity: string, reason: DisconnectReasonName = 'CONNECTION_TIMEOUT'): void {
    this.deps.rooms.leave(room, identity, DisconnectReason[reason]);
  }

  /**
   * The party drops and connects again with the same identity. With `offlineSeconds` the server first
   * notices the dead connection (participant_left, CONNECTION_TIMEOUT) and the party rejoins that much
   * later; without, the new session replaces the stale one at once (participant_left, DUPLICATE_IDENTITY).
   * Either way the rejoined participant has a new sid and republishes its tracks.
   */
  async reconnect(room: string, identity: string, options: { offlineSeconds?: number } = {}): Promise<ParticipantInfo> {
    const before = this.deps.rooms.getParticipant(room, identity);
    const request = this.joins.get(joinKey(room, identity)) ?? joinRequestFromParticipant(room, before);
    const offlineSeconds = options.offlineSeconds ?? 0;
    if (offlineSeconds > 0) {
      this.deps.rooms.leave(room, identity, DisconnectReason.CONNECTION_TIMEOUT);
      await this.deps.clock.sleep(offlineSeconds);
    }
    this.deps.rooms.join(request);
    for (const track of before.tracks) {
      this.deps.rooms.publishTrack(room, identity, {
        kind: track.type === TrackType.VIDEO ? 'video' : 'audio',
        source: sourceName(track.source),
        name: track.name,
      });
    }
    return this.deps.rooms.getParticipant(room, identity);
  }

  publishTrack(room: string, identity: string, track: PublishTrackInput): TrackInfo {
    return this.deps.rooms.publishTrack(room, identity, track);
  }

  unpublishTrack(room: string, identity: string, trackSid: string): void {
    this.deps.rooms.unpublishTrack(room, identity, trackSid);
  }

  // ---- the far end of phone calls -----------------------------------------------------------------------

  answerCall(callId: string): void {
    this.deps.sip.answerCall(callId);
  }

  /** The callee's phone answers the INVITE with a final error, e.g. 486 Busy Here. */
  rejectCall(callId: string, code: number, reason = defaultReason(code)): void {
    this.deps.sip.rejectCall(callId, { code, reason });
  }

  /** The callee hangs up an answered call. */
  hangUpCall(callId: string): void {
    this.deps.sip.hangUpCall(callId);
  }

  /** Takes LiveKit's SIP service away (CreateSIPParticipant: unavailable, "no response from servers") or back. */
  setSipServiceConnected(connected: boolean): void {
    this.deps.sip.connected = connected;
  }

  /** How long livekit-sip takes to join the room before it dials (simulated seconds): a slow room join. */
  setSipJoinDelay(seconds: number): void {
    this.deps.sip.joinDelaySeconds = seconds;
  }

  // ---- faults -------------------------------------------------------------------------------------------

  injectWebhookFault(rule: WebhookFault): void {
    this.deps.faults.addWebhookFault(rule);
  }

  injectTwirpFault(rule: TwirpFault = {}): void {
    this.deps.faults.addTwirpFault(rule);
  }

  injectEgressFault(rule: EgressFault): void {
    this.deps.faults.addEgressFault(rule);
  }

  /** Fails a running egress now: EGRESS_FAILED with `error`, egress_ended. */
  failEgress(egressId: string, error = 'pipeline failure'): void {
    this.deps.egress.failEgress(egressId, error);
  }

  clearFaults(): void {
    this.deps.faults.clear();
  }

  // ---- observation --------------------------------------------------------------------------------------

  setWebhookUrls(urls: readonly string[]): void {
    this.deps.webhooks.setUrls(urls);
  }

  webhookDeliveries(): WebhookDelivery[] {
    return this.deps.webhooks.deliveries();
  }

  /** Resolves when egress uploads in flight are done and every webhook emitted so far is settled. */
  async settled(): Promise<void> {
    await this.deps.egress.settled();
    await this.deps.webhooks.settled();
  }

  state(): SimulatorState {
    const { rooms, egress, sip, webhooks } = this.deps;
    return {
      rooms: rooms.listRooms([]).map((room) => ({ room, participants: rooms.listParticipants(room.name) })),
      egress: egress.snapshots(),
      trunks: sip.listOutboundTrunks(new ListSIPOutboundTrunkRequest()),
      calls: sip.listCalls(),
      webhookUrls: webhooks.urls(),
    };
  }

  private async joinRequestFromToken(token: string, roomParameter: string | undefined): Promise<JoinRequest> {
    let claims: Claims;
    try {
      claims = await verifyToken(token, this.deps.keys);
    } catch (error) {
      throw new TwirpError('unauthenticated', error instanceof Error ? error.message : String(error));
    }
    const video = claims.video;
    if (video?.roomJoin !== true) throw new TwirpError('unauthenticated', 'permissions denied');
    const room = video.room || roomParameter || '';
    if (room === '') throw new TwirpError('invalid_argument', 'no room name');
    const identity = claims.sub ?? '';
    if (identity === '') throw new TwirpError('invalid_argument', 'identity cannot be empty');
    return {
      room,
      identity,
      name: claims.name ?? '',
      metadata: claims.metadata ?? '',
      attributes: claims.attributes ?? {},
      kind: participantKindFromClaim(claims.kind),
      permission: permissionFromGrant(video),
    };
  }
}

function joinKey(room: string, identity: string): string {
  return JSON.stringify([room, identity]);
}

function joinRequestFromParticipant(room: string, participant: ParticipantInfo): JoinRequest {
  return {
    room,
    identity: participant.identity,
    name: participant.name,
    metadata: participant.metadata,
    attributes: { ...participant.attributes },
    kind: participant.kind,
    permission: participant.permission?.clone() ?? permissionFromGrant({}),
  };
}

function sourceName(source: TrackSource): PublishTrackInput['source'] {
  switch (source) {
    case TrackSource.CAMERA:
      return 'camera';
    case TrackSource.MICROPHONE:
      return 'microphone';
    case TrackSource.SCREEN_SHARE:
      return 'screen_share';
    case TrackSource.SCREEN_SHARE_AUDIO:
      return 'screen_share_audio';
    default:
      return undefined;
  }
}

const REASON_PHRASES: Readonly<Record<number, string>> = {
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  480: 'Temporarily Unavailable',
  484: 'Address Incomplete',
  486: 'Busy Here',
  487: 'Request Terminated',
  500: 'Server Internal Error',
  503: 'Service Unavailable',
  600: 'Busy Everywhere',
  603: 'Decline',
  604: 'Does Not Exist Anywhere',
};

function defaultReason(code: number): string {
  return REASON_PHRASES[code] ?? `SIP ${code}`;
}
