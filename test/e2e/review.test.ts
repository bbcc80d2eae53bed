// Auditor review in Chromium against the real server and the LiveKit simulator: a call completed
// through the real flow (its recording is the simulator's OGG clip, finalized and retained), the
// auditor opens it from the queue, clicks a checklist answer and the player seeks to its offset,
// re-checks the hash, approves with a note; the review leaves the queue and the loan file follows.
// The agent who ran a session and is also an auditor is refused, clearly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { createUser } from '../../server/users/users.service.js';
import type { ApiClient } from '../support/api-client.js';
import { connectAgent } from '../support/agent-socket.js';
import { eventually } from '../support/fixtures.js';
import type { TestApp } from '../support/harness.js';
import { auditEventsOf, loanFileOf, reviewFileOf, verifiedSessionOf } from '../support/reads.js';
import { ALWAYS_OPEN, loanFileWithBorrower, losClient, onlineAgent, scheduleCall, stateOf, takeOffer, type OnlineAgent } from '../support/verification.js';
import { launchChromium, newContext, screenshot, signInThroughPage, startE2eApp, watchPageErrors } from './browser.js';

const PASSWORD = 'correct horse battery staple';
let app: TestApp;
let browser: Browser;
let los: ApiClient;
/** Reads review files as a user who ran none of the sessions. */
let reader: ApiClient;

beforeAll(async () => {
  // Loans of 80 000 are all reviewed (threshold 70 000).
  app = await startE2eApp({ ...ALWAYS_OPEN, REVIEW_AMOUNT_THRESHOLD: '70000' });
  browser = await launchChromium();
  los = await losClient(app);
  reader = await app.signIn({ roles: ['AUDITOR'] });
  await createUser(app.facesign.db, { email: 'auditor@bank.test', password: PASSWORD, displayName: 'Lin Auditor', roles: ['AUDITOR'] });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

/**
 * A call answered at once. One required item is answered as soon as the call is live, another (and a
 * risk flag) about a second later, then the rest: the first two sit inside the simulator's 3 s clip
 * unless the machine is very slow, which the seek assertions allow for.
 */
async function passedCall(agent: OnlineAgent, product: string) {
  const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: '+8613805550100', product });
  const sessionId = await scheduleCall(los, loanFileId, partyId);
  await takeOffer(agent, sessionId);
  const checklist = await agent.client.get<{ items: { id: string; required: boolean }[] }>(`/api/sessions/${sessionId}/checklist`);
  const required = checklist.body.items.filter((i) => i.required).map((i) => i.id);
  const [earlyItem, lateItem, ...rest] = required as [string, string, ...string[]];
  const answer = async (itemId: string, note?: string) => {
    const saved = await agent.client.request<{ offsetMs: number }>('PUT', `/api/sessions/${sessionId}/answers/${itemId}`, { value: 'CONFIRMED', ...(note ? { note } : {}) });
    expect(saved.status).toBe(200);
    return saved.body.offsetMs;
  };
  await stateOf(app, sessionId, 'IN_PROGRESS');
  const first = await answer(earlyItem);
  await new Promise((r) => setTimeout(r, 900));
  expect(await answer(lateItem, 'repeated the fee clearly')).toBeGreaterThan(first);
  const flag = await agent.client.post<{ id: string }>(`/api/sessions/${sessionId}/risk-flags`, { code: 'NERVOUS', severity: 'LOW', note: 'voice trembled at the fees' });
  expect(flag.status).toBe(201);
  for (const itemId of rest) await answer(itemId);
  expect((await agent.client.post(`/api/sessions/${sessionId}/complete`)).status).toBe(200);
  await eventually(async () => (await verifiedSessionOf(los, loanFileId, sessionId)).attempts[0]?.recording?.state === 'RETAINED');
  const loanFile = await loanFileOf(los, loanFileId);
  const review = (await reviewFileOf(reader, sessionId)).review!;
  return { sessionId, loanFileId, ref: loanFile.externalRef, reviewId: review.id, earlyItem, lateItem, flagId: flag.body.id };
}

/** The media element's playback state (the test project has no DOM types). */
interface MediaState {
  currentTime: number;
  readyState: number;
  duration: number;
}

const currentTime = (page: Page) => page.getByTestId('review-player').evaluate((el) => (el as unknown as MediaState).currentTime);

describe('auditor review', () => {
  it('opens a recording from the queue, seeks from the checklist timeline, re-checks the hash and approves', async () => {
    const agent = await onlineAgent(app, 'review-e2e');
    const call = await passedCall(agent, 'review-e2e');
    await agent.socket.emit('presence:set', { presence: 'away' });
    agent.socket.close();

    const context = await newContext(browser, app);
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    await signInThroughPage(page, 'auditor@bank.test', PASSWORD);
    await page.waitForURL(/\/review$/);
    const queue = page.getByRole('table', { name: 'Review queue' });
    await expect.poll(() => queue.getByRole('link').allTextContents()).toEqual([call.ref]);
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.getByTestId('search-results').getByRole('row').count()).toBe(2);
    await screenshot(page, 'review-queue-en');

    await queue.getByRole('link', { name: `Open the review of ${call.ref}` }).click();
    await page.waitForURL(new RegExp(`/review/${call.sessionId}$`));
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe(`Session ${call.ref}`);
    // The script as the agent read it: the session's loan terms filled in, nothing left as a name.
    await expect.poll(() => page.locator('main').textContent()).toContain('the annualised interest rate is 4.35% (simple interest); besides interest, there is one fee: guarantee fee, CN¥50.00 per month');
    expect(await page.locator('main').textContent()).toContain('CN¥6,824.79 per instalment, due on day 15 of each month');
    expect(await page.locator('main mark.missing-term').count()).toBe(0);
    const player = page.getByTestId('review-player');
    await expect.poll(() => player.evaluate((el) => (el as unknown as MediaState).readyState), { timeout: 15_000 }).toBeGreaterThanOrEqual(1);
    const duration = await player.evaluate((el) => (el as unknown as MediaState).duration);
    expect(duration).toBeGreaterThan(2.5);
    // A player cannot go past the end of the clip: where a seek must land.
    const landing = (offsetMs: number) => Math.min(offsetMs / 1000, duration);

    // The stored offsets are where the player must land.
    const file = await reviewFileOf(reader, call.sessionId);
    const answers = file.items.flatMap((i) => (i.answer ? [{ itemId: i.id, ...i.answer }] : []));
    const late = answers.find((a) => a.itemId === call.lateItem)!;
    const early = answers.find((a) => a.itemId === call.earlyItem)!;
    expect(early.offsetMs!).toBeLessThan(late.offsetMs!);
    expect(early.offsetMs! / 1000).toBeLessThan(duration);
    expect(await currentTime(page)).toBe(0);
    const lateButton = page.getByTestId(`seek-item-${call.lateItem}`);
    expect(await lateButton.getAttribute('aria-label')).toMatch(/^Play from \d:\d\d\.\d: /);
    await lateButton.click();
    await expect.poll(() => currentTime(page)).toBeCloseTo(landing(late.offsetMs!), 1);
    // By keyboard, to the earlier answer, inside the clip.
    await page.getByTestId(`seek-item-${early.itemId}`).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => currentTime(page)).toBeCloseTo(early.offsetMs! / 1000, 1);
    // A risk flag seeks too.
    const flag = file.flags.find((f) => f.id === call.flagId)!;
    const flagButton = page.getByTestId(`seek-flag-${call.flagId}`);
    expect(await flagButton.getAttribute('aria-label')).toContain('Risk flag: Nervous (low)');
    await flagButton.click();
    await expect.poll(() => currentTime(page)).toBeCloseTo(landing(flag.offsetMs!), 1);

    // The hash badge, and a fresh integrity check.
    const recording = file.attempts.flatMap((a) => (a.recording ? [a.recording] : []))[0]!;
    await expect.poll(() => page.getByTestId('recording-sha256').textContent()).toBe(recording.sha256);
    expect(await page.getByTestId('hash-badge').textContent()).toContain('Verified and retained');
    await page.getByRole('button', { name: 'Re-check integrity' }).click();
    await expect.poll(() => page.getByTestId('integrity-result').textContent()).toContain('Integrity check passed');
    await expect.poll(async () => (await reviewFileOf(reader, call.sessionId)).attempts.find((a) => a.recording?.id === recording.id)?.recording?.lastIntegrityCheckAt ?? null).not.toBeNull();
    await page.getByTestId(`seek-item-${call.lateItem}`).click();
    await screenshot(page, 'review-session-en');

    // Nothing is chosen for the auditor; a decision needs a choice and a note; then approve.
    for (const choice of ['Approve', 'Ask for a recapture', 'Reject']) expect(await page.getByRole('radio', { name: choice }).isChecked()).toBe(false);
    await page.getByRole('button', { name: 'Submit decision' }).click();
    await expect.poll(() => page.locator('#choice-error').textContent()).toBe('Choose approve, recapture or reject.');
    await expect.poll(() => page.locator('#note-error').textContent()).toBe('Write a note before deciding.');
    expect((await reviewFileOf(reader, call.sessionId)).review).toMatchObject({ id: call.reviewId, status: 'PENDING' });
    await page.getByRole('radio', { name: 'Approve' }).check();
    await page.getByLabel('Note (required)').fill('Identity, purpose and fees confirmed on the recording.');
    await page.getByRole('button', { name: 'Submit decision' }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Decision recorded' }).textContent()).toContain('Approved');
    await expect.poll(() => page.getByTestId('loan-status').textContent()).toContain('Loan file status: Verified');
    expect((await reviewFileOf(reader, call.sessionId)).review).toMatchObject({ id: call.reviewId, status: 'APPROVED', note: 'Identity, purpose and fees confirmed on the recording.' });
    expect((await loanFileOf(los, call.loanFileId)).status).toBe('VERIFIED');
    await screenshot(page, 'review-decided-en');

    // Back on the queue: nothing waits any more.
    await page.getByRole('link', { name: '← Back to the queue' }).click();
    await expect.poll(() => page.getByText('No reviews are waiting. Well done.').isVisible()).toBe(true);

    // Every playback and the evidence link are audited server-side; here, check the links are there.
    await page.goto(`/review/${call.sessionId}`);
    expect(await page.getByRole('link', { name: 'Download evidence (JSON)' }).getAttribute('href')).toBe(`/api/sessions/${call.sessionId}/evidence`);
    expect(await page.getByRole('link', { name: 'Download evidence (PDF)' }).getAttribute('href')).toBe(`/api/sessions/${call.sessionId}/evidence?format=pdf`);
    // The recording can be downloaded for an offline check: the file has the recorded SHA-256.
    const download = page.getByTestId('download-recording');
    expect(await download.getAttribute('href')).toBe(`/api/recordings/${recording.id}/media`);
    const downloaded = await page.evaluate(`fetch(${JSON.stringify(`/api/recordings/${recording.id}/media`)}).then((r) => r.arrayBuffer()).then((b) => crypto.subtle.digest('SHA-256', b)).then((d) => Array.from(new Uint8Array(d), (x) => x.toString(16).padStart(2, '0')).join(''))`);
    expect(downloaded).toBe(recording.sha256);
    // The agent's note is on the timeline, not only in the collapsed list.
    await expect.poll(() => page.getByTestId('timeline').textContent()).toContain("Agent's note: repeated the fee clearly");
    expect((await auditEventsOf(reader, call.sessionId)).filter((e) => e.action === 'recording.accessed' && e.entityId === recording.id).length).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);

  it('refuses, in plain words, a decision by the agent who ran the session (zh-CN)', async () => {
    await createUser(app.facesign.db, { email: 'both@bank.test', password: PASSWORD, displayName: 'Wu Both', roles: ['AGENT', 'AUDITOR'], languages: ['zh-CN'], skills: ['review-self'] });
    const client = app.client();
    expect((await client.login('both@bank.test', PASSWORD)).status).toBe(200);
    const socket = await connectAgent(app.url, client);
    await socket.emit('presence:set', { presence: 'available' });
    const me = await client.get<{ id: string }>('/api/auth/me');
    const call = await passedCall({ client, socket, userId: me.body.id, seenOffers: new Set() }, 'review-self');
    await socket.emit('presence:set', { presence: 'away' });
    socket.close();

    const context = await newContext(browser, app, { locale: 'zh-CN' });
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    await signInThroughPage(page, 'both@bank.test', PASSWORD);
    await page.waitForURL(/\/desk$/);
    await page.goto('/review');
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('合规质检复核');
    const queue = page.getByRole('table', { name: '待复核队列' });
    await expect.poll(() => queue.getByRole('link').allTextContents()).toContain(call.ref);
    await screenshot(page, 'review-queue-zh-CN');
    await queue.getByRole('link', { name: `打开 ${call.ref} 的复核` }).click();
    await expect.poll(() => page.getByText('该会话由您本人办理，您不能复核').first().isVisible()).toBe(true);
    await page.getByRole('radio', { name: '批准' }).check();
    await page.getByLabel('备注（必填）').fill('自己看过了');
    await page.getByRole('button', { name: '提交决定' }).click();
    await expect.poll(() => page.getByTestId('decision-refused').textContent()).toContain('须由另一位质检员决定');
    expect((await reviewFileOf(reader, call.sessionId)).review).toMatchObject({ id: call.reviewId, status: 'PENDING' });
    await screenshot(page, 'review-refused-zh-CN');
    expect(errors).toEqual([]);
    await context.close();
  }, 120_000);
});
