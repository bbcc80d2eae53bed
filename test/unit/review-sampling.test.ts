import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { reviewReason, sampleDraw } from '../../server/reviews/review-sampling.js';

const rules = { samplePercent: 10, amountThreshold: '500000.00' };

describe('reviewReason', () => {
  it.each([
    ['every escalated session', { escalated: true, amount: '1.00' }, 'ESCALATED'],
    ['escalation wins over the amount', { escalated: true, amount: '900000.00' }, 'ESCALATED'],
    ['an amount at the threshold', { escalated: false, amount: '500000' }, 'AMOUNT'],
    ['an amount above it', { escalated: false, amount: '500000.01' }, 'AMOUNT'],
  ] as const)('selects %s', (_name, input, reason) => {
    expect(reviewReason({ sessionId: randomUUID(), ...input, rules })).toBe(reason);
  });

  it('compares amounts as decimals, not strings or floats', () => {
    expect(reviewReason({ sessionId: '00000000-0000-4000-8000-000000000000', escalated: false, amount: '99999.99', rules: { samplePercent: 0, amountThreshold: '100000' } })).toBeNull();
    expect(reviewReason({ sessionId: '00000000-0000-4000-8000-000000000000', escalated: false, amount: '1000000', rules: { samplePercent: 0, amountThreshold: '999999.99' } })).toBe('AMOUNT');
  });

  it('samples about the configured share of the rest, reproducibly', () => {
    const ids = Array.from({ length: 4000 }, () => randomUUID());
    const picked = ids.filter((id) => reviewReason({ sessionId: id, escalated: false, amount: '1000.00', rules }) === 'SAMPLED');
    expect(picked.length).toBeGreaterThan(300);
    expect(picked.length).toBeLessThan(500);
    for (const id of ids.slice(0, 50)) expect(sampleDraw(id)).toBe(sampleDraw(id));
    expect(ids.every((id) => reviewReason({ sessionId: id, escalated: false, amount: '1', rules: { samplePercent: 0, amountThreshold: undefined } }) === null)).toBe(true);
    expect(ids.every((id) => reviewReason({ sessionId: id, escalated: false, amount: '1', rules: { samplePercent: 100, amountThreshold: undefined } }) === 'SAMPLED')).toBe(true);
  });
});
