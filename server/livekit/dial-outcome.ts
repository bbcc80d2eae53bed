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
  /**
   * livekit-sip's status text: the reason phrase, or for 400/404/480/486/488 the response body or the
   * carrier's X-Twilio-Error header. Free text from the carrier: read only to tell a calls-per-second
   * refusal from other 503s (whose text is the reason phrase), never stored or shown.
   */
  sipStatus?: string | undefined;
  /** The Twirp error code when there was no SIP response (timeouts, unreachable or unknown trunk). */
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

/**
 * Failures without any SIP response. The party's phone was never reached, so none of these count
 * against the party — except a ringing phone that nobody picked up. What LiveKit answers (checked
 * against livekit-server 1.13 and livekit-sip):
 * - `canceled` "sip request timed out": the ringing timeout passed with no final response. After
 *   ringing that is an unanswered phone; with no provisional response at all it is a trunk that never
 *   answers (a dead address over UDP).
 * - `deadline_exceeded`: livekit-server stopped waiting (80 s); the same two readings.
 * - `invalid_argument` with no SIP status: the trunk's address does not resolve or is malformed. The
 *   party's number is validated as E.164 before it is ever dialled, so it is never the number.
 * - `failed_precondition` ("transport<TCP> dial err … connection refused", too many auth challenges),
 *   `unavailable` (no livekit-sip answers: "no response from servers"), `internal` ("sip not
 *   connected", the SIP participant could not join the room), `not_found` (unknown trunk),
 *   `unauthenticated`/`permission_denied` (our API key): our side of the call path.
 * - `resource_exhausted` with no SIP status: LiveKit's own limit on calls.
 */
export function classifyDialFailure(failure: DialFailure): DialFailureOutcome {
  const sip = failure.sipStatusCode;
  if (sip !== undefined && Number.isFinite(sip) && sip > 0) {
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
  switch (failure.twirpCode) {
    case 'canceled':
    case 'deadline_exceeded':
      return failure.rang ? 'NO_ANSWER' : 'TRUNK_UNAVAILABLE';
    case 'resource_exhausted':
      return 'RATE_LIMITED';
    default:
      // Every other failure without a SIP response happened on our side of the call path.
      return 'TRUNK_UNAVAILABLE';
  }
}
