import { describe, expect, it } from 'vitest';
import { classifyDialFailure, type DialFailure, type DialFailureOutcome } from '../../server/livekit/dial-outcome.js';

const table: [string, DialFailure, DialFailureOutcome][] = [
  ['486 Busy Here', { sipStatusCode: 486 }, 'BUSY'],
  ['600 Busy Everywhere', { sipStatusCode: 600 }, 'BUSY'],
  ['603 Decline', { sipStatusCode: 603 }, 'DECLINED'],
  ['607 Unwanted', { sipStatusCode: 607 }, 'DECLINED'],
  ['608 Rejected', { sipStatusCode: 608 }, 'DECLINED'],
  ['408 Request Timeout', { sipStatusCode: 408 }, 'NO_ANSWER'],
  ['412 (LiveKit ringing timeout)', { sipStatusCode: 412 }, 'NO_ANSWER'],
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
  ['ringing timeout (twirp canceled, no SIP status)', { twirpCode: 'canceled' }, 'NO_ANSWER'],
  ['deadline exceeded, no SIP status', { twirpCode: 'deadline_exceeded' }, 'NO_ANSWER'],
  ['twirp resource_exhausted', { twirpCode: 'resource_exhausted' }, 'RATE_LIMITED'],
  ['unknown trunk', { twirpCode: 'not_found' }, 'TRUNK_UNAVAILABLE'],
  ['sip service not connected', { twirpCode: 'failed_precondition' }, 'TRUNK_UNAVAILABLE'],
  ['LiveKit unavailable', { twirpCode: 'unavailable' }, 'TRUNK_UNAVAILABLE'],
  ['bad credentials', { twirpCode: 'unauthenticated' }, 'TRUNK_UNAVAILABLE'],
  ['number rejected by LiveKit', { twirpCode: 'invalid_argument' }, 'INVALID_NUMBER'],
  ['transport error, nothing known', {}, 'CARRIER_FAILURE'],
];

describe('classifyDialFailure', () => {
  it.each(table)('%s -> %s', (_name, failure, expected) => {
    expect(classifyDialFailure(failure)).toBe(expected);
  });
});
