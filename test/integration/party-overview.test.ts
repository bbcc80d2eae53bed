// What the borrower join page learns from GET /api/join/:token: where the one-time code stands
// (tries left, lock, when to resend), whether the appointment may still be moved, and the loan's key
// terms, which only the holder of the party token sees.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../support/api-client.js';
import { eventually, LOAN_TERMS } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { loanFileOf, sessionOf } from '../support/reads.js';
import { HttpSink } from '../support/http-sink.js';
import { ALWAYS_OPEN, loanFileWithBorrower, losClient, onlineAgent, takeOffer } from '../support/verification.js';

let t: TestApp;
let los: ApiClient;
let sms: HttpSink;
const CONTRACT_HASH = createHash('sha256').update('contract for the overview').digest('hex');

beforeAll(async () => {
  sms = await HttpSink.start();
  t = await startTestApp({ ...ALWAYS_OPEN, NOTIFIER: 'http', NOTIFIER_URL: `${sms.url}/sms` }, { livekit: true });
  los = await losClient(t);
});
afterAll(async () => {
  await t?.stop();
  await sms?.stop();
});

interface CodeStatus {
  pending: boolean;
  triesLeft: number;
  lockedUntil: string | null;
  resendAt: string | null;
}
interface Overview {
  state: string;
  authenticated: boolean;
  canReschedule: boolean;
  position: number | null;
  otp: { join: CodeStatus; sign: CodeStatus };
  terms: { loanReference: string; product: string; amount: string; currency: string; documentHash: string | null; signedAt: string | null; loanTerms: unknown; values: unknown } | null;
}

const smsTo = (phone: string, template: string) =>
  eventually(async () => sms.received.map((r) => JSON.parse(r.body) as { to: string; template: string; text: string }).filter((m) => m.to === phone && m.template === template)[0]);

async function book(phone: string, product: string) {
  const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone, product });
  const res = await los.post<{ id: string }>(`/api/loan-files/${loanFileId}/sessions`, { partyId, kind: 'VIDEO', notBefore: new Date().toISOString(), contractDocumentHash: CONTRACT_HASH });
  expect(res.status).toBe(201);
  const invitation = await smsTo(phone, 'invitation');
  const link = /\/join\/([A-Za-z0-9_-]{43})/.exec(invitation.text)![1]!;
  const loanFile = await loanFileOf(los, loanFileId);
  return { link, sessionId: res.body.id, externalRef: loanFile.externalRef };
}

describe('the join page overview', () => {
  it('shows the key terms only with the party token, and says how the code and the slot stand', async () => {
    const phone = '+8613900000101';
    const { link, sessionId, externalRef } = await book(phone, 'overview-terms');
    const party = t.client();

    const fresh = await party.get<Overview>(`/api/join/${link}`);
    expect(fresh.status).toBe(200);
    expect(fresh.body).toMatchObject({ authenticated: false, terms: null, canReschedule: true, position: null, otp: { join: { pending: false, triesLeft: 5, lockedUntil: null, resendAt: null } } });

    expect((await party.post(`/api/join/${link}/otp`, { purpose: 'join' })).status).toBe(202);
    const code = /(\d{6})/.exec((await smsTo(phone, 'otp')).text)![1]!;
    const sent = await party.get<Overview>(`/api/join/${link}`);
    expect(sent.body.otp.join.pending).toBe(true);
    expect(Date.parse(sent.body.otp.join.resendAt!)).toBeGreaterThan(Date.now());
    expect(sent.body.otp.sign.pending).toBe(false);

    const wrong = code === '111111' ? '222222' : '111111';
    expect((await party.post<{ code: string }>(`/api/join/${link}/otp/verify`, { code: wrong })).body.code).toBe('OTP_INVALID');
    expect((await party.get<Overview>(`/api/join/${link}`)).body.otp.join.triesLeft).toBe(4);

    const verified = await party.post<{ partyToken: string }>(`/api/join/${link}/otp/verify`, { code });
    expect(verified.status).toBe(200);
    const withToken = await party.get<Overview>(`/api/join/${link}`, { 'x-party-token': verified.body.partyToken });
    expect(withToken.body.authenticated).toBe(true);
    expect(withToken.body.terms).toEqual({
      loanReference: externalRef,
      product: 'overview-terms',
      productName: null,
      amount: '80000.00',
      currency: 'CNY',
      documentHash: CONTRACT_HASH,
      signedAt: null,
      // The terms the script states, so the contract viewer can highlight them, and in words per language.
      loanTerms: { amount: '80000.00', currency: 'CNY', ...LOAN_TERMS },
      values: {
        'zh-CN': expect.objectContaining({ amount: '¥80,000.00', apr: '4.35%', term: '12个月', dueDay: '15', lenderName: '示例银行', repaymentMethod: '等额本息' }),
        en: expect.objectContaining({ amount: 'CN¥80,000.00', apr: '4.35%', term: '12 months', lenderName: 'Example Bank' }),
      },
    });
    // A wrong or missing party token sees no loan data, and is told so rather than refused.
    const guessed = await party.get<Overview>(`/api/join/${link}`, { 'x-party-token': 'x'.repeat(43) });
    expect(guessed.status).toBe(200);
    expect(guessed.body).toMatchObject({ authenticated: false, terms: null });

    // In the waiting room the slot can no longer be moved.
    const token = verified.body.partyToken;
    expect((await party.post(`/api/join/${link}/consent`, { recording: true, dataProcessing: true, locale: 'zh-CN' }, { 'x-party-token': token })).status).toBe(204);
    expect((await party.post(`/api/join/${link}/ready`, undefined, { 'x-party-token': token })).status).toBe(200);
    const waiting = await party.get<Overview>(`/api/join/${link}`, { 'x-party-token': token });
    expect(waiting.body).toMatchObject({ state: 'WAITING', canReschedule: false, position: 1 });
    expect((await sessionOf(los, sessionId)).state).toBe('WAITING');

    // Once an agent takes the session the party is out of the line: position 0, an agent is coming.
    const agent = await onlineAgent(t, 'overview-terms');
    await takeOffer(agent, sessionId);
    expect((await party.get<Overview>(`/api/join/${link}`, { 'x-party-token': token })).body).toMatchObject({ state: 'WAITING', position: 0 });
    agent.socket.close();
  });

  it('reports the lock after five wrong codes', async () => {
    const phone = '+8613900000102';
    const { link } = await book(phone, 'overview-lock');
    const party = t.client();
    await party.post(`/api/join/${link}/otp`, { purpose: 'join' });
    const code = /(\d{6})/.exec((await smsTo(phone, 'otp')).text)![1]!;
    const wrong = code === '111111' ? '222222' : '111111';
    for (let i = 0; i < 5; i += 1) await party.post(`/api/join/${link}/otp/verify`, { code: wrong });
    const locked = await party.get<Overview>(`/api/join/${link}`);
    expect(Date.parse(locked.body.otp.join.lockedUntil!)).toBeGreaterThan(Date.now());
    expect(locked.body.otp.join.pending).toBe(false);
  });
});
