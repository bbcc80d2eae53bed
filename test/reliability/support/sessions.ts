// Loan files with one borrower and a confirmation call each, scheduled through the LOS API.
import { randomUUID } from 'node:crypto';
import type { ApiClient } from '../../support/api-client.js';
import { LOAN_TERMS } from '../../support/fixtures.js';
import { inBatches } from './agents.js';

export const PRODUCT = 'consumer-loan';

/** A distinct number per session, answering as the simulator's test row `row` (e.g. '20' busy). */
export function testNumber(index: number, row: string): string {
  return `+8613${String(index).padStart(4, '0')}55501${row}`;
}

export interface ScheduledCall {
  sessionId: string;
  loanFileId: string;
  phone: string;
}

/**
 * Like an LOS: a 5xx or a dropped connection is retried with the same Idempotency-Key (and the same
 * externalRef), so a retry never creates a second loan file or session.
 */
async function withRetry<T>(send: () => Promise<{ status: number; body: T }>, expected: number[]): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      const res = await send();
      if (expected.includes(res.status)) return res.body;
      if (res.status < 500 || attempt >= 8) throw new Error(`${res.status} ${JSON.stringify(res.body)}`);
    } catch (error) {
      if (attempt >= 8 || !(error instanceof TypeError)) throw error;
    }
    await new Promise((r) => setTimeout(r, 250 * attempt));
  }
}

export async function scheduleCalls(los: ApiClient, count: number, options: { row: string; notBefore?: (i: number) => Date; offset?: number }): Promise<ScheduledCall[]> {
  return inBatches(Array.from({ length: count }, (_, i) => i + (options.offset ?? 0)), 4, async (i) => {
    const phone = testNumber(i, options.row);
    const externalRef = `REL-${randomUUID().slice(0, 12)}`;
    const file = await withRetry(
      () =>
        los.post<{ id: string; parties: { id: string }[] }>('/api/loan-files', {
          externalRef,
          product: PRODUCT,
          amount: '80000.00',
          currency: 'CNY',
          terms: LOAN_TERMS,
          parties: [{ role: 'BORROWER', fullName: '可靠性测试', phoneE164: phone, timeZone: 'Asia/Shanghai', locale: 'zh-CN' }],
        }),
      [200, 201],
    );
    const notBefore = options.notBefore?.(i);
    const key = randomUUID();
    const session = await withRetry(
      () =>
        los.post<{ id: string }>(
          `/api/loan-files/${file.id}/sessions`,
          { partyId: file.parties[0]!.id, kind: 'CALL', ...(notBefore ? { notBefore: notBefore.toISOString() } : {}) },
          { 'Idempotency-Key': key },
        ),
      [200, 201],
    );
    return { sessionId: session.id, loanFileId: file.id, phone };
  });
}

/** Calls the LiveKit simulator really placed, per scheduled session: duplicates and misses. */
export function dialCounts(calls: { callsTo(phone: string): number }, scheduled: ScheduledCall[]): { duplicates: number; missed: number } {
  let duplicates = 0;
  let missed = 0;
  for (const s of scheduled) {
    const n = calls.callsTo(s.phone);
    if (n === 0) missed += 1;
    duplicates += Math.max(0, n - 1);
  }
  return { duplicates, missed };
}
