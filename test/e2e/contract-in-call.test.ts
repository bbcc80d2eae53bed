// The contract in the call, in Chromium: the LOS uploads a real three-page PDF, schedules a video
// session (which binds it), the borrower (phone, Chinese) sees the contract drawn by pdf.js, the agent
// (desk, English) shows page 2 and the borrower's page turns to page 2, the desk sees the borrower on
// page 2, the borrower signs, and the desk and the auditor's review page show the signature with its
// time, recording offset and document hash, in both languages. The loan's key terms are highlighted
// where a page states them (over the print, on the phone and on the desk) and listed beside the page;
// the desk, the board and the review page name the product as the borrower's page does; the desk's
// status says "In a session" during the call; the review timeline carries the page presented and the
// signing, and plays from them.
import { AxeBuilder } from '@axe-core/playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { createUser } from '../../server/users/users.service.js';
import { eventually } from '../support/fixtures.js';
import { answersOf, reviewFileOf, verifiedSessionOf } from '../support/reads.js';
import { stateOf } from '../support/verification.js';
import { codeIn, poll, startBorrowerStage, visible, type BorrowerStage } from './borrower.js';
import { newContext, screenshot, signInThroughPage, watchPageErrors } from './browser.js';
import { BORROWER_CANVAS, borrowerInContractCall, highlights } from './contract-call.js';

const PASSWORD = 'correct horse battery staple';
const AGENT = 'contract.agent@bank.test';
const AUDITOR = 'contract.auditor@bank.test';
const SUPERVISOR = 'contract.supervisor@bank.test';
const PRODUCT_NAME = { 'zh-CN': '安心贷', en: 'Peace-of-mind Loan' };
const PRODUCT = 'e2e-contract';
let stage: BorrowerStage;
let agentId: string;

beforeAll(async () => {
  stage = await startBorrowerStage({ SIP_MAX_CALL_SECONDS: '14400' });
  agentId = (await createUser(stage.app.facesign.db, { email: AGENT, password: PASSWORD, displayName: 'Lin Agent', roles: ['AGENT'], languages: ['zh-CN'], skills: [PRODUCT] })).id;
  await createUser(stage.app.facesign.db, { email: AUDITOR, password: PASSWORD, displayName: 'Qian Auditor', roles: ['AUDITOR'] });
  await createUser(stage.app.facesign.db, { email: SUPERVISOR, password: PASSWORD, displayName: 'Zhou Supervisor', roles: ['SUPERVISOR'] });
});
afterAll(async () => {
  await stage?.stop();
});

/** A digest of what the page's contract canvas shows, and how much of it is ink (not blank paper). */
function canvasDigest(page: Page, selector: string): Promise<{ hash: string; inked: number; rendered: string | null }> {
  return page.evaluate<{ hash: string; inked: number; rendered: string | null }>(`(async () => {
    const canvas = document.querySelector(${JSON.stringify(selector)});
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let inked = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i] < 128 && data[i + 3] > 0) inked += 1;
    const digest = await crypto.subtle.digest('SHA-256', data);
    return { hash: Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join(''), inked, rendered: canvas.getAttribute('data-rendered-page') };
  })()`);
}

/** Serious and critical axe violations (WCAG 2.1 A/AA) in the contract viewer, highlights and key terms included. */
async function contractViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).include('[data-testid="contract"]').withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

const setConsoleLanguage = (page: Page, locale: 'en' | 'zh-CN') => page.locator('.lang-switch select').first().selectOption(locale);

describe('the contract in the call', () => {
  it('the agent shows page 2, the borrower sees page 2 of the real PDF, and the signature reaches the desk and the review page', { timeout: 300_000 }, async () => {
    const { app, kit, browser } = stage;
    const phone = '+8613900000901';
    // The LOS uploads the contract and books the session; the borrower, on a phone in Chinese, reaches
    // the waiting room; the agent takes the session on the desk (English).
    const { loanFileId, sessionId, documentHash, borrower, agent } = await borrowerInContractCall(stage, {
      phone,
      product: PRODUCT,
      productName: PRODUCT_NAME,
      agent: { email: AGENT, password: PASSWORD },
      pages: ['借款金额：人民币 80,000.00 元。借款期限：12 个月。', '年化利率（单利）：4.35%。还款方式：等额本息，每月 15 日还款。', '逾期责任与提前还款：详见本页条款。'],
    });
    const { context: agentContext, desk, errors: deskErrors } = agent;

    // The borrower's page draws the contract itself, page 1 first, with its full fingerprint.
    const borrowerCanvas = BORROWER_CANVAS;
    await poll(() => borrower.page.getByTestId('contract-page').textContent()).toBe('第 1 页，共 3 页');
    expect(await borrower.page.getByTestId('contract-hash').textContent()).toBe(documentHash);
    const page1 = await canvasDigest(borrower.page, borrowerCanvas);
    expect(page1.inked).toBeGreaterThan(500);

    // Page 1 states the amount and the term: each is highlighted over its print, and listed beside the page.
    await poll(() => borrower.page.getByTestId('pdf-highlights').getAttribute('data-page')).toBe('1');
    await screenshot(borrower.page, 'contract-borrower-highlights-page-1-zh-CN');
    const marks1 = await highlights(borrower.page, '[data-testid="contract"]');
    expect(marks1.map((m) => m.term).sort()).toEqual(['amount', 'term']);
    for (const mark of marks1) {
      expect(mark.inked, `ink under the ${mark.term} highlight`).toBeGreaterThan(5);
      expect(mark.height).toBeGreaterThan(10);
      // On a phone the highlight stays within the page's width.
      expect(mark.width).toBeLessThan(360);
    }
    const aside = borrower.page.getByTestId('key-terms');
    await poll(() => aside.getAttribute('data-page')).toBe('1');
    expect(await aside.getByRole('heading').textContent()).toBe('本页关键条款');
    expect(await aside.locator('[data-term="amount"]').textContent()).toBe('借款金额¥80,000.00');
    expect(await aside.locator('[data-term="term"]').textContent()).toBe('借款期限12个月');
    await borrower.page.getByTestId('contract').locator('.pdf-page').screenshot({ path: 'test-artifacts/e2e/contract-borrower-highlights-page-1-detail.png' });
    // The borrower's page names the product as the lender does.
    expect(await borrower.page.getByTestId('terms-product').textContent()).toBe('安心贷');

    // The desk shows the same document; the agent turns to page 2 and shows it.
    const panel = desk.getByTestId('contract-panel');
    await poll(() => panel.getByTestId('desk-contract-page').textContent()).toBe('Page 1 of 3');
    // …with the same highlights as the borrower sees, and the terms listed beside it.
    await poll(() => panel.getByTestId('pdf-highlights').getAttribute('data-page')).toBe('1');
    const deskMarks = await highlights(desk, '[data-testid="contract-panel"]');
    expect(deskMarks.map((m) => m.term).sort()).toEqual(['amount', 'term']);
    for (const mark of deskMarks) expect(mark.inked, `ink under the desk's ${mark.term} highlight`).toBeGreaterThan(5);
    expect(await panel.getByTestId('key-terms').locator('[data-term="amount"]').textContent()).toBe('Loan amountCN¥80,000.00');

    // During the call the desk's status is the session, as the board shows it, not "Available".
    expect(await desk.getByTestId('presence-now').textContent()).toBe('My statusIn a session');
    expect(await desk.getByRole('group', { name: 'My status' }).count()).toBe(0);
    expect(await desk.getByRole('group', { name: 'After this session' }).count()).toBe(1);
    // The desk names the product as the borrower's page does (the lender's name, not the catalogue's).
    expect(await desk.getByTestId('session-product').textContent()).toBe(PRODUCT_NAME.en);

    // The supervisor's board: the same product name, and the agent in a session.
    const supervisorContext = await newContext(browser, stage.app);
    const board = await supervisorContext.newPage();
    const boardErrors = watchPageErrors(board);
    await signInThroughPage(board, SUPERVISOR, PASSWORD);
    await board.waitForURL(/\/supervisor$/);
    await poll(() => board.getByTestId(`session-${sessionId}`).getByTestId('board-product').textContent()).toBe(PRODUCT_NAME.en);
    await poll(() => board.getByTestId(`agent-${agentId}`).getByTestId('presence').textContent()).toBe('In a session');
    expect(boardErrors).toEqual([]);
    await supervisorContext.close();
    await poll(() => panel.getByTestId('party-page').getAttribute('data-page')).toBe('1');
    await panel.getByRole('button', { name: 'Next' }).click();
    await poll(() => panel.getByTestId('desk-contract-page').textContent()).toBe('Page 2 of 3');
    await panel.getByRole('button', { name: 'Show page 2 to the borrower' }).click();

    // The borrower's screen turns to page 2: another page of ink, said in words too.
    await poll(() => borrower.page.locator(borrowerCanvas).getAttribute('data-rendered-page')).toBe('2');
    await poll(() => borrower.page.getByTestId('contract-page').textContent()).toBe('第 2 页，共 3 页');
    expect(await borrower.page.getByTestId('contract-presented').textContent()).toBe('坐席正在为您展示第 2 页。');
    const page2 = await canvasDigest(borrower.page, borrowerCanvas);
    expect(page2.inked).toBeGreaterThan(500);
    expect(page2.hash).not.toBe(page1.hash);
    // Page 2 states the rate (with its %), the repayment method and the due day; not the amount.
    await poll(() => borrower.page.getByTestId('pdf-highlights').getAttribute('data-page')).toBe('2');
    const marks2 = await highlights(borrower.page, '[data-testid="contract"]');
    expect(marks2.map((m) => m.term).sort()).toEqual(['apr', 'dueDay', 'repaymentMethod']);
    for (const mark of marks2) expect(mark.inked, `ink under the ${mark.term} highlight`).toBeGreaterThan(5);
    await poll(() => aside.getAttribute('data-page')).toBe('2');
    expect(await aside.locator('[data-term="apr"]').textContent()).toBe('年化利率（单利）4.35%');
    expect(await aside.locator('[data-term="dueDay"]').textContent()).toBe('还款日每月15日');
    await screenshot(borrower.page, 'contract-borrower-highlights-page-2-zh-CN');
    expect(await contractViolations(borrower.page)).toEqual([]);
    // …and it is what the desk draws for page 2 (the same PDF page, drawn by the same library).
    const deskPage2 = desk.locator('[data-testid="contract-panel"] canvas');
    await poll(() => deskPage2.getAttribute('data-rendered-page')).toBe('2');

    // The desk sees where the borrower is reading.
    await poll(() => panel.getByTestId('party-page').getAttribute('data-page')).toBe('2');
    expect(await panel.getByTestId('party-page').textContent()).toMatch(/^The borrower's screen shows page 2 \(since .+\)\.$/);
    expect(await panel.getByTestId('contract-presented').textContent()).toBe('The borrower was shown page 2.');
    expect(await panel.getByTestId('not-signed').textContent()).toBe('Not signed yet. The borrower signs on their page with the signing code.');
    await screenshot(borrower.page, 'contract-borrower-page-2-zh-CN');
    await screenshot(desk, 'contract-desk-presenting-en');

    // The borrower signs; the signing step names the document by its fingerprint.
    expect(await borrower.page.getByTestId('sign-document').textContent()).toContain(documentHash);
    await borrower.page.getByRole('button', { name: '发送签署验证码' }).click();
    const signCode = codeIn(await kit.nextSms(phone, 'signing_code'));
    await borrower.page.getByLabel(/^签署验证码/).fill(signCode);
    await borrower.page.getByRole('button', { name: '我同意并签署' }).click();
    await visible(borrower.page, 'signed');
    await screenshot(borrower.page, 'contract-borrower-signed-zh-CN');
    await borrower.page.getByLabel('Language / 语言').selectOption('en');
    await poll(() => borrower.page.getByTestId('contract-page').textContent()).toBe('Page 2 of 3');
    await poll(() => aside.getByRole('heading').textContent()).toBe('Key terms on this page');
    expect(await aside.locator('[data-term="apr"]').textContent()).toBe('Annual interest rate (simple)4.35%');
    expect(await aside.locator('[data-term="dueDay"]').textContent()).toBe('Due datethe 15th of each month');
    expect((await highlights(borrower.page, '[data-testid="contract"]')).map((m) => m.term).sort()).toEqual(['apr', 'dueDay', 'repaymentMethod']);
    expect(await borrower.page.getByTestId('terms-product').textContent()).toBe(PRODUCT_NAME.en);
    expect(await contractViolations(borrower.page)).toEqual([]);
    await screenshot(borrower.page, 'contract-borrower-signed-en');

    // The desk shows the signature live: time, offset into the recording, document hash.
    const signing = (await verifiedSessionOf(stage.los, loanFileId, sessionId)).signing!;
    expect(signing.documentHash).toBe(documentHash);
    const signed = panel.getByTestId('contract-signed');
    await signed.waitFor({ timeout: 20_000 });
    const offset = `${Math.floor(signing.recordingOffsetMs / 60_000)}:${String(Math.floor((signing.recordingOffsetMs % 60_000) / 1000)).padStart(2, '0')}`;
    expect(await signed.textContent()).toContain(`${offset} into the recording`);
    expect(await signed.getByTestId('signed-hash').textContent()).toBe(documentHash);
    await screenshot(desk, 'contract-desk-signed-en');
    await panel.screenshot({ path: 'test-artifacts/e2e/contract-desk-panel-en.png' });
    await setConsoleLanguage(desk, 'zh-CN');
    await poll(() => signed.textContent()).toContain(`位于录像 ${offset} 处`);
    await screenshot(desk, 'contract-desk-signed-zh-CN');
    await panel.screenshot({ path: 'test-artifacts/e2e/contract-desk-panel-zh-CN.png' });
    await setConsoleLanguage(desk, 'en');

    // Now "signed with the code" can be confirmed; the agent finishes the checklist and submits.
    const auditor = app.client();
    expect((await auditor.login(AUDITOR, PASSWORD)).status).toBe(200);
    const items = desk.locator('ol.checklist > li');
    const count = await items.count();
    for (let i = 0; i < count; i++) {
      await items.nth(i).locator('button.confirmed').click();
      await poll(async () => (await answersOf(auditor, sessionId)).size).toBe(i + 1);
    }
    await desk.getByRole('button', { name: 'End conversation' }).click();
    await stateOf(app, sessionId, 'WRAP_UP');
    await desk.getByRole('button', { name: 'Submit checklist' }).click();
    await poll(() => desk.getByRole('heading', { name: /^Submitted/ }).textContent()).toBe('Submitted: Passed');


    // The auditor sees the signing on the review page, in both languages.
    const auditorContext = await newContext(browser, app);
    const review = await auditorContext.newPage();
    const reviewErrors = watchPageErrors(review);
    await signInThroughPage(review, AUDITOR, PASSWORD);
    await review.waitForURL(/\/review$/);
    await review.goto(`/review/${sessionId}`);
    const reviewed = review.getByTestId('review-contract');
    await reviewed.getByTestId('contract-signed').waitFor({ timeout: 20_000 });
    expect(await reviewed.getByTestId('signed-hash').textContent()).toBe(documentHash);
    // Signed: the hash is shown once, with the signature, not again as the bound document's fingerprint.
    expect(await reviewed.locator('code.hash').count()).toBe(1);
    expect(await reviewed.textContent()).toContain(`${offset} into the recording`);
    expect(await reviewed.getByRole('button', { name: `▶ Play from the signing (${offset})` }).count()).toBe(1);
    // The review page names the product as the borrower saw it.
    expect(await review.locator('.review-page header .hint').first().textContent()).toContain(PRODUCT_NAME.en);
    // The timeline carries the page presented and the signing at their offsets, and plays from them.
    const [presented] = (await reviewFileOf(auditor, sessionId)).pagesPresented;
    expect(presented?.page).toBe(2);
    const presentedOffset = presented!.offsetMs;
    const timeline = review.getByTestId('timeline');
    const signingMark = timeline.getByTestId('seek-signing');
    expect(await signingMark.getAttribute('data-offset-ms')).toBe(String(signing.recordingOffsetMs));
    expect(await signingMark.getAttribute('aria-label')).toMatch(new RegExp(`^Play from \\d:\\d\\d\\.\\d: The borrower signed the contract with the signing code \\(document ${documentHash.slice(0, 12)}…\\)$`));
    const pageMark = timeline.getByTestId('seek-page-0');
    expect(await pageMark.getAttribute('data-offset-ms')).toBe(String(presentedOffset));
    expect(await timeline.locator('li', { has: review.getByTestId('seek-page-0') }).textContent()).toContain('Contract page 2 shown to the borrower');
    expect(presentedOffset).toBeLessThan(signing.recordingOffsetMs);
    // The marks on the recording's bar, in the order they happened.
    await eventually(async () => ['VERIFIED', 'RETAINED'].includes((await verifiedSessionOf(stage.los, loanFileId, sessionId)).attempts[0]?.recording?.state ?? ''));
    await review.reload();
    const player = review.getByTestId('review-player');
    await poll(() => player.evaluate((el) => (el as unknown as { readyState: number }).readyState)).toBeGreaterThanOrEqual(1);
    const duration = await player.evaluate((el) => (el as unknown as { duration: number }).duration);
    expect(await review.locator('.review-track .marker.signing').count()).toBe(1);
    expect(await review.locator('.review-track .marker.page').count()).toBe(1);
    await review.getByTestId('timeline').getByTestId('seek-signing').click();
    await poll(() => player.evaluate((el) => (el as unknown as { currentTime: number }).currentTime)).toBeCloseTo(Math.min(signing.recordingOffsetMs / 1000, duration), 1);
    await screenshot(review, 'contract-review-en');
    await setConsoleLanguage(review, 'zh-CN');
    await poll(() => reviewed.textContent()).toContain('借款人已于');
    await screenshot(review, 'contract-review-zh-CN');

    expect(deskErrors).toEqual([]);
    expect(reviewErrors).toEqual([]);
    expect(borrower.errors).toEqual([]);
    await auditorContext.close();
    await agentContext.close();
    await borrower.context.close();
  });
});
