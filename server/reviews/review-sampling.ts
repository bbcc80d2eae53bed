// Which completed sessions a compliance auditor must review (maker-checker). Pure. The "random"
// share is drawn from the session id, so the selection is reproducible: an auditor can re-derive
// years later why a session was or was not sampled.
import { createHash } from 'node:crypto';

export type ReviewReason = 'ESCALATED' | 'AMOUNT' | 'SAMPLED';

export interface SamplingInput {
  sessionId: string;
  /** The session went through a supervisor's decision. */
  escalated: boolean;
  /** The loan amount, as a decimal string. */
  amount: string;
  rules: { samplePercent: number; amountThreshold: string | undefined };
}

/** A number in [0, 1) derived from the session id. */
export function sampleDraw(sessionId: string): number {
  return createHash('sha256').update(`review-sample:${sessionId}`).digest().readUInt32BE(0) / 2 ** 32;
}

function decimalAtLeast(amount: string, threshold: string): boolean {
  const [ai = '0', af = ''] = amount.split('.');
  const [ti = '0', tf = ''] = threshold.split('.');
  const a = BigInt(ai) * 100n + BigInt((af + '00').slice(0, 2));
  const t = BigInt(ti) * 100n + BigInt((tf + '00').slice(0, 2));
  return a >= t;
}

export function reviewReason(input: SamplingInput): ReviewReason | null {
  if (input.escalated) return 'ESCALATED';
  if (input.rules.amountThreshold !== undefined && decimalAtLeast(input.amount, input.rules.amountThreshold)) return 'AMOUNT';
  return sampleDraw(input.sessionId) < input.rules.samplePercent / 100 ? 'SAMPLED' : null;
}
