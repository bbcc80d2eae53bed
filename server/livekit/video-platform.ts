// The one door to LiveKit. Everything facesign asks of LiveKit goes through VideoPlatform, backed
// only by livekit-server-sdk.
import { RoomServiceClient } from 'livekit-server-sdk';

export interface VideoPlatform {
  /** Readiness: the API answers an authenticated call. */
  ping(): Promise<void>;
}

export interface LiveKitSettings {
  url: string;
  apiKey: string;
  apiSecret: string;
}

export class LiveKitPlatform implements VideoPlatform {
  private readonly rooms: RoomServiceClient;

  constructor(settings: LiveKitSettings) {
    const host = settings.url.replace(/^ws/, 'http');
    this.rooms = new RoomServiceClient(host, settings.apiKey, settings.apiSecret);
  }

  async ping(): Promise<void> {
    await this.rooms.listRooms([]);
  }
}
