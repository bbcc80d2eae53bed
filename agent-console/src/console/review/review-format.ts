// What the review page's parts share: the message keys, which recordings play, and how offsets,
// amounts and download names are written.
import type { reviewMessages } from './messages';

export type Key = keyof (typeof reviewMessages)['en'];
export const PLAYABLE = new Set(['VERIFIED', 'RETAINED']);

/** The file name extension a download gets from its content type. */
export function fileExtension(contentType: string | null): string {
  const subtype = contentType?.split(';')[0]?.split('/')[1] ?? '';
  return { ogg: 'ogg', webm: 'webm', mp4: 'mp4', mpeg: 'mp3', png: 'png', jpeg: 'jpg' }[subtype] ?? 'bin';
}

export function formatMoney(amount: string, currency: string, locale: string): string {
  try {
    return new Intl.NumberFormat(locale, { style: 'currency', currency }).format(Number(amount));
  } catch {
    return `${amount} ${currency}`;
  }
}

/** m:ss.t — offsets are precise to a tenth of a second on the timeline. */
export function formatOffset(ms: number): string {
  const tenths = Math.floor(ms / 100);
  const m = Math.floor(tenths / 600);
  const s = Math.floor((tenths % 600) / 10);
  return `${m}:${String(s).padStart(2, '0')}.${tenths % 10}`;
}

/** A point on the recording's timeline: an answer, a flag, a presented contract page or the signing. */
export interface Mark {
  key: string;
  kind: 'answer' | 'flag' | 'signing' | 'page';
  attemptId: string | null;
  offsetMs: number;
  label: string;
  /** For answers: the prompt as written, shown with its terms, and the agent's (or the automated call's) note. */
  prompt?: string;
  note?: string | null;
  byBot?: boolean;
  detail: string;
  tone: string;
}
