// Where a contract states the loan's key terms. The session's terms snapshot (amount, term, APR, fees,
// instalment, due day, lender, collateral) becomes one pattern per term, written the ways a contract
// prints it (80,000.00 / 80000 / ¥80,000.00 元 / 8万元; 4.35% / 4.3500 %; 每月 15 日 / the 15th of each
// month; the lender's and collateral's words in either language); the patterns are run over a PDF page's
// text runs, and each match becomes boxes on the page. Pure: pdf-page.tsx supplies the text and the
// measuring.

import type { components } from './api-schema.js';

export const TERM_KEYS = ['amount', 'term', 'apr', 'fees', 'repaymentMethod', 'instalment', 'dueDay', 'lenderName', 'collateral'] as const;
export type TermKey = (typeof TERM_KEYS)[number];

/**
 * The session's terms snapshot as the server sends it (loanTerms). The document describes the decimals as
 * the server accepts them (string or number); it sends strings, and a number would read the same.
 */
export type TermsSnapshot = NonNullable<components['schemas']['LoanTermsSnapshot']>;

/** What each term reads as, per language (the server's `values`). */
export type TermValues = Partial<components['schemas']['PromptValues']>;

export interface TermPattern {
  term: TermKey;
  pattern: RegExp;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Words as printed: any run of spaces may be a line break or none at all between CJK characters. */
const words = (text: string) =>
  text
    .trim()
    .split(/\s+/)
    .map(escape)
    .join('\\s*');

const GROUP_SEPARATOR = '[,，\\u00a0\\u202f\\u2009 ]?';
const NOT_AFTER_NUMBER = '(?<![\\d.,，])';
const NOT_BEFORE_NUMBER = '(?![\\d]|[.,，]\\d)';

/** A decimal's digits with or without thousands separators, and its decimals with any trailing zeros. */
function numberPattern(decimal: string): string {
  const [whole = '0', fraction = ''] = decimal.split('.');
  const integer = String(Number.parseInt(whole, 10));
  const groups: string[] = [];
  for (let end = integer.length; end > 0; end -= 3) groups.unshift(integer.slice(Math.max(0, end - 3), end));
  const significant = fraction.replace(/0+$/, '');
  const decimals = significant ? `[.．]${significant}0*` : '(?:[.．]0+)?';
  return `${groups.join(GROUP_SEPARATOR)}${decimals}`;
}

/** An amount of money, with its currency sign or 元 when printed next to it; also as 万 when it is a round number. */
function moneyPattern(amount: string): string {
  const plain = `${NOT_AFTER_NUMBER}(?:(?:[¥￥]|CNY|RMB|人民币)\\s?)?${numberPattern(amount)}${NOT_BEFORE_NUMBER}(?:\\s?元)?`;
  const value = Number(amount);
  if (!(value >= 10_000 && Number.isInteger(value / 100))) return plain;
  const tenThousands = String(value / 10_000);
  return `${plain}|${NOT_AFTER_NUMBER}${escape(tenThousands)}\\s?万元?`;
}

/** One pattern per term the snapshot holds (fees: one alternative per fee amount). */
export function termPatterns(terms: TermsSnapshot, values: TermValues = {}): TermPattern[] {
  const out: TermPattern[] = [];
  const add = (term: TermKey, source: string | undefined) => {
    if (source) out.push({ term, pattern: new RegExp(source, 'giu') });
  };
  const wordsOf = (key: TermKey, extra: (string | undefined)[] = []) =>
    [...new Set([values['zh-CN']?.[key], values.en?.[key], ...extra].filter((v): v is string => Boolean(v && v.trim().length >= 2)))]
      .sort((a, b) => b.length - a.length)
      .map(words)
      .join('|') || undefined;

  add('amount', moneyPattern(terms.amount));
  if (terms.apr !== undefined) add('apr', `${NOT_AFTER_NUMBER}${numberPattern(String(terms.apr))}\\s?[%％]`);
  if (terms.termMonths !== undefined) {
    const months = `${NOT_AFTER_NUMBER}${terms.termMonths}\\s?(?:个月|期|-?months?\\b)`;
    add('term', terms.termMonths % 12 === 0 ? `${months}|${NOT_AFTER_NUMBER}${terms.termMonths / 12}\\s?(?:年(?![\\d月])|-?years?\\b)` : months);
  }
  if (terms.instalmentAmount !== undefined) add('instalment', moneyPattern(String(terms.instalmentAmount)));
  if (terms.dueDay !== undefined) {
    const d = terms.dueDay;
    add('dueDay', `每月\\s?${d}\\s?[日号]|${NOT_AFTER_NUMBER}${d}(?:st|nd|rd|th)?\\s+(?:day\\s+)?of\\s+(?:each|every)\\s+month|day\\s+${d}\\s+of\\s+(?:each|every)\\s+month`);
  }
  if (terms.fees && terms.fees.length > 0) add('fees', terms.fees.map((f) => moneyPattern(String(f.amount))).join('|'));
  add('repaymentMethod', wordsOf('repaymentMethod'));
  add('lenderName', wordsOf('lenderName', [terms.lenderName?.['zh-CN'], terms.lenderName?.en]));
  if (terms.collateral) add('collateral', wordsOf('collateral', [terms.collateral['zh-CN'], terms.collateral.en]));
  return out;
}

/** One text run of a page, as pdf.js gives it (getTextContent().items). */
export interface TextRun {
  str: string;
  hasEOL?: boolean;
}

/** A stated term: where in which runs (a term printed across two runs has two segments). */
export interface FoundTerm {
  term: TermKey;
  text: string;
  segments: { run: number; start: number; end: number }[];
}

/**
 * Every place the page's runs state a term, in reading order. Runs are read as one text (a line's end as
 * a line break), so a number split over two runs is still found; where two terms claim the same
 * characters, the longer statement wins, then the earlier term.
 */
export function findTerms(runs: readonly TextRun[], patterns: readonly TermPattern[]): FoundTerm[] {
  let text = '';
  const starts: number[] = [];
  for (const run of runs) {
    starts.push(text.length);
    text += run.str + (run.hasEOL ? '\n' : '');
  }
  const candidates: { term: TermKey; start: number; end: number; rank: number }[] = [];
  patterns.forEach(({ term, pattern }, rank) => {
    for (const m of text.matchAll(new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`))) {
      const at = m.index ?? 0;
      const trimmed = m[0].trimEnd();
      if (trimmed.length > 0) candidates.push({ term, start: at, end: at + trimmed.length, rank });
    }
  });
  candidates.sort((a, b) => b.end - b.start - (a.end - a.start) || a.rank - b.rank || a.start - b.start);
  const taken: { start: number; end: number }[] = [];
  const kept = candidates.filter((c) => {
    if (taken.some((t) => c.start < t.end && t.start < c.end)) return false;
    taken.push(c);
    return true;
  });
  kept.sort((a, b) => a.start - b.start);
  return kept.map((c) => {
    const segments: FoundTerm['segments'] = [];
    runs.forEach((run, i) => {
      const from = Math.max(c.start, starts[i]!);
      const to = Math.min(c.end, starts[i]! + run.str.length);
      if (from < to) segments.push({ run: i, start: from - starts[i]!, end: to - starts[i]! });
    });
    return { term: c.term, text: text.slice(c.start, c.end), segments };
  });
}

/** A text run with its place on the page: pdf.js's item transform and width, in PDF units. */
export interface PlacedRun extends TextRun {
  transform: number[];
  width: number;
  /** Ascent of its font as a fraction of the font size (pdf.js styles[fontName].ascent), when known. */
  ascent?: number | undefined;
}

export interface Box {
  term: TermKey;
  left: number;
  top: number;
  width: number;
  height: number;
}

/** pdf.js's Util.transform: the product of two affine matrices [a, b, c, d, e, f]. */
function multiply(m1: readonly number[], m2: readonly number[]): number[] {
  const [a1 = 0, b1 = 0, c1 = 0, d1 = 0, e1 = 0, f1 = 0] = m1;
  const [a2 = 0, b2 = 0, c2 = 0, d2 = 0, e2 = 0, f2 = 0] = m2;
  return [a1 * a2 + c1 * b2, b1 * a2 + d1 * b2, a1 * c2 + c1 * d2, b1 * c2 + d1 * d2, a1 * e2 + c1 * f2 + e1, b1 * e2 + d1 * f2 + f1];
}

/** How wide a run's text is relative to itself, when nothing better is at hand: CJK full width, the rest about half. */
export function roughWidth(text: string): number {
  let width = 0;
  for (const ch of text) width += /[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]/u.test(ch) ? 1 : 0.55;
  return width;
}

/**
 * Boxes (in the viewport's pixels) over each found term. `viewport` is pdf.js's viewport transform and
 * scale; `measure(text, run)` gives a width of `text` in the run's font (any unit: only ratios are used).
 * Horizontal text only: a run set at an angle gets no box.
 */
export function termBoxes(found: readonly FoundTerm[], runs: readonly PlacedRun[], viewport: { transform: number[]; scale: number }, measure: (text: string, run: number) => number = roughWidth): Box[] {
  const boxes: Box[] = [];
  for (const f of found) {
    for (const seg of f.segments) {
      const run = runs[seg.run];
      if (!run) continue;
      const tx = multiply(viewport.transform, run.transform);
      if (Math.abs(tx[1]!) > 1e-6 || Math.abs(tx[2]!) > 1e-6) continue;
      const fontHeight = Math.hypot(tx[2]!, tx[3]!);
      const runWidth = run.width * viewport.scale;
      const whole = measure(run.str, seg.run) || 1;
      const x0 = (measure(run.str.slice(0, seg.start), seg.run) / whole) * runWidth;
      const x1 = (measure(run.str.slice(0, seg.end), seg.run) / whole) * runWidth;
      const ascent = run.ascent && run.ascent > 0 ? run.ascent : 0.8;
      boxes.push({ term: f.term, left: tx[4]! + x0, top: tx[5]! - fontHeight * ascent, width: Math.max(1, x1 - x0), height: fontHeight });
    }
  }
  return boxes;
}
