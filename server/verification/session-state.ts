// The verification session lifecycle as a pure function: (session, event) -> next state + effects.
// No I/O here. Services apply the result with a conditional update (state + version) and run the
// effects after commit; see README.md in this folder for the diagram.
import type { RetryDecision } from './retry-policy.js';

export const SESSION_STATES = [
  'SCHEDULED',
  'DISPATCHING',
  'RINGING',
  'WAITING',
  'IN_PROGRESS',
  'RETRY_PENDING',
  'WRAP_UP',
  'ESCALATED',
  'COMPLETED',
  'EXHAUSTED',
  'CANCELLED',
  'EXPIRED',
] as const;
export type SessionState = (typeof SESSION_STATES)[number];
export type SessionKind = 'CALL' | 'VIDEO';
export type FinalOutcome = 'PASSED' | 'FAILED';

export const TERMINAL_STATES: ReadonlySet<SessionState> = new Set(['COMPLETED', 'EXHAUSTED', 'CANCELLED', 'EXPIRED']);
/** States in which a live conversation may be going on: the deadline does not cut them off. */
export const LIVE_STATES: ReadonlySet<SessionState> = new Set(['IN_PROGRESS', 'WRAP_UP', 'ESCALATED']);

export type SessionEvent =
  /** CALL: an agent accepted the offer; a new attempt is opened and the call placed. */
  | { type: 'OFFER_ACCEPTED'; agentId: string }
  /** CALL (automated mode): due and inside calling hours; dialled with no agent (server/automated-calls). */
  | { type: 'AUTOMATED_CALL_DUE' }
  /** CALL (automated mode): the script stopped (denied, unclear, no input, hang-up); an agent calls back. */
  | { type: 'HANDED_TO_PERSON'; reason: string }
  /** VIDEO: the appointment time came; the party is expected in the waiting room. */
  | { type: 'APPOINTMENT_DUE' }
  /** VIDEO: the party passed the one-time code and consent and entered the waiting room. */
  | { type: 'PARTY_READY' }
  /** CALL: the phone rings. */
  | { type: 'CALL_RINGING' }
  /** CALL: the party picked up. */
  | { type: 'CALL_ANSWERED' }
  /** CALL: the call failed; `retry` is the retry policy's decision (with calling hours applied). */
  | { type: 'DIAL_FAILED'; retry: RetryDecision }
  /** VIDEO: the assigned agent joined the party's room. */
  | { type: 'AGENT_JOINED'; agentId: string }
  /** VIDEO: the invited party did not arrive in time. */
  | { type: 'NO_SHOW'; retry: RetryDecision }
  /** CALL: the party hung up. VIDEO: the agent ended the conversation. */
  | { type: 'CONVERSATION_ENDED' }
  /** VIDEO: the party dropped and did not return within the reconnect grace. */
  | { type: 'RECONNECT_GRACE_EXPIRED' }
  /** CALL: from wrap-up, the agent calls the party back (e.g. the line dropped mid-checklist). */
  | { type: 'CALL_BACK' }
  /** The agent submits the checklist; outcome from the outcome rules. */
  | { type: 'CHECKLIST_SUBMITTED'; outcome: FinalOutcome | 'ESCALATED' }
  /** A supervisor decides an escalated session. */
  | { type: 'SUPERVISOR_DECIDED'; outcome: FinalOutcome }
  /** A retry is due: back into the queue. */
  | { type: 'RETRY_DUE' }
  | { type: 'RESCHEDULED'; notBefore: Date }
  | { type: 'CANCELLED'; reason: string }
  | { type: 'DEADLINE_PASSED' };

export type LosEventType = 'verification.completed' | 'verification.escalated' | 'verification.exhausted' | 'verification.cancelled' | 'verification.expired';

export type SessionEffect =
  | { type: 'openAttempt' }
  | { type: 'dial' }
  | { type: 'startRecording' }
  | { type: 'stopRecording' }
  | { type: 'endAttempt'; reason: string }
  | { type: 'closeRoom' }
  | { type: 'scheduleDue'; at: Date }
  | { type: 'scheduleNoShow' }
  | { type: 'routeToAgent' }
  | { type: 'withdrawOffers' }
  | { type: 'releaseAgent' }
  | { type: 'notifyLos'; event: LosEventType };

export interface Transition {
  next: SessionState;
  outcome?: FinalOutcome | 'ESCALATED';
  effects: SessionEffect[];
}

export class InvalidTransition extends Error {
  constructor(
    readonly from: SessionState,
    readonly event: SessionEvent['type'],
  ) {
    super(`${event} is not allowed in state ${from}`);
    this.name = 'InvalidTransition';
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled event ${JSON.stringify(value)}`);
}

/** Everything a session holds in LiveKit or in the agent's hands, let go. */
const teardown: SessionEffect[] = [{ type: 'stopRecording' }, { type: 'endAttempt', reason: 'session_closed' }, { type: 'closeRoom' }, { type: 'withdrawOffers' }, { type: 'releaseAgent' }];

function afterFailure(retry: RetryDecision, attemptEnd: string): Transition {
  const common: SessionEffect[] = [{ type: 'endAttempt', reason: attemptEnd }, { type: 'closeRoom' }, { type: 'releaseAgent' }];
  return retry.kind === 'retry'
    ? { next: 'RETRY_PENDING', effects: [...common, { type: 'scheduleDue', at: retry.notBefore }] }
    : { next: 'EXHAUSTED', effects: [...common, { type: 'notifyLos', event: 'verification.exhausted' }] };
}

export function transition(session: { state: SessionState; kind: SessionKind }, event: SessionEvent): Transition {
  const { state, kind } = session;
  const reject = (): never => {
    throw new InvalidTransition(state, event.type);
  };
  const isCall = kind === 'CALL';

  switch (event.type) {
    case 'OFFER_ACCEPTED':
      if (!isCall || state !== 'SCHEDULED') return reject();
      return { next: 'DISPATCHING', effects: [{ type: 'openAttempt' }, { type: 'dial' }] };

    case 'AUTOMATED_CALL_DUE':
      if (!isCall || state !== 'SCHEDULED') return reject();
      return { next: 'DISPATCHING', effects: [{ type: 'openAttempt' }, { type: 'dial' }] };

    case 'HANDED_TO_PERSON':
      // Back into the queue at once: routing offers it to an agent like any due call.
      if (!isCall || (state !== 'IN_PROGRESS' && state !== 'WRAP_UP')) return reject();
      return state === 'IN_PROGRESS'
        ? { next: 'SCHEDULED', effects: [{ type: 'stopRecording' }, { type: 'endAttempt', reason: 'handed_to_person' }, { type: 'closeRoom' }, { type: 'routeToAgent' }] }
        : { next: 'SCHEDULED', effects: [{ type: 'routeToAgent' }] };

    case 'APPOINTMENT_DUE':
      if (isCall || state !== 'SCHEDULED') return reject();
      return { next: 'DISPATCHING', effects: [{ type: 'scheduleNoShow' }] };

    case 'PARTY_READY':
      if (isCall || !['SCHEDULED', 'DISPATCHING', 'RETRY_PENDING'].includes(state)) return reject();
      return { next: 'WAITING', effects: [{ type: 'openAttempt' }, { type: 'routeToAgent' }] };

    case 'CALL_RINGING':
      if (!isCall || state !== 'DISPATCHING') return reject();
      return { next: 'RINGING', effects: [] };

    case 'CALL_ANSWERED':
      if (!isCall || (state !== 'DISPATCHING' && state !== 'RINGING')) return reject();
      return { next: 'IN_PROGRESS', effects: [{ type: 'startRecording' }] };

    case 'DIAL_FAILED':
      if (!isCall || (state !== 'DISPATCHING' && state !== 'RINGING')) return reject();
      return afterFailure(event.retry, 'dial_failed');

    case 'AGENT_JOINED':
      if (isCall || state !== 'WAITING') return reject();
      return { next: 'IN_PROGRESS', effects: [{ type: 'startRecording' }] };

    case 'NO_SHOW':
      if (isCall || state !== 'DISPATCHING') return reject();
      return afterFailure(event.retry, 'no_show');

    case 'CONVERSATION_ENDED':
      if (state !== 'IN_PROGRESS') return reject();
      return { next: 'WRAP_UP', effects: [{ type: 'stopRecording' }, { type: 'endAttempt', reason: 'conversation_ended' }, { type: 'closeRoom' }] };

    case 'RECONNECT_GRACE_EXPIRED':
      // The attempt is over; the party may come back through the link, which opens a new attempt.
      if (isCall || state !== 'IN_PROGRESS') return reject();
      return { next: 'DISPATCHING', effects: [{ type: 'stopRecording' }, { type: 'endAttempt', reason: 'party_disconnected' }, { type: 'closeRoom' }, { type: 'scheduleNoShow' }] };

    case 'CALL_BACK':
      if (!isCall || state !== 'WRAP_UP') return reject();
      return { next: 'DISPATCHING', effects: [{ type: 'openAttempt' }, { type: 'dial' }] };

    case 'CHECKLIST_SUBMITTED': {
      if (state !== 'WRAP_UP' && state !== 'IN_PROGRESS') return reject();
      const wrap: SessionEffect[] =
        state === 'IN_PROGRESS' ? [{ type: 'stopRecording' }, { type: 'endAttempt', reason: 'checklist_submitted' }, { type: 'closeRoom' }] : [];
      if (event.outcome === 'ESCALATED') {
        return { next: 'ESCALATED', outcome: 'ESCALATED', effects: [...wrap, { type: 'releaseAgent' }, { type: 'notifyLos', event: 'verification.escalated' }] };
      }
      return { next: 'COMPLETED', outcome: event.outcome, effects: [...wrap, { type: 'releaseAgent' }, { type: 'notifyLos', event: 'verification.completed' }] };
    }

    case 'SUPERVISOR_DECIDED':
      if (state !== 'ESCALATED') return reject();
      return { next: 'COMPLETED', outcome: event.outcome, effects: [{ type: 'notifyLos', event: 'verification.completed' }] };

    case 'RETRY_DUE':
      if (state !== 'RETRY_PENDING') return reject();
      return { next: 'SCHEDULED', effects: [] };

    case 'RESCHEDULED':
      // Only before anyone is connected: a video party who has not yet arrived may pick a new slot.
      if (!(state === 'SCHEDULED' || state === 'RETRY_PENDING' || (!isCall && state === 'DISPATCHING'))) return reject();
      return { next: 'SCHEDULED', effects: [{ type: 'withdrawOffers' }, { type: 'scheduleDue', at: event.notBefore }] };

    case 'CANCELLED':
      if (TERMINAL_STATES.has(state)) return reject();
      return { next: 'CANCELLED', effects: [...teardown, { type: 'notifyLos', event: 'verification.cancelled' }] };

    case 'DEADLINE_PASSED':
      // A conversation under way, its wrap-up and a pending supervisor decision finish normally.
      if (TERMINAL_STATES.has(state) || LIVE_STATES.has(state)) return reject();
      return { next: 'EXPIRED', effects: [...teardown, { type: 'notifyLos', event: 'verification.expired' }] };

    default:
      return assertNever(event);
  }
}
