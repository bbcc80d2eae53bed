// The automated call's participant on the LiveKit simulator, which carries no media: it joins with the
// bot's real access token through the simulator's control API, publishes an audio track, "plays" each
// prompt as its duration and loudness (the simulator waits that long, in simulated time), and hears the
// keypad digits the simulator's scripted phones press. The same script then runs as on real LiveKit.
import type { SimulatorControl } from '../../dev/livekit-sim/control.js';
import type { CallRoom, CallRoomConnector } from '../../server/automated-calls/call-room.js';
import { rms, type Pcm } from '../../server/automated-calls/speech.js';

const PRESENCE_POLL_MS = 20;

export class SimulatorCallRooms implements CallRoomConnector {
  constructor(private readonly control: SimulatorControl) {}

  async join(input: { room: string; identity: string; partyIdentity: string; token: string }): Promise<CallRoom> {
    await this.control.join(input.token);
    this.control.publishTrack(input.room, input.identity, { kind: 'audio', source: 'microphone' });
    return new SimulatorCallRoom(this.control, input.room, input.identity, input.partyIdentity);
  }
}

class SimulatorCallRoom implements CallRoom {
  private readonly stops: (() => void)[] = [];
  private gone = false;
  private readonly leftListeners: (() => void)[] = [];

  constructor(
    private readonly control: SimulatorControl,
    private readonly room: string,
    private readonly identity: string,
    private readonly partyIdentity: string,
  ) {
    const timer = setInterval(() => {
      if (this.gone || this.control.isPresent(room, partyIdentity)) return;
      this.gone = true;
      for (const listener of this.leftListeners) listener();
    }, PRESENCE_POLL_MS);
    this.stops.push(() => clearInterval(timer));
  }

  async play(audio: Pcm, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted || !this.partyPresent()) return;
    const played = this.control.playAudio(this.room, this.identity, { seconds: audio.samples.length / audio.sampleRate, rms: rms(audio.samples) });
    if (!signal) return played;
    await Promise.race([played, new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))]);
  }

  onDigit(listener: (digit: string, at: Date) => void): void {
    this.stops.push(this.control.onDtmf(this.room, (digit, from) => {
      if (from === this.partyIdentity) listener(digit, new Date());
    }));
  }

  onPartyLeft(listener: () => void): void {
    this.leftListeners.push(listener);
  }

  partyPresent(): boolean {
    return !this.gone && this.control.isPresent(this.room, this.partyIdentity);
  }

  async leave(): Promise<void> {
    for (const stop of this.stops.splice(0)) stop();
    if (this.control.isPresent(this.room, this.identity)) this.control.leave(this.room, this.identity);
  }
}
