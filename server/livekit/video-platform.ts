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
import { LIVEKIT_ANSWER_WAIT_SECONDS, MAX_RINGING_TIMEOUT_SECONDS } from './limits.js';
import { observeEgress, observeParticipant, SIP_CALL_STATUS_ORDER, type ObservedEgress, type ObservedParticipant, type SipCallStatus } from './observations.js';

/** The SDK's own request timeout for a dial: past LiveKit's, so LiveKit always answers first. */
const DIAL_REQUEST_TIMEOUT_SECONDS = LIVEKIT_ANSWER_WAIT_SECONDS + 10;

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
  /** Who is in the room (people: egress's recorder is left out); undefined when the room does not exist (any more). */
  listParticipants(room: string): Promise<ObservedParticipant[] | undefined>;
  removeParticipant(room: string, identity: string): Promise<void>;
  /** An agent may join one room, publish and subscribe. */
  agentToken(input: { room: string; identity: string; displayName: string; ttlSeconds: number }): Promise<string>;
  /** A party may join one room with camera and microphone only. */
  partyToken(input: { room: string; identity: string; ttlSeconds: number }): Promise<string>;
  /**
   * Places an outbound call and waits until it is answered or fails. `onCallStatus` hears the call
   * progress (ringing) while it waits: LiveKit sends no webhook when a SIP participant's status moves.
   */
  dial(input: DialInput): Promise<DialResult>;
  startRecording(input: { room: string; audioOnly: boolean; objectKey: string }): Promise<ObservedEgress>;
  stopRecording(egressId: string): Promise<ObservedEgress | undefined>;
  listRecordings(filter: { room?: string; egressId?: string; active?: boolean }): Promise<ObservedEgress[]>;
}

export interface DialInput {
  room: string;
  phoneE164: string;
  identity: string;
  onCallStatus?: ((status: SipCallStatus) => void) | undefined;
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
      return (await this.rooms.listParticipants(room)).map(observeParticipant).filter((p) => !p.isRecorder);
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

  async dial(input: DialInput): Promise<DialResult> {
    if (!this.settings.sipTrunkId) {
      return { outcome: 'TRUNK_UNAVAILABLE', sipStatusCode: undefined, sipStatus: 'no outbound trunk configured (LIVEKIT_SIP_TRUNK_ID)', twirpCode: undefined };
    }
    const progress = this.followCall(input);
    try {
      const info = await this.sip.createSipParticipant(this.settings.sipTrunkId, input.phoneE164, input.room, {
        participantIdentity: input.identity,
        waitUntilAnswered: true,
        ringingTimeout: Math.min(this.settings.ringingTimeoutSeconds, MAX_RINGING_TIMEOUT_SECONDS),
        maxCallDuration: this.settings.maxCallSeconds,
        playDialtone: false,
        hidePhoneNumber: true,
        // The SDK would give up at the ringing timeout + 2 s, while livekit-sip starts that timer only
        // after joining the room: a slow join would read as a failed call that may still be answered.
        timeout: DIAL_REQUEST_TIMEOUT_SECONDS,
      });
      return { outcome: 'ANSWERED', sipCallId: info.sipCallId, participantIdentity: info.participantIdentity };
    } catch (error) {
      const twirpCode = error instanceof ServerError ? error.code : undefined;
      if (!(error instanceof ServerError) || twirpCode === 'deadline_exceeded') {
        // Nobody said how the call ended (LiveKit stopped waiting, or the request itself failed, which
        // is read the same way): ask the room. A call answered meanwhile is taken; one still ringing is
        // hung up, so a late answer never lands in a room nobody follows.
        return this.settleUnknownDial(input, progress.highest(), twirpCode ?? 'deadline_exceeded');
      }
      const sipStatusCode = error instanceof SipCallError ? error.sipStatusCode : undefined;
      const sipStatus = error instanceof SipCallError ? error.sipStatus : undefined;
      const rang = reached(progress.highest(), 'ringing');
      return { outcome: classifyDialFailure({ sipStatusCode, sipStatus, twirpCode, rang }), sipStatusCode, sipStatus, twirpCode };
    } finally {
      progress.stop();
    }
  }

  /** Polls the SIP participant's `sip.callStatus` until stopped; reports each step forward. */
  private followCall(input: DialInput): { highest(): SipCallStatus | undefined; stop(): void } {
    let highest: SipCallStatus | undefined;
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const poll = async () => {
      // One look that fails changes nothing: the next one, a second later, asks again.
      const status = await this.callStatus(input.room, input.identity).catch(() => undefined);
      if (stopped) return;
      if (status && !reached(highest, status)) {
        highest = status;
        input.onCallStatus?.(status);
      }
      timer = setTimeout(() => void poll(), this.settings.callStatusPollMs);
    };
    timer = setTimeout(() => void poll(), this.settings.callStatusPollMs);
    return {
      highest: () => highest,
      stop: () => {
        stopped = true;
        clearTimeout(timer);
      },
    };
  }

  private async callStatus(room: string, identity: string): Promise<SipCallStatus | undefined> {
    try {
      return observeParticipant(await this.rooms.getParticipant(room, identity)).sipCallStatus;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private async settleUnknownDial(input: DialInput, seen: SipCallStatus | undefined, twirpCode: string): Promise<DialResult> {
    const info = await this.rooms.getParticipant(input.room, input.identity).catch((error: unknown) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
    const now = info ? observeParticipant(info) : undefined;
    const callId = info?.attributes['sip.callID'];
    if (now?.sipCallStatus === 'active' && callId) return { outcome: 'ANSWERED', sipCallId: callId, participantIdentity: now.identity };
    if (now) await this.removeParticipant(input.room, input.identity);
    const rang = reached(seen, 'ringing') || reached(now?.sipCallStatus, 'ringing');
    return { outcome: classifyDialFailure({ twirpCode, rang }), sipStatusCode: undefined, sipStatus: undefined, twirpCode };
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
    // Audio only with no layout is what sends LiveKit egress down its light pipeline (no Chrome).
    const options = input.audioOnly ? { audioOnly: true } : { audioOnly: false, layout: 'speaker' };
    const info = await this.egress.startRoomCompositeEgress(input.room, { file }, options);
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
    let infos;
    try {
      infos = await this.egress.listEgress({
        ...(filter.room ? { roomName: filter.room } : {}),
        ...(filter.egressId ? { egressId: filter.egressId } : {}),
        ...(filter.active !== undefined ? { active: filter.active } : {}),
      });
    } catch (error) {
      // LiveKit answers not_found for an egress id it does not know (it forgets ended egresses after 24 h).
      if (filter.egressId && isNotFound(error)) return [];
      throw error;
    }
    return infos.map(observeEgress);
  }
}

/** Whether a call got at least as far as `step`. */
function reached(status: SipCallStatus | undefined, step: SipCallStatus): boolean {
  return status !== undefined && SIP_CALL_STATUS_ORDER.indexOf(status) >= SIP_CALL_STATUS_ORDER.indexOf(step);
}
