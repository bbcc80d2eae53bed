// A party the automated confirmation call handed to a person, as the agent meets it in Chromium: the
// offer says the automated call handed it over and why, and the live session lists what the call
// already collected (item, answer, "answered by the automated call", its note) in English and Chinese,
// never as a code; the review page marks the answer the call gave. The hand-off is produced by the server's own path: the LiveKit simulator's test
// number 55501 71 presses 2, the automated call stores the denial and hands the party over.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { createUser } from '../../server/users/users.service.js';
import type { TestApp } from '../support/harness.js';
import { eventually } from '../support/fixtures.js';
import { reviewFileOf, sessionOf } from '../support/reads.js';
import { ALWAYS_OPEN, loanFileWithBorrower, losClient, scheduleCall, stateOf } from '../support/verification.js';
import { goAvailableOnDesk, launchChromium, newContext, screenshot, signInThroughPage, startE2eApp, unlabelledControls, watchPageErrors } from './browser.js';

const PASSWORD = 'correct horse battery staple';
const AGENT = 'hand.off.agent@bank.test';
const AUDITOR = 'hand.off.auditor@bank.test';
const PRODUCT = 'consumer-loan';
let app: TestApp;
let browser: Browser;

beforeAll(async () => {
  app = await startE2eApp({ ...ALWAYS_OPEN, DIAL_RATE_PER_SECOND: '50', SIP_MAX_CALL_SECONDS: '14400' });
  browser = await launchChromium();
  await createUser(app.facesign.db, { email: AGENT, password: PASSWORD, displayName: 'Hu Agent', roles: ['AGENT'], languages: ['zh-CN'], skills: [PRODUCT] });
  await createUser(app.facesign.db, { email: AUDITOR, password: PASSWORD, displayName: 'Qian Auditor', roles: ['AUDITOR'] });
});
afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

/** Codes a person should never read: the enum values of this feature, anything shaped like SOME_CODE, placeholders. */
async function codesShown(page: Page): Promise<string[]> {
  const text = await page.locator('body').innerText();
  const found = [
    ...(text.match(/\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b/g) ?? []),
    ...(text.match(/\b(?:DENIED|CONFIRMED|UNCLEAR|AGENT|AUTOMATED|HUNG|BOT)\b/g) ?? []),
    ...(text.match(/\{[A-Za-z]\w*\}/g) ?? []),
  ];
  return [...new Set(found)];
}

describe('a call handed over by the automated confirmation call', () => {
  it('tells the agent why and what was already collected, in English and Chinese', async () => {
    const context = await newContext(browser, app);
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    await goAvailableOnDesk(page, app, AGENT, PASSWORD);

    const los = await losClient(app);
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550171', product: PRODUCT });
    const sessionId = await scheduleCall(los, loanFileId, partyId, { templateKey: 'call-automated' });
    const handed = await eventually(async () => {
      const s = await sessionOf(los, sessionId);
      return s.handOffReason ? s : undefined;
    });
    expect(handed.handOffReason).toBe('DENIED');

    const offer = page.getByTestId('offer');
    await offer.waitFor();
    await expect.poll(() => offer.getByTestId('offer-hand-off').textContent()).toBe('Handed over by the automated call: the party said no to a question');
    await screenshot(page, 'automated-hand-off-offer-en');
    await offer.getByRole('button', { name: 'Accept' }).click();
    await stateOf(app, sessionId, ['RINGING', 'IN_PROGRESS']);

    const handOff = page.getByTestId('hand-off');
    await handOff.waitFor();
    expect(await page.getByTestId('session-mode').textContent()).toBe('Automated call');
    expect(await handOff.getByTestId('hand-off-reason').textContent()).toBe('Why: the party said no to a question.');
    const answers = handOff.getByTestId('hand-off-answers').locator('li');
    await expect.poll(() => answers.count()).toBe(1);
    const consent = handOff.getByTestId('hand-off-answer-consent_recording');
    await expect.poll(() => consent.textContent()).toMatch(/^\d+\. .*同意录音.* — Denied · Answered by the automated call · The party pressed 2 \(no\)\.$/); // the prompt in the party's language, as the checklist shows it
    // The checklist marks the item too, and the agent's note field starts empty (the automated call's note is not the agent's).
    const item = page.getByTestId('item-consent_recording');
    expect(await item.getByTestId('answered-by-bot').textContent()).toBe('Answered by the automated call Automated call note: The party pressed 2 (no).');
    expect(await item.getByRole('textbox').inputValue()).toBe('');
    expect(await codesShown(page)).toEqual([]);
    expect(await unlabelledControls(page)).toEqual([]);
    await screenshot(page, 'automated-hand-off-desk-en');

    await page.locator('.lang-switch select').first().selectOption('zh-CN');
    await expect.poll(() => handOff.getByTestId('hand-off-reason').textContent()).toBe('原因：客户对问题按键否认。');
    expect(await page.getByTestId('session-mode').textContent()).toBe('自动外呼');
    await expect.poll(() => consent.textContent()).toMatch(/— 否认 · 由自动外呼回答 · 客户按了 2（否认）。$/);
    expect(await item.getByTestId('answered-by-bot').textContent()).toBe('由自动外呼回答 自动外呼备注：客户按了 2（否认）。');
    expect(await codesShown(page)).toEqual([]);
    await screenshot(page, 'automated-hand-off-desk-zh');

    // The stored note stays readable English for the evidence package and the LOS.
    const stored = (await reviewFileOf(await app.signIn({ roles: ['AUDITOR'] }), sessionId)).items.find((i) => i.id === 'consent_recording')?.answer;
    expect({ note: stored?.note, noteCode: stored?.noteCode, answeredBy: stored?.answeredBy }).toEqual({ note: 'automated call: the party pressed 2', noteCode: 'DENIED_KEY', answeredBy: 'AUTOMATED_CALL' });
    expect(errors).toEqual([]);
    await context.close();

    // The reviewer sees the hand-off and which answer the automated call gave, with its note in words.
    const review = await newContext(browser, app);
    const reviewPage = await review.newPage();
    const reviewErrors = watchPageErrors(reviewPage);
    await signInThroughPage(reviewPage, AUDITOR, PASSWORD);
    await reviewPage.waitForURL(/\/review/);
    await reviewPage.goto(`/review/${sessionId}`);
    await expect.poll(() => reviewPage.getByTestId('session-mode').textContent()).toBe('Handed over by the automated call: the party said no to a question');
    await expect.poll(() => reviewPage.getByTestId('answered-by-bot').first().textContent()).toBe('Answered by the automated call');
    expect(await reviewPage.locator('.review-answer-note').first().textContent()).toBe('Automated call note: The party pressed 2 (no).');
    expect(await codesShown(reviewPage)).toEqual([]);
    await screenshot(reviewPage, 'automated-hand-off-review-en');
    await reviewPage.locator('.lang-switch select').first().selectOption('zh-CN');
    await expect.poll(() => reviewPage.locator('.review-answer-note').first().textContent()).toBe('自动外呼备注：客户按了 2（否认）。');
    expect(await reviewPage.getByTestId('answered-by-bot').first().textContent()).toBe('由自动外呼回答');
    expect(await codesShown(reviewPage)).toEqual([]);
    expect(reviewErrors).toEqual([]);
    await review.close();
  });
});
