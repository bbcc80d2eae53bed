// A borrower's link cut short on the way (an SMS split in two, a copy that missed the end): the
// address is still the borrower's join page, which says the link is incomplete and where to find the
// whole one, in both languages, with no staff sign-in and no error code. The whole link still works.
// In Chromium on a phone-sized screen; photographed in both languages (test-artifacts/e2e/join-incomplete-*.png).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { screenshot } from './browser.js';
import { poll, startBorrowerStage, visible, type Borrowers, type BorrowerStage } from './borrower.js';

let kit: Borrowers;

let stage: BorrowerStage;
beforeAll(async () => {
  stage = await startBorrowerStage();
  kit = stage.kit;
});
afterAll(async () => stage?.stop());

const TITLES = { en: 'This link is incomplete or not valid', 'zh-CN': '此链接不完整或无效' } as const;
const BODIES = { en: /open the full link from the text message/i, 'zh-CN': /短信中的完整链接/ } as const;
const heading = (page: Page) => page.getByRole('heading', { level: 1 }).textContent();
const langOf = (page: Page) => page.locator('html').getAttribute('lang');

/** The incomplete-link page in `lang`: its words, no sign-in form, no raw code, nothing to retry. */
async function expectIncomplete(page: Page, lang: 'en' | 'zh-CN'): Promise<void> {
  await visible(page, 'problem-link-incomplete');
  await poll(() => heading(page)).toBe(TITLES[lang]);
  const text = (await page.locator('body').textContent()) ?? '';
  expect(text).toMatch(BODIES[lang]);
  expect(await page.locator('input[type="password"]').count()).toBe(0);
  expect(await page.locator('input').count()).toBe(0);
  expect(await page.getByRole('button', { name: /sign in|try again|登录|重试/i }).count()).toBe(0);
  expect(text).not.toMatch(/\b[A-Z]{2,}(?:_[A-Z]+)+\b/);
  expect(text).not.toMatch(/Reference for support|客服参考编号/);
}

describe('a borrower link cut short', () => {
  it('shows the borrower page saying the link is incomplete, in both languages, and the whole link still works', { timeout: 120_000 }, async () => {
    const booked = await kit.bookVideo({ phone: '+8613900000701', product: 'e2e-join-cut' });
    const cuts = ['/join', '/join/', `/join/${booked.link.slice(0, 20)}`, `/join/${booked.link.slice(0, 42)}`, `/join/${booked.link}/x`];

    const { context, page, errors } = await kit.page('en-US');
    for (const cut of cuts) {
      await page.goto(cut);
      await expectIncomplete(page, 'en');
    }
    await page.goto('/join/');
    await expectIncomplete(page, 'en');
    await page.evaluate('document.fonts.ready.then(() => true)');
    await screenshot(page, 'join-incomplete-en');
    await page.getByLabel('Language / 语言').selectOption('zh-CN');
    await poll(() => langOf(page)).toBe('zh-CN');
    await expectIncomplete(page, 'zh-CN');
    await screenshot(page, 'join-incomplete-zh-CN');

    // The whole link opens the code step.
    await page.goto(`/join/${booked.link}`);
    await visible(page, 'step-code');
    expect(await page.getByTestId('problem-link-incomplete').count()).toBe(0);
    expect(errors).toEqual([]);
    await context.close();

    // A phone set to Chinese gets the page in Chinese straight away.
    const zh = await kit.page('zh-CN');
    await zh.page.goto(`/join/${booked.link.slice(0, 30)}`);
    await expectIncomplete(zh.page, 'zh-CN');
    expect(zh.errors).toEqual([]);
    await zh.context.close();
  });
});
