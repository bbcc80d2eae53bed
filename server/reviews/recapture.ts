// What an auditor's recapture schedules: the same party, kind, script and contract as the reviewed
// session, ahead of routine work (the loan is waiting on it). Pure.
import type { VerificationSession } from '../db/generated/prisma/client.js';

/** How far ahead of its original session a recapture is routed; priorities stop at 100. */
export const RECAPTURE_PRIORITY_BOOST = 10;
const MAX_PRIORITY = 100;

export function recaptureOf(session: Pick<VerificationSession, 'partyId' | 'kind' | 'templateKey' | 'priority' | 'contractDocumentHash'>) {
  return {
    partyId: session.partyId,
    kind: session.kind,
    templateKey: session.templateKey,
    priority: Math.min(MAX_PRIORITY, session.priority + RECAPTURE_PRIORITY_BOOST),
    contractDocumentHash: session.contractDocumentHash ?? undefined,
  };
}
