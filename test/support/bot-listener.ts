// Listens, through LiveKit's real-time Node SDK, to what the automated call's participant says in a
// real LiveKit room: the bot's own track, as the room carries it (the recording is checked apart, in
// egress-standin.test.ts).
import { AudioStream, Room, RoomEvent, TrackKind, type RemoteParticipant, type RemoteTrack } from '@livekit/rtc-node';
import { AccessToken } from 'livekit-server-sdk';
import { botIdentity } from '../../server/automated-calls/call-room.js';

export interface BotListener {
  /** 20 ms frames heard from the bot's track, and the loudest frame's RMS (0..1 of full scale). */
  heard: { frames: number; maxRms: number };
  leave(): Promise<void>;
}

export async function listenToBot(livekit: { wsUrl: string; apiKey: string; apiSecret: string }, roomName: string, attemptId: string): Promise<BotListener> {
  const token = new AccessToken(livekit.apiKey, livekit.apiSecret, { identity: `listener-${attemptId}` });
  token.addGrant({ roomJoin: true, room: roomName, canPublish: false, canSubscribe: true });
  const room = new Room();
  const heard = { frames: 0, maxRms: 0 };
  room.on(RoomEvent.TrackSubscribed, (track: RemoteTrack, _publication: unknown, participant: RemoteParticipant) => {
    if (participant.identity !== botIdentity(attemptId) || track.kind !== TrackKind.KIND_AUDIO) return;
    void (async () => {
      for await (const frame of new AudioStream(track, 16_000, 1)) {
        heard.frames += 1;
        let sum = 0;
        for (const s of frame.data) sum += (s / 32768) ** 2;
        heard.maxRms = Math.max(heard.maxRms, Math.sqrt(sum / Math.max(1, frame.data.length)));
      }
    })();
  });
  await room.connect(livekit.wsUrl, await token.toJwt(), { autoSubscribe: true, dynacast: false });
  return { heard, leave: () => room.disconnect() };
}
