// Every write to VerificationSession, Attempt and SessionOffer, and the reads a write depends on.
// A session's invariant lives here: its state and version change together, only by a conditional
// update on the (state, version) the caller read (`writeTransition`), and every other write either
// leaves both alone (a flag, an outcome, a claim) or is itself conditional on the version it read.
//
// Statements on the hot paths (each transition, dial and offer) are SQL built with Kysely over the
// schema's types (`build`, server/db/typed-sql.ts) and run through `Sql`, so the same statement works
// on the shared pool, in one of its transactions or in a Prisma transaction. The rest goes through
// Prisma and takes the caller's client or transaction. Callers pass the transaction they hold; none of
// these functions opens one.
import { jsonObjectFrom } from 'kysely/helpers/postgres';
import { sql as fragment, type Selectable } from 'kysely';
import type { Db, Sql, Tx } from '../db/client.js';
import type { DialOutcome, OfferStatus } from '../db/generated/prisma/enums.js';
import type { Prisma } from '../db/generated/prisma/client.js';
import { build, first, rows, type DB, type Row } from '../db/typed-sql.js';
import { auditInsert, auditRowsParam, type AuditEntry } from '../audit/audit.service.js';
import { roomNameFor } from '../livekit/identities.js';

export type Session = Row<'VerificationSession'>;
export type Attempt = Row<'Attempt'>;
type Client = Tx | Db;

// ---------------------------------------------------------------------------------------------
// Transitions

/** What a transition needs, in one statement: the session, its loan file and its latest attempt. */
export async function readForTransition(sql: Sql, sessionId: string) {
  const found = await first(
    sql,
    build
      .selectFrom('VerificationSession as s')
      .innerJoin('LoanFile as lf', 'lf.id', 's.loanFileId')
      .selectAll('s')
      .select((eb) => [
        fragment<string>`${eb.ref('lf.status')}::text`.as('loanFileStatus'),
        'lf.externalRef as loanFileRef',
        fragment<string>`round(${eb.ref('lf.amount')}, 2)::text`.as('loanFileAmount'),
        jsonObjectFrom(eb.selectFrom('Attempt as a').selectAll('a').whereRef('a.sessionId', '=', 's.id').orderBy('a.number', 'desc').limit(1)).as('latestAttempt'),
      ])
      .where('s.id', '=', sessionId),
    'engine-read',
  );
  if (!found) return undefined;
  const { loanFileStatus, loanFileRef, loanFileAmount, latestAttempt, ...current } = found;
  return {
    current: current satisfies Session,
    loanFile: { id: current.loanFileId, externalRef: loanFileRef, status: loanFileStatus, amount: loanFileAmount },
    latest: latestAttempt ? attemptFromJson(latestAttempt) : undefined,
  };
}

/** The Attempt columns that are timestamps: a row read as JSON carries them as strings. */
type Dehydrated<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] extends Date | null ? string | null : T[K] };
function attemptFromJson(json: Dehydrated<Attempt>): Attempt {
  const time = (value: string | null) => (value === null ? null : new Date(value));
  return {
    ...json,
    startedAt: new Date(json.startedAt),
    answeredAt: time(json.answeredAt),
    endedAt: time(json.endedAt),
    dialClaimedAt: time(json.dialClaimedAt),
    recordingStartedAt: time(json.recordingStartedAt),
  };
}

/** The session columns a transition may write besides state and version. */
export type SessionWrite = Partial<Pick<Session, 'state' | 'attemptCount' | 'outcome' | 'completedAt' | 'notBefore' | 'nextAttemptAt' | 'assignedAgentId' | 'decidedById' | 'decisionNote' | 'endReason' | 'lastDialOutcome'>>;

/**
 * A transition's writes as one statement: the conditional update on (state, version) and, only when
 * it matched, the attempt it opens or ends and its audit event. Nothing is written (undefined) when
 * someone else moved the session first.
 */
export async function writeTransition(
  sql: Sql,
  input: {
    current: Pick<Session, 'id' | 'state' | 'version'>;
    write: SessionWrite;
    now: Date;
    open: { id: string; number: number; agentId: string | null } | undefined;
    end: { attemptId: string; reason: string } | undefined;
    audit: AuditEntry;
  },
): Promise<{ session: Session; opened: Attempt | undefined } | undefined> {
  const { current, write, now, open, end } = input;
  const opened: Attempt | undefined = open
    ? { id: open.id, sessionId: current.id, number: open.number, roomName: roomNameFor(open.id), agentId: open.agentId, startedAt: now, sipCallId: null, dialOutcome: null, answeredAt: null, endedAt: null, endReason: null, dialClaimedAt: null, recordingStartedAt: null }
    : undefined;
  const matched = fragment<boolean>`EXISTS (SELECT 1 FROM "updated")`;
  // The attempt's insert and end are always in the statement, and write nothing when not asked for.
  const statement = build
    .with('updated', (db) =>
      db
        .updateTable('VerificationSession')
        .set((eb) => ({ ...write, version: eb('version', '+', 1), updatedAt: now }))
        .where('id', '=', current.id)
        .where('state', '=', current.state)
        .where('version', '=', current.version)
        .returningAll(),
    )
    .with('audited', () => auditInsert(auditRowsParam([input.audit], now).json, matched))
    .with('opened', (db) =>
      db
        .insertInto('Attempt')
        .columns(['id', 'sessionId', 'number', 'roomName', 'agentId', 'startedAt'])
        .expression(
          db
            .selectFrom('updated')
            .select((eb) => [
              eb.cast<string>(eb.val(opened?.id ?? null), 'uuid').as('id'),
              'updated.id as sessionId',
              eb.cast<number>(eb.val(opened?.number ?? null), 'integer').as('number'),
              eb.cast<string>(eb.val(opened?.roomName ?? null), 'text').as('roomName'),
              eb.cast<string | null>(eb.val(opened?.agentId ?? null), 'uuid').as('agentId'),
              eb.cast<Date>(eb.val(now), 'timestamptz').as('startedAt'),
            ])
            .where((eb) => eb.val(opened !== undefined)),
        ),
    )
    .with('ended', (db) =>
      db
        .updateTable('Attempt')
        .set({ endedAt: now, endReason: end?.reason ?? null })
        .where('id', '=', end?.attemptId ?? null)
        .where('endedAt', 'is', null)
        .where(matched),
    )
    .selectFrom('updated')
    .selectAll();
  const session = await first(sql, statement);
  return session ? { session, opened } : undefined;
}

/** The answered call's or joined video's recording is being started: its offsets count from `at`. */
export async function markRecordingRequested(sql: Sql, attemptId: string, at: Date, answered: boolean): Promise<void> {
  const values = answered ? { recordingStartedAt: at, answeredAt: at } : { recordingStartedAt: at };
  await rows(sql, build.updateTable('Attempt').set(values).where('id', '=', attemptId), answered ? 'attempt-recording-answered' : 'attempt-recording');
}

/** LiveKit started the egress at `startedAt`: offsets into the file count from there. */
export async function moveRecordingStart(sql: Sql, attemptId: string, startedAt: Date): Promise<void> {
  await rows(sql, build.updateTable('Attempt').set({ recordingStartedAt: startedAt }).where('id', '=', attemptId), 'attempt-recording-start');
}

/** The automated call hands the party over; only while the session is still at `version`. */
export async function markHandedOff(sql: Sql, sessionId: string, version: number, reason: string, at: Date): Promise<void> {
  await rows(sql, build.updateTable('VerificationSession').set({ handedOffAt: at, handOffReason: reason }).where('id', '=', sessionId).where('version', '=', version), 'session-hand-off');
}

/** A recording of the session failed verification: a flag, not a transition (the version stays). */
export async function requireRecapture(tx: Client, sessionId: string): Promise<void> {
  await tx.verificationSession.update({ where: { id: sessionId }, data: { recaptureRequired: true } });
}

/** Creates a scheduled session (its audit event and the loan file's status are the caller's). */
export async function createSession(tx: Tx, data: Prisma.VerificationSessionUncheckedCreateInput) {
  return tx.verificationSession.create({ data });
}

/** Moves a scheduled call's not-before (no state change); false when the session moved on. */
export async function deferNotBefore(tx: Tx, sessionId: string, version: number, to: Date): Promise<boolean> {
  const { count } = await tx.verificationSession.updateMany({ where: { id: sessionId, state: 'SCHEDULED', version }, data: { notBefore: to, version: { increment: 1 } } });
  return count > 0;
}

// ---------------------------------------------------------------------------------------------
// Dialling

/** Claims an attempt's dial (one dial per attempt) and reads what the dial needs, in one statement. */
export async function claimDial(sql: Sql, attemptId: string, sessionId: string, at: Date) {
  return first(
    sql,
    build
      .with('claimed', (db) =>
        db
          .updateTable('Attempt')
          .set({ dialClaimedAt: at })
          .where('id', '=', attemptId)
          .where('sessionId', '=', sessionId)
          .where('dialClaimedAt', 'is', null)
          .where('endedAt', 'is', null)
          .returning('roomName'),
      )
      .selectFrom('claimed')
      .crossJoin('VerificationSession as s')
      .innerJoin('Party as p', 'p.id', 's.partyId')
      .select(['claimed.roomName', 's.id', 's.state', 's.deadline', 's.maxAttempts', 'p.timeZone', 'p.phoneE164'])
      .where('s.id', '=', sessionId),
    'attempt-dial-claim',
  );
}

/** Gives back a claim made at `claimedAt` whose call was never placed, so the dial can run again. */
export async function releaseDialClaim(tx: Client, attemptId: string, claimedAt: Date, alsoReopen = false): Promise<boolean> {
  const { count } = await tx.attempt.updateMany({ where: { id: attemptId, dialClaimedAt: claimedAt, dialOutcome: null }, data: { dialClaimedAt: null, ...(alsoReopen ? { endedAt: null } : {}) } });
  return count > 0;
}

/** What a placed call came to (the SIP call id once known). */
export async function recordDialOutcome(sql: Sql, attemptId: string, outcome: DialOutcome, sipCallId: string | null): Promise<void> {
  await rows(
    sql,
    build
      .updateTable('Attempt')
      .set((eb) => ({ dialOutcome: outcome, sipCallId: eb.fn.coalesce(eb.val(sipCallId), eb.ref('sipCallId')) }))
      .where('id', '=', attemptId),
    'attempt-dial-outcome',
  );
}

/** The call was found answered after its dialler died; false when an outcome was already written. */
export async function recordAnsweredIfUnknown(tx: Client, attemptId: string): Promise<boolean> {
  const { count } = await tx.attempt.updateMany({ where: { id: attemptId, dialOutcome: null }, data: { dialOutcome: 'ANSWERED' } });
  return count > 0;
}

/** The last dial's outcome on the session, when the failure could not be applied as a transition. */
export async function setLastDialOutcome(tx: Client, sessionId: string, outcome: DialOutcome): Promise<void> {
  await tx.verificationSession.update({ where: { id: sessionId }, data: { lastDialOutcome: outcome } });
}

/** The room is gone: the attempt ends (true) unless it had ended already. */
export async function endAttemptWithRoom(sql: Sql, attemptId: string, at: Date): Promise<boolean> {
  const ended = await rows(sql, build.updateTable('Attempt').set({ endedAt: at }).where('id', '=', attemptId).where('endedAt', 'is', null).returning('id'), 'room-finish-end');
  return ended.length > 0;
}

// ---------------------------------------------------------------------------------------------
// Offers and assignment

export type Offer = Selectable<DB['SessionOffer']>;

/** A routing round's offers, all with the same window. */
export async function insertOffers(sql: Sql, offers: readonly { id: string; sessionId: string; agentId: string }[], offeredAt: Date, expiresAt: Date): Promise<void> {
  if (offers.length === 0) return;
  await rows(sql, build.insertInto('SessionOffer').values(offers.map((o) => ({ id: o.id, sessionId: o.sessionId, agentId: o.agentId, offeredAt, expiresAt }))));
}

/** One offer, made by a supervisor. */
export async function createOffer(tx: Tx, offer: { sessionId: string; agentId: string; offeredAt: Date; expiresAt: Date }): Promise<Offer> {
  return tx.sessionOffer.create({ data: offer });
}

/** The agent takes a pending, unexpired offer of theirs; false when it is no longer theirs to take. */
export async function acceptOffer(sql: Sql, offerId: string, agentId: string, at: Date): Promise<boolean> {
  const accepted = await rows(
    sql,
    build
      .updateTable('SessionOffer')
      .set({ status: 'ACCEPTED', resolvedAt: at })
      .where('id', '=', offerId)
      .where('agentId', '=', agentId)
      .where('status', '=', 'PENDING')
      .where('expiresAt', '>', at)
      .returning('id'),
    'offer-claim',
  );
  return accepted.length > 0;
}

/** Closes a pending offer (declined, expired, withdrawn); undefined when it was not pending. */
export async function closeOffer(tx: Tx, offerId: string, status: Exclude<OfferStatus, 'PENDING' | 'ACCEPTED'>, only: { agentId?: string; dueBy?: Date }): Promise<Offer | undefined> {
  const { count } = await tx.sessionOffer.updateMany({
    where: { id: offerId, status: 'PENDING', ...(only.agentId ? { agentId: only.agentId } : {}), ...(only.dueBy ? { expiresAt: { lte: only.dueBy } } : {}) },
    data: { status, resolvedAt: new Date() },
  });
  return count === 0 ? undefined : tx.sessionOffer.findUniqueOrThrow({ where: { id: offerId } });
}

/** Withdraws every pending offer of a session; returns those withdrawn. */
export async function withdrawPendingOffers(sql: Sql, sessionId: string, at: Date): Promise<{ id: string; agentId: string }[]> {
  return rows(
    sql,
    build.updateTable('SessionOffer').set({ status: 'WITHDRAWN', resolvedAt: at }).where('sessionId', '=', sessionId).where('status', '=', 'PENDING').returning(['id', 'agentId']),
    'offers-withdraw',
  );
}

/**
 * Gives a session to an agent and its open attempt with it: a waiting video party's session, or (with
 * `version`) whatever the session is doing, as long as it is still at that version. Returns the room of
 * its latest attempt, or undefined when the session had moved on.
 */
export async function assignAgent(tx: Tx, sessionId: string, agentId: string, only: { waitingVideo: true } | { version: number }): Promise<string | undefined> {
  const where: Prisma.VerificationSessionWhereInput = 'version' in only ? { id: sessionId, version: only.version } : { id: sessionId, state: 'WAITING', assignedAgentId: null };
  const { count } = await tx.verificationSession.updateMany({ where, data: { assignedAgentId: agentId, version: { increment: 1 } } });
  if (count === 0) return undefined;
  await tx.attempt.updateMany({ where: { sessionId, endedAt: null }, data: { agentId } });
  const latest = await tx.attempt.findFirst({ where: { sessionId }, orderBy: { number: 'desc' }, select: { roomName: true } });
  return latest?.roomName ?? '';
}
