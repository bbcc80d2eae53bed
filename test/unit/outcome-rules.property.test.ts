// The outcome rules characterised completely over arbitrary checklists, answers and flags: each
// outcome holds exactly when the rule in server/checklists/outcome-rules.ts's header says it should. (outcome-rules.test.ts holds the
// table of named cases and the order-independence property.)
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideOutcome, type AnswerValue, type OutcomeInput, type RiskSeverity } from '../../server/checklists/outcome-rules.js';

// Ids include names every plain object inherits: an item called `constructor` must not read as answered.
const idArb = fc.oneof({ weight: 4, arbitrary: fc.stringMatching(/^[a-z_]{1,10}$/) }, { weight: 1, arbitrary: fc.constantFrom('constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty') });
const itemsArb = fc.uniqueArray(fc.record({ id: idArb, required: fc.boolean() }), { selector: (item) => item.id, maxLength: 10 });
const flagsArb = fc.array(fc.record({ code: fc.stringMatching(/^[A-Z_]{1,12}$/), severity: fc.constantFrom<RiskSeverity>('LOW', 'MEDIUM', 'HIGH') }), { maxLength: 5 });
const answerArb = fc.constantFrom<AnswerValue | undefined>('CONFIRMED', 'DENIED', 'UNCLEAR', 'NOT_ASKED', undefined);
const inputArb: fc.Arbitrary<OutcomeInput> = fc.tuple(itemsArb, flagsArb).chain(([items, flags]) =>
  fc.array(answerArb, { minLength: items.length, maxLength: items.length }).map((values) => ({
    items,
    answers: new Map(items.flatMap((item, i) => (values[i] === undefined ? [] : [[item.id, values[i]] as const]))),
    flags,
  })),
);

const requiredWith = (input: OutcomeInput, values: (AnswerValue | undefined)[]) => input.items.filter((i) => i.required && values.includes(input.answers.get(i.id)));
const outcomeOf = (input: OutcomeInput) => {
  const decision = decideOutcome(input);
  return decision.kind === 'incomplete' ? 'incomplete' : decision.outcome;
};

describe('decideOutcome: complete characterisation', () => {
  it('FAILED exactly when a required item is DENIED, whatever else is open or flagged', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        expect(outcomeOf(input) === 'FAILED').toBe(requiredWith(input, ['DENIED']).length > 0);
      }),
      { numRuns: 2000 },
    );
  });

  it('incomplete exactly when nothing is denied and a required item has no real answer; it names exactly those items, in script order', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const decision = decideOutcome(input);
        const open = requiredWith(input, [undefined, 'NOT_ASKED']).map((i) => i.id);
        const denied = requiredWith(input, ['DENIED']).length > 0;
        expect(decision.kind === 'incomplete').toBe(!denied && open.length > 0);
        if (decision.kind === 'incomplete') expect(decision.missing).toEqual(open);
      }),
      { numRuns: 2000 },
    );
  });

  it('ESCALATED exactly when complete, nothing denied, and a required item is UNCLEAR or a flag is HIGH', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const complete = requiredWith(input, [undefined, 'NOT_ASKED']).length === 0;
        const denied = requiredWith(input, ['DENIED']).length > 0;
        const doubtful = requiredWith(input, ['UNCLEAR']).length > 0 || input.flags.some((f) => f.severity === 'HIGH');
        expect(outcomeOf(input) === 'ESCALATED').toBe(complete && !denied && doubtful);
        expect(outcomeOf(input) === 'PASSED').toBe(complete && !denied && !doubtful);
      }),
      { numRuns: 2000 },
    );
  });

  it('optional items and low or medium flags never change the outcome', () => {
    fc.assert(
      fc.property(inputArb, fc.array(answerArb, { minLength: 10, maxLength: 10 }), flagsArb, (input, otherAnswers, extraFlags) => {
        const answers = new Map(input.answers);
        input.items.forEach((item, i) => {
          if (item.required) return;
          const value = otherAnswers[i];
          if (value === undefined) answers.delete(item.id);
          else answers.set(item.id, value);
        });
        const mild = extraFlags.map((f) => ({ ...f, severity: f.severity === 'HIGH' ? ('MEDIUM' as const) : f.severity }));
        expect(outcomeOf({ ...input, answers, flags: [...input.flags, ...mild] })).toBe(outcomeOf(input));
      }),
      { numRuns: 1000 },
    );
  });

  it('every decision explains itself: FAILED names each denied item, ESCALATED each doubt, PASSED no required doubt', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const decision = decideOutcome(input);
        if (decision.kind === 'incomplete') return;
        for (const item of requiredWith(input, ['DENIED'])) expect(decision.reasons).toContain(`required_denied:${item.id}`);
        for (const item of requiredWith(input, ['UNCLEAR'])) expect(decision.reasons).toContain(`required_unclear:${item.id}`);
        for (const flag of input.flags.filter((f) => f.severity === 'HIGH')) expect(decision.reasons).toContain(`high_risk_flag:${flag.code}`);
        if (decision.outcome === 'PASSED') expect(decision.reasons.every((r) => r.startsWith('optional_denied:'))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('a worse answer never gives a better outcome (PASSED < ESCALATED < FAILED)', () => {
    const rank = { PASSED: 0, ESCALATED: 1, FAILED: 2 } as const;
    const worse: Record<AnswerValue, AnswerValue[]> = { CONFIRMED: ['UNCLEAR', 'DENIED'], UNCLEAR: ['DENIED'], DENIED: [], NOT_ASKED: [] };
    fc.assert(
      fc.property(inputArb, fc.nat(), fc.nat(), (input, pick, which) => {
        const before = decideOutcome(input);
        const answered = input.items.filter((i) => i.required && input.answers.has(i.id) && input.answers.get(i.id) !== 'NOT_ASKED');
        const item = answered[pick % Math.max(1, answered.length)];
        if (before.kind === 'incomplete' || !item) return;
        const options = worse[input.answers.get(item.id)!];
        const value = options[which % Math.max(1, options.length)];
        if (!value) return;
        const after = decideOutcome({ ...input, answers: new Map(input.answers).set(item.id, value) });
        expect(after.kind).toBe('decided');
        if (after.kind === 'decided') expect(rank[after.outcome]).toBeGreaterThanOrEqual(rank[before.outcome]);
      }),
      { numRuns: 1000 },
    );
  });
});
