// The automated call's pure parts: the script it speaks, the keypad, the WAV reader, the voice detector
// and the RFC 2833 pcap the SIPp phone plays.
import { describe, expect, it } from 'vitest';
import { loadTemplateFiles } from '../../server/checklists/templates.js';
import { templateDocumentSchema } from '../../server/checklists/template.schema.js';
import { promptValues, parseTermsSnapshot } from '../../server/loan-files/loan-terms.js';
import { buildScript, keypadAnswer, PHRASES, scriptLocale, unfilledPlaceholders } from '../../server/automated-calls/script.js';
import { EspeakSynthesizer, parseWav, rms } from '../../server/automated-calls/speech.js';
import { EnergyVoiceDetector } from '../../server/automated-calls/speech-recognition.js';
import { dtmfPcap, repeatedPresses } from '../../dev/real-livekit/dtmf-pcap.js';
import { LOAN_TERMS } from '../support/fixtures.js';

const terms = parseTermsSnapshot({ ...LOAN_TERMS, amount: '80000.00', currency: 'CNY' });

async function automatedTemplate() {
  return (await loadTemplateFiles()).find((d) => d.key === 'call-automated')!;
}

describe('the automated script', () => {
  it('speaks every item of the shipped template in order with the terms filled in, asking for a key on each required one', async () => {
    const doc = await automatedTemplate();
    expect(doc.automatedCall).toBe(true);
    const values = promptValues(terms, { phoneE164: '+8613805550170' })['zh-CN'];
    const steps = buildScript(doc, [], values, 'zh-CN');
    expect(steps.map((s) => `${s.kind}:${s.itemId}`)).toEqual([
      'ask:consent_recording',
      'ask:identity_phone_owner',
      'ask:willingness_self_applied',
      'ask:loan_amount_term',
      'ask:fees_rate_disclosure',
      'say:closing_statement',
    ]);
    expect(unfilledPlaceholders(steps)).toEqual([]);
    expect(steps[1]!.text).toContain('尾号0170');
    expect(steps[3]!.text).toContain('6,824.79');
    expect(steps.filter((s) => s.kind === 'ask').every((s) => s.text.endsWith(PHRASES['zh-CN'].keypad))).toBe(true);
    expect(steps[5]!.text).not.toContain(PHRASES['zh-CN'].keypad);
  });

  it('follows the session order, skips the agent-only assessment and says which placeholders it could not fill', async () => {
    const doc = (await loadTemplateFiles()).find((d) => d.key === 'call-default' && d.version === 2)!;
    const steps = buildScript(doc, ['fees_rate_disclosure', 'risk_assessment', 'consent_recording'], {}, 'en');
    expect(steps.map((s) => `${s.kind}:${s.itemId}`)).toEqual(['ask:fees_rate_disclosure', 'ask:consent_recording']);
    expect(unfilledPlaceholders(steps)).toEqual(['apr', 'fees', 'agentName', 'lenderName']);
  });

  it('reads the keypad: 1 confirms, 2 denies, 9 repeats, anything else is no answer', () => {
    expect(['1', '2', '9', '0', '*', '#'].map(keypadAnswer)).toEqual(['CONFIRMED', 'DENIED', 'REPEAT', undefined, undefined, undefined]);
  });

  it('speaks English only to English parties', () => {
    expect([scriptLocale('en'), scriptLocale('en-GB'), scriptLocale('zh-CN'), scriptLocale('zh')]).toEqual(['en', 'en', 'zh-CN', 'zh-CN']);
  });

  it('refuses an automated template that is not a call or that names the agent', async () => {
    const doc = structuredClone(await automatedTemplate());
    const issues = (input: unknown) => {
      const r = templateDocumentSchema.safeParse(input);
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(issues(doc)).toEqual([]);
    expect(issues({ ...doc, kind: 'VIDEO' })).toEqual(['automatedCall: only CALL templates can be automated calls']);
    const named = structuredClone(doc);
    named.sections[0]!.items[0]!.prompt = { 'zh-CN': '我是{agentName}', en: 'I am {agentName}' };
    expect(issues(named)).toEqual(['automatedCall: an automated call has no agent: its prompts cannot use {agentName}']);
  });
});

describe('speech', () => {
  it('espeak-ng speaks Mandarin and English as 16-bit PCM that is not silence', async () => {
    const tts = new EspeakSynthesizer({ command: 'espeak-ng', wordsPerMinute: 175 });
    for (const [text, locale] of [['确认请按1', 'zh-CN'], ['Press 1 to confirm', 'en']] as const) {
      const pcm = await tts.synthesize(text, locale);
      expect(pcm.sampleRate).toBe(22_050);
      expect(pcm.samples.length / pcm.sampleRate).toBeGreaterThan(0.5);
      expect(rms(pcm.samples)).toBeGreaterThan(0.02);
    }
  });

  it('a failing speech program is an error, not silence', async () => {
    await expect(new EspeakSynthesizer({ command: 'false', wordsPerMinute: 175 }).synthesize('x', 'en')).rejects.toThrow(/false exited with 1/);
  });

  it('reads a WAV whose sizes are unknown (written to a pipe) to the end of the data', () => {
    const header = Buffer.alloc(44);
    header.write('RIFF', 0);
    header.writeUInt32LE(0xffffffff, 4);
    header.write('WAVE', 8);
    header.write('fmt ', 12);
    header.writeUInt32LE(16, 16);
    header.writeUInt16LE(1, 20);
    header.writeUInt16LE(1, 22);
    header.writeUInt32LE(16_000, 24);
    header.writeUInt32LE(32_000, 28);
    header.writeUInt16LE(2, 32);
    header.writeUInt16LE(16, 34);
    header.write('data', 36);
    header.writeUInt32LE(0xffffffff, 40);
    const data = Buffer.alloc(6);
    data.writeInt16LE(1000, 0);
    data.writeInt16LE(-1000, 2);
    data.writeInt16LE(32767, 4);
    expect(parseWav(Buffer.concat([header, data]))).toEqual({ sampleRate: 16_000, samples: new Int16Array([1000, -1000, 32767]) });
    expect(() => parseWav(Buffer.from('not a wav file at all'))).toThrow(/not a WAV/);
  });
});

describe('the voice detector', () => {
  const tone = (seconds: number, amplitude: number, rate = 16_000) =>
    Int16Array.from({ length: Math.round(seconds * rate) }, (_, i) => Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * 220 * i) / rate)));
  const noise = (seconds: number, amplitude: number, rate = 16_000) => Int16Array.from({ length: Math.round(seconds * rate) }, (_, i) => Math.round(amplitude * 32767 * Math.sin(i * 12.9898) ));

  it('hears that the party spoke and for how long, over a quiet line', () => {
    const detector = new EnergyVoiceDetector();
    detector.push({ sampleRate: 16_000, samples: noise(1, 0.002) });
    detector.push({ sampleRate: 16_000, samples: tone(0.6, 0.3) });
    const heard = detector.heard();
    expect(heard.kind).toBe('speech');
    expect(heard.kind === 'speech' ? heard.durationMs : 0).toBeGreaterThanOrEqual(560);
  });

  it('calls line noise and short clicks silence, and forgets on reset', () => {
    const detector = new EnergyVoiceDetector();
    detector.push({ sampleRate: 16_000, samples: noise(2, 0.002) });
    detector.push({ sampleRate: 16_000, samples: tone(0.1, 0.3) });
    expect(detector.heard()).toEqual({ kind: 'silence' });
    detector.push({ sampleRate: 16_000, samples: tone(0.5, 0.3) });
    expect(detector.heard().kind).toBe('speech');
    detector.reset();
    expect(detector.heard()).toEqual({ kind: 'silence' });
  });
});

describe('the RFC 2833 capture', () => {
  it('writes each press as 7 rising-duration packets and 3 end packets with payload type 101, at the chosen times', () => {
    const pcap = dtmfPcap(repeatedPresses('1', { startSeconds: 0.5, everySeconds: 1.5, untilSeconds: 3.5 }));
    expect(pcap.readUInt32LE(0)).toBe(0xa1b2c3d4);
    const packets: { timeMs: number; pt: number; marker: boolean; event: number; end: boolean; duration: number }[] = [];
    let first: number | undefined;
    for (let off = 24; off < pcap.length; ) {
      const sec = pcap.readUInt32LE(off);
      const usec = pcap.readUInt32LE(off + 4);
      const len = pcap.readUInt32LE(off + 8);
      const rtp = pcap.subarray(off + 16 + 42, off + 16 + len);
      const t = sec * 1000 + usec / 1000;
      first ??= t - 500;
      packets.push({ timeMs: Math.round(t - first), pt: rtp[1]! & 0x7f, marker: (rtp[1]! & 0x80) !== 0, event: rtp[12]!, end: (rtp[13]! & 0x80) !== 0, duration: rtp.readUInt16BE(14) });
      off += 16 + len;
    }
    expect(packets).toHaveLength(20);
    expect(new Set(packets.map((p) => p.pt))).toEqual(new Set([101]));
    expect(new Set(packets.map((p) => p.event))).toEqual(new Set([1]));
    expect(packets.filter((p) => p.marker).map((p) => p.timeMs)).toEqual([500, 2000]);
    expect(packets.slice(0, 10).map((p) => [p.end, p.duration])).toEqual([
      [false, 160], [false, 320], [false, 480], [false, 640], [false, 800], [false, 960], [false, 1120], [true, 1280], [true, 1280], [true, 1280],
    ]);
  });
});
