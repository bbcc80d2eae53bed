import { describe, expect, it } from 'vitest';
import { loanFileStatusFor, standingOf } from '../../server/verification/loan-file-standing.js';

describe('standingOf', () => {
  it.each([
    [undefined, 'NONE'],
    [{ state: 'CANCELLED', outcome: null }, 'NONE'],
    [{ state: 'COMPLETED', outcome: 'PASSED' }, 'PASSED'],
    [{ state: 'COMPLETED', outcome: 'FAILED' }, 'FAILED'],
    [{ state: 'EXHAUSTED', outcome: null }, 'FAILED'],
    [{ state: 'EXPIRED', outcome: null }, 'FAILED'],
    [{ state: 'ESCALATED', outcome: 'ESCALATED' }, 'PENDING'],
    [{ state: 'IN_PROGRESS', outcome: null }, 'PENDING'],
    [{ state: 'SCHEDULED', outcome: null }, 'PENDING'],
    [{ state: 'COMPLETED', outcome: 'PASSED', review: { status: 'PENDING' } }, 'PENDING'],
    [{ state: 'COMPLETED', outcome: 'PASSED', review: { status: 'RECAPTURE' } }, 'PENDING'],
    [{ state: 'COMPLETED', outcome: 'PASSED', review: { status: 'APPROVED' } }, 'PASSED'],
    [{ state: 'COMPLETED', outcome: 'PASSED', review: { status: 'REJECTED' } }, 'FAILED'],
    [{ state: 'COMPLETED', outcome: 'FAILED', review: { status: 'APPROVED' } }, 'FAILED'],
  ] as const)('%j -> %s', (session, standing) => {
    expect(standingOf(session)).toBe(standing);
  });
});

describe('loanFileStatusFor', () => {
  it.each([
    [[], 'NEW'],
    [['NONE', 'NONE'], 'NEW'],
    [['PENDING'], 'IN_VERIFICATION'],
    [['PASSED', 'NONE'], 'IN_VERIFICATION'],
    [['PASSED', 'PENDING'], 'IN_VERIFICATION'],
    [['PASSED', 'PASSED'], 'VERIFIED'],
    [['PASSED', 'FAILED'], 'FAILED'],
    [['PENDING', 'FAILED'], 'FAILED'],
  ] as const)('%j -> %s', (standings, status) => {
    expect(loanFileStatusFor([...standings])).toBe(status);
  });
});
