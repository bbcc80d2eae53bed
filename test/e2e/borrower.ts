// A borrower for browser tests: books a video appointment through the LOS API, reads the texts the
// server sends (an HTTP sink standing in for the SMS gateway), and opens the join page on a phone-sized
// screen from an address of its own (the join API limits requests per address, as in life).
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { ApiClient } from '../support/api-client.js';
import { eventually } from '../support/fixtures.js';
import type { TestApp } from '../support/harness.js';
import { HttpSink } from '../support/http-sink.js';
import { loanFileOf } from '../support/reads.js';
import { ALWAYS_OPEN, loanFileWithBorrower, losClient } from '../support/verification.js';
import { launchChromium, newContext, startE2eApp, watchPageErrors } from './browser.js';

export const CONTRACT_HASH = createHash('sha256').update('loan contract, e2e').digest('hex');

export interface Sms {
  to: string;
  template: string;
  text: string;
}

export const codeIn = (m: Sms): string => /(\d{6})/.exec(m.text)![1]!;

/** expect.poll with room for a busy two-core machine (its default gives up after a second). */
export const poll = <T>(read: () => Promise<T> | T) => expect.poll(read, { timeout: 20_000 });
export const visible = (page: Page, testId: string) => poll(() => page.getByTestId(testId).isVisible()).toBe(true);

/** What a borrower-page test starts with: facesign (always-open calling hours) with an HTTP SMS sink, Chromium and an LOS client. */
export interface BorrowerStage {
  app: TestApp;
  browser: Browser;
  los: ApiClient;
  sms: HttpSink;
  kit: Borrowers;
  stop(): Promise<void>;
}

export async function startBorrowerStage(env: Parameters<typeof startE2eApp>[0] = {}, options?: Parameters<typeof startE2eApp>[1]): Promise<BorrowerStage> {
  const sms = await HttpSink.start();
  const app = await startE2eApp({ ...ALWAYS_OPEN, NOTIFIER: 'http', NOTIFIER_URL: `${sms.url}/sms`, ...env }, options);
  const browser = await launchChromium();
  const los = await losClient(app);
  return {
    app,
    browser,
    los,
    sms,
    kit: new Borrowers({ app, los, sms, browser }),
    async stop() {
      await browser.close();
      await app.stop();
      await sms.stop();
    },
  };
}

export class Borrowers {
  private number = 10;

  constructor(private readonly deps: { app: TestApp; los: ApiClient; sms: HttpSink; browser: Browser }) {}

  async nextSms(phone: string, template: string, index = 0): Promise<Sms> {
    return eventually(async () => this.deps.sms.received.map((r) => JSON.parse(r.body) as Sms).filter((m) => m.to === phone && m.template === template)[index]);
  }

  async bookVideo(options: { phone: string; product: string; locale?: 'zh-CN' | 'en'; notBefore?: Date }) {
    const { los } = this.deps;
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: options.phone, product: options.product, locale: options.locale });
    const res = await los.post<{ id: string }>(`/api/loan-files/${loanFileId}/sessions`, {
      partyId,
      kind: 'VIDEO',
      notBefore: (options.notBefore ?? new Date()).toISOString(),
      contractDocumentHash: CONTRACT_HASH,
    });
    expect(res.status).toBe(201);
    const invitation = await this.nextSms(options.phone, 'invitation');
    const link = /\/join\/([A-Za-z0-9_-]{43})/.exec(invitation.text)![1]!;
    const loanFile = await loanFileOf(los, loanFileId);
    return { loanFileId, sessionId: res.body.id, link, loanReference: loanFile.externalRef };
  }

  /** A phone-sized page; each borrower comes from their own address (through the loopback proxy). */
  async page(locale = 'en-US'): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
    const context = await newContext(this.deps.browser, this.deps.app, { mobile: true, locale });
    this.number += 1;
    await context.setExtraHTTPHeaders({ 'X-Forwarded-For': `198.51.100.${this.number}` });
    const page = await context.newPage();
    return { context, page, errors: watchPageErrors(page) };
  }

  /** A borrower on a phone-sized page opens the link, passes the code and consents, turns the camera on and waits. */
  async toWaitingRoom(link: string, phone: string, locale = 'zh-CN'): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
    const borrower = await this.page(locale);
    await borrower.page.goto(`/join/${link}`);
    await this.passCodeAndConsent(borrower.page, phone);
    await borrower.page.getByRole('button', { name: /^(Turn on camera and microphone|开启摄像头和麦克风)$/ }).click();
    await borrower.page.getByRole('button', { name: /^(Enter the waiting room|进入等候室)$/ }).click();
    await visible(borrower.page, 'waiting-room');
    return borrower;
  }

  /** From the code step: send and enter the code, tick both consents, and land on `next`. */
  async passCodeAndConsent(page: Page, phone: string, next = 'step-devices'): Promise<void> {
    await visible(page, 'step-code');
    await page.getByRole('button', { name: /^(Send me a code|发送验证码)$/ }).click();
    const code = codeIn(await this.nextSms(phone, 'otp'));
    await page.getByLabel(/^(6-digit code|6 位验证码)/).fill(code);
    await page.getByRole('button', { name: /^(Continue|继续)$/ }).click();
    await visible(page, 'step-consent');
    for (const box of await page.getByRole('checkbox').all()) await box.check();
    await page.getByRole('button', { name: /^(Agree and continue|同意并继续)$/ }).click();
    await visible(page, next);
  }
}

/** The accessible name of the focused element, roughly: its label, aria-label or text. (Strings run in the page.) */
export function focusedName(page: Page): Promise<string> {
  return page.evaluate<string>(`(() => {
    const el = document.activeElement;
    if (!el) return '';
    const label = (el.labels && el.labels[0] && el.labels[0].textContent) || el.getAttribute('aria-label') || el.textContent || '';
    return label.replace(/\\s+/g, ' ').trim();
  })()`);
}

/** Presses Tab until the named control has the focus (and fails if it never gets it). */
export async function tabTo(page: Page, name: string): Promise<void> {
  for (let i = 0; i < 20; i += 1) {
    await page.keyboard.press('Tab');
    if ((await focusedName(page)) === name) return;
  }
  throw new Error(`Tab never reached "${name}" (last: "${await focusedName(page)}")`);
}

export async function expectVisibleFocus(page: Page): Promise<void> {
  const outline = await page.evaluate<{ style: string; width: string }>(
    '(() => { const style = getComputedStyle(document.activeElement); return { style: style.outlineStyle, width: style.outlineWidth }; })()',
  );
  expect(outline.style).not.toBe('none');
  expect(parseFloat(outline.width)).toBeGreaterThan(0);
}
