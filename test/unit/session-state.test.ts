import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  InvalidTransition,
  SESSION_STATES,
  TERMINAL_STATES,
  transition,
  type SessionEvent,
  type SessionKind,
  type SessionState,
} from '../../server/verification/session-state.js';

const at = new Date('2026-11-24T02:00:00Z');
const retry = { kind: 'retry', notBefore: at, countsAgainstLimit: true } as const;
const exhausted = { kind: 'exhausted', reason: 'limit' } as const;

const EVENTS: SessionEvent[] = [
  { type: 'OFFER_ACCEPTED', agentId: 'a' },
  { type: 'AUTOMATED_CALL_DUE' },
  { type: 'HANDED_TO_PERSON', reason: 'DENIED' },
  { type: 'APPOINTMENT_DUE' },
  { type: 'PARTY_READY' },
  { type: 'CALL_RINGING' },
  { type: 'CALL_ANSWERED' },
  { type: 'DIAL_FAILED', retry },
  { type: 'AGENT_JOINED', agentId: 'a' },
  { type: 'NO_SHOW', retry },
  { type: 'CONVERSATION_ENDED' },
  { type: 'RECONNECT_GRACE_EXPIRED' },
  { type: 'CALL_BACK' },
  { type: 'CHECKLIST_SUBMITTED', outcome: 'PASSED' },
  { type: 'SUPERVISOR_DECIDED', outcome: 'FAILED' },
  { type: 'RETRY_DUE' },
  { type: 'RESCHEDULED', notBefore: at },
  { type: 'CANCELLED', reason: 'los' },
  { type: 'DEADLINE_PASSED' },
];

// Every allowed (kind, state, event) and where it leads; everything else must be rejected.
const OPEN = ['SCHEDULED', 'DISPATCHING', 'RINGING', 'WAITING', 'IN_PROGRESS', 'RETRY_PENDING', 'WRAP_UP', 'ESCALATED'] as const;
const ALLOWED: Record<SessionKind, Partial<Record<SessionEvent['type'], Partial<Record<SessionState, SessionState>>>>> = {
  CALL: {
    OFFER_ACCEPTED: { SCHEDULED: 'DISPATCHING' },
    AUTOMATED_CALL_DUE: { SCHEDULED: 'DISPATCHING' },
    HANDED_TO_PERSON: { IN_PROGRESS: 'SCHEDULED', WRAP_UP: 'SCHEDULED' },
    CALL_RINGING: { DISPATCHING: 'RINGING' },
    CALL_ANSWERED: { DISPATCHING: 'IN_PROGRESS', RINGING: 'IN_PROGRESS' },
    DIAL_FAILED: { DISPATCHING: 'RETRY_PENDING', RINGING: 'RETRY_PENDING' },
    CONVERSATION_ENDED: { IN_PROGRESS: 'WRAP_UP' },
    CALL_BACK: { WRAP_UP: 'DISPATCHING' },
    CHECKLIST_SUBMITTED: { IN_PROGRESS: 'COMPLETED', WRAP_UP: 'COMPLETED' },
    SUPERVISOR_DECIDED: { ESCALATED: 'COMPLETED' },
    RETRY_DUE: { RETRY_PENDING: 'SCHEDULED' },
    RESCHEDULED: { SCHEDULED: 'SCHEDULED', RETRY_PENDING: 'SCHEDULED' },
    CANCELLED: Object.fromEntries(OPEN.map((s) => [s, 'CANCELLED'])),
    DEADLINE_PASSED: { SCHEDULED: 'EXPIRED', DISPATCHING: 'EXPIRED', RINGING: 'EXPIRED', WAITING: 'EXPIRED', RETRY_PENDING: 'EXPIRED' },
  },
  VIDEO: {
    APPOINTMENT_DUE: { SCHEDULED: 'DISPATCHING' },
    PARTY_READY: { SCHEDULED: 'WAITING', DISPATCHING: 'WAITING', RETRY_PENDING: 'WAITING' },
    AGENT_JOINED: { WAITING: 'IN_PROGRESS' },
    NO_SHOW: { DISPATCHING: 'RETRY_PENDING' },
    CONVERSATION_ENDED: { IN_PROGRESS: 'WRAP_UP' },
    RECONNECT_GRACE_EXPIRED: { IN_PROGRESS: 'DISPATCHING' },
    CHECKLIST_SUBMITTED: { IN_PROGRESS: 'COMPLETED', WRAP_UP: 'COMPLETED' },
    SUPERVISOR_DECIDED: { ESCALATED: 'COMPLETED' },
    RETRY_DUE: { RETRY_PENDING: 'SCHEDULED' },
    RESCHEDULED: { SCHEDULED: 'SCHEDULED', RETRY_PENDING: 'SCHEDULED', DISPATCHING: 'SCHEDULED' },
    CANCELLED: Object.fromEntries(OPEN.map((s) => [s, 'CANCELLED'])),
    DEADLINE_PASSED: { SCHEDULED: 'EXPIRED', DISPATCHING: 'EXPIRED', RINGING: 'EXPIRED', WAITING: 'EXPIRED', RETRY_PENDING: 'EXPIRED' },
  },
};

const cases = (['CALL', 'VIDEO'] as const).flatMap((kind) =>
  SESSION_STATES.flatMap((state) => EVENTS.map((event) => [kind, state, event.type, ALLOWED[kind][event.type]?.[state] ?? 'rejected', event] as const)),
);

describe('transition: every (kind, state, event)', () => {
  it.each(cases)('%s %s + %s -> %s', (kind, state, _type, expected, event) => {
    if (expected === 'rejected') {
      expect(() => transition({ state, kind }, event)).toThrow(InvalidTransition);
    } else {
      expect(transition({ state, kind }, event).next).toBe(expected);
    }
  });
});

describe('effects', () => {
  it('an accepted call offer opens an attempt and dials', () => {
    expect(transition({ state: 'SCHEDULED', kind: 'CALL' }, { type: 'OFFER_ACCEPTED', agentId: 'a' }).effects).toEqual([{ type: 'openAttempt' }, { type: 'dial' }]);
  });

  it('recording starts exactly when the conversation starts', () => {
    expect(transition({ state: 'RINGING', kind: 'CALL' }, { type: 'CALL_ANSWERED' }).effects).toContainEqual({ type: 'startRecording' });
    expect(transition({ state: 'WAITING', kind: 'VIDEO' }, { type: 'AGENT_JOINED', agentId: 'a' }).effects).toContainEqual({ type: 'startRecording' });
  });

  it('a failed dial schedules the retry at the decided time, or exhausts and tells the LOS', () => {
    const r = transition({ state: 'RINGING', kind: 'CALL' }, { type: 'DIAL_FAILED', retry });
    expect(r.effects).toContainEqual({ type: 'scheduleDue', at });
    expect(r.effects).toContainEqual({ type: 'releaseAgent' });
    const e = transition({ state: 'DISPATCHING', kind: 'CALL' }, { type: 'DIAL_FAILED', retry: exhausted });
    expect(e.next).toBe('EXHAUSTED');
    expect(e.effects).toContainEqual({ type: 'notifyLos', event: 'verification.exhausted' });
    expect(transition({ state: 'DISPATCHING', kind: 'VIDEO' }, { type: 'NO_SHOW', retry: exhausted }).next).toBe('EXHAUSTED');
  });

  it('submitting carries the outcome; escalation waits for a supervisor', () => {
    const passed = transition({ state: 'WRAP_UP', kind: 'CALL' }, { type: 'CHECKLIST_SUBMITTED', outcome: 'PASSED' });
    expect(passed).toMatchObject({ next: 'COMPLETED', outcome: 'PASSED' });
    expect(passed.effects).toContainEqual({ type: 'notifyLos', event: 'verification.completed' });
    expect(passed.effects).not.toContainEqual({ type: 'stopRecording' });
    const escalated = transition({ state: 'IN_PROGRESS', kind: 'VIDEO' }, { type: 'CHECKLIST_SUBMITTED', outcome: 'ESCALATED' });
    expect(escalated).toMatchObject({ next: 'ESCALATED', outcome: 'ESCALATED' });
    expect(escalated.effects).toContainEqual({ type: 'stopRecording' });
    expect(transition({ state: 'ESCALATED', kind: 'VIDEO' }, { type: 'SUPERVISOR_DECIDED', outcome: 'FAILED' })).toMatchObject({ next: 'COMPLETED', outcome: 'FAILED' });
  });

  it('a lost video party ends the attempt and waits for them to return', () => {
    const r = transition({ state: 'IN_PROGRESS', kind: 'VIDEO' }, { type: 'RECONNECT_GRACE_EXPIRED' });
    expect(r.effects).toEqual([{ type: 'stopRecording' }, { type: 'endAttempt', reason: 'party_disconnected' }, { type: 'closeRoom' }, { type: 'scheduleNoShow' }]);
    expect(transition({ state: 'DISPATCHING', kind: 'VIDEO' }, { type: 'PARTY_READY' }).effects).toContainEqual({ type: 'openAttempt' });
  });

  it('an automated call dials with no agent, and its hand-off ends the attempt and asks for an agent at once', () => {
    expect(transition({ state: 'SCHEDULED', kind: 'CALL' }, { type: 'AUTOMATED_CALL_DUE' }).effects).toEqual([{ type: 'openAttempt' }, { type: 'dial' }]);
    const live = transition({ state: 'IN_PROGRESS', kind: 'CALL' }, { type: 'HANDED_TO_PERSON', reason: 'DENIED' });
    expect(live.effects).toEqual([{ type: 'stopRecording' }, { type: 'endAttempt', reason: 'handed_to_person' }, { type: 'closeRoom' }, { type: 'routeToAgent' }]);
    expect(live.effects.map((e) => e.type)).not.toContain('notifyLos');
    expect(transition({ state: 'WRAP_UP', kind: 'CALL' }, { type: 'HANDED_TO_PERSON', reason: 'HUNG_UP' }).effects).toEqual([{ type: 'routeToAgent' }]);
  });

  it('cancelling releases everything and tells the LOS', () => {
    const r = transition({ state: 'IN_PROGRESS', kind: 'CALL' }, { type: 'CANCELLED', reason: 'x' });
    for (const effect of ['stopRecording', 'closeRoom', 'withdrawOffers', 'releaseAgent']) expect(r.effects.map((e) => e.type)).toContain(effect);
    expect(r.effects).toContainEqual({ type: 'notifyLos', event: 'verification.cancelled' });
  });
});

describe('invariants', () => {
  const kind = fc.constantFrom<SessionKind>('CALL', 'VIDEO');
  const event = fc.constantFrom(...EVENTS);

  it('terminal states accept no event', () => {
    fc.assert(
      fc.property(kind, fc.constantFrom(...[...TERMINAL_STATES]), event, (k, s, e) => {
        expect(() => transition({ state: s, kind: k }, e)).toThrow(InvalidTransition);
      }),
    );
  });

  it('along any sequence of events, recording starts only when a conversation begins, and every dial has an attempt', () => {
    fc.assert(
      fc.property(kind, fc.array(event, { maxLength: 40 }), (k, events) => {
        let state: SessionState = 'SCHEDULED';
        let recording = false;
        for (const e of events) {
          let r;
          try {
            r = transition({ state, kind: k }, e);
          } catch (error) {
            expect(error).toBeInstanceOf(InvalidTransition);
            continue;
          }
          const types = r.effects.map((x) => x.type);
          if (types.includes('startRecording')) {
            expect(r.next).toBe('IN_PROGRESS');
            recording = true;
          }
          if (types.includes('stopRecording')) recording = false;
          if (types.includes('dial')) expect(types.indexOf('openAttempt')).toBeLessThan(types.indexOf('dial'));
          if (TERMINAL_STATES.has(r.next) || r.next === 'WRAP_UP' || r.next === 'ESCALATED') expect(recording).toBe(false);
          state = r.next;
        }
      }),
    );
  });
});
