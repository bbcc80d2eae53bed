// A new installation's first day, in Chromium against the real server: the first administrator is created
// with users:create-admin and signs in, creates a supervisor, an agent and an auditor; the supervisor creates a
// loan file in the console (a refused form says what is wrong next to each field, in English and Chinese, and
// passes an axe-core scan), attaches its contract PDF (a file that is not a PDF and one that is too large are
// refused in words, in both languages; the stored document's fingerprint, size and time are shown) and
// schedules a video session from it, which binds the contract; the borrower is invited, passes the code and
// consent on a phone in Chinese, waits, sees the product by the lender's name and signs the contract with the
// SMS signing code during the call; the agent confirms every item, "signed with the code" included, and the
// session passes; the auditor reviews the whole case in Chinese, the signature with it, and approves. A second,
// shorter case keeps the way without a contract: "signed with the code" is refused in words that follow a change
// of language, answered Unclear, the session escalates and the supervisor decides on the board.
// Pages are photographed (test-artifacts/e2e/journey-*.png); with README_SCREENSHOTS=1 the README's pictures are
// written to docs/images/ too (npm run screenshots:readme).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { AxeBuilder } from '@axe-core/playwright';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { createUser } from '../../server/users/users.service.js';
import type { ApiClient } from '../support/api-client.js';
import { contractPdf } from '../support/contracts.js';
import { answersOf, loanFileOf, partySessions, reviewFileOf, sessionOf, verifiedSessionOf } from '../support/reads.js';
import { loanFileWithBorrower, stateOf } from '../support/verification.js';
import { codeIn, poll, startBorrowerStage, visible, type BorrowerStage } from './borrower.js';
import { acceptOffer, availableDesk, newContext, screenshot, signInThroughPage, unlabelledControls, watchPageErrors } from './browser.js';

const run = promisify(execFile);
const PASSWORD = 'a long first-day password';
const ADMIN = 'first.admin@bank.test';
const SUPERVISOR = 'lin.supervisor@bank.test';
const AGENT = 'chen.agent@bank.test';
const AUDITOR = 'gao.auditor@bank.test';
const PHONE = '+8613900007701';
const REF = 'JOURNEY-2026-0001';
/** Small enough that an oversized upload is cheap to send; the generated contract is about 11 KB. */
const CONTRACT_MAX_BYTES = 200_000;

let stage: BorrowerStage;

/** The pictures the README shows: the screen as a person sees it (not the whole page), small enough to commit. */
async function readmeShot(page: Page, name: string): Promise<void> {
  if (process.env.README_SCREENSHOTS !== '1') return;
  const dir = join(process.cwd(), 'docs', 'images');
  await mkdir(dir, { recursive: true });
  const viewport = page.viewportSize();
  // Desktop pages at a moderate size (a phone stays as it is): under 200 KB each.
  const desktop = viewport && viewport.width > 800;
  if (desktop) await page.setViewportSize({ width: 1200, height: 760 });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: false });
  if (desktop) await page.setViewportSize(viewport);
}

/** Codes and placeholders a person should never read: SOME_CODE, {name}, product codes. (Page-side source.) */
const RAW = `(() => {
  const text = document.body.innerText;
  const found = [...text.matchAll(/\\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\\b|\\{[A-Za-z_][A-Za-z0-9_]*\\}|\\bconsumer-loan\\b/g)].map((m) => m[0]);
  return [...new Set(found)];
})()`;
const rawCodes = async (page: Page) => (await page.evaluate(RAW)) as string[];

/** Serious and critical WCAG 2.1 A/AA findings (axe-core), as "rule: target". */
async function seriousViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  return results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').flatMap((v) => v.nodes.map((n) => `${v.id}: ${n.target.join(' ')}`));
}

const setLanguage = async (page: Page, locale: 'en' | 'zh-CN') => {
  await page.locator('.lang-switch select').first().selectOption(locale);
  await poll(() => page.evaluate('document.documentElement.lang')).toBe(locale);
};

/** A Shanghai (UTC+8, no DST) clock `minutes` from now, as a datetime-local input reads it. */
const shanghaiIn = (minutes: number) => new Date(Date.now() + minutes * 60_000 + 8 * 3600_000).toISOString().slice(0, 16);

beforeAll(async () => {
  // A passed session reaches an auditor by sampling; loans from 50,000 always do, so the journey's one does.
  stage = await startBorrowerStage({ SIP_MAX_CALL_SECONDS: '14400', CONTRACT_MAX_BYTES: String(CONTRACT_MAX_BYTES), REVIEW_AMOUNT_THRESHOLD: '50000.00' });
}, 90_000);
afterAll(async () => {
  await stage?.stop();
});

describe('a new user journey', () => {
  it('from the first administrator to a contract signed in the call and an approved review', { timeout: 420_000 }, async () => {
    const { app, browser, kit, los } = stage;

    // 1. The first administrator, from the command line an operator runs once.
    const cli = await run('npx', ['tsx', 'server/users/create-admin-cli.ts', '--email', ADMIN, '--name', 'First Admin', '--locale', 'en'], {
      env: { ...process.env, DATABASE_URL: app.appDatabaseUrl, LOG_LEVEL: 'silent', FACESIGN_ADMIN_PASSWORD: PASSWORD },
    });
    expect(cli.stdout).toContain(`created administrator ${ADMIN}`);

    // 2. The administrator signs in in the browser and creates the staff (the users API is the console's).
    const adminContext = await newContext(browser, app);
    const adminPage = await adminContext.newPage();
    await signInThroughPage(adminPage, ADMIN, PASSWORD);
    await adminPage.waitForURL((url) => url.pathname !== '/login');
    const admin: ApiClient = app.client();
    expect((await admin.login(ADMIN, PASSWORD)).status).toBe(200);
    for (const user of [
      { email: SUPERVISOR, displayName: 'Lin Supervisor', roles: ['SUPERVISOR'] },
      { email: AGENT, displayName: 'Chen Agent', roles: ['AGENT'], languages: ['zh-CN', 'en'], skills: ['consumer-loan'] },
      { email: AUDITOR, displayName: 'Gao Auditor', roles: ['AUDITOR'] },
    ]) {
      expect((await admin.post('/api/users', { ...user, password: PASSWORD, locale: 'en' })).status).toBe(201);
    }
    // (The stage's LOS key was issued by an administrator of its own.)
    expect((await admin.get<{ items: { email: string }[] }>('/api/users')).body.items.map((u) => u.email)).toEqual(expect.arrayContaining([AGENT, AUDITOR, ADMIN, SUPERVISOR]));
    await adminContext.close();

    // 3. The supervisor creates the loan file in the console. A first try with mistakes is refused field by field.
    const supContext = await newContext(browser, app);
    const sup = await supContext.newPage();
    const supErrors = watchPageErrors(sup);
    await signInThroughPage(sup, SUPERVISOR, PASSWORD);
    await sup.waitForURL(/\/supervisor$/);
    await sup.getByRole('link', { name: 'New loan file' }).click();
    await sup.waitForURL(/\/loan-files\/new$/);
    await poll(() => sup.getByRole('heading', { level: 1 }).textContent()).toBe('New loan file');
    expect(await unlabelledControls(sup)).toEqual([]);

    await sup.getByLabel('Loan reference').fill(REF);
    await sup.getByLabel('Amount', { exact: true }).fill('88,000');
    await sup.getByLabel('Full name').fill('赵敏');
    await sup.getByLabel('Mobile number (with country code)').fill('13900007701');
    await sup.getByLabel('Annual rate (simple, %)').fill('4.35');
    await sup.getByRole('button', { name: 'Create the loan file' }).click();
    await visible(sup, 'loan-file-invalid');
    const amountError = sup.getByTestId('field-error-amount');
    const phoneError = sup.getByTestId('field-error-parties.0.phoneE164');
    await poll(() => amountError.textContent()).toBe('Enter a positive amount with at most two decimals, such as 88000.00.');
    expect(await phoneError.textContent()).toBe('Enter the phone number with its country code, such as +8613812345678.');
    expect(await sup.getByTestId('field-error-terms.apr').count()).toBe(0);
    // Secured or not is never assumed: the collateral is described, or the loan marked unsecured.
    expect(await sup.getByTestId('field-error-terms.collateral.zh-CN').textContent()).toBe('Describe the collateral in both languages, or mark the loan unsecured.');
    // Next to the field it names, and announced with it.
    const amountInput = sup.getByLabel('Amount', { exact: true });
    expect(await amountInput.getAttribute('aria-invalid')).toBe('true');
    expect(await amountInput.getAttribute('aria-describedby')).toContain(await amountError.getAttribute('id'));
    expect(await rawCodes(sup)).toEqual([]);
    expect(await seriousViolations(sup)).toEqual([]);
    await screenshot(sup, 'journey-loan-file-refused-en');
    // The language switch re-words what is already on screen.
    await setLanguage(sup, 'zh-CN');
    await poll(() => amountError.textContent()).toBe('请填写正数金额，最多两位小数，如 88000.00。');
    expect(await phoneError.textContent()).toBe('请填写带国家代码的手机号，如 +8613812345678。');
    await poll(() => sup.getByTestId('loan-file-invalid').textContent()).toMatch(/^有 \d+ 项需要修改/);
    expect(await rawCodes(sup)).toEqual([]);
    expect(await seriousViolations(sup)).toEqual([]);
    await screenshot(sup, 'journey-loan-file-refused-zh-CN');
    await setLanguage(sup, 'en');

    // Corrected and complete: the key terms the script states, and the product's name for the borrower.
    await sup.getByLabel('Amount', { exact: true }).fill('88000.00');
    await sup.getByLabel('Mobile number (with country code)').fill(PHONE);
    await sup.getByLabel('Product name shown to the party (Chinese)').fill('安居消费贷');
    await sup.getByLabel('Product name shown to the party (English)').fill('Home Consumer Loan');
    await sup.getByLabel('Term (months)').fill('24');
    await sup.getByLabel('Repayment method').selectOption('EQUAL_INSTALMENTS');
    await sup.getByLabel('Instalment amount').fill('3851.25');
    await sup.getByLabel('Due day of the month').fill('15');
    await sup.getByLabel('Lender’s name (Chinese)').fill('示例银行');
    await sup.getByLabel('Lender’s name (English)').fill('Example Bank');
    await sup.getByLabel('Unsecured: no collateral or guarantee').check();
    await sup.getByRole('button', { name: 'Add a fee' }).click();
    await sup.getByLabel('Fee (Chinese)').fill('担保费');
    await sup.getByLabel('Fee (English)').fill('guarantee fee');
    await sup.getByTestId('fee-0').getByLabel('Amount').fill('1200.00');
    // The contract goes with the form; this first file is named .pdf but is not one, and the server (which
    // judges the bytes, not the name) refuses it once the loan file exists.
    await sup.getByLabel('Contract (PDF)').setInputFiles({ name: 'contract.pdf', mimeType: 'application/pdf', buffer: Buffer.from('Loan agreement draft, typed as plain text.\n'.repeat(20)) });
    await poll(() => sup.locator('#lf-contract-hint').textContent()).toBe('Chosen: contract.pdf (860 B).');
    await sup.getByRole('button', { name: 'Create the loan file' }).click();
    await visible(sup, 'loan-file-created');
    const listed = await los.get<{ items: { id: string }[] }>(`/api/loan-files?externalRef=${REF}`);
    expect(listed.body.items).toHaveLength(1);
    const loanFile = await loanFileOf(los, listed.body.items[0]!.id);
    expect(loanFile).toMatchObject({ product: 'consumer-loan', currency: 'CNY', productName: { 'zh-CN': '安居消费贷', en: 'Home Consumer Loan' } });
    expect(loanFile.amount).toBe('88000.00');
    expect(loanFile.terms).toMatchObject({ termMonths: 24, apr: '4.35', repaymentMethod: 'EQUAL_INSTALMENTS', dueDay: 15, collateral: null, fees: [{ name: { 'zh-CN': '担保费', en: 'guarantee fee' }, amount: '1200.00', period: 'ONCE' }] });
    expect(loanFile.parties).toMatchObject([{ fullName: '赵敏', phoneE164: PHONE, role: 'BORROWER', timeZone: 'Asia/Shanghai', locale: 'zh-CN' }]);
    const party = loanFile.parties[0]!;

    // The contract: refusals in words (not a PDF, too large), in both languages, then the real document.
    const contract = sup.getByTestId('contract-section');
    const contractRefusal = contract.getByTestId('error-note');
    await poll(() => contractRefusal.textContent()).toBe('The contract was not stored: This kind of file is not accepted.');
    expect(await contractRefusal.getAttribute('data-code')).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(await contract.getByTestId('contract-none').textContent()).toBe('No contract attached yet. Video sessions scheduled without one have nothing to sign.');
    expect(await rawCodes(sup)).toEqual([]);
    await screenshot(sup, 'journey-contract-not-pdf-en');
    const oversized = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(CONTRACT_MAX_BYTES + 50_000, 0x20), Buffer.from('\n%%EOF\n')]);
    await contract.getByLabel('Contract (PDF)').setInputFiles({ name: 'scanned-contract.pdf', mimeType: 'application/pdf', buffer: oversized });
    await contract.getByRole('button', { name: 'Upload the contract' }).click();
    await poll(() => contractRefusal.getAttribute('data-code')).toBe('PAYLOAD_TOO_LARGE');
    expect(await contractRefusal.textContent()).toBe('The contract was not stored: What was sent is too large.');
    await contract.screenshot({ path: 'test-artifacts/e2e/journey-contract-too-large-en.png' });
    await setLanguage(sup, 'zh-CN');
    await poll(() => contractRefusal.textContent()).toBe('合同未保存：提交的内容过大。');
    expect(await contract.getByRole('heading', { level: 2 }).textContent()).toBe('合同（PDF）');
    expect(await rawCodes(sup)).toEqual([]);
    expect(await seriousViolations(sup)).toEqual([]);
    await contract.screenshot({ path: 'test-artifacts/e2e/journey-contract-too-large-zh-CN.png' });
    await setLanguage(sup, 'en');
    expect((await los.get(`/api/loan-files/${loanFile.id}/contract`)).status).toBe(404);

    const pdf = await contractPdf(['借款金额：人民币 88,000.00 元。借款期限：24 个月。年化利率（单利）：4.35%。', '还款方式：等额本息，每月 15 日还款，每期 3,851.25 元。担保费 1,200.00 元。']);
    const documentHash = createHash('sha256').update(pdf).digest('hex');
    await contract.getByLabel('Contract (PDF)').setInputFiles({ name: '借款合同.pdf', mimeType: 'application/pdf', buffer: pdf });
    // With the keyboard: the upload button is a button.
    await contract.getByRole('button', { name: 'Upload the contract' }).focus();
    await sup.keyboard.press('Enter');
    const fingerprint = contract.getByTestId('contract-sha256');
    await fingerprint.waitFor({ timeout: 20_000 });
    expect(await fingerprint.textContent()).toBe(`${documentHash.slice(0, 12)}…${documentHash.slice(-6)}`);
    expect(await fingerprint.getAttribute('title')).toBe(documentHash);
    expect(await contract.getByTestId('contract-size').textContent()).toBe(`${(pdf.length / 1000).toFixed(1)} KB`);
    expect(await contract.getByTestId('contract-size').getAttribute('title')).toBe(`${pdf.length.toLocaleString('en')} bytes`);
    expect(await contract.getByTestId('contract-uploaded-at').textContent()).toMatch(/\d/);
    expect(await contractRefusal.count()).toBe(0);
    expect(await contract.getByRole('button', { name: 'Replace the contract' }).isDisabled()).toBe(true);
    expect((await los.get(`/api/loan-files/${loanFile.id}/contract`)).body).toMatchObject({ sha256: documentHash, sizeBytes: pdf.length });
    expect(await unlabelledControls(sup)).toEqual([]);
    expect(await rawCodes(sup)).toEqual([]);
    expect(await seriousViolations(sup)).toEqual([]);
    await contract.screenshot({ path: 'test-artifacts/e2e/journey-contract-stored-en.png' });
    await screenshot(sup, 'journey-contract-stored-page-en');
    await setLanguage(sup, 'zh-CN');
    await poll(() => contract.locator('dt').allTextContents()).toEqual(['文件指纹（SHA-256）', '大小', '上传时间']);
    expect(await contract.getByRole('button', { name: '复制指纹' }).count()).toBe(1);
    expect(await rawCodes(sup)).toEqual([]);
    await contract.screenshot({ path: 'test-artifacts/e2e/journey-contract-stored-zh-CN.png' });
    await setLanguage(sup, 'en');

    // 4. ...and schedules a video session for the borrower from the same page, on the borrower's clock.
    const card = sup.getByTestId(`schedule-party-${party.id}`);
    await visible(sup, `schedule-party-${party.id}`);
    await card.getByLabel('Video face-signing').check();
    await card.getByLabel(/^Appointment time/).fill(shanghaiIn(3));
    await card.getByRole('button', { name: 'Schedule' }).click();
    await poll(() => card.getByTestId('schedule-done').textContent()).toMatch(/^Video face-signing scheduled for 赵敏/);
    await screenshot(sup, 'journey-scheduled-en');
    const [session, ...more] = await partySessions(los, loanFile.id, party.id);
    expect(more).toEqual([]);
    if (!session) throw new Error('no session scheduled');
    // Scheduled after the upload, the session binds the contract the borrower will sign.
    expect(session).toMatchObject({ kind: 'VIDEO', state: 'SCHEDULED', contractDocumentHash: documentHash });

    // 5. The borrower opens the invitation on a phone, in Chinese, and reaches the waiting room.
    const invitation = await kit.nextSms(PHONE, 'invitation');
    const link = /\/join\/([A-Za-z0-9_-]{43})/.exec(invitation.text)![1]!;
    const borrower = await kit.toWaitingRoom(link, PHONE);
    expect(await rawCodes(borrower.page)).toEqual([]);
    await screenshot(borrower.page, 'journey-join-waiting-zh-CN');

    // 6. The agent goes available and takes the offer; the supervisor's board shows the session live.
    const { context: agentContext, desk, errors: deskErrors } = await availableDesk(browser, app, AGENT, PASSWORD);
    await acceptOffer(desk);
    await stateOf(app, session.id, 'IN_PROGRESS');
    await visible(borrower.page, 'in-call');
    await poll(() => desk.getByTestId('party-status').textContent()).toBe('Party connected');

    // The borrower sees the product by the lender's name, not its code.
    await poll(() => borrower.page.getByTestId('terms-product').textContent()).toBe('安居消费贷');
    expect(await rawCodes(borrower.page)).toEqual([]);
    await screenshot(borrower.page, 'journey-join-in-call-zh-CN');
    await readmeShot(borrower.page, 'join-phone-zh-CN');

    await desk.getByLabel('Snapshot of').selectOption('FACE');
    await desk.getByRole('button', { name: 'Take snapshot' }).click();
    await poll(() => desk.getByText(/Snapshot saved/).count()).toBe(1);
    // Every term in the script is filled: no {placeholder} on the desk.
    await poll(() => desk.locator('ol.checklist').textContent()).toContain('4.35%');
    expect(await rawCodes(desk)).toEqual([]);
    await desk.evaluate('window.scrollTo(0, 0)');
    await readmeShot(desk, 'desk-en');

    await sup.getByRole('link', { name: 'Supervisor' }).click();
    await sup.waitForURL(/\/supervisor$/);
    await poll(() => sup.getByText(REF).count()).toBeGreaterThan(0);
    expect(await rawCodes(sup)).toEqual([]);
    await screenshot(sup, 'journey-board-en');
    await readmeShot(sup, 'board-en');

    // 7. The borrower signs the contract with the SMS signing code, during the call; the desk sees it.
    await poll(() => borrower.page.getByTestId('contract-hash').textContent()).toBe(documentHash);
    await borrower.page.getByRole('button', { name: '发送签署验证码' }).click();
    const signCode = codeIn(await kit.nextSms(PHONE, 'signing_code'));
    await borrower.page.getByLabel(/^签署验证码/).fill(signCode);
    await borrower.page.getByRole('button', { name: '我同意并签署' }).click();
    await visible(borrower.page, 'signed');
    await screenshot(borrower.page, 'journey-join-signed-zh-CN');
    const signedOnDesk = desk.getByTestId('contract-panel').getByTestId('contract-signed');
    await signedOnDesk.waitFor({ timeout: 20_000 });
    expect(await signedOnDesk.getByTestId('signed-hash').textContent()).toBe(documentHash);
    expect((await verifiedSessionOf(los, loanFile.id, session.id)).signing).toMatchObject({ documentHash });

    // Every item is confirmed, "signed with the code" too, since the borrower really signed.
    const items = desk.locator('ol.checklist > li');
    const count = await items.count();
    expect(count).toBeGreaterThan(5);
    expect(await desk.getByTestId('item-contract_signing_otp').count()).toBe(1);
    for (let i = 0; i < count; i++) {
      await items.nth(i).locator('button.confirmed').click();
      await poll(async () => (await answersOf(admin, session.id)).size).toBe(i + 1);
    }
    expect((await answersOf(admin, session.id)).get('contract_signing_otp')).toMatchObject({ value: 'CONFIRMED' });
    expect(await rawCodes(desk)).toEqual([]);
    await screenshot(desk, 'journey-desk-en');
    await desk.getByRole('button', { name: 'End conversation' }).click();
    await stateOf(app, session.id, 'WRAP_UP');
    await desk.getByRole('button', { name: 'Submit checklist' }).click();
    await poll(() => desk.getByRole('heading', { name: /^Submitted/ }).textContent()).toBe('Submitted: Passed');
    expect((await stateOf(app, session.id, 'COMPLETED')).outcome).toBe('PASSED');
    await visible(borrower.page, 'step-end');
    await screenshot(borrower.page, 'journey-join-end-zh-CN');

    // 8. The auditor reviews the whole case in Chinese, the borrower's signature with it, and approves it.
    const audContext = await newContext(browser, app, { locale: 'zh-CN' });
    const review = await audContext.newPage();
    const reviewErrors = watchPageErrors(review);
    await signInThroughPage(review, AUDITOR, PASSWORD);
    await review.waitForURL(/\/review$/);
    await review.goto(`/review/${session.id}`);
    await poll(() => review.getByRole('heading', { level: 1 }).textContent()).toContain(REF);
    await setLanguage(review, 'zh-CN');
    for (const choice of ['批准', '要求重新采集', '驳回']) expect(await review.getByRole('radio', { name: choice }).isChecked()).toBe(false);
    await poll(() => review.locator('main').textContent()).toContain('4.35%');
    const reviewedContract = review.getByTestId('review-contract');
    await reviewedContract.getByTestId('contract-signed').waitFor({ timeout: 20_000 });
    expect(await reviewedContract.getByTestId('signed-hash').textContent()).toBe(documentHash);
    await poll(() => reviewedContract.textContent()).toContain('借款人已于');
    expect(await rawCodes(review)).toEqual([]);
    await screenshot(review, 'journey-review-zh-CN');
    await readmeShot(review, 'review-zh-CN');
    await review.getByRole('radio', { name: '批准' }).check();
    await review.getByRole('button', { name: '提交决定' }).click();
    const auditor = app.client();
    expect((await auditor.login(AUDITOR, PASSWORD)).status).toBe(200);
    await poll(async () => (await reviewFileOf(auditor, session.id)).review).not.toBeNull();
    await screenshot(review, 'journey-review-decided-zh-CN');

    expect(supErrors).toEqual([]);
    expect(deskErrors).toEqual([]);
    expect(borrower.errors).toEqual([]);
    expect(reviewErrors).toEqual([]);
    await Promise.all([supContext.close(), agentContext.close(), audContext.close(), borrower.context.close()]);
  });

  it('without a contract: "signed with the code" is refused in words, answered Unclear, escalated, and the supervisor decides', { timeout: 240_000 }, async () => {
    const { app, browser, kit, los } = stage;
    // Its own product, so the offer goes to this agent only, and its own supervisor.
    const product = 'journey-no-contract';
    const agentEmail = 'he.agent@bank.test';
    const supervisorEmail = 'wu.supervisor@bank.test';
    await createUser(app.facesign.db, { email: agentEmail, password: PASSWORD, displayName: 'He Agent', roles: ['AGENT'], languages: ['zh-CN'], skills: [product] });
    await createUser(app.facesign.db, { email: supervisorEmail, password: PASSWORD, displayName: 'Wu Supervisor', roles: ['SUPERVISOR'] });
    const phone = '+8613900007702';
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone, product });
    const booked = await los.post<{ id: string }>(`/api/loan-files/${loanFileId}/sessions`, { partyId, kind: 'VIDEO', notBefore: new Date().toISOString() });
    expect(booked.status).toBe(201);
    const sessionId = booked.body.id;
    expect(await sessionOf(los, sessionId)).toMatchObject({ contractDocumentHash: null });
    const supervisor = app.client();
    expect((await supervisor.login(supervisorEmail, PASSWORD)).status).toBe(200);

    const invitation = await kit.nextSms(phone, 'invitation');
    const link = /\/join\/([A-Za-z0-9_-]{43})/.exec(invitation.text)![1]!;
    const borrower = await kit.toWaitingRoom(link, phone);

    const { context: agentContext, desk, errors: deskErrors } = await availableDesk(browser, app, agentEmail, PASSWORD);
    await acceptOffer(desk);
    await stateOf(app, sessionId, 'IN_PROGRESS');
    await visible(borrower.page, 'in-call');

    const items = desk.locator('ol.checklist > li');
    const count = await items.count();
    expect(count).toBeGreaterThan(5);
    const signingItem = desk.getByTestId('item-contract_signing_otp');
    let answered = 0;
    for (let i = 0; i < count; i++) {
      const item = items.nth(i);
      if ((await item.getAttribute('data-testid')) === 'item-contract_signing_otp') continue;
      await item.locator('button.confirmed').click();
      answered += 1;
      await poll(async () => (await answersOf(supervisor, sessionId)).size).toBe(answered);
    }
    // No contract was supplied, so there is nothing to sign: "signed with the code" cannot be confirmed. The
    // refusal is worded on the desk, and a change of language re-words it where it stands.
    await signingItem.locator('button.confirmed').click();
    const refusal = signingItem.getByTestId('error-note');
    await poll(() => refusal.textContent()).toBe('The party has not signed with the signing code yet. Without a contract to sign, answer Unclear and say why in the note.');
    await setLanguage(desk, 'zh-CN');
    await poll(() => refusal.textContent()).toBe('当事人尚未用签署验证码完成签署。如本次没有需签署的合同，请选择“不明确”并在备注中说明原因。');
    expect(await rawCodes(desk)).toEqual([]);
    await signingItem.scrollIntoViewIfNeeded();
    await screenshot(desk, 'journey-desk-refusal-zh-CN', { fullPage: false });
    await setLanguage(desk, 'en');
    await signingItem.locator('button.unclear').click();
    await poll(async () => (await answersOf(supervisor, sessionId)).get('contract_signing_otp')?.value).toBe('UNCLEAR');
    await poll(() => signingItem.getAttribute('class')).toBe('answered');
    await signingItem.getByRole('textbox').fill('No contract was supplied for this loan; nothing to sign in the call.');
    await signingItem.getByRole('textbox').press('Tab');
    await poll(async () => (await answersOf(supervisor, sessionId)).get('contract_signing_otp')?.note ?? '').toContain('No contract');
    expect((await answersOf(supervisor, sessionId)).size).toBe(count);
    await desk.getByRole('button', { name: 'End conversation' }).click();
    await stateOf(app, sessionId, 'WRAP_UP');
    await desk.getByRole('button', { name: 'Submit checklist' }).click();
    await poll(() => desk.getByRole('heading', { name: /^Submitted/ }).textContent()).toBe('Submitted: Escalated to a supervisor');
    await stateOf(app, sessionId, 'ESCALATED');
    await visible(borrower.page, 'step-end');

    // The supervisor decides the escalation on the board: the reason is in words.
    const supContext = await newContext(browser, app);
    const sup = await supContext.newPage();
    const supErrors = watchPageErrors(sup);
    await signInThroughPage(sup, supervisorEmail, PASSWORD);
    await sup.waitForURL(/\/supervisor$/);
    const entry = sup.getByTestId(`escalation-${sessionId}`);
    await entry.waitFor({ timeout: 30_000 });
    await entry.getByRole('button', { name: /Review and decide/ }).click();
    const caseView = sup.getByTestId(`case-${sessionId}`);
    await poll(() => caseView.textContent()).toMatch(/Required item unclear: .+/);
    expect(await rawCodes(sup)).toEqual([]);
    await screenshot(sup, 'journey-board-escalation-en');
    await caseView.getByRole('radio', { name: /^Pass/ }).check();
    await caseView.getByLabel(/^Reason for the decision/).fill('No contract in this verification; the loan is signed at the branch.');
    await caseView.getByRole('button', { name: 'Record decision' }).click();
    expect((await stateOf(app, sessionId, 'COMPLETED')).outcome).toBe('PASSED');

    expect(deskErrors).toEqual([]);
    expect(supErrors).toEqual([]);
    expect(borrower.errors).toEqual([]);
    await Promise.all([supContext.close(), agentContext.close(), borrower.context.close()]);
  });
});
