import { describe, expect, it } from 'vitest';
import { decideMaturityChange, maturityBeforeCreation, type MaturityChange } from '../../server/loan-files/maturity-change.js';
import type { RetentionRules } from '../../recordings/retention.js';

const d = (iso: string): Date => new Date(iso);
const RULES: RetentionRules = { yearsAfterMaturity: 5, minMonthsAfterMaturity: 6, yearsWithoutMaturity: 10, minMonthsAfterVerification: 36 };
const CREATED = d('2026-11-23T10:00:00.000Z');
const VERIFIED = d('2026-11-25T09:00:00.000Z');

const change = (over: Partial<MaturityChange>): MaturityChange => ({
  createdAt: CREATED,
  from: d('2031-06-30'),
  to: d('2031-06-30'),
  verifiedAt: [VERIFIED],
  rules: RULES,
  byAdmin: false,
  reason: undefined,
  ...over,
});

describe('maturityBeforeCreation', () => {
  it.each([
    ['the day before creation', '2026-11-22', true],
    ['the day of creation (any time of it)', '2026-11-23', false],
    ['the day after', '2026-11-24', false],
    ['the distant past', '1990-01-01', true],
  ])('%s', (_case, maturity, expected) => {
    expect(maturityBeforeCreation(d(maturity), CREATED)).toBe(expected);
  });
});

describe('decideMaturityChange', () => {
  it.each<[string, Partial<MaturityChange>, string]>([
    ['a later date, by the LOS', { to: d('2032-06-30') }, 'allowed'],
    ['an earlier date without recordings, by the LOS', { to: d('2027-01-31'), verifiedAt: [] }, 'allowed'],
    ['a date before creation, even by an admin with a reason', { to: d('1990-01-01'), byAdmin: true, reason: 'x' }, 'before-creation'],
    ['the day before creation', { to: d('2026-11-22') }, 'before-creation'],
    ['removing the date is never "before creation"', { to: null, from: d('2027-01-31') }, 'allowed'],
    ['an earlier date with a recording, by the LOS or a supervisor', { to: d('2027-01-31') }, 'needs-admin'],
    ['... with a reason, still not theirs to make', { to: d('2027-01-31'), reason: 'repaid early' }, 'needs-admin'],
    ['... by an admin without a reason', { to: d('2027-01-31'), byAdmin: true }, 'needs-reason'],
    ['... by an admin with a reason', { to: d('2027-01-31'), byAdmin: true, reason: 'repaid early' }, 'allowed'],
    ['a recording not verified yet counts as verified now: still cut', { to: d('2027-01-31'), verifiedAt: [d('2026-12-05T00:00:00.000Z')] }, 'needs-admin'],
    ['an earlier date the floor fully absorbs cuts nothing', { from: d('2027-01-31'), to: d('2026-12-31'), verifiedAt: [d('2030-01-01T00:00:00.000Z')] }, 'allowed'],
    ['supplying a date that ends retention sooner than 10 years after verification', { from: null, to: d('2029-12-31') }, 'needs-admin'],
  ])('%s', (_case, over, expected) => {
    expect(decideMaturityChange(change(over)).kind).toBe(expected);
  });

  it('says which recordings lose how much, and the day creation fell on', () => {
    expect(decideMaturityChange(change({ to: d('2027-01-31'), byAdmin: true, reason: 'repaid early' }))).toEqual({
      kind: 'allowed',
      cut: { recordings: 1, from: d('2036-06-30T00:00:00.000Z'), to: d('2032-01-31T00:00:00.000Z') },
    });
    expect(decideMaturityChange(change({ to: d('2000-01-01') }))).toEqual({ kind: 'before-creation', createdOn: '2026-11-23' });
  });
});
