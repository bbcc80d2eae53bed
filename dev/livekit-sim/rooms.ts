// Rooms, participants and tracks, with the lifecycle and webhooks of a LiveKit server: room_started when
// a room is created (by API or by the first join), participant_joined / track_published /
// participant_left as parties come and go, and room_finished after `departureTimeout` once the last
// participant has left, after `emptyTimeout` if nobody ever joined, or at once on DeleteRoom.
// Egress recorders and agents are "dependent" participants (livekit-server pkg/rtc/room.go,
// IsDependent): they are listed and cause webhooks like anyone else, but they are not counted in
// `numParticipants`, their joining does not make the room "joined", and they do not keep it open; when
// the room closes they are disconnected with ROOM_CLOSED. A recorder's presence is `activeRecording`.
import {
  Codec,
  CreateRoomRequest,
  DisconnectReason,
  ParticipantInfo,
  ParticipantInfo_Kind,
  ParticipantInfo_State,
  ParticipantPermission,
  Room,
  TrackInfo,
  TrackSource,
  TrackType,
  WebhookEvent,
} from '@livekit/protocol';
import type { SimClock } from './clock.js';
import { wallClock } from './clock.js';
import { newId } from './ids.js';
import { TwirpError } from './twirp.js';
import type { WebhookDispatcher } from './webhooks.js';

// livekit-server's defaults (config.RoomConfig) when CreateRoom leaves them at 0.
const DEFAULT_EMPTY_TIMEOUT_SECONDS = 300;
const DEFAULT_DEPARTURE_TIMEOUT_SECONDS = 20;
const ENABLED_CODECS = ['audio/opus', 'audio/red', 'video/VP8', 'video/H264', 'video/VP9', 'video/AV1'];

export interface JoinRequest {
  room: string;
  identity: string;
  name?: string;
  metadata?: string;
  attributes?: Record<string, string>;
  kind: ParticipantInfo_Kind;
  permission: ParticipantPermission;
  /** Told when the server, not the party itself, ends the participant's session. */
  onRemoved?: (reason: DisconnectReason) => void;
}

export interface PublishTrackInput {
  kind: 'audio' | 'video';
  source?: 'camera' | 'microphone' | 'screen_share' | 'screen_share_audio';
  name?: string;
  muted?: boolean;
}

interface SimParticipant {
  info: ParticipantInfo;
  onRemoved: ((reason: DisconnectReason) => void) | undefined;
}

interface SimRoom {
  info: Room;
  participants: Map<string, SimParticipant>;
  cancelCloseTimer: (() => void) | undefined;
  /** Whether a participant that is not dependent has ever joined (livekit-server's FirstJoinedAt). */
  joined: boolean;
}

export class RoomManager {
  private readonly rooms = new Map<string, SimRoom>();
  private readonly finishedListeners: ((room: Room) => void)[] = [];

  constructor(
    private readonly clock: SimClock,
    private readonly webhooks: WebhookDispatcher,
  ) {}

  onRoomFinished(listener: (room: Room) => void): void {
    this.finishedListeners.push(listener);
  }

  /** Like the real CreateRoom: creating a room that already exists returns it unchanged. */
  createRoom(request: CreateRoomRequest): Room {
    const existing = this.rooms.get(request.name);
    if (existing !== undefined) return existing.info.clone();
    return this.openRoom(request).info.clone();
  }

  findRoom(name: string): Room | undefined {
    return this.rooms.get(name)?.info.clone();
  }

  listRooms(names: readonly string[]): Room[] {
    return [...this.rooms.values()]
      .filter((room) => names.length === 0 || names.includes(room.info.name))
      .map((room) => room.info.clone());
  }

  deleteRoom(name: string): void {
    const room = this.requireRoom(name);
    for (const identity of [...room.participants.keys()]) {
      this.removeParticipantInternal(room, identity, DisconnectReason.ROOM_DELETED, true);
    }
    this.finishRoom(room);
  }

  updateRoomMetadata(name: string, metadata: string): Room {
    const room = this.requireRoom(name);
    room.info.metadata = metadata;
    return room.info.clone();
  }

  /** The real store answers an empty list for a room it does not know. */
  listParticipants(roomName: string): ParticipantInfo[] {
    const room = this.rooms.get(roomName);
    return room === undefined ? [] : [...room.participants.values()].map((p) => p.info.clone());
  }

  getParticipant(roomName: string, identity: string): ParticipantInfo {
    return this.requireParticipant(roomName, identity).info.clone();
  }

  /** RemoveParticipant: the server disconnects the participant. */
  removeParticipant(roomName: string, identity: string): void {
    const room = this.rooms.get(roomName);
    if (room === undefined || !room.participants.has(identity)) {
      throw new TwirpError('not_found', 'participant does not exist');
    }
    this.removeParticipantInternal(room, identity, DisconnectReason.PARTICIPANT_REMOVED, true);
  }

  join(request: JoinRequest): ParticipantInfo {
    const room = this.rooms.get(request.room) ?? this.openRoom(new CreateRoomRequest({ name: request.room }));
    if (room.participants.has(request.identity)) {
      this.removeParticipantInternal(room, request.identity, DisconnectReason.DUPLICATE_IDENTITY, true);
    }
    const info = newParticipantInfo(request, ParticipantInfo_State.ACTIVE);
    if (!isDependent(info)) {
      room.cancelCloseTimer?.();
      room.cancelCloseTimer = undefined;
      room.joined = true;
    }
    room.participants.set(request.identity, { info, onRemoved: request.onRemoved });
    if (isRecorder(info)) room.info.activeRecording = true;
    this.refreshCounts(room);
    // livekit-server sends participant_joined once the participant is active, i.e. connected.
    this.webhooks.emit(new WebhookEvent({ event: 'participant_joined', room: room.info.clone(), participant: info.clone() }));
    return info.clone();
  }

  /**
   * A join whose media connection never comes up: LiveKit reports participant_connection_aborted instead
   * of participant_joined/participant_left.
   */
  abortJoin(request: JoinRequest): ParticipantInfo {
    const room = this.rooms.get(request.room) ?? this.openRoom(new CreateRoomRequest({ name: request.room }));
    const info = newParticipantInfo(request, ParticipantInfo_State.DISCONNECTED);
    info.disconnectReason = DisconnectReason.JOIN_FAILURE;
    this.webhooks.emit(
      new WebhookEvent({ event: 'participant_connection_aborted', room: room.info.clone(), participant: info.clone() }),
    );
    return info;
  }

  /** The party leaves or its connection is lost. */
  leave(roomName: string, identity: string, reason: DisconnectReason): void {
    const room = this.rooms.get(roomName);
    if (room === undefined || !room.participants.has(identity)) {
      throw new TwirpError('not_found', 'participant does not exist');
    }
    this.removeParticipantInternal(room, identity, reason, false);
  }

  hasParticipant(roomName: string, identity: string): boolean {
    return this.rooms.get(roomName)?.participants.has(identity) ?? false;
  }

  publishTrack(roomName: string, identity: string, input: PublishTrackInput): TrackInfo {
    const room = this.requireRoom(roomName);
    const participant = this.requireParticipant(roomName, identity);
    const source = trackSource(input);
    const permission = participant.info.permission;
    const allowedSources = permission?.canPublishSources ?? [];
    if (permission?.canPublish !== true || (allowedSources.length > 0 && !allowedSources.includes(source))) {
      throw new TwirpError('permission_denied', `participant ${identity} may not publish ${TrackSource[source]}`);
    }
    const video = input.kind === 'video';
    const track = new TrackInfo({
      sid: newId('TR_'),
      type: video ? TrackType.VIDEO : TrackType.AUDIO,
      name: input.name ?? '',
      source,
      muted: input.muted ?? false,
      mimeType: video ? 'video/VP8' : 'audio/opus',
      width: video ? 1280 : 0,
      height: video ? 720 : 0,
      simulcast: video,
      stream: video ? 'camera' : 'microphone',
    });
    participant.info.tracks.push(track);
    participant.info.isPublisher = true;
    participant.info.version += 1;
    this.refreshCounts(room);
    // track_published carries only the publisher's sid and identity, like livekit-server's.
    this.webhooks.emit(
      new WebhookEvent({
        event: 'track_published',
        room: room.info.clone(),
        participant: new ParticipantInfo({ sid: participant.info.sid, identity }),
        track: track.clone(),
      }),
    );
    return track.clone();
  }

  unpublishTrack(roomName: string, identity: string, trackSid: string): void {
    const room = this.requireRoom(roomName);
    const participant = this.requireParticipant(roomName, identity);
    const track = participant.info.tracks.find((candidate) => candidate.sid === trackSid);
    if (track === undefined) throw new TwirpError('not_found', 'track is not found');
    participant.info.tracks = participant.info.tracks.filter((candidate) => candidate !== track);
    participant.info.isPublisher = participant.info.tracks.length > 0;
    participant.info.version += 1;
    this.refreshCounts(room);
    this.webhooks.emit(
      new WebhookEvent({
        event: 'track_unpublished',
        room: room.info.clone(),
        participant: new ParticipantInfo({ sid: participant.info.sid, identity }),
        track: track.clone(),
      }),
    );
  }

  /** Attribute changes reach other participants over RTC; LiveKit sends no webhook for them. */
  updateAttributes(roomName: string, identity: string, attributes: Record<string, string>): void {
    const participant = this.rooms.get(roomName)?.participants.get(identity);
    if (participant === undefined) return;
    participant.info.attributes = { ...participant.info.attributes, ...attributes };
    participant.info.version += 1;
  }

  stop(): void {
    for (const room of this.rooms.values()) room.cancelCloseTimer?.();
    this.rooms.clear();
  }

  private openRoom(request: CreateRoomRequest): SimRoom {
    const now = Date.now();
    const info = new Room({
      sid: newId('RM_'),
      name: request.name,
      emptyTimeout: request.emptyTimeout || DEFAULT_EMPTY_TIMEOUT_SECONDS,
      departureTimeout: request.departureTimeout || DEFAULT_DEPARTURE_TIMEOUT_SECONDS,
      maxParticipants: request.maxParticipants,
      creationTime: BigInt(Math.floor(now / 1000)),
      creationTimeMs: BigInt(now),
      metadata: request.metadata,
      enabledCodecs: ENABLED_CODECS.map((mime) => new Codec({ mime })),
    });
    const room: SimRoom = { info, participants: new Map(), cancelCloseTimer: undefined, joined: false };
    this.rooms.set(info.name, room);
    this.webhooks.emit(new WebhookEvent({ event: 'room_started', room: info.clone() }));
    room.cancelCloseTimer = this.clock.after(info.emptyTimeout, () => this.finishIfEmpty(room));
    return room;
  }

  private removeParticipantInternal(room: SimRoom, identity: string, reason: DisconnectReason, byServer: boolean): void {
    const participant = room.participants.get(identity);
    if (participant === undefined) return;
    room.participants.delete(identity);
    participant.info.state = ParticipantInfo_State.DISCONNECTED;
    participant.info.disconnectReason = reason;
    participant.info.version += 1;
    if (isRecorder(participant.info)) {
      room.info.activeRecording = [...room.participants.values()].some((other) => isRecorder(other.info));
    }
    this.refreshCounts(room);
    this.webhooks.emit(new WebhookEvent({ event: 'participant_left', room: room.info.clone(), participant: participant.info.clone() }));
    if (byServer) participant.onRemoved?.(reason);
    // Any departure restarts the departure timeout once only dependent participants are left (LastLeftAt);
    // a room nobody joined keeps counting its empty timeout from creation.
    const open = this.rooms.get(room.info.name) === room && reason !== DisconnectReason.ROOM_DELETED;
    if (open && room.joined && !hasIndependentParticipant(room)) {
      room.cancelCloseTimer?.();
      room.cancelCloseTimer = this.clock.after(room.info.departureTimeout, () => this.finishIfEmpty(room));
    }
  }

  private finishIfEmpty(room: SimRoom): void {
    if (!hasIndependentParticipant(room) && this.rooms.get(room.info.name) === room) this.finishRoom(room);
  }

  private finishRoom(room: SimRoom): void {
    room.cancelCloseTimer?.();
    room.cancelCloseTimer = undefined;
    this.rooms.delete(room.info.name);
    // Dependent participants may still be there; closing the room disconnects them.
    for (const identity of [...room.participants.keys()]) {
      this.removeParticipantInternal(room, identity, DisconnectReason.ROOM_CLOSED, true);
    }
    const finished = room.info.clone();
    this.webhooks.emit(new WebhookEvent({ event: 'room_finished', room: finished }));
    for (const listener of this.finishedListeners) listener(finished.clone());
  }

  private requireRoom(name: string): SimRoom {
    const room = this.rooms.get(name);
    if (room === undefined) throw new TwirpError('not_found', 'requested room does not exist');
    return room;
  }

  private requireParticipant(roomName: string, identity: string): SimParticipant {
    const participant = this.rooms.get(roomName)?.participants.get(identity);
    if (participant === undefined) throw new TwirpError('not_found', 'participant does not exist');
    return participant;
  }

  private refreshCounts(room: SimRoom): void {
    const participants = [...room.participants.values()];
    room.info.numParticipants = participants.filter((p) => !isDependent(p.info)).length;
    room.info.numPublishers = participants.filter((p) => p.info.isPublisher).length;
  }
}

/** livekit-server's IsDependent: egress recorders and agents, by kind or by grant. */
function isDependent(info: ParticipantInfo): boolean {
  const kind = info.kind;
  if (kind === ParticipantInfo_Kind.EGRESS || kind === ParticipantInfo_Kind.AGENT) return true;
  return info.permission?.agent === true || info.permission?.recorder === true;
}

/** livekit-server's IsRecorder: what `activeRecording` follows. */
function isRecorder(info: ParticipantInfo): boolean {
  return info.kind === ParticipantInfo_Kind.EGRESS || info.permission?.recorder === true;
}

function hasIndependentParticipant(room: SimRoom): boolean {
  return [...room.participants.values()].some((participant) => !isDependent(participant.info));
}

function newParticipantInfo(request: JoinRequest, state: ParticipantInfo_State): ParticipantInfo {
  return new ParticipantInfo({
    sid: newId('PA_'),
    identity: request.identity,
    name: request.name ?? '',
    metadata: request.metadata ?? '',
    attributes: { ...(request.attributes ?? {}) },
    state,
    joinedAt: wallClock.unixSeconds(),
    joinedAtMs: wallClock.unixMs(),
    version: 1,
    permission: request.permission.clone(),
    kind: request.kind,
  });
}

function trackSource(input: PublishTrackInput): TrackSource {
  switch (input.source) {
    case 'camera':
      return TrackSource.CAMERA;
    case 'microphone':
      return TrackSource.MICROPHONE;
    case 'screen_share':
      return TrackSource.SCREEN_SHARE;
    case 'screen_share_audio':
      return TrackSource.SCREEN_SHARE_AUDIO;
    case undefined:
      return input.kind === 'video' ? TrackSource.CAMERA : TrackSource.MICROPHONE;
  }
}

/** Permissions as livekit-server derives them from a join token's video grant. */
export function permissionFromGrant(grant: {
  canPublish?: boolean | undefined;
  canSubscribe?: boolean | undefined;
  canPublishData?: boolean | undefined;
  canPublishSources?: string[] | undefined;
  canUpdateOwnMetadata?: boolean | undefined;
  hidden?: boolean | undefined;
  recorder?: boolean | undefined;
  agent?: boolean | undefined;
}): ParticipantPermission {
  return new ParticipantPermission({
    canPublish: grant.canPublish ?? true,
    canSubscribe: grant.canSubscribe ?? true,
    canPublishData: grant.canPublishData ?? true,
    canPublishSources: (grant.canPublishSources ?? []).flatMap((name) => {
      const source = sourceFromName(name);
      return source === undefined ? [] : [source];
    }),
    canUpdateMetadata: grant.canUpdateOwnMetadata ?? false,
    hidden: grant.hidden ?? false,
    recorder: grant.recorder ?? false,
    agent: grant.agent ?? false,
  });
}

function sourceFromName(name: string): TrackSource | undefined {
  switch (name) {
    case 'camera':
      return TrackSource.CAMERA;
    case 'microphone':
      return TrackSource.MICROPHONE;
    case 'screen_share':
      return TrackSource.SCREEN_SHARE;
    case 'screen_share_audio':
      return TrackSource.SCREEN_SHARE_AUDIO;
    default:
      return undefined;
  }
}

export function participantKindFromClaim(kind: string | undefined): ParticipantInfo_Kind {
  switch (kind) {
    case 'ingress':
      return ParticipantInfo_Kind.INGRESS;
    case 'egress':
      return ParticipantInfo_Kind.EGRESS;
    case 'sip':
      return ParticipantInfo_Kind.SIP;
    case 'agent':
      return ParticipantInfo_Kind.AGENT;
    default:
      return ParticipantInfo_Kind.STANDARD;
  }
}
