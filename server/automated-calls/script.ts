// What an automated confirmation call says and how it reads the keypad: pure, no I/O. The script is
// the session's pinned checklist in its pinned order, with the loan's terms filled in, in the party's
// language; each item the party must answer ends with the keypad instruction.
import type { TemplateDocument, TemplateItem } from '../checklists/template.schema.js';
import { renderPrompt, type PromptLocale } from '../loan-files/loan-terms.js';

export type ScriptStep =
  /** Spoken, then the party answers on the keypad. */
  | { kind: 'ask'; itemId: string; required: boolean; text: string }
  /** Spoken only (an optional statement such as the closing words). */
  | { kind: 'say'; itemId: string; text: string };

export type KeypadAnswer = 'CONFIRMED' | 'DENIED' | 'REPEAT';

/**
 * Why the automated part stopped and a person takes over (VerificationSession.handOffReason).
 * NOT_RECORDED: the call's recording did not start, so the bot asked nothing (its questions and the
 * party's keys are evidence only on the recording).
 */
export const HAND_OFF_REASONS = ['DENIED', 'UNCLEAR', 'NO_INPUT', 'HUNG_UP', 'BOT_FAILED', 'NOT_RECORDED'] as const;
export type HandOffReason = (typeof HAND_OFF_REASONS)[number];

export const PHRASES: Record<PromptLocale, { keypad: string; invalidKey: string; handOff: string }> = {
  'zh-CN': {
    keypad: '确认请按1，否认请按2，重听请按9。',
    invalidKey: '没有识别到有效按键。',
    handOff: '感谢您的接听。稍后将由我们的工作人员与您联系。再见。',
  },
  en: {
    keypad: 'Press 1 to confirm, 2 to deny, or 9 to hear this again.',
    invalidKey: 'That key is not one of the choices.',
    handOff: 'Thank you. One of our staff will call you back shortly. Goodbye.',
  },
};

/** The party's locale as the script speaks it: Chinese unless the party's locale is English. */
export function scriptLocale(language: string): PromptLocale {
  return language.toLowerCase().startsWith('en') ? 'en' : 'zh-CN';
}

/** 1 confirms, 2 denies, 9 repeats; any other key is not an answer. */
export function keypadAnswer(digit: string): KeypadAnswer | undefined {
  switch (digit) {
    case '1':
      return 'CONFIRMED';
    case '2':
      return 'DENIED';
    case '9':
      return 'REPEAT';
    default:
      return undefined;
  }
}

/**
 * The steps in the session's item order. Items for the agent only (risk assessment) are not spoken;
 * a statement is asked when it is required (the party confirms they heard and accept it), else said.
 */
export function buildScript(doc: Pick<TemplateDocument, 'sections'>, itemOrder: readonly string[], values: Record<string, string>, locale: PromptLocale): ScriptStep[] {
  const items = new Map<string, TemplateItem>(doc.sections.flatMap((s) => s.items.map((i) => [i.id, i] as const)));
  const order = itemOrder.length > 0 ? itemOrder : [...items.keys()];
  return order.flatMap((id): ScriptStep[] => {
    const item = items.get(id);
    if (!item || item.kind === 'risk_assessment') return [];
    const text = renderPrompt(item.prompt[locale], values);
    if (item.kind === 'statement' && !item.required) return [{ kind: 'say', itemId: id, text }];
    return [{ kind: 'ask', itemId: id, required: item.required, text: `${text} ${PHRASES[locale].keypad}` }];
  });
}

/** Placeholders left unfilled in a script: the bot must never read a variable name to the party. */
export function unfilledPlaceholders(steps: readonly ScriptStep[]): string[] {
  return [...new Set(steps.flatMap((s) => Array.from(s.text.matchAll(/\{([A-Za-z][A-Za-z0-9]*)\}/g), (m) => m[1]!)))];
}
