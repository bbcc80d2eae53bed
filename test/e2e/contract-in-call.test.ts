// The contract in the call, in Chromium: the LOS uploads a real three-page PDF, schedules a video
// session (which binds it), the borrower (phone, Chinese) sees the contract drawn by pdf.js, the agent
// (desk, English) shows page 2 and the borrower's page turns to page 2, the desk sees the borrower on
// page 2, the borrower signs, and the desk and the auditor's review page show the signature with its
// time, recording offset and document hash, in both languages.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { createUser } from '../../server/users/users.service.js';
import { contractPdf, uploadContract } from '../support/contracts.js';
import { loanFileWithBorrower, stateOf } from '../support/verification.js';
import { codeIn, poll, startBorrowerStage, visible, type BorrowerStage } from './borrower.js';
import { acceptOffer, availableDesk, newContext, screenshot, signInThroughPage, watchPageErrors } from './browser.js';

const PASSWORD = 'correct horse battery staple';
const AGENT = 'contract.agent@bank.test';
const AUDITOR = 'contract.auditor@bank.test';
const PRODUCT = 'e2e-contract';
let stage: BorrowerStage;

beforeAll(async () => {
  stage = await startBorrowerStage({ SIP_MAX_CALL_SECONDS: '14400' });
  await createUser(stage.app.facesign.db, { email: AGENT, password: PASSWORD, displayName: 'Lin Agent', roles: ['AGENT'], languages: ['zh-CN'], skills: [PRODUCT] });
  await createUser(stage.app.facesign.db, { email: AUDITOR, password: PASSWORD, displayName: 'Qian Auditor', roles: ['AUDITOR'] });
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

const setConsoleLanguage = (page: Page, locale: 'en' | 'zh-CN') => page.locator('.lang-switch select').first().selectOption(locale);

describe('the contract in the call', () => {
  it('the agent shows page 2, the borrower sees page 2 of the real PDF, and the signature reaches the desk and the review page', { timeout: 300_000 }, async () => {
    const { app, los, kit, browser } = stage;
    const phone = '+8613900000901';
    const pdf = await contractPdf([
      '借款金额：人民币 80,000.00 元。借款期限：12 个月。',
      '年化利率（单利）：4.35%。还款方式：等额本息，每月 15 日还款。',
      '逾期责任与提前还款：详见本页条款。',
    ]);
    const documentHash = createHash('sha256').update(pdf).digest('hex');
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone, product: PRODUCT });
    expect((await uploadContract(los, loanFileId, pdf)).status).toBe(201);
    const booked = await los.post<{ id: string; contractDocumentHash: string }>(`/api/loan-files/${loanFileId}/sessions`, { partyId, kind: 'VIDEO', notBefore: new Date().toISOString() });
    expect(booked.body.contractDocumentHash).toBe(documentHash);
    const invitation = await kit.nextSms(phone, 'invitation');
    const link = /\/join\/([A-Za-z0-9_-]{43})/.exec(invitation.text)![1]!;

    // The borrower, on a phone in Chinese, reaches the waiting room.
    const borrower = await kit.toWaitingRoom(link, phone);

    // The agent takes the session on the desk (English).
    const { context: agentContext, desk, errors: deskErrors } = await availableDesk(browser, app, AGENT, PASSWORD);
    await acceptOffer(desk);
    await stateOf(app, booked.body.id, 'IN_PROGRESS');
    await visible(borrower.page, 'in-call');

    // The borrower's page draws the contract itself, page 1 first, with its full fingerprint.
    const borrowerCanvas = '[data-testid="contract"] canvas';
    await poll(() => borrower.page.locator(borrowerCanvas).getAttribute('data-rendered-page')).toBe('1');
    await poll(() => borrower.page.getByTestId('contract-page').textContent()).toBe('第 1 页，共 3 页');
    expect(await borrower.page.getByTestId('contract-hash').textContent()).toBe(documentHash);
    const page1 = await canvasDigest(borrower.page, borrowerCanvas);
    expect(page1.inked).toBeGreaterThan(500);

    // The desk shows the same document; the agent turns to page 2 and shows it.
    const panel = desk.getByTestId('contract-panel');
    await poll(() => panel.getByTestId('desk-contract-page').textContent()).toBe('Page 1 of 3');
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
    await screenshot(borrower.page, 'contract-borrower-signed-en');

    // The desk shows the signature live: time, offset into the recording, document hash.
    const signing = await app.facesign.db.signingConfirmation.findFirstOrThrow({ where: { sessionId: booked.body.id } });
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
    const items = desk.locator('ol.checklist > li');
    const count = await items.count();
    for (let i = 0; i < count; i++) {
      await items.nth(i).locator('button.confirmed').click();
      await poll(async () => app.facesign.db.checklistAnswer.count({ where: { sessionId: booked.body.id } })).toBe(i + 1);
    }
    await desk.getByRole('button', { name: 'End conversation' }).click();
    await stateOf(app, booked.body.id, 'WRAP_UP');
    await desk.getByRole('button', { name: 'Submit checklist' }).click();
    await poll(() => desk.getByRole('heading', { name: /^Submitted/ }).textContent()).toBe('Submitted: Passed');


    // The auditor sees the signing on the review page, in both languages.
    const auditorContext = await newContext(browser, app);
    const review = await auditorContext.newPage();
    const reviewErrors = watchPageErrors(review);
    await signInThroughPage(review, AUDITOR, PASSWORD);
    await review.waitForURL(/\/review$/);
    await review.goto(`/review/${booked.body.id}`);
    const reviewed = review.getByTestId('review-contract');
    await reviewed.getByTestId('contract-signed').waitFor({ timeout: 20_000 });
    expect(await reviewed.getByTestId('signed-hash').textContent()).toBe(documentHash);
    expect(await reviewed.textContent()).toContain(`${offset} into the recording`);
    expect(await reviewed.getByRole('button', { name: `▶ Play from the signing (${offset})` }).count()).toBe(1);
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
