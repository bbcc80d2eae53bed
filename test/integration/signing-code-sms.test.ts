// The two codes a party receives read differently: the code to enter the video verification says it
// is for signing in; the code that confirms signing says it signs the loan contract and names the
// loan reference and amount, in the party's language. Read from what the SMS gateway received.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../support/api-client.js';
import { eventually } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { loanFileOf } from '../support/reads.js';
import { HttpSink } from '../support/http-sink.js';
import { ALWAYS_OPEN, loanFileWithBorrower, losClient, onlineAgent, stateOf, takeOffer } from '../support/verification.js';

let t: TestApp;
let los: ApiClient;
let sms: HttpSink;
const CONTRACT_HASH = createHash('sha256').update('signing code contract').digest('hex');

beforeAll(async () => {
  sms = await HttpSink.start();
  t = await startTestApp({ ...ALWAYS_OPEN, NOTIFIER: 'http', NOTIFIER_URL: `${sms.url}/sms` }, { livekit: true });
  los = await losClient(t);
});
afterAll(async () => {
  await t?.stop();
  await sms?.stop();
});

interface Sms {
  to: string;
  template: string;
  locale: string;
  text: string;
}
const messagesTo = (phone: string) => sms.received.map((r) => JSON.parse(r.body) as Sms).filter((m) => m.to === phone);
const nextSms = (phone: string, count: number): Promise<Sms[]> => eventually(async () => (messagesTo(phone).length >= count ? messagesTo(phone) : undefined));
const codeIn = (m: Sms) => /(\d{6})/.exec(m.text)![1]!;

/** A party in a video call with an agent, having passed the login code; returns every SMS so far and how to ask for more. */
async function inCall(phone: string, locale: 'zh-CN' | 'en', product: string) {
  const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone, product, locale });
  const booked = await los.post<{ id: string }>(`/api/loan-files/${loanFileId}/sessions`, { partyId, kind: 'VIDEO', notBefore: new Date().toISOString(), contractDocumentHash: CONTRACT_HASH });
  expect(booked.status).toBe(201);
  const [invitation] = await nextSms(phone, 1);
  const link = /\/join\/([A-Za-z0-9_-]{43})/.exec(invitation!.text)![1]!;
  const party = t.client();
  expect((await party.post(`/api/join/${link}/otp`, { purpose: 'join' })).status).toBe(202);
  const login = (await nextSms(phone, 2))[1]!;
  const verified = await party.post<{ partyToken: string }>(`/api/join/${link}/otp/verify`, { code: codeIn(login) });
  expect(verified.status).toBe(200);
  const headers = { 'x-party-token': verified.body.partyToken };
  expect((await party.post(`/api/join/${link}/consent`, { recording: true, dataProcessing: true, locale }, headers)).status).toBe(204);
  const ready = await party.post<{ token: string }>(`/api/join/${link}/ready`, undefined, headers);
  expect(ready.status).toBe(200);
  await t.sim!.control.join(ready.body.token);
  const agent = await onlineAgent(t, product, [locale]);
  await takeOffer(agent, booked.body.id);
  const grant = await agent.client.post<{ token: string }>(`/api/sessions/${booked.body.id}/join`);
  await t.sim!.control.join(grant.body.token);
  await stateOf(t, booked.body.id, 'IN_PROGRESS');
  expect((await party.post(`/api/join/${link}/otp`, { purpose: 'sign' }, headers)).status).toBe(202);
  const signing = (await nextSms(phone, 3))[2]!;
  const loanFile = await loanFileOf(los, loanFileId);
  // The signing code works for signing, so the message carries the code that was sent.
  const signed = await party.post(`/api/join/${link}/sign`, { code: codeIn(signing) }, headers);
  expect(signed.status).toBe(201);
  agent.socket.close();
  return { login, signing, loanReference: loanFile.externalRef };
}

describe('the codes a party receives by SMS', () => {
  it('in Chinese: the login code is for signing in, the signing code names the contract, the loan reference and the amount', async () => {
    const { login, signing, loanReference } = await inCall('+8613900000601', 'zh-CN', 'sms-sign-zh');
    expect(login).toMatchObject({ template: 'otp', locale: 'zh-CN' });
    expect(login.text).toContain('登录');
    expect(login.text).not.toContain('合同');
    expect(signing).toMatchObject({ template: 'signing_code', locale: 'zh-CN' });
    expect(signing.text).toContain('签署贷款合同');
    expect(signing.text).toContain(loanReference);
    expect(signing.text).toContain('¥80,000.00');
    expect(signing.text).not.toContain('登录');
    // Apart from the code itself, the two messages are not alike.
    expect(signing.text.replace(codeIn(signing), '')).not.toBe(login.text.replace(codeIn(login), ''));
  });

  it('in English: the same distinction, in the party\'s language', async () => {
    const { login, signing, loanReference } = await inCall('+14155550601', 'en', 'sms-sign-en');
    expect(login).toMatchObject({ template: 'otp', locale: 'en' });
    expect(login.text).toMatch(/sign in to your video verification/);
    expect(login.text).not.toMatch(/contract/);
    expect(signing).toMatchObject({ template: 'signing_code', locale: 'en' });
    expect(signing.text).toMatch(/sign the loan contract/);
    expect(signing.text).toContain(loanReference);
    expect(signing.text).toMatch(/CN¥80,000\.00/);
    expect(signing.text).not.toMatch(/sign in/);
  });
});
