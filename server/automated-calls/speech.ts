// Text to speech, locally: Debian's espeak-ng (it has Mandarin, voice `cmn`, and English). No cloud
// service and no voice data downloaded at run time. It writes a 16-bit mono WAV (22 050 Hz) on stdout.
import { spawn } from 'node:child_process';
import type { PromptLocale } from '../loan-files/loan-terms.js';

/** 16-bit signed mono PCM. */
export interface Pcm {
  sampleRate: number;
  samples: Int16Array;
}

export interface SpeechSynthesizer {
  synthesize(text: string, locale: PromptLocale): Promise<Pcm>;
}

export const ESPEAK_VOICES: Record<PromptLocale, string> = { 'zh-CN': 'cmn', en: 'en' };

export class EspeakSynthesizer implements SpeechSynthesizer {
  constructor(
    private readonly settings: { command: string; wordsPerMinute: number },
  ) {}

  async synthesize(text: string, locale: PromptLocale): Promise<Pcm> {
    // The text goes on stdin, never on the command line: it carries the loan's terms.
    const child = spawn(this.settings.command, ['-v', ESPEAK_VOICES[locale], '-s', String(this.settings.wordsPerMinute), '--stdout'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    const exited = new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    // A program that exits before reading its input breaks the pipe: its exit code reports the failure.
    child.stdin.on('error', () => {});
    child.stdin.end(text, 'utf8');
    const code = await exited;
    if (code !== 0) throw new Error(`${this.settings.command} exited with ${code}: ${Buffer.concat(err).toString('utf8').slice(0, 300)}`);
    return parseWav(Buffer.concat(out));
  }
}

/**
 * Reads a PCM WAV (16-bit, mono). espeak-ng writes to a pipe, so its RIFF and data sizes are
 * placeholders (0xFFFFFFFF): the data runs to the end of the stream.
 */
export function parseWav(wav: Buffer): Pcm {
  if (wav.length < 12 || wav.toString('ascii', 0, 4) !== 'RIFF' || wav.toString('ascii', 8, 12) !== 'WAVE') throw new Error('not a WAV stream');
  let offset = 12;
  let sampleRate: number | undefined;
  while (offset + 8 <= wav.length) {
    const id = wav.toString('ascii', offset, offset + 4);
    const size = wav.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      const format = wav.readUInt16LE(body);
      const channels = wav.readUInt16LE(body + 2);
      const bits = wav.readUInt16LE(body + 14);
      if (format !== 1 || channels !== 1 || bits !== 16) throw new Error(`unsupported WAV: format ${format}, ${channels} channels, ${bits} bits`);
      sampleRate = wav.readUInt32LE(body + 4);
    } else if (id === 'data') {
      if (sampleRate === undefined) throw new Error('WAV data before its format');
      const end = size === 0xffffffff || body + size > wav.length ? wav.length : body + size;
      const bytes = wav.subarray(body, end - ((end - body) % 2));
      const samples = new Int16Array(bytes.length / 2);
      for (let i = 0; i < samples.length; i += 1) samples[i] = bytes.readInt16LE(i * 2);
      return { sampleRate, samples };
    }
    offset = body + size + (size % 2);
  }
  throw new Error('WAV stream has no data chunk');
}

/** Root mean square of the samples, 0..1 of full scale. */
export function rms(samples: Int16Array): number {
  if (samples.length === 0) return 0;
  let sum = 0;
  for (const s of samples) sum += (s / 32768) ** 2;
  return Math.sqrt(sum / samples.length);
}
