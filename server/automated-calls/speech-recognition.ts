// The seam for spoken answers ("是" / "不是", "yes" / "no"). The automated call asks a recognizer,
// after each question, what it heard from the party while it waited for a key. The implementation
// shipped here needs no network and no model: it finds out *whether* the party spoke and for how long
// (short-term energy against the line's noise floor), and nothing about *what* was said. So it never
// answers an item: it only lets the note on an UNCLEAR item say "the party spoke (1.2 s) but pressed
// no key", which tells the agent who calls back that the line worked. A real recogniser (e.g. a
// keyword spotter trained on 是/不是) would implement the same interface and return `yes` / `no`.
import type { Pcm } from './speech.js';

export type Heard =
  | { kind: 'silence' }
  /** Sound that looks like speech, of this total duration; what was said is unknown. */
  | { kind: 'speech'; durationMs: number }
  /** What a recogniser that understands words would add: a spoken answer. */
  | { kind: 'yes' | 'no'; durationMs: number };

export interface SpeechRecognizer {
  /** A new listening window (one question) starts: forget what was heard before. */
  reset(): void;
  /** Audio from the party, in order. */
  push(audio: Pcm): void;
  /** What the window has heard so far. */
  heard(): Heard;
}

/**
 * Voice activity by energy: 20 ms frames whose RMS stands clearly above the quietest frames seen
 * (the noise floor) count as voiced; 200 ms of voiced frames make an utterance. It cannot tell words
 * apart, nor speech from a television or a cough of the same length and loudness.
 */
export class EnergyVoiceDetector implements SpeechRecognizer {
  private voicedMs = 0;
  private floor = Number.POSITIVE_INFINITY;
  private pending: number[] = [];
  private pendingRate = 0;

  constructor(
    private readonly settings: { minRms: number; aboveFloor: number; minSpeechMs: number } = { minRms: 0.02, aboveFloor: 4, minSpeechMs: 200 },
  ) {}

  reset(): void {
    this.voicedMs = 0;
    this.pending = [];
  }

  push(audio: Pcm): void {
    if (audio.sampleRate !== this.pendingRate) {
      this.pending = [];
      this.pendingRate = audio.sampleRate;
    }
    const frame = Math.round(audio.sampleRate / 50);
    for (const s of audio.samples) {
      this.pending.push(s);
      if (this.pending.length < frame) continue;
      let sum = 0;
      for (const v of this.pending) sum += (v / 32768) ** 2;
      const level = Math.sqrt(sum / this.pending.length);
      this.pending = [];
      this.floor = Math.min(this.floor, Math.max(level, 1e-4));
      if (level >= this.settings.minRms && level >= this.floor * this.settings.aboveFloor) this.voicedMs += 20;
    }
  }

  heard(): Heard {
    return this.voicedMs >= this.settings.minSpeechMs ? { kind: 'speech', durationMs: this.voicedMs } : { kind: 'silence' };
  }
}
