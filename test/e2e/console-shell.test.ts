// The console shell in Chromium: served by the facesign server itself, with its CSP, login, role-based
// navigation, the language switch and the honest "simulated media" banner.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { createUser } from '../../server/users/users.service.js';
import type { TestApp } from '../support/harness.js';
import { launchChromium, newContext, screenshot, signInThroughPage, startE2eApp, unlabelledControls, watchPageErrors } from './browser.js';

let app: TestApp;
let browser: Browser;

beforeAll(async () => {
  app = await startE2eApp();
  browser = await launchChromium();
  await createUser(app.facesign.db, { email: 'sup@bank.test', password: 'correct horse battery staple', displayName: 'Mei Supervisor', roles: ['SUPERVISOR'] });
});
afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

describe('console shell', () => {
  it('serves the built pages with a strict CSP and never caches the HTML', async () => {
    const res = await fetch(`${app.url}/desk`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.headers.get('cache-control')).toBe('no-store');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain(`connect-src 'self' ${app.sim!.url}`);
    const html = await res.text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const js = await fetch(`${app.url}${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toContain('immutable');
    // API paths still answer problem+json, never the page.
    const missing = await fetch(`${app.url}/api/nope`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
  });

  it('refuses a wrong password, signs in, shows only allowed pages and the simulated-media state in both languages', async () => {
    const context = await newContext(browser, app);
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    await page.goto('/desk');
    await page.waitForURL(/\/login/);
    await screenshot(page, 'console-login-en');
    expect(await unlabelledControls(page)).toEqual([]);
    await signInThroughPage(page, 'sup@bank.test', 'wrong password');
    // Plain words, no code.
    await expect.poll(() => page.getByRole('alert').textContent()).toBe('The e-mail address or password is wrong.');
    await signInThroughPage(page, 'sup@bank.test', 'correct horse battery staple');
    await page.waitForURL(/\/desk$|\/supervisor$/);
    const nav = page.getByRole('navigation', { name: /^(Main navigation|主导航)$/ });
    await expect.poll(() => nav.getByRole('link').allTextContents()).toEqual(['Supervisor', 'Review', 'New loan file', 'Dashboard']);
    await expect.poll(() => page.getByTestId('simulated-media').isVisible()).toBe(true);
    await page.getByLabel('Language / 语言').selectOption('zh-CN');
    await expect.poll(() => nav.getByRole('link').allTextContents()).toEqual(['主管', '质检复核', '新建贷款档案', '运营看板']);
    expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');
    await page.reload();
    await expect.poll(() => page.getByTestId('simulated-media').textContent()).toContain('模拟媒体');
    expect(errors).toEqual([]);
    await context.close();
  });
});
