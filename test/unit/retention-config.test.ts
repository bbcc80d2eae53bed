import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/config.js';

const PRODUCTION = {
  NODE_ENV: 'production',
  PUBLIC_URL: 'https://verify.bank.test',
  DATABASE_URL: 'postgresql://facesign@db/facesign',
  REDIS_URL: 'redis://cache:6379',
  SIGNING_KEY_FILE: '/etc/facesign/signing-key.pem',
  SIGNING_CERT_FILE: '/etc/facesign/signing-cert.pem',
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe('RETENTION_MONTHS_MIN_AFTER_VERIFICATION', () => {
  it('is 36 months unless set, and reaches the retention rules', () => {
    expect(loadConfig({}).recordings.retention.minMonthsAfterVerification).toBe(36);
    expect(loadConfig({ RETENTION_MONTHS_MIN_AFTER_VERIFICATION: '60' }).recordings.retention.minMonthsAfterVerification).toBe(60);
  });

  it('refuses no floor in production, allows it elsewhere (tests of short Object Lock periods)', () => {
    expect(problemsOf({ ...PRODUCTION, RETENTION_MONTHS_MIN_AFTER_VERIFICATION: '0' })).toEqual([
      'RETENTION_MONTHS_MIN_AFTER_VERIFICATION: must be at least 1 in production (recordings would become deletable the moment they are verified)',
    ]);
    expect(problemsOf({ ...PRODUCTION, RETENTION_MONTHS_MIN_AFTER_VERIFICATION: '1' })).toEqual([]);
    expect(loadConfig({ RETENTION_MONTHS_MIN_AFTER_VERIFICATION: '0' }).recordings.retention.minMonthsAfterVerification).toBe(0);
  });

  it('refuses what is not a whole number of months up to 100 years', () => {
    for (const value of ['-1', '1201', '1.5', 'three']) expect(problemsOf({ RETENTION_MONTHS_MIN_AFTER_VERIFICATION: value })[0]).toMatch(/^RETENTION_MONTHS_MIN_AFTER_VERIFICATION: /);
  });
});
