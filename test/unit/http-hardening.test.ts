// Pure pieces of the HTTP hardening: what logs and problem+json may show of a path, literal LIKE
// patterns, who sees /readyz's details, and the date ranges timestamp and date fields accept.
import { describe, expect, it } from 'vitest';
import { redactPath } from '../../server/http/context.js';
import { escapeLike } from '../../server/db/like-pattern.js';
import { showsReadinessDetails, type ReadinessCaller } from '../../server/health/health.routes.js';
import { calendarDate, plannedTimestamp, timestamp } from '../../server/shared/schemas.js';

const TOKEN = 'k3Jd8sQ0vZp1xWmN5tYb7cRf2gHh4LlA9eUo6iKj0Ms';

describe('redactPath', () => {
  it.each([
    ['the link token in the API', `/api/join/${TOKEN}`, '/api/join/:token'],
    ['... under any sub-path', `/api/join/${TOKEN}/otp/verify`, '/api/join/:token/otp/verify'],
    ['the link token in the page', `/join/${TOKEN}`, '/join/:token'],
    ['a malformed token is still the token', '/api/join/short', '/api/join/:token'],
    ['ids stay readable', '/api/loan-files/0b6c1d4e-8f3a-4c2b-9d7e-1a2b3c4d5e6f/parties', '/api/loan-files/0b6c1d4e-8f3a-4c2b-9d7e-1a2b3c4d5e6f/parties'],
    ['an agent joining a session is not a token', '/api/sessions/0b6c1d4e-8f3a-4c2b-9d7e-1a2b3c4d5e6f/join', '/api/sessions/0b6c1d4e-8f3a-4c2b-9d7e-1a2b3c4d5e6f/join'],
    ['any other long opaque segment', `/api/elsewhere/${TOKEN}`, '/api/elsewhere/:redacted'],
    ['short words stay', '/api/nope', '/api/nope'],
    ['the root', '/', '/'],
  ])('%s', (_case, path, expected) => {
    expect(redactPath(path)).toBe(expected);
  });
});

describe('escapeLike', () => {
  it.each([
    ['plain text', 'LF-2026/001', 'LF-2026/001'],
    ['underscore', 'LF_1', 'LF\\_1'],
    ['percent', '50%', '50\\%'],
    ['the escape character itself, first', 'a\\%', 'a\\\\\\%'],
    ['only wildcards', '%_%', '\\%\\_\\%'],
  ])('%s', (_case, text, expected) => {
    expect(escapeLike(text)).toBe(expected);
  });
});

describe('showsReadinessDetails', () => {
  const TOKEN_POLICY = { env: 'production' as const, metricsToken: 'metrics-token-0123456789' };
  const caller = (over: Partial<ReadinessCaller>): ReadinessCaller => ({ authorization: undefined, peerAddress: '10.0.0.7', forwarded: false, ...over });
  it.each<[string, { env: 'development' | 'test' | 'production'; metricsToken: string | undefined }, Partial<ReadinessCaller>, boolean]>([
    ['development: everyone', { env: 'development', metricsToken: undefined }, {}, true],
    ['test: everyone', { env: 'test', metricsToken: undefined }, { forwarded: true }, true],
    ['production, a remote client', TOKEN_POLICY, {}, false],
    ['production, the metrics token', TOKEN_POLICY, { authorization: 'Bearer metrics-token-0123456789' }, true],
    ['production, a wrong token', TOKEN_POLICY, { authorization: 'Bearer metrics-token-012345678' }, false],
    ['production, a token but no METRICS_TOKEN configured', { env: 'production', metricsToken: undefined }, { authorization: 'Bearer anything-at-all-here' }, false],
    ['production, loopback IPv4', TOKEN_POLICY, { peerAddress: '127.0.0.1' }, true],
    ['production, loopback IPv6', TOKEN_POLICY, { peerAddress: '::1' }, true],
    ['production, IPv4-mapped loopback', TOKEN_POLICY, { peerAddress: '::ffff:127.0.0.1' }, true],
    ['production, loopback relaying a forwarded client (a proxy on this host)', TOKEN_POLICY, { peerAddress: '127.0.0.1', forwarded: true }, false],
    ['production, a remote client claiming loopback in a header', TOKEN_POLICY, { peerAddress: '203.0.113.9', forwarded: true }, false],
    ['production, no peer address (socket gone)', TOKEN_POLICY, { peerAddress: undefined }, false],
  ])('%s', (_case, policy, over, expected) => {
    expect(showsReadinessDetails(policy, caller(over))).toBe(expected);
  });
});

describe('the date ranges of timestamps, planned timestamps and calendar dates', () => {
  it.each<[string, boolean, boolean]>([
    // instant, as a timestamp (stored as given), as a planned timestamp (computed with)
    ['2026-11-23T10:00:00Z', true, true],
    ['1900-01-01T00:00:00Z', true, true],
    ['1899-12-31T23:59:59.999Z', false, false],
    ['0000-01-01T00:00:00Z', false, false],
    ['0001-01-01T00:00:00Z', false, false],
    ['2999-12-31T23:59:59.999Z', true, true],
    ['3000-01-01T00:00:00Z', true, false],
    ['2999-12-31T23:00:00-12:00', true, false],
    ['9999-12-31T00:00:00Z', true, false],
    ['9999-12-31T23:59:59.999Z', true, false],
    ['9999-12-31T23:00:00-12:00', false, false],
    ['+275760-09-13T00:00:00.000Z', false, false],
  ])('%s', (text, asTimestamp, asPlanned) => {
    expect([timestamp.safeParse(text).success, plannedTimestamp.safeParse(text).success]).toEqual([asTimestamp, asPlanned]);
  });

  it.each([
    ['2031-06-30', true],
    ['1900-01-01', true],
    ['2999-12-31', true],
    ['0000-01-01', false],
    ['0001-01-01', false],
    ['3000-01-01', false],
    ['9999-12-31', false],
    ['2031-02-30', false],
  ])('calendarDate %s', (text, ok) => {
    expect(calendarDate('must be a date').safeParse(text).success).toBe(ok);
  });

  it('says what is wrong once: a malformed value gets the format message, not the range one as well', () => {
    expect(plannedTimestamp.safeParse('soon').error?.issues.map((i) => i.message)).toEqual(['Invalid ISO datetime']);
    expect(plannedTimestamp.safeParse('9999-12-31T00:00:00Z').error?.issues.map((i) => i.message)).toEqual(['must be between 1900-01-01 and 2999-12-31 (UTC)']);
    expect(calendarDate('must be a date').safeParse('0000-01-01').error?.issues.map((i) => i.message)).toEqual(['must be between 1900-01-01 and 2999-12-31']);
  });
});
