import { describe, expect, it } from 'vitest';
import { checkContractUrl, isPublicAddress, type ContractFetchPolicy } from '../../server/loan-files/contract-fetch.js';
import { contractRetention } from '../../recordings/contract-retention.service.js';
import { AppError } from '../../server/shared/errors.js';

const policy: ContractFetchPolicy = {
  allowedHosts: ['los.bank.example', 'files.bank.example:8443', '10.1.2.3', 'intranet.bank.example', 'legacy.bank.example'],
  httpHosts: ['legacy.bank.example'],
  privateHosts: ['10.1.2.3', 'intranet.bank.example'],
  connectTimeoutMs: 1000,
  timeoutMs: 5000,
};

function refusal(url: string, p: ContractFetchPolicy = policy): string | null {
  try {
    checkContractUrl(url, p);
    return null;
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
}

describe('checkContractUrl', () => {
  it.each([
    ['https://los.bank.example/c/1.pdf?sig=abc', null],
    ['https://LOS.bank.example/c/1.pdf', null],
    ['https://los.bank.example:443/c/1.pdf', null],
    ['https://los.bank.example:8443/c/1.pdf', null],
    ['https://files.bank.example:8443/c.pdf', null],
    ['https://files.bank.example/c.pdf', 'CONTRACT_URL_NOT_ALLOWED'],
    ['http://los.bank.example/c.pdf', 'CONTRACT_URL_NOT_ALLOWED'],
    ['http://legacy.bank.example/c.pdf', null],
    ['https://evil.example/c.pdf', 'CONTRACT_URL_NOT_ALLOWED'],
    ['https://los.bank.example.evil.example/c.pdf', 'CONTRACT_URL_NOT_ALLOWED'],
    ['https://user:pw@los.bank.example/c.pdf', 'CONTRACT_URL_NOT_ALLOWED'],
    ['ftp://los.bank.example/c.pdf', 'CONTRACT_URL_NOT_ALLOWED'],
    ['not a url', 'CONTRACT_URL_NOT_ALLOWED'],
    ['https://10.1.2.3/c.pdf', null],
    ['https://10.1.2.4/c.pdf', 'CONTRACT_URL_NOT_ALLOWED'],
  ])('%s -> %s', (url, code) => {
    expect(refusal(url)).toBe(code);
  });

  it('an IP literal allowed as a host but not as a private one is refused', () => {
    expect(refusal('https://127.0.0.1/c.pdf', { ...policy, allowedHosts: ['127.0.0.1'], privateHosts: [] })).toBe('CONTRACT_URL_NOT_ALLOWED');
    expect(refusal('https://[::1]/c.pdf', { ...policy, allowedHosts: ['[::1]'], privateHosts: [] })).toBe('CONTRACT_URL_NOT_ALLOWED');
  });

  it('is off when no host is allowed', () => {
    expect(refusal('https://los.bank.example/c.pdf', { ...policy, allowedHosts: [] })).toBe('CONTRACT_FETCH_DISABLED');
  });
});

describe('isPublicAddress', () => {
  it.each([
    ['8.8.8.8', true],
    ['2001:4860:4860::8888', true],
    ['127.0.0.1', false],
    ['10.0.0.1', false],
    ['172.16.5.4', false],
    ['192.168.1.1', false],
    ['169.254.169.254', false],
    ['100.64.0.1', false],
    ['0.0.0.0', false],
    ['::1', false],
    ['fe80::1', false],
    ['fd00::1', false],
    ['::ffff:127.0.0.1', false],
    ['not-an-ip', false],
  ])('%s -> %s', (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });
});

describe('contractRetention', () => {
  const d = (s: string) => new Date(s);
  it.each([
    ['the rule alone', { rule: d('2035-06-30'), needs: { recordingsRetainUntil: null, legalHold: false }, current: null }, d('2035-06-30')],
    ['a later recording extends it', { rule: d('2035-06-30'), needs: { recordingsRetainUntil: d('2036-06-30'), legalHold: false }, current: d('2035-06-30') }, d('2036-06-30')],
    ['an earlier recording does not shorten it', { rule: d('2035-06-30'), needs: { recordingsRetainUntil: d('2034-01-01'), legalHold: false }, current: d('2035-06-30') }, d('2035-06-30')],
    ['a rule moved earlier does not shorten it', { rule: d('2033-06-30'), needs: { recordingsRetainUntil: null, legalHold: false }, current: d('2035-06-30') }, d('2035-06-30')],
  ])('%s', (_name, input, until) => {
    expect(contractRetention(input).retainUntil).toEqual(until);
  });
  it('is held while a recording is', () => {
    expect(contractRetention({ rule: d('2035-06-30'), needs: { recordingsRetainUntil: null, legalHold: true }, current: null }).legalHold).toBe(true);
  });
});
