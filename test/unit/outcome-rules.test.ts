import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideOutcome, type AnswerValue, type OutcomeInput, type RiskSeverity } from '../../server/checklists/outcome-rules.js';

// The default confirmation-call checklist: six required items and one optional.
const ITEMS = [
  { id: 'consent', required: true },
  { id: 'identity', required: true },
  { id: 'willingness', required: true },
  { id: 'purpose', required: true },
  { id: 'repayment', required: true },
  { id: 'fees', required: true },
  { id: 'info_check', required: false },
];
const ALL_CONFIRMED: Record<string, AnswerValue> = Object.fromEntries(ITEMS.map((item) => [item.id, 'CONFIRMED']));

/** Answers as the service passes them: only the answered items, undefined meaning "no answer". */
const answersOf = (record: Record<string, AnswerValue | undefined>): Map<string, AnswerValue> =>
  new Map(Object.entries(record).flatMap(([id, value]) => (value === undefined ? [] : [[id, value] as const])));

const input = (answers: Record<string, AnswerValue | undefined> = {}, flags: OutcomeInput['flags'] = []): OutcomeInput => ({
  items: ITEMS,
  answers: answersOf({ ...ALL_CONFIRMED, ...answers }),
  flags,
});

describe('decideOutcome', () => {
  it.each<[string, OutcomeInput, ReturnType<typeof decideOutcome>]>([
    ['every required item confirmed', input(), { kind: 'decided', outcome: 'PASSED', reasons: [] }],
    ['an optional item unanswered', input({ info_check: undefined }), { kind: 'decided', outcome: 'PASSED', reasons: [] }],
    ['an optional item not asked', input({ info_check: 'NOT_ASKED' }), { kind: 'decided', outcome: 'PASSED', reasons: [] }],
    ['an optional item unclear', input({ info_check: 'UNCLEAR' }), { kind: 'decided', outcome: 'PASSED', reasons: [] }],
    ['an optional item denied: noted, not failed', input({ info_check: 'DENIED' }), { kind: 'decided', outcome: 'PASSED', reasons: ['optional_denied:info_check'] }],
    ['low and medium flags do not escalate', input({}, [{ code: 'NERVOUS', severity: 'LOW' }, { code: 'POOR_AUDIO', severity: 'MEDIUM' }]), { kind: 'decided', outcome: 'PASSED', reasons: [] }],
    ['a required item denied', input({ identity: 'DENIED' }), { kind: 'decided', outcome: 'FAILED', reasons: ['required_denied:identity'] }],
    [
      'a denial fails even with an unclear item and a high flag, and all are reported',
      input({ purpose: 'UNCLEAR', willingness: 'DENIED', info_check: 'DENIED' }, [{ code: 'COERCION_SUSPECTED', severity: 'HIGH' }]),
      { kind: 'decided', outcome: 'FAILED', reasons: ['required_denied:willingness', 'required_unclear:purpose', 'high_risk_flag:COERCION_SUSPECTED', 'optional_denied:info_check'] },
    ],
    ['two denials in item order', input({ fees: 'DENIED', consent: 'DENIED' }), { kind: 'decided', outcome: 'FAILED', reasons: ['required_denied:consent', 'required_denied:fees'] }],
    ['a required item unclear', input({ purpose: 'UNCLEAR' }), { kind: 'decided', outcome: 'ESCALATED', reasons: ['required_unclear:purpose'] }],
    [
      'a high-severity flag',
      input({}, [{ code: 'THIRD_PARTY_PROMPTING', severity: 'HIGH' }, { code: 'NERVOUS', severity: 'LOW' }]),
      { kind: 'decided', outcome: 'ESCALATED', reasons: ['high_risk_flag:THIRD_PARTY_PROMPTING'] },
    ],
    [
      'the same high flag raised twice is one reason',
      input({}, [{ code: 'IDENTITY_MISMATCH', severity: 'HIGH' }, { code: 'IDENTITY_MISMATCH', severity: 'HIGH' }]),
      { kind: 'decided', outcome: 'ESCALATED', reasons: ['high_risk_flag:IDENTITY_MISMATCH'] },
    ],
    ['a required item unanswered', input({ repayment: undefined }), { kind: 'incomplete', missing: ['repayment'] }],
    ['a required item not asked', input({ identity: 'NOT_ASKED' }), { kind: 'incomplete', missing: ['identity'] }],
    [
      'several missing, listed in item order',
      input({ fees: undefined, consent: 'NOT_ASKED' }),
      { kind: 'incomplete', missing: ['consent', 'fees'] },
    ],
    [
      'a required denial fails at once, reporting what was not asked',
      input({ fees: undefined, identity: 'DENIED', consent: 'NOT_ASKED' }),
      { kind: 'decided', outcome: 'FAILED', reasons: ['required_denied:identity', 'not_asked:consent', 'not_asked:fees'] },
    ],
    ['nothing answered at all', { items: ITEMS, answers: new Map(), flags: [] }, { kind: 'incomplete', missing: ['consent', 'identity', 'willingness', 'purpose', 'repayment', 'fees'] }],
    ['answers to items not on the checklist are ignored', input({ unknown_item: 'DENIED' }), { kind: 'decided', outcome: 'PASSED', reasons: [] }],
    // Item ids are ^[a-z][a-z0-9_]{1,63}$, so `constructor` is a valid one: an unanswered item by that
    // name is open, not answered by a property every object inherits.
    [
      'required items named like inherited object properties, unanswered',
      { items: [{ id: 'constructor', required: true }, { id: '__proto__', required: true }, { id: 'valueOf', required: true }, { id: 'consent', required: true }], answers: answersOf({ consent: 'CONFIRMED' }), flags: [] },
      { kind: 'incomplete', missing: ['constructor', '__proto__', 'valueOf'] },
    ],
    [
      'a required item named constructor, denied',
      { items: [{ id: 'constructor', required: true }], answers: new Map([['constructor', 'DENIED' as const]]), flags: [] },
      { kind: 'decided', outcome: 'FAILED', reasons: ['required_denied:constructor'] },
    ],
  ])('%s', (_case, given, expected) => {
    expect(decideOutcome(given)).toEqual(expected);
  });
});

// ---- properties -------------------------------------------------------------------------------------

const itemsArb = fc.uniqueArray(
  fc.record({ id: fc.oneof(fc.stringMatching(/^[a-z]{1,8}$/), fc.constantFrom('constructor', '__proto__', 'toString', 'hasOwnProperty')), required: fc.boolean() }),
  { selector: (item) => item.id, minLength: 1, maxLength: 8 },
);
const flagsArb = fc.array(
  fc.record({ code: fc.constantFrom('NERVOUS', 'EVASIVE', 'THIRD_PARTY_PROMPTING', 'COERCION_SUSPECTED'), severity: fc.constantFrom<RiskSeverity>('LOW', 'MEDIUM', 'HIGH') }),
  { maxLength: 4 },
);
const answerArb = fc.constantFrom<AnswerValue | undefined>('CONFIRMED', 'DENIED', 'UNCLEAR', 'NOT_ASKED', undefined);

const anyInputArb: fc.Arbitrary<OutcomeInput> = fc
  .tuple(itemsArb, flagsArb)
  .chain(([items, flags]) =>
    fc.array(answerArb, { minLength: items.length, maxLength: items.length }).map((values) => ({
      items,
      answers: new Map(items.flatMap((item, i) => (values[i] === undefined ? [] : [[item.id, values[i]] as const]))),
      flags,
    })),
  );

/** Inputs that pass: every required item confirmed, optional items anything, no high flags, at least one required item. */
const passingInputArb: fc.Arbitrary<OutcomeInput> = anyInputArb
  .map(({ items, answers, flags }) => ({
    items,
    answers: new Map(items.flatMap((item) => {
      const value = item.required ? 'CONFIRMED' : answers.get(item.id);
      return value === undefined ? [] : [[item.id, value] as const];
    })),
    flags: flags.filter((flag) => flag.severity !== 'HIGH'),
  }))
  .filter(({ items }) => items.some((item) => item.required));

const outcomeOf = (given: OutcomeInput): string => {
  const decision = decideOutcome(given);
  return decision.kind === 'incomplete' ? 'incomplete' : decision.outcome;
};

describe('decideOutcome properties', () => {
  it('passing inputs pass', () => {
    fc.assert(fc.property(passingInputArb, (given) => outcomeOf(given) === 'PASSED'));
  });

  it('denying any required item of a passing input fails it, even with flags', () => {
    fc.assert(
      fc.property(passingInputArb, fc.nat(), flagsArb, (given, pick, moreFlags) => {
        const required = given.items.filter((item) => item.required);
        const denied = required[pick % required.length];
        if (!denied) return false;
        const changed = { ...given, answers: new Map(given.answers).set(denied.id, 'DENIED'), flags: [...given.flags, ...moreFlags] };
        const decision = decideOutcome(changed);
        return decision.kind === 'decided' && decision.outcome === 'FAILED' && decision.reasons.includes(`required_denied:${denied.id}`);
      }),
    );
  });

  it('a high-severity flag escalates a passing input', () => {
    fc.assert(
      fc.property(passingInputArb, fc.stringMatching(/^[A-Z_]{1,12}$/), (given, code) => {
        const decision = decideOutcome({ ...given, flags: [...given.flags, { code, severity: 'HIGH' }] });
        return decision.kind === 'decided' && decision.outcome === 'ESCALATED' && decision.reasons.includes(`high_risk_flag:${code}`);
      }),
    );
  });

  it('the outcome does not depend on the order of items or flags', () => {
    fc.assert(
      fc.property(
        anyInputArb.chain((given) =>
          fc.tuple(fc.constant(given), fc.shuffledSubarray(given.items, { minLength: given.items.length }), fc.shuffledSubarray(given.flags, { minLength: given.flags.length })),
        ),
        ([given, items, flags]) => {
          const original = decideOutcome(given);
          const reordered = decideOutcome({ ...given, items, flags });
          expect(outcomeOf({ ...given, items, flags })).toBe(outcomeOf(given));
          // The same findings, whatever order they are listed in.
          const findings = (decision: typeof original) => [...(decision.kind === 'incomplete' ? decision.missing : decision.reasons)].sort();
          expect(findings(reordered)).toEqual(findings(original));
        },
      ),
    );
  });
});
