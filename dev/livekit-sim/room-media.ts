// What the simulator knows of media, which it does not carry: keypad digits a phone sends (LiveKit SIP
// delivers them to the room as SIP DTMF data packets) and the audio a participant says it played on
// its track (duration and loudness), so a test can check that a bot spoke and that it was not silence.
import type { SimClock } from './clock.js';

export interface PlayedAudio {
  identity: string;
  /** Simulated seconds of audio. */
  seconds: number;
  /** RMS of the audio, 0..1 of full scale. */
  rms: number;
}

/** What one participant played in a room. */
export interface PlayedSummary {
  /** Simulated seconds in all. */
  seconds: number;
  maxRms: number;
  /** When it began to play the first time (wall clock, ms since the epoch). */
  firstAt: number;
  /** How many times it played something. */
  plays: number;
}

export class RoomMedia {
  private readonly dtmfListeners = new Map<string, Set<(digit: string, fromIdentity: string) => void>>();
  private readonly played = new Map<string, (PlayedAudio & { at: number })[]>();

  constructor(private readonly clock: SimClock) {}

  /** A phone in `room` pressed `digit`: every listener of the room hears it, as LiveKit's SipDTMF packet. */
  sendDtmf(room: string, fromIdentity: string, digit: string): void {
    for (const listener of this.dtmfListeners.get(room) ?? []) listener(digit, fromIdentity);
  }

  /** Hears the room's keypad digits until the returned function is called. */
  onDtmf(room: string, listener: (digit: string, fromIdentity: string) => void): () => void {
    const listeners = this.dtmfListeners.get(room) ?? new Set();
    listeners.add(listener);
    this.dtmfListeners.set(room, listeners);
    return () => listeners.delete(listener);
  }

  /** A participant plays audio on its track; resolves after it has played (in simulated time). */
  async play(room: string, audio: PlayedAudio): Promise<void> {
    const log = this.played.get(room) ?? [];
    log.push({ ...audio, at: Date.now() });
    this.played.set(room, log);
    await this.clock.sleep(audio.seconds);
  }

  /** What was played in a room, per participant: total seconds, the loudest RMS and when it began. */
  playedIn(room: string): Record<string, PlayedSummary> {
    const out: Record<string, PlayedSummary> = {};
    for (const p of this.played.get(room) ?? []) {
      const entry = (out[p.identity] ??= { seconds: 0, maxRms: 0, firstAt: p.at, plays: 0 });
      entry.plays += 1;
      entry.seconds += p.seconds;
      entry.maxRms = Math.max(entry.maxRms, p.rms);
    }
    return out;
  }

  stop(): void {
    this.dtmfListeners.clear();
  }
}
