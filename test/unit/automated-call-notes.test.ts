// The automated call's notes and hand-off reasons: stored as codes with values, worded by the console in
// both languages (never as the code, never with a placeholder left), and kept in English on the answer.
import { describe, expect, it } from 'vitest';
import { automatedNoteText, type AutomatedNote } from '../../server/automated-calls/notes.js';
import { HAND_OFF_REASONS } from '../../server/automated-calls/script.js';

// The console's catalogue is compiled with the console's module settings, not the server's: load it at run
// time and name only what this test uses.
interface ConsoleLabels {
  automatedNote(code: string, params: Record<string, string | number> | null, fallback: string | null): string | null;
  handOffReason(code: string): string;
  mode(code: string): string;
}
const LABELS_MODULE = '../../agent-console/src/shared/labels.ts';
const { labelsFor } = (await import(LABELS_MODULE)) as { labelsFor(locale: 'en' | 'zh-CN'): ConsoleLabels };

const NOTES: AutomatedNote[] = [
  { code: 'NO_KEY', params: { seconds: 8 } },
  { code: 'NO_KEY_SPOKE', params: { seconds: 8, spokeSeconds: 1.2 } },
  { code: 'DENIED_KEY', params: {} },
  { code: 'REPEATS_USED', params: { times: 3, lastKey: '#' } },
];

describe('automated call notes', () => {
  it('keep the English wording the answer row has always carried', () => {
    expect(NOTES.map(automatedNoteText)).toEqual([
      'automated call: no key pressed within 8 s',
      'automated call: no key pressed within 8 s; the party spoke (1.2 s)',
      'automated call: the party pressed 2',
      'automated call: no answer after the question was spoken 3 times (last key: #)',
    ]);
  });

  it.each(['en', 'zh-CN'] as const)('are worded in %s from the code and its values', (locale) => {
    const labels = labelsFor(locale);
    for (const note of NOTES) {
      const text = labels.automatedNote(note.code, note.params, 'FALLBACK');
      expect(text).not.toBe('FALLBACK');
      expect(text).not.toMatch(/[{}]|[A-Z]{2,}_[A-Z]/);
      for (const value of Object.values(note.params)) expect(text).toContain(String(value));
    }
    expect(labelsFor(locale).automatedNote('NO_KEY', null, 'stored English')).toBe('stored English');
    expect(labelsFor(locale).automatedNote('SOMETHING_NEW', {}, 'stored English')).toBe('stored English');
  });

  it.each(['en', 'zh-CN'] as const)('name every hand-off reason and the mode in %s', (locale) => {
    const labels = labelsFor(locale);
    const words = [...HAND_OFF_REASONS.map((r) => labels.handOffReason(r)), labels.mode('AUTOMATED_CALL'), labels.mode('AGENT')];
    expect(new Set(words).size).toBe(words.length);
    for (const word of words) expect(word).not.toMatch(/_|^[A-Z ]+$/);
    if (locale === 'zh-CN') for (const word of words) expect(word).toMatch(/[\u4e00-\u9fff]/);
  });
});
