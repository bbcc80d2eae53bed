// Accessibility in real Chromium: axe-core (WCAG 2.1 A and AA rules, and its best practices) scans every
// step of the borrower's join page on a phone and every console page, in English and in Chinese, and
// fails on any serious or critical violation. The join page's large-text mode, its use at 200% text
// size with the keyboard alone, and its live regions (place in line, countdown) are checked here too.
import { AxeBuilder } from '@axe-core/playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Locator, Page } from 'playwright-core';
import { createUser } from '../../server/users/users.service.js';
import type { ApiClient } from '../support/api-client.js';
import type { TestApp } from '../support/harness.js';
import { evidenceOf } from '../support/reads.js';
import { loanFileWithBorrower, scheduleCall, stateOf } from '../support/verification.js';
import { codeIn, focusedName, poll, startBorrowerStage, tabTo, visible, type Borrowers, type BorrowerStage } from './borrower.js';
import { goAvailableOnDesk, newContext, screenshot, signInThroughPage, watchPageErrors } from './browser.js';

const PASSWORD = 'correct horse battery staple';
const PRODUCT = 'a11y-loan';
const AGENT = 'a11y.agent@bank.test';
const SUPERVISOR = 'a11y.sup@bank.test';
const AUDITOR = 'a11y.aud@bank.test';
let app: TestApp;
let browser: Browser;
let los: ApiClient;
let borrowers: Borrowers;

type Locale = 'en' | 'zh-CN';

/** Serious and critical axe violations on the page as it is now: rule, impact, help URL and each target. */
async function seriousViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} ${v.helpUrl}\n${v.nodes.map((n) => `    ${n.target.join(' ')}`).join('\n')}`);
}

/**
 * In each language: switch in place (the page keeps its state), wait until `ready`, check <html lang>,
 * take the picture and run the scan.
 */
async function scanInBothLanguages(page: Page, name: string, ready: (locale: Locale) => Promise<unknown>): Promise<void> {
  for (const locale of ['en', 'zh-CN'] as const) {
    await page.locator('.lang-switch select').first().selectOption(locale);
    await poll(() => page.evaluate('document.documentElement.lang')).toBe(locale);
    await ready(locale);
    await screenshot(page, `a11y-${name}-${locale}`);
    const found = await seriousViolations(page);
    expect(found, `axe on ${name} (${locale}):\n${found.join('\n')}`).toEqual([]);
  }
}

/** The page's main content never scrolls sideways. */
const horizontalOverflow = (page: Page) => page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');

/** A button a person can reach and press: scrolled to, inside the screen, and nothing covers it. */
async function expectUsable(button: Locator): Promise<void> {
  await button.scrollIntoViewIfNeeded();
  expect(await button.isVisible()).toBe(true);
  expect(await button.isEnabled()).toBe(true);
  const box = await button.boundingBox();
  const width = await button.page().evaluate<number>('document.documentElement.clientWidth');
  expect(box && box.x >= 0 && box.x + box.width <= width + 0.5).toBe(true);
  // Playwright's actionability checks (visible, stable, receives the pointer) without pressing it.
  await button.click({ trial: true, timeout: 5000 });
}

let stage: BorrowerStage;
beforeAll(async () => {
  stage = await startBorrowerStage();
  ({ app, browser, los, kit: borrowers } = stage);
  await createUser(app.facesign.db, { email: AGENT, password: PASSWORD, displayName: 'Lin Agent', roles: ['AGENT'], languages: ['zh-CN', 'en'], skills: [PRODUCT] });
  await createUser(app.facesign.db, { email: SUPERVISOR, password: PASSWORD, displayName: 'He Supervisor', roles: ['SUPERVISOR'] });
  await createUser(app.facesign.db, { email: AUDITOR, password: PASSWORD, displayName: 'Ma Auditor', roles: ['AUDITOR'] });
}, 60_000);
afterAll(async () => stage?.stop());

const cancel = (sessionId: string) => app.facesign.verification.scheduling.cancel(sessionId, 'test over', { actor: { type: 'SYSTEM' }, requestId: 'test', scope: 'test' });

describe('join page on a phone', () => {
  it('code, consent, camera and waiting room pass the scan in both languages; the place in line is announced', { timeout: 180_000 }, async () => {
    const phone = '+8613900000501';
    const booked = await borrowers.bookVideo({ phone, product: PRODUCT });
    const { context, page, errors } = await borrowers.page('zh-CN');
    await page.goto(`/join/${booked.link}`);
    await visible(page, 'step-code');
    await scanInBothLanguages(page, 'join-code', () => visible(page, 'step-code'));

    await page.getByRole('button', { name: /^(Send me a code|发送验证码)$/ }).click();
    const code = codeIn(await borrowers.nextSms(phone, 'otp'));
    const codeBox = page.getByLabel(/^(6-digit code|6 位验证码)/);
    await scanInBothLanguages(page, 'join-code-sent', () => poll(() => codeBox.isVisible()).toBe(true));
    await codeBox.fill(code);
    await page.getByRole('button', { name: /^(Continue|继续)$/ }).click();

    await visible(page, 'step-consent');
    await scanInBothLanguages(page, 'join-consent', () => visible(page, 'step-consent'));
    for (const box of await page.getByRole('checkbox').all()) await box.check();
    await page.getByRole('button', { name: /^(Agree and continue|同意并继续)$/ }).click();

    await visible(page, 'step-devices');
    await scanInBothLanguages(page, 'join-devices', () => visible(page, 'step-devices'));
    await page.getByRole('button', { name: /^(Turn on camera and microphone|开启摄像头和麦克风)$/ }).click();
    await poll(() => page.getByLabel(/^(Your camera preview|摄像头预览)$/).count()).toBe(1);
    await scanInBothLanguages(page, 'join-devices-preview', () => poll(() => page.getByRole('button', { name: /^(Enter the waiting room|进入等候室)$/ }).isVisible()).toBe(true));
    await page.getByRole('button', { name: /^(Enter the waiting room|进入等候室)$/ }).click();

    await visible(page, 'waiting-room');
    await poll(() => page.getByTestId('position').textContent()).toBe('1');
    // A screen reader hears the place in line when it changes, as a whole ("Your place in line 1 You are next").
    const place = page.getByTestId('queue-place');
    expect(await place.getAttribute('aria-live')).toBe('polite');
    expect(await place.getAttribute('aria-atomic')).toBe('true');
    expect(await place.getAttribute('role')).toBe('status');
    await scanInBothLanguages(page, 'join-waiting', (locale) => poll(() => place.textContent()).toContain(locale === 'en' ? 'Your place in line' : '您的排队位置'));

    expect(errors).toEqual([]);
    await context.close();
    await cancel(booked.sessionId);
  });

  it('an early borrower hears the countdown once a minute, politely', { timeout: 120_000 }, async () => {
    const phone = '+8613900000502';
    // The waiting room opens 15 minutes before: here in about 45 minutes.
    const booked = await borrowers.bookVideo({ phone, product: PRODUCT, notBefore: new Date(Date.now() + 60 * 60_000) });
    const { context, page, errors } = await borrowers.page('en-US');
    await page.goto(`/join/${booked.link}`);
    await borrowers.passCodeAndConsent(page, phone, 'step-early');
    const spoken = page.getByTestId('countdown-spoken');
    expect(await spoken.getAttribute('aria-live')).toBe('polite');
    expect(await spoken.getAttribute('aria-atomic')).toBe('true');
    expect(await spoken.getAttribute('role')).toBe('timer');
    // The ticking mm:ss is for the eyes; the spoken text changes only with the minute.
    expect(await page.getByTestId('countdown').getAttribute('aria-hidden')).toBe('true');
    await scanInBothLanguages(page, 'join-early', async (locale) => {
      await poll(() => spoken.textContent()).toMatch(locale === 'en' ? /^The waiting room opens in about (44|45) min\.$/ : /^等候室约 (44|45) 分钟后开放。$/);
    });
    expect(errors).toEqual([]);
    await context.close();
    await cancel(booked.sessionId);
  });

  it('large text is a visible switch, remembered on the device, in both languages', { timeout: 120_000 }, async () => {
    const phone = '+8613900000503';
    const booked = await borrowers.bookVideo({ phone, product: PRODUCT, locale: 'en' });
    const { context, page, errors } = await borrowers.page('en-US');
    await page.goto(`/join/${booked.link}`);
    await visible(page, 'step-code');
    const toggle = page.getByRole('button', { name: 'Large text' });
    const rootSize = () => page.evaluate<string>('getComputedStyle(document.documentElement).fontSize');
    const bodyTextSize = () => page.evaluate<number>("parseFloat(getComputedStyle(document.querySelector('[data-testid=step-code] p:not(.appointment)')).fontSize)");
    expect(await toggle.isVisible()).toBe(true);
    expect(await toggle.getAttribute('aria-pressed')).toBe('false');
    expect(await rootSize()).toBe('16px');
    await toggle.click();
    await poll(() => toggle.getAttribute('aria-pressed')).toBe('true');
    expect(await rootSize()).toBe('20px');
    // 适老化: the main text in large-text mode is at least 18 px.
    expect(await bodyTextSize()).toBeGreaterThanOrEqual(18);
    await screenshot(page, 'a11y-join-large-text-toggled-en');

    // Remembered on this device: a reload (or the link opened again) keeps it.
    await page.reload();
    await visible(page, 'step-code');
    await poll(() => page.getByRole('button', { name: 'Large text' }).getAttribute('aria-pressed')).toBe('true');
    expect(await rootSize()).toBe('20px');

    await page.getByLabel('Language / 语言').selectOption('zh-CN');
    const zhToggle = page.getByRole('button', { name: '大字模式' });
    await poll(() => zhToggle.getAttribute('aria-pressed')).toBe('true');
    await scanInBothLanguages(page, 'join-large-text', () => visible(page, 'step-code'));
    await zhToggle.click();
    await poll(() => zhToggle.getAttribute('aria-pressed')).toBe('false');
    expect(await rootSize()).toBe('16px');
    await page.reload();
    await visible(page, 'step-code');
    expect(await page.getByRole('button', { name: '大字模式' }).getAttribute('aria-pressed')).toBe('false');
    expect(errors).toEqual([]);
    await context.close();
    await cancel(booked.sessionId);
  });

  it('at 200% text size in large-text mode: no sideways scrolling, the main button in reach, code and consent by keyboard alone', { timeout: 120_000 }, async () => {
    const phone = '+8613900000504';
    const booked = await borrowers.bookVideo({ phone, product: PRODUCT, locale: 'en' });
    const { context, page, errors } = await borrowers.page('en-US');
    await page.goto(`/join/${booked.link}`);
    await visible(page, 'step-code');
    await page.getByRole('button', { name: 'Large text' }).click();
    // Text at twice its normal size (what a phone's font-size setting or zoom does to rem-sized pages).
    await page.evaluate("document.documentElement.style.fontSize = '200%'");
    expect(await page.evaluate<string>('getComputedStyle(document.documentElement).fontSize')).toBe('32px');

    expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
    await expectUsable(page.getByRole('button', { name: 'Send me a code' }));
    await screenshot(page, 'a11y-join-zoom-code-en');

    // Keyboard alone from here (the focus is on the large-text switch, above the step).
    await tabTo(page, 'Send me a code');
    await page.keyboard.press('Enter');
    const code = codeIn(await borrowers.nextSms(phone, 'otp'));
    await poll(() => focusedName(page)).toMatch(/^6-digit code/);
    expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
    await expectUsable(page.getByRole('button', { name: 'Continue' }));
    await page.keyboard.type(code);
    await page.keyboard.press('Enter');

    await visible(page, 'step-consent');
    await poll(() => page.evaluate<string | undefined>('document.activeElement && document.activeElement.id')).toBe('step-consent-title');
    expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
    await expectUsable(page.getByRole('button', { name: 'Agree and continue' }));
    await screenshot(page, 'a11y-join-zoom-consent-en');
    await tabTo(page, 'I agree that this video signing is recorded (audio and video).');
    await page.keyboard.press('Space');
    await tabTo(page, 'I agree to the processing of my personal data as described.');
    await page.keyboard.press('Space');
    await tabTo(page, 'Agree and continue');
    await page.keyboard.press('Enter');

    await visible(page, 'step-devices');
    const { consents } = (await evidenceOf(await app.signIn({ roles: ['AUDITOR'] }), booked.sessionId)) as { consents: unknown[] };
    expect(consents).toHaveLength(2);
    expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
    await expectUsable(page.getByRole('button', { name: 'Turn on camera and microphone' }));
    await tabTo(page, 'Turn on camera and microphone');
    await page.keyboard.press('Enter');
    await poll(() => page.getByRole('button', { name: 'Enter the waiting room' }).isVisible()).toBe(true);
    await expectUsable(page.getByRole('button', { name: 'Enter the waiting room' }));
    await tabTo(page, 'Enter the waiting room');
    await page.keyboard.press('Enter');
    await visible(page, 'waiting-room');
    expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
    await screenshot(page, 'a11y-join-zoom-waiting-en');

    // The same in Chinese.
    await page.getByLabel('Language / 语言').selectOption('zh-CN');
    await poll(() => page.evaluate('document.documentElement.lang')).toBe('zh-CN');
    expect(await horizontalOverflow(page)).toBeLessThanOrEqual(0);
    await screenshot(page, 'a11y-join-zoom-waiting-zh-CN');
    expect(errors).toEqual([]);
    await context.close();
    await cancel(booked.sessionId);
  });
});

describe('console', () => {
  let sessionId = '';

  it('sign-in page, with and without an error', { timeout: 60_000 }, async () => {
    const context = await newContext(browser, app);
    const page = await context.newPage();
    await page.goto('/login');
    await scanInBothLanguages(page, 'login', () => poll(() => page.getByRole('button', { name: /^Sign in$|^登录$/ }).isVisible()).toBe(true));
    // The scan is real: a nameless, faint button on the same page is reported with its rule and target.
    await page.evaluate(`document.querySelector('main').insertAdjacentHTML('beforeend', '<button id="a11y-probe" style="color:#ccc;background:#fff"><span></span></button><p id="a11y-faint" style="color:#ccc;background:#fff">faint</p>')`);
    const probed = await seriousViolations(page);
    expect(probed.join('\n')).toMatch(/^button-name \(critical\): .+ https:\/\/dequeuniversity\.com\/rules\/axe\/[\d.]+\/button-name.*\n {4}#a11y-probe$/m);
    expect(probed.join('\n')).toMatch(/^color-contrast \(serious\): .+\n {4}#a11y-faint$/m);
    await page.evaluate("document.getElementById('a11y-probe').remove(); document.getElementById('a11y-faint').remove()");
    await signInThroughPage(page, AUDITOR, 'not the password');
    await scanInBothLanguages(page, 'login-error', () => poll(() => page.getByRole('alert').isVisible()).toBe(true));
    await context.close();
  });

  it('desk: idle, in a call, and the submitted summary', { timeout: 180_000 }, async () => {
    const context = await newContext(browser, app);
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    await goAvailableOnDesk(page, app, AGENT, PASSWORD);
    await scanInBothLanguages(page, 'desk-idle', async (locale) => {
      await poll(() => page.getByRole('radio', { name: locale === 'en' ? 'Available' : '空闲' }).isChecked()).toBe(true);
      // Landmarks and the page's heading named in the page's language.
      expect(await page.getByRole('navigation', { name: locale === 'en' ? 'Main navigation' : '主导航' }).count()).toBe(1);
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(locale === 'en' ? 'Agent desk' : '坐席工作台');
    });
    await page.locator('.lang-switch select').first().selectOption('en');

    const call = await loanFileWithBorrower(los, { phone: '+8613805550100', product: PRODUCT });
    sessionId = await scheduleCall(los, call.loanFileId, call.partyId);
    await page.getByTestId('offer').getByRole('button', { name: 'Accept' }).click();
    await stateOf(app, sessionId, 'IN_PROGRESS');
    await poll(() => page.getByTestId('party-status').textContent()).toBe('Party connected');
    await scanInBothLanguages(page, 'desk-session', () => visible(page, 'party-status'));
    await page.locator('.lang-switch select').first().selectOption('en');

    // A confirmed script with a high-severity flag: escalated, so it reaches the board and review.
    const agentApi = app.client();
    expect((await agentApi.login(AGENT, PASSWORD)).status).toBe(200);
    const checklist = await agentApi.get<{ items: { id: string }[] }>(`/api/sessions/${sessionId}/checklist`);
    for (const item of checklist.body.items) {
      expect((await agentApi.request('PUT', `/api/sessions/${sessionId}/answers/${item.id}`, { value: 'CONFIRMED', note: 'answered clearly' })).status).toBe(200);
    }
    expect((await agentApi.post(`/api/sessions/${sessionId}/risk-flags`, { code: 'PROMPTED', severity: 'HIGH', note: 'someone whispered' })).status).toBe(201);
    await page.getByRole('button', { name: 'End conversation' }).click();
    await stateOf(app, sessionId, 'WRAP_UP');
    await poll(() => page.getByRole('button', { name: 'Submit checklist' }).isEnabled()).toBe(true);
    await page.getByRole('button', { name: 'Submit checklist' }).click();
    await visible(page, 'submitted');
    await stateOf(app, sessionId, 'ESCALATED');
    await scanInBothLanguages(page, 'desk-submitted', () => visible(page, 'submitted'));
    expect(errors).toEqual([]);
    await context.close();
  });

  it('board with a case open', { timeout: 120_000 }, async () => {
    expect(sessionId).not.toBe('');
    const context = await newContext(browser, app);
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    await signInThroughPage(page, SUPERVISOR, PASSWORD);
    await page.waitForURL(/\/supervisor$/);
    await scanInBothLanguages(page, 'board', () => visible(page, `escalation-${sessionId}`));
    await page.locator('.lang-switch select').first().selectOption('en');
    await page.getByTestId(`escalation-${sessionId}`).getByRole('button', { name: /Review and decide/ }).click();
    await visible(page, `case-${sessionId}`);
    await scanInBothLanguages(page, 'board-case', async () => {
      await visible(page, `case-${sessionId}`);
      // The case's parts are headings one level under "Escalations", not two.
      expect(await page.getByTestId(`case-${sessionId}`).getByRole('heading', { level: 3 }).count()).toBeGreaterThanOrEqual(3);
      expect(await page.getByTestId(`case-${sessionId}`).getByRole('heading', { level: 4 }).count()).toBe(0);
    });
    expect(errors).toEqual([]);
    await context.close();
  });

  it('review queue, review page and dashboard', { timeout: 120_000 }, async () => {
    expect(sessionId).not.toBe('');
    const context = await newContext(browser, app);
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    await signInThroughPage(page, AUDITOR, PASSWORD);
    await page.waitForURL(/\/review$/);
    await scanInBothLanguages(page, 'review-queue', (locale) => poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe(locale === 'en' ? 'Compliance review' : '合规质检复核'));
    await page.goto(`/review/${sessionId}`);
    await scanInBothLanguages(page, 'review', () => visible(page, 'case-findings'));
    await page.goto('/dashboard');
    await scanInBothLanguages(page, 'dashboard', () => visible(page, 'kpis'));
    expect(errors).toEqual([]);
    await context.close();
  });
});
