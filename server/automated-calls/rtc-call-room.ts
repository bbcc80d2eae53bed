// The automated call's participant on a real LiveKit server, through LiveKit's real-time Node SDK
// (@livekit/rtc-node: WebRTC in a native library that ships in npm packages). It publishes one audio
// track for the spoken prompts and hears the phone's keypad as LiveKit SIP DTMF.
import {
  AudioFrame,
  AudioSource,
  AudioStream,
  LocalAudioTrack,
  Room,
  RoomEvent,
  TrackKind,
  TrackPublishOptions,
  TrackSource,
  type RemoteParticipant,
  type RemoteTrack,
} from '@livekit/rtc-node';
import type { Logger } from '../logging.js';
import type { CallRoom, CallRoomConnector } from './call-room.js';
import type { Pcm } from './speech.js';

/** Frames of 20 ms: a whole number of samples at 48 kHz, 22.05 kHz (espeak-ng) and 16 kHz. */
const FRAME_MS = 20;
/** The rate the party's audio is read at for speech recognition. */
const LISTEN_RATE = 16_000;

export class RtcCallRoomConnector implements CallRoomConnector {
  constructor(
    private readonly wsUrl: string,
    private readonly log: Logger,
  ) {}

  async join(input: { room: string; identity: string; partyIdentity: string; token: string }): Promise<CallRoom> {
    const room = new Room();
    await room.connect(this.wsUrl, input.token, { autoSubscribe: true, dynacast: false });
    return new RtcCallRoom(room, input.partyIdentity, this.log);
  }
}

class RtcCallRoom implements CallRoom {
  private source: AudioSource | undefined;
  private partyGone = false;
  private readonly leftListeners: (() => void)[] = [];
  private readonly audioListeners: ((audio: Pcm) => void)[] = [];

  constructor(
    private readonly room: Room,
    private readonly partyIdentity: string,
    private readonly log: Logger,
  ) {
    const gone = () => {
      if (this.partyGone) return;
      this.partyGone = true;
      for (const listener of this.leftListeners) listener();
    };
    room.on(RoomEvent.ParticipantDisconnected, (participant: RemoteParticipant) => {
      if (participant.identity === partyIdentity) gone();
    });
    // The room was closed (the session moved on) or the connection is lost: nobody is left to hear.
    room.on(RoomEvent.Disconnected, gone);
    room.on(RoomEvent.TrackSubscribed, (track: RemoteTrack, _publication: unknown, participant: RemoteParticipant) => {
      if (participant.identity !== partyIdentity || track.kind !== TrackKind.KIND_AUDIO) return;
      void this.listen(track);
    });
    if (!room.remoteParticipants.has(partyIdentity)) {
      // Joined after the phone had already hung up.
      queueMicrotask(gone);
    }
  }

  private async listen(track: RemoteTrack): Promise<void> {
    try {
      for await (const frame of new AudioStream(track, LISTEN_RATE, 1)) {
        for (const listener of this.audioListeners) listener({ sampleRate: frame.sampleRate, samples: frame.data });
      }
    } catch (error) {
      this.log.debug({ err: error }, "stopped reading the party's audio");
    }
  }

  async play(audio: Pcm, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted || this.partyGone) return;
    const source = await this.sourceFor(audio.sampleRate);
    const frameSamples = (audio.sampleRate * FRAME_MS) / 1000;
    const stop = () => source.clearQueue();
    signal?.addEventListener('abort', stop, { once: true });
    try {
      for (let start = 0; start < audio.samples.length; start += frameSamples) {
        if (signal?.aborted || this.partyGone) return;
        const chunk = new Int16Array(frameSamples);
        chunk.set(audio.samples.subarray(start, Math.min(start + frameSamples, audio.samples.length)));
        await source.captureFrame(new AudioFrame(chunk, audio.sampleRate, 1, frameSamples));
      }
      if (!signal?.aborted && !this.partyGone) await source.waitForPlayout();
    } finally {
      signal?.removeEventListener('abort', stop);
    }
  }

  /** One published track for the whole call, at the rate of the speech it carries. */
  private async sourceFor(sampleRate: number): Promise<AudioSource> {
    if (this.source && this.source.sampleRate === sampleRate) return this.source;
    if (this.source) throw new Error(`speech at ${sampleRate} Hz after ${this.source.sampleRate} Hz: one synthesizer rate per call`);
    const source = new AudioSource(sampleRate, 1);
    const track = LocalAudioTrack.createAudioTrack('automated-call', source);
    await this.room.localParticipant!.publishTrack(track, new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE }));
    this.source = source;
    return source;
  }

  onDigit(listener: (digit: string, at: Date) => void): void {
    this.room.on(RoomEvent.DtmfReceived, (_code: number, digit: string, participant: RemoteParticipant) => {
      if (participant.identity === this.partyIdentity) listener(digit, new Date());
    });
  }

  onPartyLeft(listener: () => void): void {
    this.leftListeners.push(listener);
  }

  partyPresent(): boolean {
    return !this.partyGone && this.room.remoteParticipants.has(this.partyIdentity);
  }

  onPartyAudio(listener: (audio: Pcm) => void): void {
    this.audioListeners.push(listener);
  }

  async leave(): Promise<void> {
    await this.source?.close();
    await this.room.disconnect();
  }
}
