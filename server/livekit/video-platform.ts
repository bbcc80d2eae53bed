// The one door to LiveKit. Everything facesign asks of LiveKit goes through VideoPlatform, backed
// only by livekit-server-sdk: rooms, access tokens, SIP calls and egress recordings.
import {
  AccessToken,
  EgressClient,
  EncodedFileOutput,
  EncodedFileType,
  RoomServiceClient,
  S3Upload,
  ServerError,
  SipCallError,
  SipClient,
  TrackSource,
} from 'livekit-server-sdk';
import type { Config } from '../config.js';
import { classifyDialFailure, type DialFailureOutcome } from './dial-outcome.js';
import { observeEgress, observeParticipant, type ObservedEgress, type ObservedParticipant } from './observations.js';

export interface RoomMetadata {
  sessionId: string;
  attemptId: string;
}

export type DialResult =
  | { outcome: 'ANSWERED'; sipCallId: string; participantIdentity: string }
  | { outcome: DialFailureOutcome; sipStatusCode: number | undefined; sipStatus: string | undefined; twirpCode: string | undefined };

export interface VideoPlatform {
  /** Readiness: the API answers an authenticated call. */
  ping(): Promise<void>;
  createRoom(input: { name: string; maxParticipants: number; metadata: RoomMetadata }): Promise<void>;
  /** Ends the room for everyone; a room that is already gone is fine. */
  deleteRoom(name: string): Promise<void>;
  /** Who is in the room; undefined when the room does not exist (any more). */
  listParticipants(room: string): Promise<ObservedParticipant[] | undefined>;
  removeParticipant(room: string, identity: string): Promise<void>;
  /** An agent may join one room, publish and subscribe. */
  agentToken(input: { room: string; identity: string; displayName: string; ttlSeconds: number }): Promise<string>;
  /** A party may join one room with camera and microphone only. */
  partyToken(input: { room: string; identity: string; ttlSeconds: number }): Promise<string>;
  /** Places an outbound call and waits until it is answered or fails. */
  dial(input: { room: string; phoneE164: string; identity: string }): Promise<DialResult>;
  startRecording(input: { room: string; audioOnly: boolean; objectKey: string }): Promise<ObservedEgress>;
  stopRecording(egressId: string): Promise<ObservedEgress | undefined>;
  listRecordings(filter: { room?: string; egressId?: string; active?: boolean }): Promise<ObservedEgress[]>;
}

export type LiveKitSettings = NonNullable<Config['livekit']>;

export interface RecordingBucket {
  bucket: string;
  region: string;
  forcePathStyle: boolean;
}

const isNotFound = (error: unknown) => error instanceof ServerError && (error.code === 'not_found' || error.status === 404);

export class LiveKitPlatform implements VideoPlatform {
  private readonly rooms: RoomServiceClient;
  private readonly egress: EgressClient;
  private readonly sip: SipClient;

  constructor(
    private readonly settings: LiveKitSettings,
    private readonly bucket: RecordingBucket,
  ) {
    const host = settings.url.replace(/^ws/, 'http');
    this.rooms = new RoomServiceClient(host, settings.apiKey, settings.apiSecret);
    this.egress = new EgressClient(host, settings.apiKey, settings.apiSecret);
    this.sip = new SipClient(host, settings.apiKey, settings.apiSecret);
  }

  async ping(): Promise<void> {
    await this.rooms.listRooms([]);
  }

  async createRoom(input: { name: string; maxParticipants: number; metadata: RoomMetadata }): Promise<void> {
    await this.rooms.createRoom({
      name: input.name,
      emptyTimeout: this.settings.roomEmptyTimeoutSeconds,
      departureTimeout: 20,
      maxParticipants: input.maxParticipants,
      metadata: JSON.stringify(input.metadata),
    });
  }

  async deleteRoom(name: string): Promise<void> {
    try {
      await this.rooms.deleteRoom(name);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async listParticipants(room: string): Promise<ObservedParticipant[] | undefined> {
    // LiveKit answers ListParticipants for an unknown room with an empty list, so ask whether the
    // room exists first.
    const rooms = await this.rooms.listRooms([room]);
    if (!rooms.some((r) => r.name === room)) return undefined;
    try {
      return (await this.rooms.listParticipants(room)).map(observeParticipant);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async removeParticipant(room: string, identity: string): Promise<void> {
    try {
      await this.rooms.removeParticipant(room, identity);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async agentToken(input: { room: string; identity: string; displayName: string; ttlSeconds: number }): Promise<string> {
    const token = new AccessToken(this.settings.apiKey, this.settings.apiSecret, { identity: input.identity, name: input.displayName, ttl: input.ttlSeconds });
    token.addGrant({ roomJoin: true, room: input.room, canPublish: true, canSubscribe: true, canPublishData: true });
    return token.toJwt();
  }

  async partyToken(input: { room: string; identity: string; ttlSeconds: number }): Promise<string> {
    const token = new AccessToken(this.settings.apiKey, this.settings.apiSecret, { identity: input.identity, ttl: input.ttlSeconds });
    token.addGrant({
      roomJoin: true,
      room: input.room,
      canPublish: true,
      canPublishSources: [TrackSource.CAMERA, TrackSource.MICROPHONE],
      canSubscribe: true,
      canPublishData: false,
    });
    return token.toJwt();
  }

  async dial(input: { room: string; phoneE164: string; identity: string }): Promise<DialResult> {
    if (!this.settings.sipTrunkId) {
      return { outcome: 'TRUNK_UNAVAILABLE', sipStatusCode: undefined, sipStatus: 'no outbound trunk configured (LIVEKIT_SIP_TRUNK_ID)', twirpCode: undefined };
    }
    try {
      const info = await this.sip.createSipParticipant(this.settings.sipTrunkId, input.phoneE164, input.room, {
        participantIdentity: input.identity,
        waitUntilAnswered: true,
        ringingTimeout: this.settings.ringingTimeoutSeconds,
        maxCallDuration: this.settings.maxCallSeconds,
        playDialtone: false,
        hidePhoneNumber: true,
      });
      return { outcome: 'ANSWERED', sipCallId: info.sipCallId, participantIdentity: info.participantIdentity };
    } catch (error) {
      if (!(error instanceof ServerError)) throw error;
      const sipStatusCode = error instanceof SipCallError ? error.sipStatusCode : undefined;
      const sipStatus = error instanceof SipCallError ? error.sipStatus : undefined;
      return { outcome: classifyDialFailure({ sipStatusCode, sipStatus, twirpCode: error.code }), sipStatusCode, sipStatus, twirpCode: error.code };
    }
  }

  async startRecording(input: { room: string; audioOnly: boolean; objectKey: string }): Promise<ObservedEgress> {
    const storage = this.settings.egressStorage;
    const file = new EncodedFileOutput({
      fileType: input.audioOnly ? EncodedFileType.OGG : EncodedFileType.MP4,
      filepath: input.objectKey,
      output: {
        case: 's3',
        value: new S3Upload({
          accessKey: storage.accessKeyId ?? '',
          secret: storage.secretAccessKey ?? '',
          region: this.bucket.region,
          endpoint: storage.endpoint ?? '',
          bucket: this.bucket.bucket,
          forcePathStyle: this.bucket.forcePathStyle,
        }),
      },
    });
    const info = await this.egress.startRoomCompositeEgress(input.room, { file }, { audioOnly: input.audioOnly, layout: 'speaker' });
    return observeEgress(info);
  }

  async stopRecording(egressId: string): Promise<ObservedEgress | undefined> {
    try {
      return observeEgress(await this.egress.stopEgress(egressId));
    } catch (error) {
      // Stopping an egress that already ended is not an error for us: the reconciler reads its result.
      if (isNotFound(error) || (error instanceof ServerError && error.code === 'failed_precondition')) return undefined;
      throw error;
    }
  }

  async listRecordings(filter: { room?: string; egressId?: string; active?: boolean }): Promise<ObservedEgress[]> {
    const infos = await this.egress.listEgress({
      ...(filter.room ? { roomName: filter.room } : {}),
      ...(filter.egressId ? { egressId: filter.egressId } : {}),
      ...(filter.active !== undefined ? { active: filter.active } : {}),
    });
    return infos.map(observeEgress);
  }
}
