// The outcome of a verification, from the agent's answers and risk flags: a required item DENIED fails
// it; every required item CONFIRMED passes it, unless a required item is UNCLEAR or a HIGH risk flag was
// raised, which escalates it to a supervisor. Pure; the precedence is: FAILED > incomplete > ESCALATED > PASSED. A required item the party denied
// ends the verification at once: when the borrower says "I never applied for this", the agent stops the
// script there, and the items not asked are reported as such.

export type AnswerValue = 'CONFIRMED' | 'DENIED' | 'UNCLEAR' | 'NOT_ASKED';
export type RiskSeverity = 'LOW' | 'MEDIUM' | 'HIGH';

export interface OutcomeInput {
  /** The checklist's items in script order. */
  items: { id: string; required: boolean }[];
  /** Each answered item's latest answer. A Map, not an object: an item id such as `constructor` is a
   *  valid id, and must not read an inherited property as its answer. */
  answers: ReadonlyMap<string, AnswerValue>;
  flags: { code: string; severity: RiskSeverity }[];
}

export type OutcomeDecision =
  | { kind: 'incomplete'; missing: string[] }
  | { kind: 'decided'; outcome: 'PASSED' | 'FAILED' | 'ESCALATED'; reasons: string[] };

export function decideOutcome(input: OutcomeInput): OutcomeDecision {
  const { items, answers, flags } = input;
  const required = items.filter((item) => item.required);
  const optional = items.filter((item) => !item.required);

  const missing = required
    .filter((item) => !answers.has(item.id) || answers.get(item.id) === 'NOT_ASKED')
    .map((item) => item.id);
  const withAnswer = (list: typeof items, answer: AnswerValue): string[] =>
    list.filter((item) => answers.get(item.id) === answer).map((item) => item.id);
  const requiredDenied = withAnswer(required, 'DENIED');
  const requiredUnclear = withAnswer(required, 'UNCLEAR');
  const highRiskCodes = [...new Set(flags.filter((flag) => flag.severity === 'HIGH').map((flag) => flag.code))];
  // Optional items never decide the outcome, but a reviewer should still see that the party disagreed.
  const optionalDenied = withAnswer(optional, 'DENIED');

  // Every finding is reported, not only the deciding one: a FAILED file with a coercion flag needs both.
  const reasons = [
    ...requiredDenied.map((id) => `required_denied:${id}`),
    ...requiredUnclear.map((id) => `required_unclear:${id}`),
    ...highRiskCodes.map((code) => `high_risk_flag:${code}`),
    ...optionalDenied.map((id) => `optional_denied:${id}`),
  ];

  if (requiredDenied.length > 0) return { kind: 'decided', outcome: 'FAILED', reasons: [...reasons, ...missing.map((id) => `not_asked:${id}`)] };
  // Otherwise the agent may not submit until every required item has a real answer.
  if (missing.length > 0) return { kind: 'incomplete', missing };
  if (requiredUnclear.length > 0 || highRiskCodes.length > 0) return { kind: 'decided', outcome: 'ESCALATED', reasons };
  return { kind: 'decided', outcome: 'PASSED', reasons };
}
