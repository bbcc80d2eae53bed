// Zooming the contract on a phone (390 × 844), in Chromium, in both languages: at the width of the
// screen the contract's print is a few pixels tall, so the borrower zooms in with large buttons (or
// the keyboard), the page is drawn again at the new size (not stretched), the highlights stay over the
// terms, only the contract pans (the page itself never scrolls sideways), the zoom survives the agent
// presenting another page, and large-text mode opens the contract at a readable size.
import { AxeBuilder } from '@axe-core/playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { createUser } from '../../server/users/users.service.js';
import { expectVisibleFocus, focusedName, poll, startBorrowerStage, tabTo, type BorrowerStage } from './borrower.js';
import { screenshot } from './browser.js';
import { BORROWER_CANVAS, borrowerInContractCall, highlights } from './contract-call.js';

const PASSWORD = 'correct horse battery staple';
const AGENT = 'zoom.agent@bank.test';
const PRODUCT = 'e2e-contract-zoom';
/** The contract's body text is set at 13 pt on an A4 page (595.28 pt wide). */
const BODY_PT = 13;
const A4_WIDTH_PT = 595.28;
let stage: BorrowerStage;

beforeAll(async () => {
  stage = await startBorrowerStage({ SIP_MAX_CALL_SECONDS: '14400' });
  await createUser(stage.app.facesign.db, { email: AGENT, password: PASSWORD, displayName: 'Zoom Agent', roles: ['AGENT'], languages: ['zh-CN'], skills: [PRODUCT] });
});
afterAll(async () => {
  await stage?.stop();
});

/** The drawn page: its size on screen, the pixels behind it, and the print height of the body text in CSS px. */
async function drawn(page: Page) {
  return page.evaluate<{ cssWidth: number; cssHeight: number; pixelWidth: number; ratio: number; rendered: string | null }>(`(() => {
    const canvas = document.querySelector(${JSON.stringify(BORROWER_CANVAS)});
    const rect = canvas.getBoundingClientRect();
    return { cssWidth: rect.width, cssHeight: rect.height, pixelWidth: canvas.width, ratio: window.devicePixelRatio, rendered: canvas.getAttribute('data-rendered-page') };
  })()`);
}
const printPx = (cssWidth: number) => (BODY_PT * cssWidth) / A4_WIDTH_PT;
/** Whether the page is drawn `times` as wide as at the screen's width (to the pixel: sizes are whole pixels). */
const drawnAt = async (page: Page, fitWidth: number, times: number) => Math.abs((await drawn(page)).cssWidth - fitWidth * times) < 1.5;

/** Whether the document scrolls sideways, and how far the contract's own scroller can pan. */
function overflow(page: Page) {
  return page.evaluate<{ page: number; viewport: number; panX: number; panY: number }>(`(() => {
    const scroller = document.querySelector('[data-testid="contract"] .pdf-page');
    return { page: document.documentElement.scrollWidth, viewport: document.documentElement.clientWidth, panX: scroller.scrollWidth - scroller.clientWidth, panY: scroller.scrollHeight - scroller.clientHeight };
  })()`);
}

async function seriousViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** Each highlight sits where it sat before (as a fraction of the page) and over ink. */
function expectSameMarks(now: Awaited<ReturnType<typeof highlights>>, before: Awaited<ReturnType<typeof highlights>>) {
  expect(now.map((m) => m.term)).toEqual(before.map((m) => m.term));
  now.forEach((mark, i) => {
    expect(mark.x, `${mark.term} across the page`).toBeCloseTo(before[i]!.x, 2);
    expect(mark.y, `${mark.term} down the page`).toBeCloseTo(before[i]!.y, 2);
    expect(mark.inked, `ink under the ${mark.term} highlight`).toBeGreaterThan(before[i]!.inked);
  });
}

describe('zooming the contract on a phone', () => {
  it('zooms in sharp with the highlights in place, pans only the contract, keeps the zoom across pages, and opens large in large-text mode', { timeout: 300_000 }, async () => {
    const { borrower, agent } = await borrowerInContractCall(stage, {
      phone: '+8613900000951',
      product: PRODUCT,
      agent: { email: AGENT, password: PASSWORD },
      pages: ['借款金额：人民币 80,000.00 元。借款期限：12 个月。', '年化利率（单利）：4.35%。还款方式：等额本息，每月 15 日还款。'],
    });
    const page = borrower.page;
    const contract = page.getByTestId('contract');
    await poll(() => page.getByTestId('pdf-highlights').getAttribute('data-page')).toBe('1');

    // At the width of the phone the print is unreadably small.
    const fit = await drawn(page);
    expect(printPx(fit.cssWidth)).toBeLessThan(8);
    const before = await highlights(page, '[data-testid="contract"]');
    expect(before.map((m) => m.term).sort()).toEqual(['amount', 'term']);
    expect(await contract.getByTestId('contract-zoom').textContent()).toBe('缩放 100%');

    // Large, labelled controls.
    for (const name of ['缩小', '放大', '适合宽度']) {
      const box = (await contract.getByRole('button', { name, exact: true }).boundingBox())!;
      expect(box.width, name).toBeGreaterThanOrEqual(44);
      expect(box.height, name).toBeGreaterThanOrEqual(44);
    }
    expect(await contract.getByRole('button', { name: '缩小', exact: true }).getAttribute('aria-disabled')).toBe('true');

    // Zoom in twice, once by tap and once by keyboard: 150%, drawn again at that size, pixel for pixel.
    await contract.getByRole('button', { name: '放大', exact: true }).click();
    await contract.getByRole('button', { name: '放大', exact: true }).focus();
    await page.keyboard.press('Enter');
    await poll(() => contract.getByTestId('contract-zoom').textContent()).toBe('缩放 150%');
    await poll(() => drawnAt(page, fit.cssWidth, 1.5)).toBe(true);
    const zoomed = await drawn(page);
    expect(zoomed.pixelWidth).toBe(Math.floor(zoomed.cssWidth * zoomed.ratio));
    expect(zoomed.cssHeight).toBeGreaterThan(fit.cssHeight * 1.45);
    await poll(async () => (await highlights(page, '[data-testid="contract"]')).map((m) => Math.round(m.x * 100))).toEqual(before.map((m) => Math.round(m.x * 100)));
    expectSameMarks(await highlights(page, '[data-testid="contract"]'), before);

    // Only the contract pans, both ways; the page never scrolls sideways.
    const pans = await overflow(page);
    expect(pans.page).toBeLessThanOrEqual(pans.viewport);
    expect(pans.panX).toBeGreaterThan(50);
    await page.locator('[data-testid="contract"] .pdf-page').evaluate((el) => el.scrollTo({ left: 10_000 }));
    expect(await page.locator('[data-testid="contract"] .pdf-page').evaluate((el) => el.scrollLeft)).toBeGreaterThan(50);
    expect(await seriousViolations(page)).toEqual([]);
    await contract.getByRole('group', { name: '合同显示大小' }).evaluate((el) => el.scrollIntoView());
    await screenshot(page, 'contract-zoom-150-zh-CN', { fullPage: false });
    await contract.locator('.pdf-page').screenshot({ path: 'test-artifacts/e2e/contract-zoom-150-detail-zh-CN.png' });

    // The agent shows page 2: the borrower's page turns and stays at 150%, its highlights over their terms.
    const panel = agent.desk.getByTestId('contract-panel');
    await panel.getByRole('button', { name: 'Next' }).click();
    await poll(() => panel.getByTestId('desk-contract-page').textContent()).toBe('Page 2 of 2');
    await panel.getByRole('button', { name: 'Show page 2 to the borrower' }).click();
    await poll(() => page.locator(BORROWER_CANVAS).getAttribute('data-rendered-page')).toBe('2');
    expect(await contract.getByTestId('contract-zoom').textContent()).toBe('缩放 150%');
    // …showing the new page from where reading starts, its top left.
    expect(await page.locator('[data-testid="contract"] .pdf-page').evaluate((el) => [el.scrollLeft, el.scrollTop])).toEqual([0, 0]);
    expect(await drawnAt(page, fit.cssWidth, 1.5)).toBe(true);
    await poll(() => page.getByTestId('pdf-highlights').getAttribute('data-page')).toBe('2');
    const page2 = await highlights(page, '[data-testid="contract"]');
    expect(page2.map((m) => m.term).sort()).toEqual(['apr', 'dueDay', 'repaymentMethod']);
    for (const mark of page2) expect(mark.inked, `ink under the ${mark.term} highlight`).toBeGreaterThan(5);

    // Fit to width brings it back.
    await contract.getByRole('button', { name: '适合宽度', exact: true }).click();
    await poll(() => drawnAt(page, fit.cssWidth, 1)).toBe(true);
    expect(await contract.getByTestId('contract-zoom').textContent()).toBe('缩放 100%');

    // In English, large-text mode opens the contract at a readable size (print of 14 px or more).
    await page.getByLabel('Language / 语言').selectOption('en');
    await poll(() => contract.getByTestId('contract-zoom').textContent()).toBe('Zoom 100%');
    await page.getByTestId('large-text').click();
    await poll(async () => printPx((await drawn(page)).cssWidth)).toBeGreaterThanOrEqual(14);
    const large = await drawn(page);
    const percent = Number(/^Zoom (\d+)%$/.exec((await contract.getByTestId('contract-zoom').textContent()) ?? '')?.[1]);
    const fitWidth = await contract.locator('.pdf-page').evaluate((el) => el.clientWidth);
    expect(Math.abs(large.cssWidth - (fitWidth * percent) / 100)).toBeLessThan(2);
    for (const name of ['Zoom out', 'Zoom in', 'Fit to width']) {
      const box = (await contract.getByRole('button', { name, exact: true }).boundingBox())!;
      expect(box.height, name).toBeGreaterThanOrEqual(44);
    }
    await poll(() => page.getByTestId('pdf-highlights').getAttribute('data-page')).toBe('2');
    for (const mark of await highlights(page, '[data-testid="contract"]')) expect(mark.inked, `ink under the ${mark.term} highlight`).toBeGreaterThan(5);
    const largePans = await overflow(page);
    expect(largePans.page).toBeLessThanOrEqual(largePans.viewport);
    expect(largePans.panX).toBeGreaterThan(50);
    expect(await seriousViolations(page)).toEqual([]);
    await contract.getByRole('group', { name: 'Contract size' }).evaluate((el) => el.scrollIntoView());
    await screenshot(page, 'contract-zoom-large-text-en', { fullPage: false });

    // Panned by keyboard: from the buttons, Tab reaches the page, and the arrow keys move it.
    const scroller = page.locator('[data-testid="contract"] .pdf-page');
    expect(await scroller.evaluate((el) => el.scrollLeft)).toBe(0);
    await contract.getByRole('button', { name: 'Fit to width', exact: true }).focus();
    await tabTo(page, 'Contract page 2: swipe or use the arrow keys to move around it');
    await expectVisibleFocus(page);
    await page.keyboard.press('ArrowRight');
    await poll(() => scroller.evaluate((el) => el.scrollLeft)).toBeGreaterThan(0);
    // Zoomed in by keyboard to the end, the focus stays on the button, which says it can go no further.
    const zoomInButton = contract.getByRole('button', { name: 'Zoom in', exact: true });
    await zoomInButton.focus();
    for (let i = 0; i < 6; i += 1) await page.keyboard.press('Enter');
    await poll(() => contract.getByTestId('contract-zoom').textContent()).toBe('Zoom 400%');
    expect(await focusedName(page)).toBe('+ Zoom in');
    expect(await zoomInButton.getAttribute('aria-disabled')).toBe('true');

    // At 200% text as well (what a phone's font-size setting does): still no sideways scrolling, the buttons in reach.
    await page.evaluate("document.documentElement.style.fontSize = '200%'");
    for (const name of ['Zoom out', 'Zoom in', 'Fit to width']) {
      const box = (await contract.getByRole('button', { name, exact: true }).boundingBox())!;
      expect(box.height, name).toBeGreaterThanOrEqual(44);
      expect(box.x + box.width, name).toBeLessThanOrEqual(390);
    }
    const textPans = await overflow(page);
    expect(textPans.page).toBeLessThanOrEqual(textPans.viewport);
    expect(textPans.panX).toBeGreaterThan(50);
    await page.getByLabel('Language / 语言').selectOption('zh-CN');
    await poll(() => contract.getByTestId('contract-zoom').textContent()).toBe('缩放 400%');
    expect(await seriousViolations(page)).toEqual([]);
    await contract.getByRole('group', { name: '合同显示大小' }).evaluate((el) => el.scrollIntoView());
    await screenshot(page, 'contract-zoom-400-text-200-zh-CN', { fullPage: false });
    await page.locator('section.terms').screenshot({ path: 'test-artifacts/e2e/contract-zoom-terms-text-200-zh-CN.png' });

    expect(borrower.errors).toEqual([]);
    expect(agent.errors).toEqual([]);
    await agent.context.close();
    await borrower.context.close();
  });
});
