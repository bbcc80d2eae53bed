// Cross-feature reactions. A feature publishes what happened; the features that care subscribe when
// main.ts composes them. Two phases, each typed by the event:
// - `publish(tx, event)` runs the subscribers inside the publisher's transaction: what they write
//   commits or rolls back with it, and a subscriber that throws rolls the whole transaction back.
// - `publishCommitted(event)` is for facts already committed: its subscribers reach outside the
//   database (queues, sockets, other services' own transactions).
// `assertSubscribed()` runs once composition is over: an event nobody subscribed to is a wiring
// mistake, reported at start-up instead of a feature silently doing nothing.
import type { Sql } from '../db/client.js';
import type { VerificationSession } from '../db/generated/prisma/client.js';

/** Published inside the transaction that caused them. */
export type InTxEvent =
  /** A session reached COMPLETED (e.g. sample it for review). */
  { type: 'session.completed'; session: VerificationSession; loanFile: { amount: string } };

/** Published after the change they report was committed. */
export type CommittedEvent =
  /** An agent became free, or a session needs one: waiting work should be routed. */
  | { type: 'routing.needed' }
  /** A loan file's maturity date changed (recording retention counts from it). */
  | { type: 'loan-file.maturity-changed'; loanFileId: string; version: number }
  /** An auditor asked for a session to be captured again. */
  | { type: 'review.recapture-requested'; session: VerificationSession; requestId: string }
  /** Login sessions were revoked: their consoles' sockets must end. */
  | { type: 'login-sessions.ended'; loginSessionIds: string[] }
  /** A user was disabled or their roles changed: what their login sessions carry is out of date. */
  | { type: 'user.access-changed'; userId: string }
  /** A call was answered, just before CALL_ANSWERED is applied (an automated call queues its script). */
  | { type: 'call.answered'; sessionId: string; attemptId: string };

export type DomainEvent = InTxEvent | CommittedEvent;

/** Every event type, for the start-up check that each has a subscriber. */
export const IN_TX_EVENT_TYPES = ['session.completed'] as const satisfies readonly InTxEvent['type'][];
export const COMMITTED_EVENT_TYPES = ['routing.needed', 'loan-file.maturity-changed', 'review.recapture-requested', 'login-sessions.ended', 'user.access-changed', 'call.answered'] as const satisfies readonly CommittedEvent['type'][];

// A new event type that is missing from the lists above fails to compile here.
const everyTypeListed: [Exclude<DomainEvent['type'], (typeof IN_TX_EVENT_TYPES)[number] | (typeof COMMITTED_EVENT_TYPES)[number]>] extends [never] ? true : false = true;
void everyTypeListed;

type InTxOf<T extends InTxEvent['type']> = Extract<InTxEvent, { type: T }>;
type CommittedOf<T extends CommittedEvent['type']> = Extract<CommittedEvent, { type: T }>;
type InTxSubscriber = (event: InTxEvent, tx: Sql) => Promise<void>;
type CommittedSubscriber = (event: CommittedEvent) => Promise<void>;

export class DomainEvents {
  private readonly inTx = new Map<InTxEvent['type'], InTxSubscriber[]>();
  private readonly committed = new Map<CommittedEvent['type'], CommittedSubscriber[]>();

  /** Runs `subscriber` inside the transaction of every publish of `type`. */
  subscribe<T extends InTxEvent['type']>(type: T, subscriber: (event: InTxOf<T>, tx: Sql) => Promise<void>): void {
    const list = this.inTx.get(type) ?? [];
    list.push(subscriber as InTxSubscriber);
    this.inTx.set(type, list);
  }

  /** Runs `subscriber` after the fact of `type` was committed. */
  subscribeCommitted<T extends CommittedEvent['type']>(type: T, subscriber: (event: CommittedOf<T>) => Promise<void>): void {
    const list = this.committed.get(type) ?? [];
    list.push(subscriber as CommittedSubscriber);
    this.committed.set(type, list);
  }

  /** Runs the subscribers in the caller's transaction, in subscription order; the first to throw aborts it. */
  async publish(tx: Sql, event: InTxEvent): Promise<void> {
    for (const subscriber of this.inTx.get(event.type) ?? []) await subscriber(event, tx);
  }

  /** Runs the subscribers of a committed fact in subscription order; the first to throw is the caller's error. */
  async publishCommitted(event: CommittedEvent): Promise<void> {
    for (const subscriber of this.committed.get(event.type) ?? []) await subscriber(event);
  }

  /** Throws when an event type has no subscriber (call once every feature is composed). */
  assertSubscribed(): void {
    const missing = [
      ...IN_TX_EVENT_TYPES.filter((type) => !this.inTx.get(type)?.length),
      ...COMMITTED_EVENT_TYPES.filter((type) => !this.committed.get(type)?.length),
    ];
    if (missing.length > 0) throw new Error(`Domain events without a subscriber: ${missing.join(', ')}`);
  }
}
