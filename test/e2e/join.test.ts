// The borrower join page in Chromium on a phone-sized screen, against the real server and the LiveKit
// simulator: link → one-time code → consent → camera check → waiting room → an agent picks them up
// (driven through the API, as the agent console would) → call with key terms and signing → thank you.
// Also the pages for links that cannot be used, keyboard-only use, a blocked camera, and moving the
// appointment. Each main step is photographed in both languages (test-artifacts/e2e/join-*.png).
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { ApiClient } from '../support/api-client.js';
import { eventually } from '../support/fixtures.js';
import type { TestApp } from '../support/harness.js';
import { evidenceOf, sessionOf, verifiedSessionOf } from '../support/reads.js';
import { answerAllRequired, onlineAgent, stateOf, takeOffer } from '../support/verification.js';
import { screenshot } from './browser.js';
import { CONTRACT_HASH, codeIn, expectVisibleFocus, focusedName, poll, startBorrowerStage, tabTo, visible, type Borrowers, type BorrowerStage, type Sms } from './borrower.js';

let app: TestApp;
let los: ApiClient;
/** Reads what the API shows staff: evidence (consents), the desk's view of the room. */
let staff: ApiClient;

let stage: BorrowerStage;
beforeAll(async () => {
  stage = await startBorrowerStage();
  ({ app, los, kit } = stage);
  staff = await app.signIn({ roles: ['SUPERVISOR'] });
});
afterAll(async () => stage?.stop());

let kit: Borrowers;
const nextSms = (phone: string, template: string, index = 0): Promise<Sms> => kit.nextSms(phone, template, index);
const bookVideo = (options: Parameters<Borrowers['bookVideo']>[0]) => kit.bookVideo(options);
const borrowerPage = (locale = 'en-US') => kit.page(locale);
const passCodeAndConsent = (page: Page, phone: string, next?: string) => kit.passCodeAndConsent(page, phone, next);

const LANGUAGE = 'Language / 语言';
const langOf = (page: Page) => page.locator('html').getAttribute('lang');

/** Photographs the page in its language, switches to the other, photographs again, and switches back. */
async function photograph(page: Page, step: string, check?: (page: Page) => Promise<void>): Promise<void> {
  const first = (await langOf(page)) ?? 'en';
  const other = first === 'en' ? 'zh-CN' : 'en';
  await page.evaluate('document.fonts.ready.then(() => true)');
  await screenshot(page, `join-${step}-${first}`);
  await page.getByLabel(LANGUAGE).selectOption(other);
  await poll(() => langOf(page)).toBe(other);
  await check?.(page);
  await screenshot(page, `join-${step}-${other}`);
  await page.getByLabel(LANGUAGE).selectOption(first);
  await poll(() => langOf(page)).toBe(first);
}

const heading = (page: Page) => page.getByRole('heading', { level: 1 }).textContent();

describe('borrower join page', () => {
  it('takes a borrower from the link through code, consent, camera and waiting room into the call, signing and the end', { timeout: 180_000 }, async () => {
    const phone = '+8613900000201';
    const booked = await bookVideo({ phone, product: 'e2e-join' });
    const { context, page, errors } = await borrowerPage('en-US');
    await page.goto(`/join/${booked.link}`);

    // The link's language (the party's, zh-CN) wins over the browser's English.
    await visible(page, 'step-code');
    expect(await langOf(page)).toBe('zh-CN');
    expect(await heading(page)).toBe('您好，赵*');
    // Before the code nothing about the loan is on the page.
    expect(await page.content()).not.toContain(booked.loanReference);
    await photograph(page, 'code', async (p) => expect(await heading(p)).toBe('Hello, 赵*'));

    await page.getByRole('button', { name: /^(Send me a code|发送验证码)$/ }).click();
    const code = codeIn(await nextSms(phone, 'otp'));
    const codeBox = page.getByLabel(/^(6-digit code|6 位验证码)/);
    await poll(() => focusedName(page)).toMatch(/^6 位验证码/);
    expect(await codeBox.getAttribute('autocomplete')).toBe('one-time-code');
    expect(await codeBox.getAttribute('inputmode')).toBe('numeric');
    await codeBox.fill(code === '111111' ? '222222' : '111111');
    await page.getByRole('button', { name: /^(Continue|继续)$/ }).click();
    await poll(() => page.getByRole('alert').first().textContent()).toBe('验证码错误，还可尝试 4 次。');
    await photograph(page, 'code-wrong', async (p) => expect(await p.getByRole('alert').first().textContent()).toBe('The code is wrong. 4 tries left.'));
    await codeBox.fill(code);
    await page.getByRole('button', { name: /^(Continue|继续)$/ }).click();

    await visible(page, 'step-consent');
    expect(await page.getByTestId('step-consent').textContent()).toContain('本次视频面签将全程录音录像');
    await photograph(page, 'consent');
    await page.getByRole('button', { name: /^(Agree and continue|同意并继续)$/ }).click();
    await poll(() => page.getByRole('alert').first().textContent()).toBe('请勾选两项后继续。');
    await page.getByLabel('我同意本次视频面签全程录音录像。').check();
    await page.getByLabel('我同意按上述说明处理我的个人信息。').check();
    await page.getByRole('button', { name: /^(Agree and continue|同意并继续)$/ }).click();

    await visible(page, 'step-devices');
    const { consents } = (await evidenceOf(staff, booked.sessionId)) as { consents: { kind: string; locale: string }[] };
    expect(consents.map((c) => `${c.kind}:${c.locale}`).sort()).toEqual(['DATA_PROCESSING:zh-CN', 'RECORDING:zh-CN']);
    await photograph(page, 'devices');
    await page.getByRole('button', { name: /^(Turn on camera and microphone|开启摄像头和麦克风)$/ }).click();
    await poll(() => page.getByLabel(/^(Your camera preview|摄像头预览)$/).count()).toBe(1);
    await poll(() => page.evaluate<number>("document.querySelector('video.preview').videoWidth")).toBeGreaterThan(0);
    await photograph(page, 'devices-preview');
    await page.getByRole('button', { name: /^(Enter the waiting room|进入等候室)$/ }).click();

    // Waiting room: first in line, live over the socket; media is simulated and says so.
    await visible(page, 'waiting-room');
    await poll(() => page.getByTestId('position').textContent()).toBe('1');
    await visible(page, 'simulated-media');
    await poll(() => page.getByTestId('live-updates').textContent()).toMatch(/已连接|Connected/);
    // The page itself joined the room (through the simulator's control API).
    await eventually(async () => (await staff.get<{ attempt: { partyConnected: boolean } | null }>(`/api/agent/sessions/${booked.sessionId}`)).body.attempt?.partyConnected || undefined);
    await photograph(page, 'waiting');

    // An agent comes online, takes the offer (as the console would), and the page says they are coming.
    const agent = await onlineAgent(app, 'e2e-join');
    await takeOffer(agent, booked.sessionId);
    await visible(page, 'agent-coming');
    const grant = await agent.client.post<{ token: string }>(`/api/sessions/${booked.sessionId}/join`);
    expect(grant.status).toBe(200);
    await app.sim!.control.join(grant.body.token);
    await stateOf(app, booked.sessionId, 'IN_PROGRESS');

    // In the call: the key terms (only now) and signing with a fresh code.
    await visible(page, 'in-call');
    await poll(() => page.getByTestId('terms-amount').textContent()).toMatch(/80,000\.00/);
    expect(await page.getByTestId('in-call').locator('..').textContent()).toContain(booked.loanReference);
    await photograph(page, 'in-call', async (p) => expect(await p.getByTestId('terms-amount').textContent()).toMatch(/CN¥80,000\.00|¥80,000\.00/));
    await page.getByRole('button', { name: /^(Send me a signing code|发送签署验证码)$/ }).click();
    const signCode = codeIn(await nextSms(phone, 'signing_code'));
    await page.getByLabel(/^(Signing code|签署验证码)/).fill(signCode);
    await page.getByRole('button', { name: /^(I agree and sign|我同意并签署)$/ }).click();
    await visible(page, 'signed');
    const signing = (await verifiedSessionOf(los, booked.loanFileId, booked.sessionId)).signing;
    expect(signing?.documentHash).toBe(CONTRACT_HASH);
    await photograph(page, 'signed');

    // The agent completes: the borrower sees the end.
    await answerAllRequired(agent, booked.sessionId);
    const done = await agent.client.post<{ session: { state: string } }>(`/api/sessions/${booked.sessionId}/complete`);
    expect(done.status).toBe(200);
    await visible(page, 'step-end');
    expect(await page.getByTestId('step-end').textContent()).toContain('您已于');
    await photograph(page, 'end');
    agent.socket.close();
    expect(errors).toEqual([]);
    await context.close();
  });

  it('explains an expired link and an unknown one, in the browser\'s language and the other', async () => {
    const booked = await bookVideo({ phone: '+8613900000202', product: 'e2e-expired' });
    await app.facesign.db.borrowerLink.update({ where: { tokenHash: createHash('sha256').update(booked.link).digest('hex') }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const { context, page, errors } = await borrowerPage('en-US');
    await page.goto(`/join/${booked.link}`);
    await visible(page, 'problem-borrower-link-expired');
    expect(await heading(page)).toBe('This link has expired');
    expect(await page.getByRole('main').getByRole('button').count()).toBe(0); // nothing to retry: a new link is needed
    await photograph(page, 'expired', async (p) => expect(await heading(p)).toBe('此链接已过期'));

    await page.goto(`/join/${'A'.repeat(43)}`);
    await visible(page, 'problem-borrower-link-invalid');
    expect(await heading(page)).toBe('This link is not valid');
    await photograph(page, 'invalid');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('explains a used-up link and a cancelled appointment', async () => {
    const used = await bookVideo({ phone: '+8613900000203', product: 'e2e-used' });
    await app.facesign.db.borrowerLink.update({ where: { tokenHash: createHash('sha256').update(used.link).digest('hex') }, data: { uses: 20, maxUses: 20 } });
    // Booked for tomorrow, so no due job races the cancellation.
    const cancelled = await bookVideo({ phone: '+8613900000204', product: 'e2e-cancelled', locale: 'en', notBefore: new Date(Date.now() + 86_400_000) });
    expect((await los.post(`/api/sessions/${cancelled.sessionId}/cancel`, { reason: 'borrower withdrew the application' })).status).toBe(200);

    const { context, page, errors } = await borrowerPage('zh-CN');
    await page.goto(`/join/${used.link}`);
    await visible(page, 'problem-borrower-link-used-up');
    expect(await heading(page)).toBe('此链接已无法使用');
    await photograph(page, 'used-up', async (p) => expect(await heading(p)).toBe('This link can no longer be used'));

    await page.goto(`/join/${cancelled.link}`);
    await visible(page, 'problem-session-closed');
    expect(await heading(page)).toBe('本次核验已结束');
    await photograph(page, 'closed', async (p) => expect(await heading(p)).toBe('This verification has ended'));
    expect(errors).toEqual([]);
    await context.close();
  });

  it('tells a waiting borrower at once when the lender cancels', async () => {
    const phone = '+8613900000208';
    const booked = await bookVideo({ phone, product: 'e2e-cancel-live' });
    const { context, page, errors } = await borrowerPage('zh-CN');
    await page.goto(`/join/${booked.link}`);
    await passCodeAndConsent(page, phone);
    await page.getByRole('button', { name: '开启摄像头和麦克风' }).click();
    await page.getByRole('button', { name: '进入等候室' }).click();
    await poll(() => page.getByTestId('position').textContent()).toBe('1');
    expect((await los.post(`/api/sessions/${booked.sessionId}/cancel`, { reason: 'loan application withdrawn' })).status).toBe(200);
    // The socket says so; the page does not wait for a reload.
    await visible(page, 'problem-cancelled');
    expect(await heading(page)).toBe('本次预约已取消');
    await photograph(page, 'cancelled', async (p) => expect(await heading(p)).toBe('This appointment was cancelled'));
    expect(errors).toEqual([]);
    await context.close();
  });

  it('can be completed with the keyboard alone: code, then both consents', async () => {
    const phone = '+8613900000205';
    const booked = await bookVideo({ phone, product: 'e2e-keyboard', locale: 'en' });
    const { context, page, errors } = await borrowerPage('en-US');
    await page.goto(`/join/${booked.link}`);
    await visible(page, 'step-code');
    expect(await langOf(page)).toBe('en');
    await poll(() => page.evaluate<string | undefined>('document.activeElement && document.activeElement.id')).toBe('step-code-title');

    await tabTo(page, 'Send me a code');
    await expectVisibleFocus(page);
    await page.keyboard.press('Enter');
    const code = codeIn(await nextSms(phone, 'otp'));
    await poll(() => focusedName(page)).toMatch(/^6-digit code/);
    await page.keyboard.type(code);
    await page.keyboard.press('Enter');

    await visible(page, 'step-consent');
    // A new step moves focus to its heading once it has rendered; tabbing before that races it.
    await poll(() => page.evaluate<string | undefined>('document.activeElement && document.activeElement.id')).toBe('step-consent-title');
    await tabTo(page, 'I agree that this video signing is recorded (audio and video).');
    await expectVisibleFocus(page);
    await page.keyboard.press('Space');
    await page.keyboard.press('Tab');
    expect(await focusedName(page)).toBe('I agree to the processing of my personal data as described.');
    await page.keyboard.press('Space');
    await tabTo(page, 'Agree and continue');
    await page.keyboard.press('Enter');
    await visible(page, 'step-devices');
    const { consents } = (await evidenceOf(staff, booked.sessionId)) as { consents: { locale: string }[] };
    expect(consents.filter((c) => c.locale === 'en')).toHaveLength(2);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('takes a code entered while the code status is still loading', async () => {
    const phone = '+8613900000209';
    const booked = await bookVideo({ phone, product: 'e2e-quick-code', locale: 'en' });
    const { context, page, errors } = await borrowerPage('en-US');
    await page.goto(`/join/${booked.link}`);
    await visible(page, 'step-code');
    // After the code is sent the page reloads its status (tries left, resend timer); here that takes
    // 10 s, and a borrower (or the phone's SMS autofill) enters the code and presses Enter meanwhile.
    let slowed = false;
    await page.route(
      (url) => url.pathname === `/api/join/${booked.link}`,
      async (route) => {
        if (slowed) {
          slowed = false; // only the reload that follows the send
          await new Promise((resolve) => setTimeout(resolve, 10_000));
        }
        await route.continue().catch(() => undefined);
      },
    );
    slowed = true;
    await page.getByRole('button', { name: 'Send me a code' }).click();
    const code = codeIn(await nextSms(phone, 'otp'));
    await poll(() => focusedName(page)).toMatch(/^6-digit code/);
    await page.keyboard.type(code);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('step-consent').isVisible(), { timeout: 8_000 }).toBe(true);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('says what to do when the camera is blocked', async () => {
    const phone = '+8613900000206';
    const booked = await bookVideo({ phone, product: 'e2e-denied' });
    const { context, page, errors } = await borrowerPage('zh-CN');
    // The person (or the phone's settings) refuses camera access.
    await page.addInitScript("navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('Permission denied', 'NotAllowedError'))");
    await page.goto(`/join/${booked.link}`);
    await passCodeAndConsent(page, phone);
    await page.getByRole('button', { name: '开启摄像头和麦克风' }).click();
    await poll(() => page.locator('[data-problem]').getAttribute('data-problem')).toBe('denied');
    expect(await page.getByRole('alert').textContent()).toContain('网站设置');
    expect(await page.getByRole('button', { name: '重试' }).isVisible()).toBe(true);
    await photograph(page, 'devices-denied', async (p) => expect(await p.getByRole('alert').textContent()).toContain('site settings'));
    expect(errors).toEqual([]);
    await context.close();
  });

  it('waits for the waiting room to open and lets the borrower pick another slot', async () => {
    const phone = '+8613900000207';
    const booked = await bookVideo({ phone, product: 'e2e-slot', notBefore: new Date(Date.now() + 26 * 3600_000) });
    const { context, page, errors } = await borrowerPage('zh-CN');
    await page.goto(`/join/${booked.link}`);
    await passCodeAndConsent(page, phone, 'step-early');
    expect(await heading(page)).toBe('您来早了');
    await page.getByText('现在不方便？改约其他时间').click();
    await photograph(page, 'early');
    const later = new Date(Date.now() + 2 * 86_400_000);
    later.setSeconds(0, 0);
    const pad = (n: number) => String(n).padStart(2, '0');
    const local = `${later.getFullYear()}-${pad(later.getMonth() + 1)}-${pad(later.getDate())}T${pad(later.getHours())}:${pad(later.getMinutes())}`;
    await page.getByLabel('新的日期和时间').fill(local);
    await page.getByRole('button', { name: '改约' }).click();
    await poll(() => page.getByRole('status').first().textContent()).toContain('您的预约已改为');
    const session = await sessionOf(los, booked.sessionId);
    expect(new Date(session.notBefore).getTime()).toBe(later.getTime());
    await photograph(page, 'rescheduled');
    expect(errors).toEqual([]);
    await context.close();
  });
});
