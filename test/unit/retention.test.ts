import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addMonthsUtc,
  addYearsUtc,
  decideEnforcement,
  deletionRefusal,
  lockModeOf,
  mirrorsLegalHold,
  planRecompute,
  planRetention,
  retainUntil,
  retentionCut,
  retentionDate,
  type Enforcement,
  type RetentionRules,
} from '../../recordings/retention.js';

const d = (iso: string): Date => new Date(iso);
const rules = (yearsAfterMaturity: number, minMonthsAfterMaturity: number, yearsWithoutMaturity = 10, minMonthsAfterVerification = 0): RetentionRules => ({
  yearsAfterMaturity,
  minMonthsAfterMaturity,
  yearsWithoutMaturity,
  minMonthsAfterVerification,
});
const VERIFIED = '2026-11-23T10:00:00.000Z';

describe('addMonthsUtc', () => {
  it.each([
    ['31 Jan + 1 month clamps to 28 Feb', '2027-01-31T00:00:00.000Z', 1, '2027-02-28T00:00:00.000Z'],
    ['31 Jan + 1 month clamps to 29 Feb in a leap year', '2028-01-31T00:00:00.000Z', 1, '2028-02-29T00:00:00.000Z'],
    ['2100 is not a leap year', '2100-01-31T00:00:00.000Z', 1, '2100-02-28T00:00:00.000Z'],
    ['2000 is a leap year', '2000-01-31T00:00:00.000Z', 1, '2000-02-29T00:00:00.000Z'],
    ['31 Aug + 1 month clamps to 30 Sep', '2027-08-31T00:00:00.000Z', 1, '2027-09-30T00:00:00.000Z'],
    ['30 Apr + 1 month stays on the 30th', '2027-04-30T00:00:00.000Z', 1, '2027-05-30T00:00:00.000Z'],
    ['crosses the year end', '2027-12-31T00:00:00.000Z', 2, '2028-02-29T00:00:00.000Z'],
    ['keeps the time of day', '2027-01-31T23:59:59.999Z', 1, '2027-02-28T23:59:59.999Z'],
    ['zero months is the same instant', '2027-05-17T08:30:00.000Z', 0, '2027-05-17T08:30:00.000Z'],
    ['negative months go back', '2027-03-31T00:00:00.000Z', -1, '2027-02-28T00:00:00.000Z'],
    ['many months', '2027-03-31T00:00:00.000Z', 18, '2028-09-30T00:00:00.000Z'],
  ])('%s', (_case, from, months, expected) => {
    expect(addMonthsUtc(d(from), months).toISOString()).toBe(expected);
  });

  it('does not mistake years below 100 for the 1900s', () => {
    const early = new Date(0);
    early.setUTCFullYear(50, 0, 31);
    const result = addMonthsUtc(early, 1);
    expect([result.getUTCFullYear(), result.getUTCMonth(), result.getUTCDate()]).toEqual([50, 1, 28]);
  });

  it('refuses fractional months and invalid dates', () => {
    expect(() => addMonthsUtc(d(VERIFIED), 1.5)).toThrow(RangeError);
    expect(() => addMonthsUtc(new Date(Number.NaN), 1)).toThrow(RangeError);
  });
});

describe('addYearsUtc', () => {
  it.each([
    ['29 Feb + 1 year is 28 Feb', '2028-02-29T00:00:00.000Z', 1, '2029-02-28T00:00:00.000Z'],
    ['29 Feb + 4 years is 29 Feb again', '2028-02-29T00:00:00.000Z', 4, '2032-02-29T00:00:00.000Z'],
    ['29 Feb + 72 years lands on 2100, not a leap year', '2028-02-29T00:00:00.000Z', 72, '2100-02-28T00:00:00.000Z'],
    ['an ordinary date', '2027-06-15T12:00:00.000Z', 5, '2032-06-15T12:00:00.000Z'],
  ])('%s', (_case, from, years, expected) => {
    expect(addYearsUtc(d(from), years).toISOString()).toBe(expected);
  });
});

describe('retainUntil', () => {
  it.each<[string, string | null, string, RetentionRules, string]>([
    ['5 years after maturity outweighs 6 months', '2027-03-31T00:00:00.000Z', VERIFIED, rules(5, 6), '2032-03-31T00:00:00.000Z'],
    ['6 months after maturity when the years rule is 0 (双录: product end + 6 months)', '2027-08-31T00:00:00.000Z', VERIFIED, rules(0, 6), '2028-02-29T00:00:00.000Z'],
    ['the months rule wins when it is longer', '2027-03-31T00:00:00.000Z', VERIFIED, rules(1, 18), '2028-09-30T00:00:00.000Z'],
    ['a maturity on 29 Feb, kept one year, ends on 28 Feb', '2028-02-29T00:00:00.000Z', VERIFIED, rules(1, 0), '2029-02-28T00:00:00.000Z'],
    ['a loan that ended long before verification is kept until verification (no floor)', '2010-01-31T00:00:00.000Z', VERIFIED, rules(5, 6), VERIFIED],
    ['... and with a floor, that many months after verification', '2010-01-31T00:00:00.000Z', VERIFIED, rules(5, 6, 10, 36), '2029-11-23T10:00:00.000Z'],
    ['a maturity set to the day of verification still keeps it for the floor when the rules are short', '2026-11-23T00:00:00.000Z', VERIFIED, rules(0, 6, 10, 36), '2029-11-23T10:00:00.000Z'],
    ['the floor does not shorten a longer maturity rule', '2031-06-30T00:00:00.000Z', VERIFIED, rules(5, 6, 10, 36), '2036-06-30T00:00:00.000Z'],
    ['the floor outweighs a short period without a maturity date', null, VERIFIED, rules(5, 6, 1, 36), '2029-11-23T10:00:00.000Z'],
    ['a floor verified on 31 Jan clamps like any month', '2000-01-01T00:00:00.000Z', '2027-01-31T08:00:00.000Z', rules(0, 0, 10, 1), '2027-02-28T08:00:00.000Z'],
    ['rules of zero keep it until maturity', '2030-01-01T00:00:00.000Z', VERIFIED, rules(0, 0), '2030-01-01T00:00:00.000Z'],
    ['without a maturity date: years from verification', null, VERIFIED, rules(5, 6, 10), '2036-11-23T10:00:00.000Z'],
    ['without a maturity date, verified on 29 Feb', null, '2024-02-29T12:34:56.789Z', rules(5, 6, 10), '2034-02-28T12:34:56.789Z'],
  ])('%s', (_case, maturity, verifiedAt, r, expected) => {
    expect(retainUntil({ verifiedAt: d(verifiedAt), maturityDate: maturity === null ? null : d(maturity), rules: r }).toISOString()).toBe(expected);
  });

  it('refuses rules that are negative or fractional, and invalid dates', () => {
    expect(() => retainUntil({ verifiedAt: d(VERIFIED), maturityDate: null, rules: rules(5, 6, -1) })).toThrow(RangeError);
    expect(() => retainUntil({ verifiedAt: d(VERIFIED), maturityDate: d('2030-01-01'), rules: rules(1.5, 6) })).toThrow(RangeError);
    expect(() => retainUntil({ verifiedAt: d(VERIFIED), maturityDate: new Date(Number.NaN), rules: rules(5, 6) })).toThrow(RangeError);
    expect(() => retainUntil({ verifiedAt: d(VERIFIED), maturityDate: null, rules: rules(5, 6, 10, -1) })).toThrow(RangeError);
  });

  const date = fc.date({ min: d('1970-01-01T00:00:00.000Z'), max: d('2200-12-31T23:59:59.999Z'), noInvalidDate: true });
  const ruleSet = fc.record({
    yearsAfterMaturity: fc.nat({ max: 50 }),
    minMonthsAfterMaturity: fc.nat({ max: 600 }),
    yearsWithoutMaturity: fc.integer({ min: 1, max: 50 }),
    minMonthsAfterVerification: fc.nat({ max: 600 }),
  });
  const ordered = fc.tuple(date, date).map(([a, b]): [Date, Date] => (a.getTime() <= b.getTime() ? [a, b] : [b, a]));
  const orderedNats = (max: number) => fc.tuple(fc.nat({ max }), fc.nat({ max })).map(([a, b]): [number, number] => (a <= b ? [a, b] : [b, a]));
  const t = (x: Date) => x.getTime();
  const msOfDay = (x: Date) => ((x.getTime() % 86_400_000) + 86_400_000) % 86_400_000;

  it('is never earlier than any rule, and is exactly the latest of them', () => {
    fc.assert(
      fc.property(date, fc.option(date, { nil: null }), ruleSet, (verifiedAt, maturityDate, r) => {
        const result = retainUntil({ verifiedAt, maturityDate, rules: r });
        const floor = addMonthsUtc(verifiedAt, r.minMonthsAfterVerification);
        const candidates =
          maturityDate === null
            ? [addYearsUtc(verifiedAt, r.yearsWithoutMaturity), floor]
            : [addYearsUtc(maturityDate, r.yearsAfterMaturity), addMonthsUtc(maturityDate, r.minMonthsAfterMaturity), floor];
        expect(t(result)).toBeGreaterThanOrEqual(t(verifiedAt));
        for (const c of candidates) expect(t(result)).toBeGreaterThanOrEqual(t(c));
        expect(candidates.map(t)).toContain(t(result));
      }),
    );
  });

  it('never moves earlier when verification is later', () => {
    fc.assert(
      fc.property(ordered, fc.option(date, { nil: null }), ruleSet, ([v1, v2], maturityDate, r) => {
        expect(t(retainUntil({ verifiedAt: v2, maturityDate, rules: r }))).toBeGreaterThanOrEqual(t(retainUntil({ verifiedAt: v1, maturityDate, rules: r })));
      }),
    );
  });

  it('never moves earlier when the loan matures later', () => {
    fc.assert(
      fc.property(date, ordered, ruleSet, (verifiedAt, [m1, m2], r) => {
        expect(t(retainUntil({ verifiedAt, maturityDate: m2, rules: r }))).toBeGreaterThanOrEqual(t(retainUntil({ verifiedAt, maturityDate: m1, rules: r })));
      }),
    );
  });

  it('never moves earlier when any rule grows', () => {
    fc.assert(
      fc.property(date, fc.option(date, { nil: null }), ruleSet, orderedNats(50), orderedNats(600), orderedNats(50), orderedNats(600), (verifiedAt, maturityDate, r, years, months, without, floor) => {
        const at = (x: RetentionRules) => t(retainUntil({ verifiedAt, maturityDate, rules: x }));
        expect(at({ ...r, yearsAfterMaturity: years[1] })).toBeGreaterThanOrEqual(at({ ...r, yearsAfterMaturity: years[0] }));
        expect(at({ ...r, minMonthsAfterMaturity: months[1] })).toBeGreaterThanOrEqual(at({ ...r, minMonthsAfterMaturity: months[0] }));
        expect(at({ ...r, yearsWithoutMaturity: without[1] + 1 })).toBeGreaterThanOrEqual(at({ ...r, yearsWithoutMaturity: without[0] + 1 }));
        expect(at({ ...r, minMonthsAfterVerification: floor[1] })).toBeGreaterThanOrEqual(at({ ...r, minMonthsAfterVerification: floor[0] }));
      }),
    );
  });

  it('adds calendar months: the month moves by exactly n, the day never grows, the time of day stays', () => {
    fc.assert(
      fc.property(date, fc.integer({ min: -600, max: 600 }), (from, n) => {
        const to = addMonthsUtc(from, n);
        expect(to.getUTCFullYear() * 12 + to.getUTCMonth() - (from.getUTCFullYear() * 12 + from.getUTCMonth())).toBe(n);
        expect(to.getUTCDate()).toBeLessThanOrEqual(from.getUTCDate());
        expect(msOfDay(to)).toBe(msOfDay(from));
      }),
    );
  });
});

describe('retentionCut', () => {
  const defaults = rules(5, 6, 10, 36);
  const v1 = d('2026-01-15T08:00:00.000Z');
  const v2 = d('2026-11-23T10:00:00.000Z');
  it.each<[string, string | null, string | null, Date[], { recordings: number; from: string; to: string } | null]>([
    ['no recordings: nothing to shorten', '2031-06-30', '2027-01-31', [], null],
    ['a later maturity lengthens', '2031-06-30', '2032-06-30', [v1, v2], null],
    ['the same date changes nothing', '2031-06-30', '2031-06-30', [v1], null],
    ['an earlier maturity shortens every recording, naming the largest cut', '2031-06-30', '2029-12-31', [v1, v2], { recordings: 2, from: '2036-06-30T00:00:00.000Z', to: '2034-12-31T00:00:00.000Z' }],
    ['earlier, but the floor already holds the later-verified recording: only the other is cut', '2028-01-31', '2027-01-31', [d('2020-01-01T00:00:00.000Z'), d('2031-06-01T00:00:00.000Z')], { recordings: 1, from: '2033-01-31T00:00:00.000Z', to: '2032-01-31T00:00:00.000Z' }],
    ['supplying a maturity where there was none shortens when it ends retention sooner than 10 years after verification', null, '2029-12-31', [v1], { recordings: 1, from: '2036-01-15T08:00:00.000Z', to: '2034-12-31T00:00:00.000Z' }],
    ['... and lengthens when it ends later', null, '2031-06-30', [v1], null],
    ['removing a far maturity shortens', '2040-01-31', null, [v1], { recordings: 1, from: '2045-01-31T00:00:00.000Z', to: '2036-01-15T08:00:00.000Z' }],
    ['removing a near one lengthens', '2027-01-31', null, [v1], null],
    ['the floor bounds the cut: a maturity in the distant past still keeps 36 months', '2031-06-30', '1990-01-01', [v2], { recordings: 1, from: '2036-06-30T00:00:00.000Z', to: '2029-11-23T10:00:00.000Z' }],
  ])('%s', (_case, from, to, verifiedAt, expected) => {
    const cut = retentionCut({ from: from === null ? null : d(from), to: to === null ? null : d(to), verifiedAt, rules: defaults });
    expect(cut && { recordings: cut.recordings, from: cut.from.toISOString(), to: cut.to.toISOString() }).toEqual(expected);
  });
});

// S3 Object Lock cannot be exercised against s3rver, so the decisions around it are tested here.
describe('decideEnforcement', () => {
  it.each<[boolean, 'COMPLIANCE' | 'GOVERNANCE' | 'off', Enforcement]>([
    [true, 'COMPLIANCE', { enforcedBy: 'object_lock', mode: 'COMPLIANCE' }],
    [true, 'GOVERNANCE', { enforcedBy: 'object_lock', mode: 'GOVERNANCE' }],
    [true, 'off', { enforcedBy: 'facesign', mode: null }],
    [false, 'COMPLIANCE', { enforcedBy: 'facesign', mode: null }],
    [false, 'GOVERNANCE', { enforcedBy: 'facesign', mode: null }],
    [false, 'off', { enforcedBy: 'facesign', mode: null }],
  ])('bucket lock %s, configured %s', (lock, mode, expected) => {
    expect(decideEnforcement(lock, mode)).toEqual(expected);
  });
});

describe('planRetention', () => {
  const now = d('2026-11-23T12:00:00.000Z');
  const future = d('2032-03-31T00:00:00.000Z');
  const past = d('2015-06-01T00:00:00.000Z');
  const LOCK: Enforcement = { enforcedBy: 'object_lock', mode: 'COMPLIANCE' };
  const FACESIGN: Enforcement = { enforcedBy: 'facesign', mode: null };

  it.each<[string, Enforcement, Date, boolean, ReturnType<typeof planRetention>]>([
    ['facesign enforces: nothing is sent to the store', FACESIGN, future, false, { actions: [], lockMode: null }],
    ['facesign enforces: not even the hold', FACESIGN, future, true, { actions: [], lockMode: null }],
    ['Object Lock: the retention date', LOCK, future, false, { actions: [{ kind: 'retention', until: future, mode: 'COMPLIANCE' }], lockMode: 'COMPLIANCE' }],
    [
      'Object Lock: the retention date and the hold',
      LOCK,
      future,
      true,
      { actions: [{ kind: 'retention', until: future, mode: 'COMPLIANCE' }, { kind: 'legal-hold', on: true }], lockMode: 'COMPLIANCE' },
    ],
    ['Object Lock: a date already past is not sent (S3 refuses it) and the row records no lock', LOCK, past, false, { actions: [], lockMode: null }],
    ['Object Lock: a date already past, but the hold still is sent', LOCK, past, true, { actions: [{ kind: 'legal-hold', on: true }], lockMode: null }],
    ['Object Lock in GOVERNANCE mode', { enforcedBy: 'object_lock', mode: 'GOVERNANCE' }, future, false, { actions: [{ kind: 'retention', until: future, mode: 'GOVERNANCE' }], lockMode: 'GOVERNANCE' }],
  ])('%s', (_case, enforcement, until, legalHold, expected) => {
    expect(planRetention({ enforcement, retainUntil: until, legalHold, now })).toEqual(expected);
  });
});

describe('retentionDate', () => {
  const rule = d('2035-06-30T00:00:00.000Z');
  it.each<[string, Date | undefined, Date]>([
    ['no lock in the store: the rule', undefined, rule],
    ['the store locks until the same date: that date', d('2035-06-30T00:00:00.000Z'), rule],
    ['the store locks longer (an earlier try, before the maturity moved): the lock is kept', d('2037-06-30T00:00:00.000Z'), d('2037-06-30T00:00:00.000Z')],
    ['the store locks shorter: the rule, which extends it', d('2033-06-30T00:00:00.000Z'), rule],
  ])('%s', (_case, storeLockedUntil, expected) => {
    expect(retentionDate(rule, storeLockedUntil)).toEqual(expected);
  });
});

describe('mirrorsLegalHold', () => {
  const LOCK: Enforcement = { enforcedBy: 'object_lock', mode: 'GOVERNANCE' };
  const FACESIGN: Enforcement = { enforcedBy: 'facesign', mode: null };
  it.each<[string, Parameters<typeof mirrorsLegalHold>[0], Enforcement, boolean]>([
    ['retained under Object Lock', { state: 'RETAINED', objectLockMode: 'GOVERNANCE' }, LOCK, true],
    ['verified, the store has Object Lock', { state: 'VERIFIED', objectLockMode: null }, LOCK, true],
    ['retained under a lock, even if the operator turned it off since', { state: 'RETAINED', objectLockMode: 'COMPLIANCE' }, FACESIGN, true],
    ['retained by facesign, no lock anywhere', { state: 'RETAINED', objectLockMode: null }, FACESIGN, false],
    ['still uploading: the object may not exist yet', { state: 'UPLOADED', objectLockMode: null }, LOCK, false],
    ['deleted', { state: 'DELETED', objectLockMode: 'COMPLIANCE' }, LOCK, false],
  ])('%s', (_case, rec, enforcement, expected) => {
    expect(mirrorsLegalHold(rec, enforcement)).toBe(expected);
  });
});

describe('deletionRefusal', () => {
  const now = d('2026-11-23T12:00:00.000Z');
  it.each<[string, Parameters<typeof deletionRefusal>[0], RegExp | null]>([
    ['retention over, not held', { state: 'RETAINED', retainUntil: d('2026-11-23T11:59:59.999Z'), legalHold: false }, null],
    ['retention ends exactly now', { state: 'RETAINED', retainUntil: now, legalHold: false }, null],
    ['retained a millisecond longer: refused, naming the date', { state: 'RETAINED', retainUntil: d('2026-11-23T12:00:00.001Z'), legalHold: false }, /retained until 2026-11-23T12:00:00\.001Z/],
    ['held, though the date is past', { state: 'RETAINED', retainUntil: d('2015-06-01T00:00:00.000Z'), legalHold: true }, /legal hold/],
    ['held and not due: the hold is named first', { state: 'RETAINED', retainUntil: d('2035-01-01T00:00:00.000Z'), legalHold: true }, /legal hold/],
    ['verified, retention not applied yet', { state: 'VERIFIED', retainUntil: null, legalHold: false }, /not been applied.*VERIFIED/],
    ['a retained row without a date', { state: 'RETAINED', retainUntil: null, legalHold: false }, /not been applied/],
  ])('%s', (_case, rec, expected) => {
    const refusal = deletionRefusal(rec, now);
    if (expected === null) expect(refusal).toBeNull();
    else expect(refusal).toMatch(expected);
  });
});

describe('planRecompute', () => {
  const now = d('2026-11-23T00:00:00.000Z');
  const lock: Enforcement = { enforcedBy: 'object_lock', mode: 'COMPLIANCE' };
  const none: Enforcement = { enforcedBy: 'facesign', mode: null };
  const cases: { name: string; current: string; rule: string; lockMode: 'COMPLIANCE' | 'GOVERNANCE' | null; enforcement: Enforcement; to: string; extend: string | null; lockModeAfter: string | null }[] = [
    { name: 'locked, later rule: extend the lock', current: '2035-06-30', rule: '2037-06-30', lockMode: 'COMPLIANCE', enforcement: lock, to: '2037-06-30', extend: '2037-06-30', lockModeAfter: 'COMPLIANCE' },
    { name: 'locked, earlier rule: never shorten', current: '2035-06-30', rule: '2031-01-31', lockMode: 'COMPLIANCE', enforcement: lock, to: '2035-06-30', extend: null, lockModeAfter: 'COMPLIANCE' },
    { name: 'governance lock, earlier rule: never shorten either', current: '2035-06-30', rule: '2031-01-31', lockMode: 'GOVERNANCE', enforcement: lock, to: '2035-06-30', extend: null, lockModeAfter: 'GOVERNANCE' },
    { name: 'facesign enforces, earlier rule: follows the rule', current: '2035-06-30', rule: '2031-01-31', lockMode: null, enforcement: none, to: '2031-01-31', extend: null, lockModeAfter: null },
    { name: 'facesign enforces, later rule: follows the rule', current: '2035-06-30', rule: '2040-01-31', lockMode: null, enforcement: none, to: '2040-01-31', extend: null, lockModeAfter: null },
    { name: 'unlocked because it was due, now ahead: gets a lock', current: '2015-06-01', rule: '2035-01-31', lockMode: null, enforcement: lock, to: '2035-01-31', extend: '2035-01-31', lockModeAfter: 'COMPLIANCE' },
    { name: 'unlocked and still due: no lock', current: '2015-06-01', rule: '2016-01-31', lockMode: null, enforcement: lock, to: '2016-01-31', extend: null, lockModeAfter: null },
  ];
  it.each(cases)('$name', (c) => {
    const plan = planRecompute({ current: d(c.current), rule: d(c.rule), lockMode: c.lockMode, enforcement: c.enforcement, now });
    expect(plan.to).toEqual(d(c.to));
    expect(plan.extendLock?.until ?? null).toEqual(c.extend ? d(c.extend) : null);
    expect(plan.lockMode).toBe(c.lockModeAfter);
  });
});

describe('lockModeOf', () => {
  it.each<[string | null, 'COMPLIANCE' | 'GOVERNANCE' | null]>([
    ['COMPLIANCE', 'COMPLIANCE'],
    ['GOVERNANCE', 'GOVERNANCE'],
    [null, null],
    // A row never holds anything else; if it did, facesign must not claim the store enforces it.
    ['compliance', null],
    ['LEGAL_HOLD', null],
  ])('%s -> %s', (stored, expected) => {
    expect(lockModeOf(stored)).toBe(expected);
  });
});
