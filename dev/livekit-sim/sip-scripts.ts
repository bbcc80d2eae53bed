// Scripted called parties, like a telephony provider's magic test numbers. A number whose last seven
// digits are 555 01XX (the fictional 555-0100..0199 range, under any country or area code, e.g.
// +1 202 555 0120 or +86 138 0555 0120) behaves as row XX says; every other number answers after a short
// ring. Seconds are simulated seconds (scaled by `timeScale`) counted from the moment the call is placed.

export interface SipStatusLine {
  code: number;
  reason: string;
  /**
   * Extra headers of the response, "Name: value". Carriers explain failures in their own headers;
   * livekit-sip reports `X-Twilio-Error` (or a text body) as the status text of 400, 404, 480, 486
   * and 488 instead of the reason phrase.
   */
  headers?: string[];
}

export type PartyScript =
  /** Rings, then picks up; optionally hangs up again after `hangUpAfterSeconds` of talk. */
  | { outcome: 'answer'; answerAfterSeconds: number; hangUpAfterSeconds?: number }
  /** Final SIP error response; `afterSeconds` undefined means before the phone ever rings. */
  | { outcome: 'reject'; status: SipStatusLine; afterSeconds?: number }
  /** Rings until LiveKit's ringing timeout gives up. */
  | { outcome: 'no-answer' }
  /**
   * Nothing answers the INVITE: no provisional and no final response, as from a dead address over
   * UDP. livekit-sip gives up at the ringing timeout; the phone never rang.
   */
  | { outcome: 'no-response' }
  /** Rings until the control API answers, rejects it, or the ringing timeout fires. */
  | { outcome: 'manual' };

export interface TestNumber {
  /** The last two digits, XX in 55501XX. */
  suffix: string;
  behaviour: string;
  script: PartyScript;
  /** The keypad digit the party presses once the call is up (RFC 2833). The simulator has no media and
   * only the SIPp phone sends it. */
  dtmfDigit?: string;
  /**
   * The party keeps pressing one key once the call is up: at `startSeconds` of talk and every
   * `everySeconds` after, until `untilSeconds`. The SIPp phone plays it as RFC 2833 events; the
   * simulator delivers it to the room as SIP DTMF packets at the same (scaled) times.
   */
  keypad?: KeypadPattern;
}

export interface KeypadPattern {
  digit: string;
  startSeconds: number;
  everySeconds: number;
  untilSeconds: number;
}

export const TEST_NUMBER_PREFIX = '55501';

/** Seconds between placing the call and the phone starting to ring (180 Ringing). */
export const RINGING_STARTS_AFTER_SECONDS = 0.5;

/** Seconds before a failure that happens before any ringing (e.g. 404) comes back. */
export const IMMEDIATE_FAILURE_AFTER_SECONDS = 0.3;

export const DEFAULT_SCRIPT: PartyScript = { outcome: 'answer', answerAfterSeconds: 2 };

const status = (code: number, reason: string): SipStatusLine => ({ code, reason });

export const TEST_NUMBERS: readonly TestNumber[] = [
  {
    suffix: '00',
    behaviour: 'answers at once, before it ever rings (auto-answer)',
    script: { outcome: 'answer', answerAfterSeconds: 0.2 },
  },
  ...[1, 2, 3, 4, 5, 6, 7, 8, 9].map(
    (n): TestNumber => ({
      suffix: `0${n}`,
      behaviour: `answers after ${n} s`,
      script: { outcome: 'answer', answerAfterSeconds: n },
    }),
  ),
  ...[0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map(
    (m): TestNumber => ({
      suffix: `1${m}`,
      behaviour: m === 0 ? 'answers after 1 s and hangs up at once' : `answers after 1 s, hangs up after ${m * 10} s of talk`,
      script: { outcome: 'answer', answerAfterSeconds: 1, hangUpAfterSeconds: m * 10 },
    }),
  ),
  { suffix: '20', behaviour: 'busy', script: { outcome: 'reject', status: status(486, 'Busy Here'), afterSeconds: 1 } },
  { suffix: '21', behaviour: 'declines after ringing 3 s', script: { outcome: 'reject', status: status(603, 'Decline'), afterSeconds: 3 } },
  { suffix: '22', behaviour: 'no answer: rings until the ringing timeout', script: { outcome: 'no-answer' } },
  {
    suffix: '23',
    behaviour: 'no answer: the carrier gives up after 20 s of ringing',
    script: { outcome: 'reject', status: status(480, 'Temporarily Unavailable'), afterSeconds: 20 },
  },
  {
    suffix: '24',
    behaviour: 'no answer: the carrier times the call out after 20 s of ringing',
    script: { outcome: 'reject', status: status(408, 'Request Timeout'), afterSeconds: 20 },
  },
  {
    suffix: '25',
    behaviour: 'no answer: the carrier gives up after 3 s of ringing and says why in its own header',
    script: { outcome: 'reject', status: { ...status(480, 'Temporarily Unavailable'), headers: ['X-Twilio-Error: 32009 subscriber did not answer'] }, afterSeconds: 3 },
  },
  { suffix: '30', behaviour: 'number does not exist', script: { outcome: 'reject', status: status(404, 'Not Found') } },
  { suffix: '31', behaviour: 'number incomplete', script: { outcome: 'reject', status: status(484, 'Address Incomplete') } },
  {
    suffix: '40',
    behaviour: 'subscriber unreachable (phone off / no coverage)',
    script: { outcome: 'reject', status: status(480, 'Temporarily Unavailable') },
  },
  { suffix: '41', behaviour: 'carrier failure', script: { outcome: 'reject', status: status(503, 'Service Unavailable') } },
  { suffix: '42', behaviour: 'carrier internal error', script: { outcome: 'reject', status: status(500, 'Server Internal Error') } },
  { suffix: '50', behaviour: 'nothing answers the INVITE (no SIP response at all, like a dead trunk over UDP)', script: { outcome: 'no-response' } },
  {
    suffix: '51',
    behaviour: 'rate-limited by the carrier (calls-per-second limit)',
    script: { outcome: 'reject', status: status(503, 'CPS limit exceeded') },
  },
  { suffix: '52', behaviour: 'trunk refuses our credentials', script: { outcome: 'reject', status: status(403, 'Forbidden') } },
  ...[0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map(
    (d): TestNumber => ({
      suffix: `6${d}`,
      behaviour: `answers after 1 s and presses ${d} on the keypad a second later`,
      script: { outcome: 'answer', answerAfterSeconds: 1 },
      dtmfDigit: String(d),
    }),
  ),
  // Parties of automated confirmation calls: keys pressed every 1.5 s for three minutes. Keys pressed
  // while a question is still spoken do not count, so whatever the prompts' length, each question gets
  // the next press after it.
  {
    suffix: '70',
    behaviour: 'answers after 1 s and presses 1 every 1.5 s (confirms everything)',
    script: { outcome: 'answer', answerAfterSeconds: 1 },
    keypad: { digit: '1', startSeconds: 0.5, everySeconds: 1.5, untilSeconds: 180 },
  },
  {
    suffix: '71',
    behaviour: 'answers after 1 s and presses 2 every 1.5 s (denies)',
    script: { outcome: 'answer', answerAfterSeconds: 1 },
    keypad: { digit: '2', startSeconds: 0.5, everySeconds: 1.5, untilSeconds: 180 },
  },
  {
    suffix: '72',
    behaviour: 'answers after 1 s, presses 1 every 1.5 s, hangs up after 40 s of talk',
    script: { outcome: 'answer', answerAfterSeconds: 1, hangUpAfterSeconds: 40 },
    keypad: { digit: '1', startSeconds: 0.5, everySeconds: 1.5, untilSeconds: 180 },
  },
  { suffix: '90', behaviour: 'rings until told what to do through the control API', script: { outcome: 'manual' } },
];

function testNumberOf(phoneNumber: string): TestNumber | undefined {
  const digits = phoneNumber.replace(/\D/g, '');
  if (digits.length < 7 || digits.slice(-7, -2) !== TEST_NUMBER_PREFIX) return undefined;
  const suffix = digits.slice(-2);
  return TEST_NUMBERS.find((entry) => entry.suffix === suffix);
}

export function scriptForNumber(phoneNumber: string): PartyScript {
  return testNumberOf(phoneNumber)?.script ?? DEFAULT_SCRIPT;
}

/** The keys a test number presses once answered, if any. */
export function keypadForNumber(phoneNumber: string): KeypadPattern | undefined {
  return testNumberOf(phoneNumber)?.keypad;
}
