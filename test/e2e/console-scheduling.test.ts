// A supervisor schedules from the console in Chromium against the real server: finds a loan file, is refused a
// video appointment outside the party's calling hours with the reason in words (English and Chinese), books one
// inside them in the party's time zone, cannot move it outside them, moves it, and cancels it with a reason; a
// party whose language no agent speaks is scheduled with a warning.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { BorrowerLinks, issueLink } from '../../server/auth/borrower-links.service.js';
import { createUser } from '../../server/users/users.service.js';
import type { ApiClient } from '../support/api-client.js';
import type { TestApp } from '../support/harness.js';
import { auditEventsOf, loanFileOf, partySessions, sessionOf as readSession } from '../support/reads.js';
import { loanFileWithBorrower, losClient } from '../support/verification.js';
import { launchChromium, newContext, screenshot, signInThroughPage, startE2eApp, unlabelledControls, watchPageErrors } from './browser.js';

const PASSWORD = 'correct horse battery staple';
let app: TestApp;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let errors: string[];
let loanFileId: string;
let partyId: string;
let loanRef: string;
let los: ApiClient;

/** A Shanghai (UTC+8, no DST) clock reading `days` days from now at hh:mm, and the instant it names. */
function shanghai(days: number, hh: number, mm: number): { local: string; instant: string } {
  const today = new Date(Date.now() + 8 * 3600_000 + days * 86_400_000);
  const wall = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate(), hh, mm);
  return { local: new Date(wall).toISOString().slice(0, 16), instant: new Date(wall - 8 * 3600_000).toISOString() };
}

const poll = <T>(check: () => Promise<T> | T) => expect.poll(check, { timeout: 15_000 });
const setLanguage = async (locale: 'en' | 'zh-CN') => {
  await page.locator('.lang-switch select').first().selectOption(locale);
  await poll(() => page.evaluate('document.documentElement.lang')).toBe(locale);
};
const partyCard = () => page.getByTestId(`schedule-party-${partyId}`);
/** The party's newest session, its appointment as a Date. */
const sessionOf = async () => {
  const [newest] = await partySessions(los, loanFileId, partyId);
  return newest ? { ...newest, notBefore: new Date(newest.notBefore) } : null;
};

beforeAll(async () => {
  app = await startE2eApp({ CALLING_HOURS: '09:00-20:00', CALLING_DAYS: 'MON,TUE,WED,THU,FRI,SAT,SUN' });
  browser = await launchChromium();
  los = await losClient(app);
  ({ loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805552101', product: 'consumer-loan' }));
  loanRef = (await loanFileOf(los, loanFileId)).externalRef;
  await createUser(app.facesign.db, { email: 'agent-zh@bank.test', password: PASSWORD, displayName: 'Zhou Agent', roles: ['AGENT'], languages: ['zh-CN'], skills: ['consumer-loan'] });
  await createUser(app.facesign.db, { email: 'sched-sup@bank.test', password: PASSWORD, displayName: 'Mei Supervisor', roles: ['SUPERVISOR'] });
  context = await newContext(browser, app);
  page = await context.newPage();
  errors = watchPageErrors(page);
  await signInThroughPage(page, 'sched-sup@bank.test', PASSWORD);
  await page.waitForURL(/\/supervisor$/);
});
afterAll(async () => {
  await context?.close();
  await browser?.close();
  await app?.stop();
});

describe('scheduling from the console', () => {
  it('refuses a video appointment outside calling hours in words, in English and Chinese', async () => {
    await setLanguage('en');
    const panel = page.getByTestId('schedule-panel');
    await panel.getByLabel('Loan reference').fill(loanRef);
    await panel.getByRole('button', { name: 'Find' }).click();
    await expect.poll(() => partyCard().isVisible()).toBe(true);
    await expect.poll(() => partyCard().textContent()).toContain('Time zone: Asia/Shanghai');
    expect(await unlabelledControls(page)).toEqual([]);

    const early = shanghai(1, 7, 46);
    await partyCard().getByLabel('Video face-signing').check();
    await partyCard().getByLabel(/^Appointment time/).fill(early.local);
    await partyCard().getByRole('button', { name: 'Schedule' }).click();
    const refusal = partyCard().getByTestId('schedule-refusal');
    await poll(() => refusal.textContent()).toMatch(/7:46\sAM is outside 赵敏's calling hours\. They can be reached 09:00–20:00 \(every day\), Asia\/Shanghai time\./);
    expect(await refusal.textContent()).not.toContain('OUTSIDE_CALLING_HOURS');
    await refusal.scrollIntoViewIfNeeded();
    await screenshot(page, 'console-scheduling-refused-en');

    await setLanguage('zh-CN');
    await poll(() => refusal.textContent()).toMatch(/07:46 不在赵敏的可联系时段内。可联系时段为 09:00–20:00（每天），Asia\/Shanghai 时间。/);
    await refusal.scrollIntoViewIfNeeded();
    await screenshot(page, 'console-scheduling-refused-zh-CN');
    await setLanguage('en');
    expect(await sessionOf()).toBeNull();
  });

  it('books a video appointment in the party\'s time zone, refuses moving it outside the hours, and moves it', async () => {
    const booked = shanghai(1, 10, 30);
    await partyCard().getByLabel(/^Appointment time/).fill(booked.local);
    await partyCard().getByRole('button', { name: 'Schedule' }).click();
    await poll(() => partyCard().getByTestId('schedule-done').textContent()).toMatch(/Video face-signing scheduled for 赵敏 at .*10:30\sAM \(Asia\/Shanghai\)\./);
    expect(await partyCard().getByTestId('schedule-refusal').count()).toBe(0);
    const session = await sessionOf();
    expect(session).toMatchObject({ kind: 'VIDEO', state: 'SCHEDULED' });
    expect(session!.notBefore.toISOString()).toBe(booked.instant);
    const row = partyCard().getByTestId(`open-session-${session!.id}`);
    await poll(() => row.textContent()).toMatch(/Video face-signing · Scheduled · .*10:30\sAM \(Asia\/Shanghai\)/);

    await row.getByRole('button', { name: 'Reschedule' }).click();
    await row.getByLabel(/^New time/).fill(shanghai(1, 21, 0).local);
    await row.getByRole('button', { name: 'Move the session' }).click();
    await poll(() => row.getByTestId('schedule-refusal').textContent()).toMatch(/9:00\sPM is outside 赵敏's calling hours/);
    expect((await sessionOf())!.notBefore.toISOString()).toBe(booked.instant);

    const moved = shanghai(2, 11, 0);
    await row.getByLabel(/^New time/).fill(moved.local);
    await row.getByRole('button', { name: 'Move the session' }).click();
    await poll(async () => (await sessionOf())!.notBefore.toISOString()).toBe(moved.instant);
    await poll(() => partyCard().getByTestId('schedule-done').textContent()).toMatch(/Video face-signing for 赵敏 moved to .*11:00\sAM \(Asia\/Shanghai\)\./);
    await poll(() => row.textContent()).toMatch(/Video face-signing · Scheduled · .*11:00\sAM \(Asia\/Shanghai\)/);
    await screenshot(page, 'console-scheduling-booked-en');
    await setLanguage('zh-CN');
    await poll(() => partyCard().getByTestId('schedule-done').textContent()).toMatch(/^赵敏的视频面签已改到 \d{4}年\d+月\d+日 11:00（Asia\/Shanghai）。$/);
    await setLanguage('en');
  });

  it('cancels the session with a reason, which the audit log keeps', async () => {
    const session = (await sessionOf())!;
    const row = partyCard().getByTestId(`open-session-${session.id}`);
    await row.getByRole('button', { name: 'Cancel session' }).click();
    await row.getByRole('button', { name: 'Cancel the session' }).click();
    await poll(() => row.textContent()).toContain('Say why the session is cancelled.');
    expect((await sessionOf())!.state).toBe('SCHEDULED');
    await row.getByLabel(/^Reason for cancelling/).fill('Borrower will sign at the branch');
    await screenshot(page, 'console-scheduling-cancel-en');
    await row.getByRole('button', { name: 'Cancel the session' }).click();
    await poll(async () => (await sessionOf())!.state).toBe('CANCELLED');
    await poll(() => partyCard().textContent()).toContain('No open sessions.');
    expect(await partyCard().getByTestId('schedule-done').textContent()).toBe('Video face-signing for 赵敏 was cancelled.');
    const supervisor = app.client();
    expect((await supervisor.login('sched-sup@bank.test', PASSWORD)).status).toBe(200);
    const me = (await supervisor.get<{ id: string }>('/api/auth/me')).body;
    const audit = (await auditEventsOf(supervisor, session.id)).filter((e) => e.entityId === session.id && e.action === 'session.transitioned').at(-1);
    expect(audit).toMatchObject({ actorType: 'USER', actorId: me.id });
    expect(audit?.data).toMatchObject({ to: 'CANCELLED', detail: 'Borrower will sign at the branch' });
    await setLanguage('zh-CN');
    await poll(() => partyCard().textContent()).toContain('没有未结束的会话。');
    await screenshot(page, 'console-scheduling-cancelled-zh-CN');
    await setLanguage('en');
  });

  it('says at scheduling when no agent speaks the party\'s language', async () => {
    const english = await loanFileWithBorrower(los, { phone: '+8613805552102', product: 'consumer-loan', locale: 'en' });
    const ref = (await loanFileOf(los, english.loanFileId)).externalRef;
    const panel = page.getByTestId('schedule-panel');
    await panel.getByLabel('Loan reference').fill(ref);
    await panel.getByRole('button', { name: 'Find' }).click();
    const card = page.getByTestId(`schedule-party-${english.partyId}`);
    await poll(() => card.isVisible()).toBe(true);
    await card.getByLabel(/^Appointment time/).fill(shanghai(1, 15, 0).local);
    await card.getByRole('button', { name: 'Schedule' }).click();
    const warning = card.getByTestId('schedule-warning');
    await poll(() => warning.textContent()).toBe('No active agent speaks English: nobody can take this session until one does.');
    await setLanguage('zh-CN');
    await poll(() => warning.textContent()).toBe('目前没有会说英语的在岗坐席：在有坐席之前无人能接此会话。');
    await warning.scrollIntoViewIfNeeded();
    await screenshot(page, 'console-scheduling-no-agent-zh-CN');
    await setLanguage('en');
    const session = (await partySessions(los, english.loanFileId, english.partyId)).find((s) => s.state === 'SCHEDULED')!;

    // Once the party is in the waiting room, the board says why nobody takes the session (fixture: no party joins here).
    await app.facesign.db.verificationSession.update({ where: { id: session.id }, data: { state: 'WAITING' } });
    await page.reload();
    const flag = page.getByTestId(`session-${session.id}`).getByTestId('no-agent-language');
    await poll(() => flag.textContent()).toBe('No agent speaks English');
    await flag.scrollIntoViewIfNeeded();
    await screenshot(page, 'console-scheduling-board-no-agent-en', { fullPage: false });
    expect(errors).toEqual([]);
  });
});

describe('the party reschedules from the join page', () => {
  it('is told, in their language, the hours a new time must fall in', async () => {
    const party = await loanFileWithBorrower(los, { phone: '+8613805552103', product: 'consumer-loan' });
    const booked = await los.post<{ id: string }>(`/api/loan-files/${party.loanFileId}/sessions`, { partyId: party.partyId, kind: 'VIDEO', notBefore: shanghai(1, 10, 0).instant });
    expect(booked.status).toBe(201);
    // The link and the token its one-time code gives (the code's SMS is tested with the join page), and the consents.
    const token = await app.facesign.db.$transaction((tx) => issueLink(tx, booked.body.id, 86_400_000));
    const links = new BorrowerLinks(app.facesign.db, app.facesign.config.verification.otp);
    const partyToken = await links.issuePartyToken((await links.resolve(token)).link);
    expect((await app.client().post(`/api/join/${token}/consent`, { recording: true, dataProcessing: true, locale: 'zh-CN' }, { 'x-party-token': partyToken })).status).toBe(204);

    // A phone in Shanghai: the date and time it enters are read on the party's clock.
    const phone = await browser.newContext({ baseURL: app.url, locale: 'zh-CN', timezoneId: 'Asia/Shanghai', viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    await phone.addInitScript(`sessionStorage.setItem(${JSON.stringify(`facesign.join.${token}`)}, ${JSON.stringify(JSON.stringify({ partyToken }))})`);
    const join = await phone.newPage();
    const joinErrors = watchPageErrors(join);
    await join.goto(`/join/${token}`);
    await poll(() => join.getByTestId('step-early').isVisible()).toBe(true);
    await join.getByText('现在不方便？改约其他时间').click();
    await join.getByLabel('新的日期和时间').fill(shanghai(1, 21, 30).local);
    await poll(() => join.getByTestId('reschedule-chosen').textContent()).toMatch(/^您选择的时间：.*21:30$/);
    await join.getByRole('button', { name: '改约' }).click();
    const refusal = join.getByTestId('reschedule-error');
    await poll(() => refusal.textContent()).toBe(`${formatShanghaiZh(shanghai(1, 21, 30).local)} 不在可联系您的时段内。请选择 09:00–20:00 之间的时间（每天，中国标准时间）。`);
    expect(await join.getByLabel('新的日期和时间').getAttribute('aria-invalid')).toBe('true');
    await screenshot(join, 'join-reschedule-outside-hours-zh-CN');
    // The refusal is kept as the server's code and window, so the other language words it too.
    await join.locator('.lang-switch select').first().selectOption('en');
    await poll(() => refusal.textContent()).toMatch(/^.*9:30\sPM is outside the hours we may call you\. Please pick a time between 09:00 and 20:00 \(any day, China Standard Time\)\.$/);
    expect(new Date((await readSession(los, booked.body.id)).notBefore).toISOString()).toBe(shanghai(1, 10, 0).instant);

    await join.getByLabel('New date and time').fill(shanghai(1, 11, 15).local);
    await join.getByRole('button', { name: 'Move my appointment' }).click();
    await poll(async () => new Date((await readSession(los, booked.body.id)).notBefore).toISOString()).toBe(shanghai(1, 11, 15).instant);
    expect(joinErrors).toEqual([]);
    await phone.close();
  });
});

/** How the zh-CN page writes a Shanghai clock reading (medium date, short time). */
function formatShanghaiZh(local: string): string {
  return new Intl.DateTimeFormat('zh-CN', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }).format(new Date(`${local}:00Z`));
}
