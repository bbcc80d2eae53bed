// How an outbound call ended, from the SIP status LiveKit reports (never from the message text:
// carriers word the same status many ways). The retry policy keys off the result.
export const DIAL_OUTCOMES = [
  'ANSWERED',
  'BUSY',
  'NO_ANSWER',
  'DECLINED',
  'INVALID_NUMBER',
  'CARRIER_FAILURE',
  'TRUNK_UNAVAILABLE',
  'RATE_LIMITED',
] as const;
export type DialOutcome = (typeof DIAL_OUTCOMES)[number];
export type DialFailureOutcome = Exclude<DialOutcome, 'ANSWERED'>;

export interface DialFailure {
  /** `sip_status_code` from the SipCallError metadata, when the far end answered with a SIP status. */
  sipStatusCode?: number | undefined;
  /** The SIP reason phrase, used only to tell a carrier's calls-per-second refusal from other 503s. */
  sipStatus?: string | undefined;
  /** The twirp error code when there was no SIP response (timeouts, unreachable or unknown trunk). */
  twirpCode?: string | undefined;
  /** Whether the phone was seen ringing (sip.callStatus reached `ringing`), when known. */
  rang?: boolean | undefined;
}

const BY_SIP_STATUS: ReadonlyMap<number, DialFailureOutcome> = new Map<number, DialFailureOutcome>([
  [486, 'BUSY'], // Busy Here
  [600, 'BUSY'], // Busy Everywhere
  [603, 'DECLINED'], // Decline
  [607, 'DECLINED'], // Unwanted
  [608, 'DECLINED'], // Rejected (by an intermediary on the callee's behalf)
  [408, 'NO_ANSWER'], // Request Timeout: rang out
  [412, 'NO_ANSWER'], // what LiveKit reports for some ringing timeouts
  [487, 'NO_ANSWER'], // Request Terminated: we cancelled after the ringing timeout
  [404, 'INVALID_NUMBER'], // Not Found
  [410, 'INVALID_NUMBER'], // Gone
  [484, 'INVALID_NUMBER'], // Address Incomplete
  [485, 'INVALID_NUMBER'], // Ambiguous
  [604, 'INVALID_NUMBER'], // Does Not Exist Anywhere
  [401, 'TRUNK_UNAVAILABLE'], // the carrier refuses our trunk's credentials
  [403, 'TRUNK_UNAVAILABLE'],
  [407, 'TRUNK_UNAVAILABLE'],
  [429, 'RATE_LIMITED'], // Too Many Requests: calls-per-second limit
]);

const BY_TWIRP_CODE: ReadonlyMap<string, DialFailureOutcome> = new Map<string, DialFailureOutcome>([
  ['canceled', 'NO_ANSWER'], // LiveKit's ringing timeout: "sip request timed out", no SIP status
  ['deadline_exceeded', 'NO_ANSWER'],
  ['resource_exhausted', 'RATE_LIMITED'],
  ['not_found', 'TRUNK_UNAVAILABLE'], // unknown trunk id
  ['failed_precondition', 'TRUNK_UNAVAILABLE'], // "sip not connected"
  ['unavailable', 'TRUNK_UNAVAILABLE'],
  ['unauthenticated', 'TRUNK_UNAVAILABLE'],
  ['permission_denied', 'TRUNK_UNAVAILABLE'],
  ['invalid_argument', 'INVALID_NUMBER'],
]);

export function classifyDialFailure(failure: DialFailure): DialFailureOutcome {
  const sip = failure.sipStatusCode;
  if (sip !== undefined && Number.isFinite(sip)) {
    const known = BY_SIP_STATUS.get(sip);
    if (known) return known;
    // 480 Temporarily Unavailable: after ringing it means nobody picked up; before, the network
    // could not reach the phone at all.
    if (sip === 480) return failure.rang ? 'NO_ANSWER' : 'CARRIER_FAILURE';
    // Carriers refuse calls over their calls-per-second limit with a 503 whose reason says so; the
    // status alone cannot tell it from an outage, and livekit-sip itself matches this phrase.
    if (sip === 503 && /cps limit|calls? per second|rate limit/i.test(failure.sipStatus ?? '')) return 'RATE_LIMITED';
    return 'CARRIER_FAILURE';
  }
  return BY_TWIRP_CODE.get(failure.twirpCode ?? '') ?? 'CARRIER_FAILURE';
}
