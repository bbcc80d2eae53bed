// Whether a loan's maturity date may change, as a pure rule. Recording retention counts from the
// maturity date, so the date is guarded like the retention itself: it cannot lie before the loan
// file existed, and a change that would keep any recording for a shorter time is an ADMIN's
// decision with a stated reason (audited), never the LOS's or a supervisor's.
import { retentionCut, type RetentionCut, type RetentionRules } from '../../recordings/retention.js';

export interface MaturityChange {
  /** When the loan file was created. */
  createdAt: Date;
  /** The maturity date now and the one asked for (UTC midnight, as the date column holds them). */
  from: Date | null;
  to: Date | null;
  /** When each recording of the loan file that still exists was verified (now, for those not verified yet). */
  verifiedAt: readonly Date[];
  rules: RetentionRules;
  byAdmin: boolean;
  reason: string | undefined;
}

export type MaturityDecision =
  | { kind: 'allowed'; cut: RetentionCut | null }
  | { kind: 'before-creation'; createdOn: string }
  | { kind: 'needs-admin'; cut: RetentionCut }
  | { kind: 'needs-reason'; cut: RetentionCut };

/** A Date's calendar day in UTC, YYYY-MM-DD: how the maturity date column compares. */
export const utcDay = (d: Date): string => d.toISOString().slice(0, 10);

/** A loan cannot end before its file was opened: such a date is a mistake, or an attempt to make recordings due. */
export function maturityBeforeCreation(maturityDate: Date, createdAt: Date): boolean {
  return utcDay(maturityDate) < utcDay(createdAt);
}

export function decideMaturityChange(change: MaturityChange): MaturityDecision {
  if (change.to !== null && maturityBeforeCreation(change.to, change.createdAt)) return { kind: 'before-creation', createdOn: utcDay(change.createdAt) };
  const cut = retentionCut({ from: change.from, to: change.to, verifiedAt: change.verifiedAt, rules: change.rules });
  if (cut === null) return { kind: 'allowed', cut: null };
  if (!change.byAdmin) return { kind: 'needs-admin', cut };
  if (!change.reason) return { kind: 'needs-reason', cut };
  return { kind: 'allowed', cut };
}
