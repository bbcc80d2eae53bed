import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LOS_RETRY_SCHEDULE_MS, retryDelayAfter, signLosWebhook, verifyLosWebhook } from '../../server/loan-files/los-webhooks.service.js';

const secret = 'whsec-0123456789abcdef';
const body = '{"id":"7b0c1a52-3f0e-4f4e-9a57-3c1f2d9e8b10","type":"loan_file.verified"}';
const t = 1_800_000_000;

describe('LOS webhook signature', () => {
  it('has the documented format: t=<ts>,v1=<hex HMAC-SHA256 of "<ts>.<body>">', () => {
    const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
    expect(signLosWebhook(secret, t, body)).toBe(`t=${t},v1=${expected}`);
  });

  it('verifies its own signature, also near the edge of the tolerance', () => {
    const header = signLosWebhook(secret, t, body);
    expect(verifyLosWebhook(secret, header, body, t)).toBe(true);
    expect(verifyLosWebhook(secret, header, body, t + 300)).toBe(true);
    expect(verifyLosWebhook(secret, header, body, t - 300)).toBe(true);
  });

  it('rejects a wrong secret and a tampered body', () => {
    const header = signLosWebhook(secret, t, body);
    expect(verifyLosWebhook('another-secret-of-16+', header, body, t)).toBe(false);
    expect(verifyLosWebhook(secret, header, body.replace('verified', 'failed'), t)).toBe(false);
    expect(verifyLosWebhook(secret, header, `${body} `, t)).toBe(false);
  });

  it('rejects a timestamp outside the tolerance, in either direction', () => {
    const header = signLosWebhook(secret, t, body);
    expect(verifyLosWebhook(secret, header, body, t + 301)).toBe(false);
    expect(verifyLosWebhook(secret, header, body, t - 301)).toBe(false);
    expect(verifyLosWebhook(secret, header, body, t + 3_600, 3_600)).toBe(true);
  });

  it('rejects a re-dated signature: the timestamp is part of what is signed', () => {
    const v1 = signLosWebhook(secret, t, body).split('v1=')[1];
    expect(verifyLosWebhook(secret, `t=${t + 600},v1=${v1}`, body, t + 600)).toBe(false);
  });

  it('accepts any matching v1, so a secret can be rotated', () => {
    const old = signLosWebhook('the-old-secret-16+', t, body).split(',')[1];
    const current = signLosWebhook(secret, t, body).split(',')[1];
    expect(verifyLosWebhook(secret, `t=${t},${old},${current}`, body, t)).toBe(true);
    expect(verifyLosWebhook(secret, `t=${t},${old}`, body, t)).toBe(false);
  });

  it.each([
    ['missing', undefined],
    ['empty', ''],
    ['no timestamp', `v1=${'a'.repeat(64)}`],
    ['no v1', `t=${t}`],
    ['timestamp not a number', `t=soon,v1=${'a'.repeat(64)}`],
    ['v1 not hex', `t=${t},v1=${'z'.repeat(64)}`],
    ['v1 too short', `t=${t},v1=abcd`],
    ['no key', `=${t}`],
    ['garbage', 'Bearer abc'],
  ])('rejects a malformed header (%s)', (_name, header) => {
    expect(verifyLosWebhook(secret, header, body, t)).toBe(false);
  });
});

describe('LOS webhook retry policy', () => {
  it('keeps retrying for at least 24 hours by default', () => {
    const total = DEFAULT_LOS_RETRY_SCHEDULE_MS.reduce((sum, ms) => sum + ms, 0);
    expect(total).toBeGreaterThanOrEqual(24 * 3_600_000);
  });

  const schedule = [10, 20, 30];
  it.each([
    [1, 500, 10],
    [2, null, 20],
    [3, 429, 30],
    [1, 400, 10],
    [1, 404, 10],
    [4, 500, null],
    [1, 410, null],
  ])('after attempt %i answered %s waits %s', (attempt, statusCode, expected) => {
    expect(retryDelayAfter(attempt, statusCode, schedule)).toBe(expected);
  });
});
