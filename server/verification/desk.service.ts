// What an agent's desk shows: the sessions they are working now (with the party card, the live attempt
// and the recording state the indicator is driven by), what they handled today and what is coming to
// them today. Personal data is masked to what the conversation needs: name, phone last four, ID last four.
import type { Db } from '../db/client.js';
import type { Prisma } from '../db/generated/prisma/client.js';
import { AppError } from '../shared/errors.js';
import { isPresent } from '../livekit/participants.js';
import { productNameSchema } from '../loan-files/loan-files.schema.js';
import { localDayBounds } from './calling-hours.js';
import type { DeskSession } from './desk.schema.js';

/** States in which the session is the agent's live work. */
export const DESK_LIVE_STATES = ['DISPATCHING', 'RINGING', 'WAITING', 'IN_PROGRESS', 'WRAP_UP'] as const;
/** Not yet live and not handled: listed under "upcoming". */
const DESK_WAITING_STATES = ['SCHEDULED', 'RETRY_PENDING'] as const;

const deskInclude = {
  loanFile: { select: { externalRef: true, product: true, productName: true, amount: true, currency: true } },
  party: { select: { fullName: true, role: true, phoneE164: true, locale: true, timeZone: true, idNumberLast4: true } },
  attempts: {
    orderBy: { number: 'desc' },
    take: 1,
    include: { recording: { select: { id: true, state: true } }, participants: { select: { kind: true, joinedAt: true, leftAt: true, sipCallStatus: true } } },
  },
} satisfies Prisma.VerificationSessionInclude;

type DeskRow = Prisma.VerificationSessionGetPayload<{ include: typeof deskInclude }>;

function toDesk(row: DeskRow): DeskSession {
  const attempt = row.attempts[0];
  const party = attempt?.participants.find((p) => p.kind === 'PARTY');
  return {
    id: row.id,
    kind: row.kind,
    state: row.state,
    version: row.version,
    outcome: row.outcome,
    notBefore: row.notBefore.toISOString(),
    nextAttemptAt: row.nextAttemptAt?.toISOString() ?? null,
    completedAt: row.completedAt?.toISOString() ?? null,
    attemptCount: row.attemptCount,
    maxAttempts: row.maxAttempts,
    lastDialOutcome: row.lastDialOutcome,
    mode: row.mode,
    handOffReason: row.handOffReason,
    handedOffAt: row.handedOffAt?.toISOString() ?? null,
    loan: { externalRef: row.loanFile.externalRef, product: row.loanFile.product, productName: productNameSchema.safeParse(row.loanFile.productName).data ?? null, amount: row.loanFile.amount.toFixed(2), currency: row.loanFile.currency },
    party: {
      name: row.party.fullName,
      role: row.party.role,
      phoneLast4: row.party.phoneE164.slice(-4),
      idNumberLast4: row.party.idNumberLast4,
      locale: row.party.locale,
      timeZone: row.party.timeZone,
    },
    attempt: attempt
      ? {
          id: attempt.id,
          number: attempt.number,
          startedAt: attempt.startedAt.toISOString(),
          answeredAt: attempt.answeredAt?.toISOString() ?? null,
          endedAt: attempt.endedAt?.toISOString() ?? null,
          recordingStartedAt: attempt.recordingStartedAt?.toISOString() ?? null,
          // Present by the same rule as everywhere else: a borrower who reloaded has left once and joined again.
          // A phone's participant is in the room from the moment it is dialled: it is connected only once the
          // call is answered (the dial's answer, or LiveKit's `active` status, whichever is heard first).
          partyConnected: !!party && isPresent(party) && (party.sipCallStatus === null || party.sipCallStatus === 'active' || (attempt.answeredAt !== null && party.sipCallStatus !== 'hangup')),
          callStatus: party?.sipCallStatus ?? null,
        }
      : null,
    recording: attempt?.recording ? { id: attempt.recording.id, state: attempt.recording.state } : null,
  };
}

export class DeskService {
  constructor(private readonly db: Db) {}

  /** The agent's desk for the local day of `timeZone` containing `now`. */
  async desk(agentId: string, timeZone: string, now = new Date()): Promise<{ day: { start: string; end: string }; active: DeskSession[]; today: DeskSession[]; upcoming: DeskSession[] }> {
    const { start, end } = localDayBounds(now, timeZone);
    const mine = { assignedAgentId: agentId };
    const [active, today, upcoming] = await Promise.all([
      this.db.verificationSession.findMany({ where: { ...mine, state: { in: [...DESK_LIVE_STATES] } }, include: deskInclude, orderBy: { updatedAt: 'asc' } }),
      this.db.verificationSession.findMany({
        // A session that will be tried again is still to come: it is listed under "upcoming" only.
        where: { ...mine, state: { notIn: [...DESK_LIVE_STATES, ...DESK_WAITING_STATES] }, updatedAt: { gte: start, lt: end }, attempts: { some: { agentId } } },
        include: deskInclude,
        orderBy: { updatedAt: 'desc' },
        take: 100,
      }),
      this.db.verificationSession.findMany({
        // Scheduled for this day, or waiting for its next attempt (whenever that is: it stays the agent's to follow).
        where: { ...mine, OR: [{ state: 'RETRY_PENDING' }, { state: 'SCHEDULED', OR: [{ nextAttemptAt: { gte: start, lt: end } }, { nextAttemptAt: null, notBefore: { gte: start, lt: end } }] }] },
        include: deskInclude,
        orderBy: { notBefore: 'asc' },
        take: 100,
      }),
    ]);
    return { day: { start: start.toISOString(), end: end.toISOString() }, active: active.map(toDesk), today: today.map(toDesk), upcoming: upcoming.map(toDesk) };
  }

  /** One session as the desk shows it: for its assigned agent, or for supervisors and admins. */
  async session(sessionId: string, viewer: { userId: string; manager: boolean }): Promise<DeskSession> {
    const row = await this.db.verificationSession.findUnique({ where: { id: sessionId }, include: deskInclude });
    // Another agent's session answers exactly like one that does not exist: a 403 would confirm the id.
    if (!row || (!viewer.manager && row.assignedAgentId !== viewer.userId)) throw new AppError('NOT_FOUND', 'No such session');
    return toDesk(row);
  }
}
