// The operations dashboard in Chromium: sessions finished through the real flow (a passed call, a
// busy number that exhausts its single attempt, a cancellation) show up as KPI tiles, a stacked bar
// per day and dial-outcome bars, each chart with its figures as a table; in English and Chinese.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { createUser } from '../../server/users/users.service.js';
import type { TestApp } from '../support/harness.js';
import { ALWAYS_OPEN, answerAllRequired, loanFileWithBorrower, losClient, onlineAgent, scheduleCall, stateOf, takeOffer } from '../support/verification.js';
import { launchChromium, newContext, screenshot, signInThroughPage, startE2eApp, watchPageErrors } from './browser.js';

const PASSWORD = 'correct horse battery staple';
let app: TestApp;
let browser: Browser;

beforeAll(async () => {
  app = await startE2eApp({ ...ALWAYS_OPEN });
  browser = await launchChromium();
  await createUser(app.facesign.db, { email: 'ops@bank.test', password: PASSWORD, displayName: 'Zhou Supervisor', roles: ['SUPERVISOR'] });

  const los = await losClient(app);
  const agent = await onlineAgent(app, 'dash');
  const a = await loanFileWithBorrower(los, { phone: '+8613805550100', product: 'dash' });
  const passed = await scheduleCall(los, a.loanFileId, a.partyId);
  await takeOffer(agent, passed);
  await stateOf(app, passed, 'IN_PROGRESS');
  await answerAllRequired(agent, passed);
  expect((await agent.client.post(`/api/sessions/${passed}/complete`)).status).toBe(200);

  const b = await loanFileWithBorrower(los, { phone: '+8613805550120', product: 'dash' });
  const busy = await scheduleCall(los, b.loanFileId, b.partyId, { maxAttempts: 1 });
  await takeOffer(agent, busy);
  await stateOf(app, busy, 'EXHAUSTED');

  const c = await loanFileWithBorrower(los, { phone: '+8613805550100', product: 'dash' });
  const cancelled = await scheduleCall(los, c.loanFileId, c.partyId);
  expect((await los.post(`/api/sessions/${cancelled}/cancel`, { reason: 'loan withdrawn' })).status).toBe(200);
  await stateOf(app, cancelled, 'CANCELLED');
  await agent.socket.emit('presence:set', { presence: 'away' });
  agent.socket.close();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

describe('operations dashboard', () => {
  it('charts the finished sessions, with tables behind the charts, in both languages', async () => {
    const context = await newContext(browser, app);
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    await signInThroughPage(page, 'ops@bank.test', PASSWORD);
    await page.waitForURL(/\/supervisor$/);
    await page.getByRole('navigation', { name: 'Main navigation' }).getByRole('link', { name: 'Dashboard' }).click();
    await page.waitForURL(/\/dashboard$/);

    const ended = page.getByRole('group', { name: 'Sessions ended' });
    await expect.poll(() => ended.locator('.value').textContent()).toBe('3');
    expect(await ended.locator('.hint').textContent()).toMatch(/Passed 33(\.3)?%/);
    expect(await page.getByRole('group', { name: 'No-show rate' }).locator('.value').textContent()).toBe('—');
    expect(await page.getByRole('group', { name: 'Average handle time' }).locator('.hint').textContent()).toBe('1 conversations');

    const perDay = page.getByTestId('chart-per-day');
    expect(await perDay.getAttribute('role')).toBe('img');
    expect(await page.getByRole('img', { name: /Sessions ended per day, by outcome/ }).count()).toBe(1);
    await expect.poll(() => perDay.locator('rect.bar').evaluateAll((rects) => rects.map((r) => r.getAttribute('data-series')).sort())).toEqual(['CANCELLED', 'EXHAUSTED', 'PASSED']);
    expect(await perDay.locator('rect.bar[data-series="PASSED"] title').textContent()).toMatch(/Passed: 1$/);
    const dial = page.getByTestId('chart-dial');
    expect(await dial.locator('rect.bar').evaluateAll((rects) => rects.map((r) => r.getAttribute('data-series')).sort())).toEqual(['ANSWERED', 'BUSY']);

    // The data table alternative, opened from the keyboard.
    const summary = page.getByText('Show the figures as a table').first();
    await summary.focus();
    await page.keyboard.press('Enter');
    const table = page.getByRole('table', { name: 'Sessions ended per day, by outcome' });
    const lastRow = table.getByRole('row').last();
    await expect.poll(() => lastRow.getByRole('cell').allTextContents()).toEqual(['1', '0', '1', '0', '1', '3']);
    await screenshot(page, 'dashboard-en');

    // Another range: nothing there, and the page says so.
    await page.getByLabel('From').fill('2026-01-01');
    await page.getByLabel('To').fill('2026-01-07');
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    await expect.poll(() => page.getByText('Nothing in this range.').isVisible()).toBe(true);
    expect(await ended.locator('.value').textContent()).toBe('0');
    await page.getByRole('button', { name: 'Last 7 days' }).click();
    await expect.poll(() => ended.locator('.value').textContent()).toBe('3');

    await page.getByLabel('Language / 语言').selectOption('zh-CN');
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('运营看板');
    await expect.poll(() => page.getByRole('group', { name: '结束的会话' }).locator('.value').textContent()).toBe('3');
    expect(await page.getByRole('img', { name: /每日结束的会话/ }).count()).toBe(1);
    await screenshot(page, 'dashboard-zh-CN');
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);
});
