// What people read, in Chromium, in both languages: a busy line and an escalated call walked through
// the desk (with the phone ringing before it is answered, and a new offer taken while the last
// summary is open), the supervisor's board, the auditor's review, the dashboard, the sign-in page, the
// borrower's join page and contract viewer (with its key terms), and the desk's box for a call the
// automated confirmation call handed over. Every rendered page is scanned for codes a person should never see: enum
// values (PROMPTED, RETRY_PENDING), product codes (consumer-loan), language tags and {placeholders}.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { createUser } from '../../server/users/users.service.js';
import type { ApiClient } from '../support/api-client.js';
import { contractPdf, uploadContract } from '../support/contracts.js';
import { HttpSink } from '../support/http-sink.js';
import type { TestApp } from '../support/harness.js';
import { ALWAYS_OPEN, loanFileWithBorrower, losClient, scheduleCall, stateOf } from '../support/verification.js';
import { Borrowers, poll, visible } from './borrower.js';
import { goAvailableOnDesk, launchChromium, newContext, screenshot, signInThroughPage, startE2eApp, watchPageErrors } from './browser.js';

const PASSWORD = 'correct horse battery staple';
const AGENT = 'words.agent@bank.test';
const PRODUCT = 'consumer-loan';
let app: TestApp;
let browser: Browser;
let los: ApiClient;
let sms: HttpSink;
let borrowers: Borrowers;

// Every value of the enums the server sends that a page could show as is (prisma/schema.prisma and the
// outcome rules), besides anything shaped like SOME_CODE.
const ENUM_VALUES = [
  'SCHEDULED', 'DISPATCHING', 'RINGING', 'WAITING', 'COMPLETED', 'EXHAUSTED', 'CANCELLED', 'EXPIRED',
  'PASSED', 'FAILED', 'ESCALATED', 'CONFIRMED', 'DENIED', 'UNCLEAR',
  'EVASIVE', 'NERVOUS', 'PROMPTED', 'INCONSISTENT', 'LOW', 'MEDIUM', 'HIGH',
  'FACE', 'ANSWERED', 'BUSY', 'DECLINED', 'CALL', 'VIDEO', 'BORROWER', 'GUARANTOR',
  'REQUESTED', 'ACTIVE', 'ENDING', 'UPLOADED', 'VERIFIED', 'RETAINED',
  'PENDING', 'APPROVED', 'REJECTED', 'APPROVE', 'REJECT', 'RECAPTURE', 'SAMPLED', 'AMOUNT',
  'AGENT', 'SUPERVISOR', 'AUDITOR', 'ADMIN',
];

/**
 * Raw codes in what the page shows or announces: its rendered text, and the accessible names, titles,
 * alternative texts and placeholders of visible elements. Page-side source (the test project has no DOM types).
 */
const RAW_CODES = `((enumValues, productCodes) => {
  const texts = [document.body.innerText];
  const visible = (el) => {
    const box = el.getBoundingClientRect();
    return getComputedStyle(el).visibility !== 'hidden' && box.width > 0 && box.height > 0;
  };
  for (const el of document.querySelectorAll('[aria-label], [title], img[alt], [placeholder]')) {
    if (!visible(el)) continue;
    for (const name of ['aria-label', 'title', 'alt', 'placeholder']) {
      const value = el.getAttribute(name);
      if (value) texts.push(value);
    }
  }
  const patterns = [
    /\\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\\b/g,
    new RegExp('\\\\b(?:' + enumValues.join('|') + ')\\\\b', 'g'),
    /\\{[A-Za-z_][A-Za-z0-9_]*\\}/g,
    /\\bzh-CN\\b/g,
    new RegExp('\\\\b(?:' + productCodes.join('|') + ')\\\\b', 'g'),
  ];
  const found = [];
  for (const text of texts) {
    for (const pattern of patterns) {
      for (const match of text.matchAll(pattern)) {
        const at = match.index ?? 0;
        found.push(match[0] + '  in "' + text.slice(Math.max(0, at - 40), at + match[0].length + 40).replace(/\\s+/g, ' ') + '"');
      }
    }
  }
  return [...new Set(found)];
})`;

async function rawCodes(page: Page): Promise<string[]> {
  return (await page.evaluate(`${RAW_CODES}(${JSON.stringify(ENUM_VALUES)}, ${JSON.stringify([PRODUCT])})`)) as string[];
}

/** Switches the page's language in place (state on the page is kept), scans it and takes its picture. */
async function scanBothLanguages(page: Page, name: string, ready: (locale: 'en' | 'zh-CN') => Promise<unknown>): Promise<void> {
  for (const locale of ['en', 'zh-CN'] as const) {
    await page.locator('.lang-switch select').first().selectOption(locale);
    await poll(() => page.evaluate('document.documentElement.lang')).toBe(locale);
    await ready(locale);
    await screenshot(page, `${name}-${locale}`);
    expect(await rawCodes(page), `${name} (${locale})`).toEqual([]);
  }
}

beforeAll(async () => {
  sms = await HttpSink.start();
  // The simulator in real time, so a phone rings for as long as a person sees it ringing. The automated
  // call's prompts then last as long as they are spoken too: the fastest allowed speech keeps them short.
  app = await startE2eApp({ ...ALWAYS_OPEN, DIAL_RATE_PER_SECOND: '50', NOTIFIER: 'http', NOTIFIER_URL: `${sms.url}/sms`, AUTOMATED_CALL_TTS_WORDS_PER_MINUTE: '400' }, { livekit: true, simTimeScale: 1 });
  browser = await launchChromium();
  los = await losClient(app);
  borrowers = new Borrowers({ app, los, sms, browser });
  await createUser(app.facesign.db, { email: AGENT, password: PASSWORD, displayName: 'Qian Agent', roles: ['AGENT'], languages: ['zh-CN', 'en'], skills: [PRODUCT] });
  await createUser(app.facesign.db, { email: 'words.sup@bank.test', password: PASSWORD, displayName: 'Zhou Supervisor', roles: ['SUPERVISOR'] });
  await createUser(app.facesign.db, { email: 'words.aud@bank.test', password: PASSWORD, displayName: 'Sun Auditor', roles: ['AUDITOR'] });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await sms?.stop();
});

const cancel = (sessionId: string) => app.facesign.verification.scheduling.cancel(sessionId, 'test over', { actor: { type: 'SYSTEM' }, requestId: 'test', scope: 'test' });

describe('the words people read', () => {
  let busySession = '';
  let escalatedSession = '';

  it('desk: a busy line stays with its reason and next attempt; a ringing phone is not a connected party; reasons and flags in words; a new offer replaces the summary', { timeout: 240_000 }, async () => {
    const context = await newContext(browser, app);
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    await goAvailableOnDesk(page, app, AGENT, PASSWORD);
    const agentApi = app.client();
    expect((await agentApi.login(AGENT, PASSWORD)).status).toBe(200);

    // A busy line (the simulator's …20): the desk keeps it, says why, and when it is tried again.
    const busy = await loanFileWithBorrower(los, { phone: '+8613805550120', product: PRODUCT });
    busySession = await scheduleCall(los, busy.loanFileId, busy.partyId);
    await page.getByTestId('offer').getByRole('button', { name: 'Accept' }).click();
    const pending = await stateOf(app, busySession, 'RETRY_PENDING');
    await visible(page, 'not-reached');
    // Well past the moment it used to vanish into "No live session".
    await new Promise((r) => setTimeout(r, 4000));
    expect(await page.getByTestId('not-reached').isVisible()).toBe(true);
    expect(await page.getByTestId('not-reached-reason').textContent()).toBe('Reason: Line busy');
    const nextAt = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(pending.nextAttemptAt!));
    expect(await page.getByTestId('not-reached-next').textContent()).toBe(`Next attempt (2 of 3): ${nextAt}. It will be offered again then.`);
    expect(await page.getByText('No live session').count()).toBe(0);
    await scanBothLanguages(page, 'words-desk-not-reached', async (locale) => {
      await poll(() => page.getByTestId('not-reached-reason').textContent()).toBe(locale === 'en' ? 'Reason: Line busy' : '原因：占线');
      await poll(() => page.getByTestId('schedule-dial-outcome').first().textContent()).toBe(locale === 'en' ? 'Line busy' : '占线');
    });
    await page.locator('.lang-switch select').first().selectOption('en');

    // A phone that rings for a few seconds (…05): ringing, not a connected party, until it is answered.
    const call = await loanFileWithBorrower(los, { phone: '+8613805550105', product: PRODUCT });
    escalatedSession = await scheduleCall(los, call.loanFileId, call.partyId);
    await page.getByTestId('offer').getByRole('button', { name: 'Accept' }).click();
    await stateOf(app, escalatedSession, 'RINGING');
    const whileRinging = async () => {
      const shown = (await page.evaluate(`[document.querySelector('[data-testid=session-state]')?.getAttribute('data-state'), document.querySelector('[data-testid=party-status]')?.textContent]`)) as [string | null, string | null];
      return shown[0] === 'RINGING' ? shown[1] : undefined;
    };
    await poll(whileRinging).toBe('Ringing…');
    await screenshot(page, 'words-desk-ringing-en');
    await stateOf(app, escalatedSession, 'IN_PROGRESS');
    await poll(() => page.getByTestId('party-status').textContent()).toBe('Party connected');

    // Everything confirmed, but someone prompted the party: a high-severity flag escalates.
    const checklist = await agentApi.get<{ items: { id: string }[] }>(`/api/sessions/${escalatedSession}/checklist`);
    for (const item of checklist.body.items) {
      expect((await agentApi.request('PUT', `/api/sessions/${escalatedSession}/answers/${item.id}`, { value: 'CONFIRMED', note: 'answered clearly' })).status).toBe(200);
    }
    expect((await agentApi.post(`/api/sessions/${escalatedSession}/risk-flags`, { code: 'PROMPTED', severity: 'HIGH', note: 'a voice whispered the answers' })).status).toBe(201);
    await poll(() => page.locator('.flag-list').textContent()).toContain('Prompted by someone');
    await scanBothLanguages(page, 'words-desk-live', async (locale) => {
      await poll(() => page.locator('.flag-list').textContent()).toContain(locale === 'en' ? 'High Prompted by someone' : '高 有人在旁提示');
    });
    await page.locator('.lang-switch select').first().selectOption('en');

    await page.getByRole('button', { name: 'End conversation' }).click();
    await stateOf(app, escalatedSession, 'WRAP_UP');
    await poll(() => page.getByRole('button', { name: 'Submit checklist' }).isEnabled()).toBe(true);
    await page.getByRole('button', { name: 'Submit checklist' }).click();
    await visible(page, 'submitted');
    expect((await stateOf(app, escalatedSession, 'ESCALATED')).outcome).toBe('ESCALATED');
    await scanBothLanguages(page, 'words-desk-submitted', async (locale) => {
      await poll(() => page.getByTestId('submitted-reasons').textContent()).toBe(locale === 'en' ? 'Reasons: High-severity risk flag: Prompted by someone' : '原因：高风险标记：有人在旁提示');
      await poll(() => page.getByTestId('schedule-state').allTextContents()).toEqual(locale === 'en' ? expect.arrayContaining(['Escalated', 'Will be tried again']) : expect.arrayContaining(['已升级', '待重试']));
    });
    await page.locator('.lang-switch select').first().selectOption('en');

    // A new offer while the summary is open: accepting it takes the agent into the new session.
    const next = await loanFileWithBorrower(los, { phone: '+8613805550100', product: PRODUCT });
    const nextSession = await scheduleCall(los, next.loanFileId, next.partyId);
    await page.getByTestId('offer').getByRole('button', { name: 'Accept' }).click();
    await poll(() => page.getByTestId('submitted').count()).toBe(0);
    await poll(() => page.getByTestId('party-status').isVisible()).toBe(true);
    await stateOf(app, nextSession, 'IN_PROGRESS');
    await poll(() => page.getByTestId('party-status').textContent()).toBe('Party connected');
    await screenshot(page, 'words-desk-next-offer-en');
    await cancel(nextSession);

    expect(errors).toEqual([]);
    await context.close();
  });

  it('board: the escalation with its reasons and flags, the busy line with its reason and next attempt', { timeout: 120_000 }, async () => {
    expect(escalatedSession && busySession).toBeTruthy();
    const context = await newContext(browser, app);
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    await signInThroughPage(page, 'words.sup@bank.test', PASSWORD);
    await page.waitForURL(/\/supervisor$/);
    const busyCard = page.getByTestId('column-retry_pending').getByTestId(`session-${busySession}`);
    await poll(() => busyCard.getByTestId('retry-pending').textContent()).toMatch(/^Last call: Line busyNext attempt: /);
    await page.getByTestId(`escalation-${escalatedSession}`).getByRole('button', { name: /Review and decide/ }).click();
    await visible(page, `case-${escalatedSession}`);
    await scanBothLanguages(page, 'words-board', async (locale) => {
      await poll(() => page.getByTestId(`case-${escalatedSession}`).locator('.sv-reasons').textContent()).toBe(locale === 'en' ? 'High-severity risk flag: Prompted by someone' : '高风险标记：有人在旁提示');
      await poll(() => page.getByTestId(`case-${escalatedSession}`).locator('.sv-answers').textContent()).toContain(locale === 'en' ? 'Confirmed' : '确认');
      await poll(() => busyCard.textContent()).toContain(locale === 'en' ? 'Consumer loan · Chinese' : '消费贷款 · 中文');
    });
    expect(errors).toEqual([]);
    await context.close();
  });

  it('review and dashboard: flags, findings and states in words', { timeout: 120_000 }, async () => {
    const context = await newContext(browser, app);
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    await signInThroughPage(page, 'words.aud@bank.test', PASSWORD);
    await page.waitForURL(/\/review$/);
    await scanBothLanguages(page, 'words-review-queue', async (locale) => {
      await poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe(locale === 'en' ? 'Compliance review' : '合规质检复核');
    });
    await page.goto(`/review/${escalatedSession}`);
    await scanBothLanguages(page, 'words-review', async (locale) => {
      await poll(() => page.getByTestId('case-findings').textContent()).toBe(locale === 'en' ? 'High-severity risk flag: Prompted by someone' : '高风险标记：有人在旁提示');
      await poll(() => page.getByRole('heading', { level: 1 }).textContent()).toMatch(/\S/);
    });
    await page.goto('/dashboard');
    await scanBothLanguages(page, 'words-dashboard', async () => {
      await visible(page, 'kpis');
    });
    expect(errors).toEqual([]);
    await context.close();
  });

  it('sign-in: a wrong password in plain words, no code', async () => {
    const context = await newContext(browser, app);
    const page = await context.newPage();
    await signInThroughPage(page, 'words.aud@bank.test', 'not the password');
    await scanBothLanguages(page, 'words-login', async (locale) => {
      await poll(() => page.getByRole('alert').textContent()).toBe(locale === 'en' ? 'The e-mail address or password is wrong.' : '电子邮箱或密码错误。');
    });
    await context.close();
  });

  it("join page: the borrower's steps in words", { timeout: 120_000 }, async () => {
    const phone = '+8613900000401';
    const booked = await borrowers.bookVideo({ phone, product: PRODUCT });
    const borrower = await borrowers.page('zh-CN');
    await borrower.page.goto(`/join/${booked.link}`);
    await visible(borrower.page, 'step-code');
    await scanBothLanguages(borrower.page, 'words-join-code', async () => visible(borrower.page, 'step-code'));
    await borrowers.passCodeAndConsent(borrower.page, phone);
    await scanBothLanguages(borrower.page, 'words-join-devices', async () => visible(borrower.page, 'step-devices'));
    expect(borrower.errors).toEqual([]);
    await borrower.context.close();
    await cancel(booked.sessionId);
  });

  it("the borrower's contract viewer and the desk's contract panel, with the key terms, in words", { timeout: 180_000 }, async () => {
    const phone = '+8613900000402';
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone, product: PRODUCT });
    const pdf = await contractPdf(['借款金额：人民币 80,000.00 元。借款期限：12 个月。年化利率（单利）：4.35%。', '逾期责任与提前还款：详见本页条款。']);
    expect((await uploadContract(los, loanFileId, pdf)).status).toBe(201);
    const booked = await los.post<{ id: string }>(`/api/loan-files/${loanFileId}/sessions`, { partyId, kind: 'VIDEO', notBefore: new Date().toISOString() });
    expect(booked.status).toBe(201);
    const link = /\/join\/([A-Za-z0-9_-]{43})/.exec((await borrowers.nextSms(phone, 'invitation')).text)![1]!;
    const borrower = await borrowers.toWaitingRoom(link, phone);

    const context = await newContext(browser, app);
    const desk = await context.newPage();
    const errors = watchPageErrors(desk);
    await goAvailableOnDesk(desk, app, AGENT, PASSWORD);
    await desk.getByTestId('offer').getByRole('button', { name: 'Accept' }).click();
    await stateOf(app, booked.body.id, 'IN_PROGRESS');
    await visible(borrower.page, 'in-call');
    await scanBothLanguages(borrower.page, 'words-join-contract', async (locale) => {
      await poll(() => borrower.page.getByTestId('key-terms').locator('h3').textContent()).toBe(locale === 'en' ? 'Key terms on this page' : '本页关键条款');
      await poll(() => borrower.page.getByTestId('contract-page').textContent()).toBe(locale === 'en' ? 'Page 1 of 2' : '第 1 页，共 2 页');
    });
    // A page that states no key term says so.
    await borrower.page.getByRole('button', { name: '下一页' }).click();
    await scanBothLanguages(borrower.page, 'words-join-contract-page-2', async (locale) => {
      await poll(() => borrower.page.getByTestId('key-terms').textContent()).toContain(locale === 'en' ? 'This page states none of the key terms.' : '本页未载明关键条款。');
    });
    await scanBothLanguages(desk, 'words-desk-contract', async (locale) => {
      await poll(() => desk.getByTestId('contract-panel').getByTestId('key-terms').locator('h3').textContent()).toBe(locale === 'en' ? 'Key terms on this page' : '本页关键条款');
      await poll(() => desk.getByTestId('presence-now').textContent()).toBe(locale === 'en' ? 'My statusIn a session' : '我的状态会话中');
    });
    expect(borrower.errors).toEqual([]);
    expect(errors).toEqual([]);
    await borrower.context.close();
    await context.close();
    await cancel(booked.body.id);
  });

  it("desk: the box for a call the automated confirmation call handed over, in words", { timeout: 180_000 }, async () => {
    const context = await newContext(browser, app);
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    await goAvailableOnDesk(page, app, AGENT, PASSWORD);
    // The simulator's …71 presses 2 (no): the automated call stores the denial and hands the party over.
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550171', product: PRODUCT });
    const sessionId = await scheduleCall(los, loanFileId, partyId, { templateKey: 'call-automated' });
    const offer = page.getByTestId('offer');
    await offer.waitFor({ timeout: 120_000 });
    await poll(() => offer.getByTestId('offer-hand-off').isVisible()).toBe(true);
    await scanBothLanguages(page, 'words-desk-hand-off-offer', async (locale) => {
      await poll(() => offer.getByTestId('offer-hand-off').textContent()).toMatch(locale === 'en' ? /^Handed over by the automated call: the party said no to a question$/ : /^自动外呼转人工：/);
    });
    await page.locator('.lang-switch select').first().selectOption('en');
    await offer.getByRole('button', { name: 'Accept' }).click();
    const handOff = page.getByTestId('hand-off');
    await handOff.waitFor();
    await poll(() => handOff.getByTestId('hand-off-answers').locator('li').count()).toBe(1);
    await scanBothLanguages(page, 'words-desk-hand-off', async (locale) => {
      await poll(() => handOff.getByTestId('hand-off-reason').textContent()).toBe(locale === 'en' ? 'Why: the party said no to a question.' : '原因：客户对问题按键否认。');
    });
    expect(errors).toEqual([]);
    await context.close();
    await cancel(sessionId);
  });
});
