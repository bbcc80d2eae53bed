// The automated call's media seam: a participant in the call's LiveKit room that can speak and hear
// keypad digits. Production joins with LiveKit's real-time Node SDK (rtc-call-room.ts); tests on the
// LiveKit simulator pass a connector that drives the simulator's bot participant instead.
import type { Pcm } from './speech.js';

export interface CallRoom {
  /**
   * Plays the audio into the room and resolves once it has been played out. Resolves early when
   * `signal` aborts (the party left).
   */
  play(audio: Pcm, signal?: AbortSignal): Promise<void>;
  /** Keypad digits the phone sends, each with the moment it arrived. */
  onDigit(listener: (digit: string, at: Date) => void): void;
  /** The phone left the room (hung up). Fires at most once. */
  onPartyLeft(listener: () => void): void;
  /** Whether the phone is still in the room. */
  partyPresent(): boolean;
  /** What the room heard from the phone, as 16-bit PCM chunks (for speech recognition); optional. */
  onPartyAudio?(listener: (audio: Pcm) => void): void;
  leave(): Promise<void>;
}

export interface CallRoomConnector {
  join(input: { room: string; identity: string; partyIdentity: string; token: string }): Promise<CallRoom>;
}

/** The server-side participant's identity in an attempt's room (LiveKit sees ids only). */
export const botIdentity = (attemptId: string): string => `bot-${attemptId}`;
