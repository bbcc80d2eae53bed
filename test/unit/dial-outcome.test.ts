import { describe, expect, it } from 'vitest';
import { classifyDialFailure, type DialFailure, type DialFailureOutcome } from '../../server/livekit/dial-outcome.js';

const table: [string, DialFailure, DialFailureOutcome][] = [
  ['486 Busy Here', { sipStatusCode: 486 }, 'BUSY'],
  ['600 Busy Everywhere', { sipStatusCode: 600 }, 'BUSY'],
  ['603 Decline', { sipStatusCode: 603 }, 'DECLINED'],
  ['607 Unwanted', { sipStatusCode: 607 }, 'DECLINED'],
  ['608 Rejected', { sipStatusCode: 608 }, 'DECLINED'],
  ['408 Request Timeout', { sipStatusCode: 408 }, 'NO_ANSWER'],
  // SIP 412 Conditional Request Failed is not a ringing timeout: Twirp's HTTP 412 (failed_precondition)
  // is a different number space.
  ['SIP 412 Conditional Request Failed', { sipStatusCode: 412 }, 'CARRIER_FAILURE'],
  ['487 Request Terminated', { sipStatusCode: 487 }, 'NO_ANSWER'],
  ['480 after ringing', { sipStatusCode: 480, rang: true }, 'NO_ANSWER'],
  ['480 before ringing', { sipStatusCode: 480, rang: false }, 'CARRIER_FAILURE'],
  ['480, ringing unknown', { sipStatusCode: 480 }, 'CARRIER_FAILURE'],
  ['404 Not Found', { sipStatusCode: 404 }, 'INVALID_NUMBER'],
  ['410 Gone', { sipStatusCode: 410 }, 'INVALID_NUMBER'],
  ['484 Address Incomplete', { sipStatusCode: 484 }, 'INVALID_NUMBER'],
  ['485 Ambiguous', { sipStatusCode: 485 }, 'INVALID_NUMBER'],
  ['604 Does Not Exist Anywhere', { sipStatusCode: 604 }, 'INVALID_NUMBER'],
  ['401 Unauthorized', { sipStatusCode: 401 }, 'TRUNK_UNAVAILABLE'],
  ['403 Forbidden', { sipStatusCode: 403 }, 'TRUNK_UNAVAILABLE'],
  ['407 Proxy Authentication Required', { sipStatusCode: 407 }, 'TRUNK_UNAVAILABLE'],
  ['429 Too Many Requests', { sipStatusCode: 429 }, 'RATE_LIMITED'],
  ['500 Server Internal Error', { sipStatusCode: 500 }, 'CARRIER_FAILURE'],
  ['502 Bad Gateway', { sipStatusCode: 502 }, 'CARRIER_FAILURE'],
  ['503 Service Unavailable', { sipStatusCode: 503 }, 'CARRIER_FAILURE'],
  ['504 Server Time-out', { sipStatusCode: 504 }, 'CARRIER_FAILURE'],
  ['488 Not Acceptable Here', { sipStatusCode: 488 }, 'CARRIER_FAILURE'],
  ['503 "CPS limit exceeded" (carrier rate limit)', { sipStatusCode: 503, sipStatus: 'CPS limit exceeded' }, 'RATE_LIMITED'],
  ['503 Service Unavailable with twirp noise', { sipStatusCode: 503, sipStatus: 'Service Unavailable', twirpCode: 'resource_exhausted' }, 'CARRIER_FAILURE'],
  ['503 whose carrier header names the limit is still read from the reason phrase only', { sipStatusCode: 486, sipStatus: 'cps limit exceeded' }, 'BUSY'],
  ['ringing timeout after ringing (twirp canceled, no SIP status)', { twirpCode: 'canceled', rang: true }, 'NO_ANSWER'],
  ['dead trunk over UDP: canceled, never rang', { twirpCode: 'canceled', rang: false }, 'TRUNK_UNAVAILABLE'],
  ['canceled, ringing unknown', { twirpCode: 'canceled' }, 'TRUNK_UNAVAILABLE'],
  ['LiveKit stopped waiting while it rang', { twirpCode: 'deadline_exceeded', rang: true }, 'NO_ANSWER'],
  ['LiveKit stopped waiting before any ringing', { twirpCode: 'deadline_exceeded', rang: false }, 'TRUNK_UNAVAILABLE'],
  ['twirp resource_exhausted', { twirpCode: 'resource_exhausted' }, 'RATE_LIMITED'],
  ['unknown trunk', { twirpCode: 'not_found' }, 'TRUNK_UNAVAILABLE'],
  ['TCP trunk refused the connection', { twirpCode: 'failed_precondition' }, 'TRUNK_UNAVAILABLE'],
  ['no livekit-sip answers ("no response from servers")', { twirpCode: 'unavailable' }, 'TRUNK_UNAVAILABLE'],
  ['"sip not connected" / the SIP participant could not join the room', { twirpCode: 'internal' }, 'TRUNK_UNAVAILABLE'],
  ['bad credentials', { twirpCode: 'unauthenticated' }, 'TRUNK_UNAVAILABLE'],
  ['trunk host does not resolve (invalid_argument, no SIP status)', { twirpCode: 'invalid_argument' }, 'TRUNK_UNAVAILABLE'],
  ['nothing known', {}, 'TRUNK_UNAVAILABLE'],
];

describe('classifyDialFailure', () => {
  it.each(table)('%s -> %s', (_name, failure, expected) => {
    expect(classifyDialFailure(failure)).toBe(expected);
  });
});
