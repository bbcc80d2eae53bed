// Properties of the session lifecycle over arbitrary event sequences: what must hold whichever order
// webhooks, jobs, agents and the LOS deliver their events in. The table of single transitions lives in
// session-state.test.ts; here the effects are followed along whole lives of a session.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RetryDecision } from '../../server/verification/retry-policy.js';
import {
  InvalidTransition,
  LIVE_STATES,
  SESSION_STATES,
  TERMINAL_STATES,
  transition,
  type LosEventType,
  type SessionEvent,
  type SessionKind,
  type SessionState,
  type Transition,
} from '../../server/verification/session-state.js';

const instant = fc.integer({ min: Date.parse('2026-01-01T00:00:00Z'), max: Date.parse('2027-01-01T00:00:00Z') }).map((t) => new Date(t));
const retryArb: fc.Arbitrary<RetryDecision> = fc.oneof(
  instant.chain((notBefore) => fc.boolean().map((countsAgainstLimit) => ({ kind: 'retry' as const, notBefore, countsAgainstLimit }))),
  fc.constantFrom('max_attempts_reached:3', 'deadline_passed', 'not_retryable:INVALID_NUMBER').map((reason) => ({ kind: 'exhausted' as const, reason })),
);
const agentId = fc.constantFrom('agent-1', 'agent-2');

const eventArb: fc.Arbitrary<SessionEvent> = fc.oneof(
  agentId.map((id) => ({ type: 'OFFER_ACCEPTED' as const, agentId: id })),
  fc.constant({ type: 'AUTOMATED_CALL_DUE' as const }),
  fc.constantFrom('DENIED', 'UNCLEAR', 'NO_INPUT', 'HUNG_UP').map((reason) => ({ type: 'HANDED_TO_PERSON' as const, reason })),
  fc.constant({ type: 'APPOINTMENT_DUE' as const }),
  fc.constant({ type: 'PARTY_READY' as const }),
  fc.constant({ type: 'CALL_RINGING' as const }),
  fc.constant({ type: 'CALL_ANSWERED' as const }),
  retryArb.map((retry) => ({ type: 'DIAL_FAILED' as const, retry })),
  agentId.map((id) => ({ type: 'AGENT_JOINED' as const, agentId: id })),
  retryArb.map((retry) => ({ type: 'NO_SHOW' as const, retry })),
  fc.constant({ type: 'CONVERSATION_ENDED' as const }),
  fc.constant({ type: 'RECONNECT_GRACE_EXPIRED' as const }),
  fc.constant({ type: 'CALL_BACK' as const }),
  fc.constantFrom('PASSED', 'FAILED', 'ESCALATED').map((outcome) => ({ type: 'CHECKLIST_SUBMITTED' as const, outcome })),
  fc.constantFrom('PASSED', 'FAILED').map((outcome) => ({ type: 'SUPERVISOR_DECIDED' as const, outcome })),
  fc.constant({ type: 'RETRY_DUE' as const }),
  instant.map((notBefore) => ({ type: 'RESCHEDULED' as const, notBefore })),
  fc.constant({ type: 'CANCELLED' as const, reason: 'los' }),
  fc.constant({ type: 'DEADLINE_PASSED' as const }),
);
const kindArb = fc.constantFrom<SessionKind>('CALL', 'VIDEO');
// Long enough to go round the retry loop a few times.
const lifeArb = fc.tuple(kindArb, fc.array(eventArb, { maxLength: 60 }));

function tryTransition(state: SessionState, kind: SessionKind, event: SessionEvent): Transition | undefined {
  try {
    return transition({ state, kind }, event);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidTransition);
    return undefined;
  }
}

/** The resources a session holds, as its effects claim and release them. */
interface Ledger {
  state: SessionState;
  attemptOpen: boolean;
  recording: boolean;
  agentHeld: boolean;
  los: LosEventType[];
  applied: number;
}

function live(kind: SessionKind, events: SessionEvent[], check: (before: Ledger, event: SessionEvent, result: Transition, after: Ledger) => void = () => undefined): Ledger {
  const ledger: Ledger = { state: 'SCHEDULED', attemptOpen: false, recording: false, agentHeld: false, los: [], applied: 0 };
  for (const event of events) {
    const result = tryTransition(ledger.state, kind, event);
    if (!result) continue;
    const before = { ...ledger, los: [...ledger.los] };
    for (const effect of result.effects) {
      switch (effect.type) {
        case 'openAttempt':
          // An attempt is never opened over another one: the old room and recording would leak.
          expect(ledger.attemptOpen, `${before.state} + ${event.type} opens a second attempt`).toBe(false);
          ledger.attemptOpen = true;
          break;
        case 'endAttempt':
          ledger.attemptOpen = false;
          break;
        case 'startRecording':
          expect(ledger.recording, `${before.state} + ${event.type} starts a second recording`).toBe(false);
          expect(ledger.attemptOpen, 'a recording belongs to an open attempt').toBe(true);
          ledger.recording = true;
          break;
        case 'stopRecording':
          ledger.recording = false;
          break;
        case 'releaseAgent':
          ledger.agentHeld = false;
          break;
        case 'notifyLos':
          ledger.los.push(effect.event);
          break;
        default:
          break;
      }
    }
    if (event.type === 'OFFER_ACCEPTED' || event.type === 'AGENT_JOINED') ledger.agentHeld = true;
    ledger.state = result.next;
    ledger.applied += 1;
    check(before, event, result, ledger);
  }
  return ledger;
}

const LOS_EVENT_OF: Partial<Record<SessionState, LosEventType>> = {
  COMPLETED: 'verification.completed',
  EXHAUSTED: 'verification.exhausted',
  CANCELLED: 'verification.cancelled',
  EXPIRED: 'verification.expired',
  ESCALATED: 'verification.escalated',
};

describe('session lifecycle properties', () => {
  it('is a pure function: the same session and event give the same result, and neither is changed', () => {
    fc.assert(
      fc.property(kindArb, fc.constantFrom(...SESSION_STATES), eventArb, (kind, state, event) => {
        const session = { state, kind };
        const frozenEvent = structuredClone(event);
        const first = tryTransition(state, kind, event);
        const second = tryTransition(state, kind, event);
        expect(second).toEqual(first);
        expect(session).toEqual({ state, kind });
        expect(event).toEqual(frozenEvent);
      }),
    );
  });

  it('the LOS hears of every closing exactly once, with the matching event, and of nothing else', () => {
    fc.assert(
      fc.property(lifeArb, ([kind, events]) => {
        live(kind, events, (before, _event, result, after) => {
          const told = after.los.slice(before.los.length);
          const expected = result.next !== before.state ? LOS_EVENT_OF[result.next] : undefined;
          expect(told).toEqual(expected ? [expected] : []);
        });
      }),
      { numRuns: 500 },
    );
  });

  it('an outcome comes with, and only with, a decided or escalated session', () => {
    fc.assert(
      fc.property(lifeArb, ([kind, events]) => {
        live(kind, events, (before, event, result) => {
          if (result.next === 'COMPLETED') {
            expect(['PASSED', 'FAILED']).toContain(result.outcome);
            if (event.type === 'CHECKLIST_SUBMITTED' || event.type === 'SUPERVISOR_DECIDED') expect(result.outcome).toBe(event.outcome);
          } else if (result.next === 'ESCALATED') {
            expect(result.outcome).toBe('ESCALATED');
          } else {
            expect(result.outcome, `${before.state} + ${event.type}`).toBeUndefined();
          }
        });
      }),
      { numRuns: 500 },
    );
  });

  it('nothing is left running once a session stops talking: no open attempt, no recording, no agent held', () => {
    fc.assert(
      fc.property(lifeArb, ([kind, events]) => {
        live(kind, events, (_before, event, _result, after) => {
          const at = `${after.state} after ${event.type}`;
          if (TERMINAL_STATES.has(after.state) || after.state === 'RETRY_PENDING' || after.state === 'ESCALATED' || after.state === 'WRAP_UP') {
            expect(after.attemptOpen, at).toBe(false);
            expect(after.recording, at).toBe(false);
          }
          if (TERMINAL_STATES.has(after.state) || after.state === 'RETRY_PENDING' || after.state === 'ESCALATED') expect(after.agentHeld, at).toBe(false);
          // Recording runs exactly while the conversation does.
          expect(after.recording, at).toBe(after.state === 'IN_PROGRESS');
        });
      }),
      { numRuns: 500 },
    );
  });

  it('a retry or a new slot is scheduled at exactly the decided instant', () => {
    fc.assert(
      fc.property(lifeArb, ([kind, events]) => {
        live(kind, events, (_before, event, result) => {
          const scheduled = result.effects.filter((e) => e.type === 'scheduleDue');
          if (event.type === 'RESCHEDULED') expect(scheduled).toEqual([{ type: 'scheduleDue', at: event.notBefore }]);
          else if ((event.type === 'DIAL_FAILED' || event.type === 'NO_SHOW') && event.retry.kind === 'retry') {
            expect(result.next).toBe('RETRY_PENDING');
            expect(scheduled).toEqual([{ type: 'scheduleDue', at: event.retry.notBefore }]);
          } else {
            expect(scheduled).toEqual([]);
          }
          if ((event.type === 'DIAL_FAILED' || event.type === 'NO_SHOW') && event.retry.kind === 'exhausted') expect(result.next).toBe('EXHAUSTED');
        });
      }),
      { numRuns: 300 },
    );
  });

  it('a call is never dialled outside SCHEDULED or WRAP_UP, and a video session never dials', () => {
    fc.assert(
      fc.property(lifeArb, ([kind, events]) => {
        live(kind, events, (before, event, result) => {
          if (!result.effects.some((e) => e.type === 'dial')) return;
          expect(kind).toBe('CALL');
          expect(['SCHEDULED', 'WRAP_UP']).toContain(before.state);
          expect(['OFFER_ACCEPTED', 'CALL_BACK', 'AUTOMATED_CALL_DUE']).toContain(event.type);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('the deadline never cuts off a live conversation, and cancelling always ends what is open', () => {
    fc.assert(
      fc.property(kindArb, fc.constantFrom(...SESSION_STATES), (kind, state) => {
        const expired = tryTransition(state, kind, { type: 'DEADLINE_PASSED' });
        if (LIVE_STATES.has(state) || TERMINAL_STATES.has(state)) expect(expired).toBeUndefined();
        else expect(expired?.next).toBe('EXPIRED');
        const cancelled = tryTransition(state, kind, { type: 'CANCELLED', reason: 'x' });
        if (TERMINAL_STATES.has(state)) expect(cancelled).toBeUndefined();
        else expect(cancelled?.effects.map((e) => e.type)).toEqual(expect.arrayContaining(['stopRecording', 'endAttempt', 'closeRoom', 'withdrawOffers', 'releaseAgent']));
      }),
    );
  });

  it('once terminal, a session stays terminal whatever arrives later', () => {
    fc.assert(
      fc.property(lifeArb, fc.array(eventArb, { maxLength: 20 }), ([kind, events], later) => {
        const ended = live(kind, events);
        if (!TERMINAL_STATES.has(ended.state)) return;
        for (const event of later) expect(tryTransition(ended.state, kind, event)).toBeUndefined();
      }),
      { numRuns: 200 },
    );
  });
});
