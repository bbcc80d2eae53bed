// Retention as the sweeper and the DELETE route apply it: the date from the rule (retainUntil), the
// store calls (planRetention) and the refusal to delete (deletionRefusal) taken together. Whatever the
// dates and rules, a recording can never be deleted before the rule's minimum, nor while on hold.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addMonthsUtc, addYearsUtc, deletionRefusal, planRetention, retainUntil, type ObjectLockMode, type RetentionRules } from '../../recordings/retention.js';
import type { RecordingState } from '../../server/db/generated/prisma/enums.js';

const date = fc.integer({ min: Date.parse('1990-01-01T00:00:00Z'), max: Date.parse('2090-12-31T23:59:59Z') }).map((t) => new Date(t));
const rulesArb: fc.Arbitrary<RetentionRules> = fc.record({
  yearsAfterMaturity: fc.integer({ min: 0, max: 30 }),
  minMonthsAfterMaturity: fc.integer({ min: 0, max: 120 }),
  yearsWithoutMaturity: fc.integer({ min: 1, max: 30 }),
  minMonthsAfterVerification: fc.integer({ min: 0, max: 120 }),
});
const caseArb = fc.record({ verifiedAt: date, maturityDate: fc.option(date, { nil: null }), rules: rulesArb, now: date, legalHold: fc.boolean() });

/** The earliest instant any rule allows deletion: every rule's minimum must have passed. */
function ruleMinimum({ verifiedAt, maturityDate, rules }: { verifiedAt: Date; maturityDate: Date | null; rules: RetentionRules }): number {
  const floor = addMonthsUtc(verifiedAt, rules.minMonthsAfterVerification).getTime();
  if (maturityDate === null) return Math.max(addYearsUtc(verifiedAt, rules.yearsWithoutMaturity).getTime(), floor);
  return Math.max(addYearsUtc(maturityDate, rules.yearsAfterMaturity).getTime(), addMonthsUtc(maturityDate, rules.minMonthsAfterMaturity).getTime(), floor);
}

describe('retention properties', () => {
  it('a retained recording cannot be deleted before the minimum of its rule, and can be once it passed (unless held)', () => {
    fc.assert(
      fc.property(caseArb, ({ verifiedAt, maturityDate, rules, now, legalHold }) => {
        const until = retainUntil({ verifiedAt, maturityDate, rules });
        const refusal = deletionRefusal({ state: 'RETAINED', retainUntil: until, legalHold }, now);
        if (legalHold) expect(refusal).toMatch(/legal hold/);
        else if (now.getTime() < ruleMinimum({ verifiedAt, maturityDate, rules })) expect(refusal).toMatch(/retained until/);
        else expect(refusal).toBeNull();
      }),
      { numRuns: 2000 },
    );
  });

  it('with a maturity date, retain-until is never earlier than maturity plus the minimum months, nor than the floor after verification', () => {
    fc.assert(
      fc.property(date, date, rulesArb, (verifiedAt, maturityDate, rules) => {
        const until = retainUntil({ verifiedAt, maturityDate, rules }).getTime();
        expect(until).toBeGreaterThanOrEqual(addMonthsUtc(maturityDate, rules.minMonthsAfterMaturity).getTime());
        expect(until).toBeGreaterThanOrEqual(addYearsUtc(maturityDate, rules.yearsAfterMaturity).getTime());
        expect(until).toBeGreaterThanOrEqual(addMonthsUtc(verifiedAt, rules.minMonthsAfterVerification).getTime());
      }),
      { numRuns: 2000 },
    );
  });

  it('a recording not (or no longer) retained is never deletable', () => {
    fc.assert(
      fc.property(fc.constantFrom<RecordingState>('REQUESTED', 'ACTIVE', 'ENDING', 'UPLOADED', 'VERIFIED', 'FAILED', 'DELETED'), fc.option(date, { nil: null }), date, fc.boolean(), (state, until, now, legalHold) => {
        expect(deletionRefusal({ state, retainUntil: until, legalHold }, now)).not.toBeNull();
      }),
    );
  });

  it('Object Lock is asked for exactly the computed date whenever it lies ahead, never for a past one; a hold is always mirrored', () => {
    fc.assert(
      fc.property(caseArb, fc.constantFrom<ObjectLockMode>('COMPLIANCE', 'GOVERNANCE'), ({ verifiedAt, maturityDate, rules, now, legalHold }, mode) => {
        const until = retainUntil({ verifiedAt, maturityDate, rules });
        const plan = planRetention({ enforcement: { enforcedBy: 'object_lock', mode }, retainUntil: until, legalHold, now });
        const retention = plan.actions.filter((a) => a.kind === 'retention');
        if (until.getTime() > now.getTime()) expect(retention).toEqual([{ kind: 'retention', until, mode }]);
        else expect(retention).toEqual([]);
        expect(plan.actions.some((a) => a.kind === 'legal-hold')).toBe(legalHold);
        expect(plan.lockMode).toBe(retention.length > 0 ? mode : null);
        // Without Object Lock facesign enforces the date itself and asks the store for nothing.
        expect(planRetention({ enforcement: { enforcedBy: 'facesign', mode: null }, retainUntil: until, legalHold, now })).toEqual({ actions: [], lockMode: null });
      }),
      { numRuns: 1000 },
    );
  });
});
