// The active-liveness assist on the agent desk, in Chromium: a borrower in a video session whose
// drawn prompt is "turn your head to the left", the agent's "before" and "during" frames (the
// package's sample photographs, uploaded through the capture API with the desk's own cookie and CSRF
// token, since simulated media has no face to snap), the real model in the server's worker thread,
// and the desk's capture panel updated by the socket event: what was looked for, the verdict and each
// frame's figures, in English and Chinese; then frames with no movement, said as "not seen"; then
// both checks on the auditor's review page.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { createUser } from '../../server/users/users.service.js';
import type { TestApp } from '../support/harness.js';
import { stateOf } from '../support/verification.js';
import { liveFace, POSES } from '../support/face-samples.js';
import { startBorrowerStage, type Borrowers, type BorrowerStage, poll } from './borrower.js';
import { acceptOffer, availableDesk, newContext, screenshot, signInThroughPage, uploadCaptureFrom, watchPageErrors } from './browser.js';

let stage: BorrowerStage;
let app: TestApp;
let browser: Browser;
let borrowers: Borrowers;
const PASSWORD = 'correct horse battery staple';
const CODES = /\b(?:PASSED|NOT_OBSERVED|NO_FACE|MULTIPLE_FACES|NOT_CHECKABLE|UNREADABLE|PENDING|DONE|FAILED|TURN_LEFT|LIVENESS_BEFORE|LIVENESS_ACTION)\b|\{\w+\}/;

beforeAll(async () => {
  stage = await startBorrowerStage({ SIP_MAX_CALL_SECONDS: '14400' });
  ({ app, browser, kit: borrowers } = stage);
  await createUser(app.facesign.db, { email: 'lv.agent@bank.test', password: PASSWORD, displayName: 'Liveness Agent', roles: ['AGENT'], languages: ['zh-CN'], skills: ['e2e-liveness'] });
  await createUser(app.facesign.db, { email: 'lv.auditor@bank.test', password: PASSWORD, displayName: 'Liveness Auditor', roles: ['AUDITOR'] });
});
afterAll(async () => {
  await stage?.stop();
});

describe('active liveness on the desk', () => {
  it('shows what was looked for, the verdict and the figures in both languages', { timeout: 240_000 }, async () => {
    const phone = '+8613900000312';
    const booked = await borrowers.bookVideo({ phone, product: 'e2e-liveness' });
    // The prompt is drawn at random from the template's pool; this test needs the head-turn one.
    await app.facesign.db.verificationSession.update({ where: { id: booked.sessionId }, data: { livenessPromptId: 'liveness_turn_left' } });
    const borrower = await borrowers.toWaitingRoom(booked.link, phone);

    const { context: agentContext, desk, errors: deskErrors } = await availableDesk(browser, app, 'lv.agent@bank.test', PASSWORD);
    await acceptOffer(desk);
    await stateOf(app, booked.sessionId, 'IN_PROGRESS');
    await poll(() => desk.getByRole('button', { name: 'Take snapshot' }).count()).toBe(1);
    // The agent can pick the two liveness frames in the snapshot menu.
    const kinds = await desk.locator('select').filter({ hasText: 'Liveness: before' }).locator('option').allTextContents();
    expect(kinds).toEqual(expect.arrayContaining(['Liveness: before', 'Liveness: during']));

    // Head turned to her right, then to her left: the socket event brings the result to the panel.
    expect(await uploadCaptureFrom(desk, booked.sessionId, 'LIVENESS_BEFORE', liveFace(POSES.turnedRight))).toBe(201);
    expect(await uploadCaptureFrom(desk, booked.sessionId, 'LIVENESS_ACTION', liveFace(POSES.turnedRight, { mirrored: true }))).toBe(201);
    const panel = desk.getByTestId('liveness');
    await poll(() => desk.getByTestId('liveness-result').textContent()).toBe('Movement seen');
    expect(await panel.innerText()).toContain('Looked for: head turned to the party’s left');
    expect(await desk.getByTestId('liveness-figures').innerText()).toMatch(/Before\s+yaw -\d+° · nod [\d.]+ · eyes [\d.]+ · mouth [\d.]+\s+During\s+yaw \d+°/);
    expect(await panel.innerText()).toContain('you decide');
    expect(await panel.innerText()).not.toMatch(CODES);
    await panel.scrollIntoViewIfNeeded();
    await screenshot(desk, 'desk-liveness-en', { fullPage: false });

    await desk.locator('.lang-switch select').first().selectOption('zh-CN');
    await poll(() => desk.getByTestId('liveness-result').textContent()).toBe('已观察到动作');
    expect(await panel.innerText()).toContain('检查内容：头部转向对方左侧');
    expect(await panel.innerText()).toContain('由您判断');
    expect(await panel.innerText()).not.toMatch(CODES);
    await screenshot(desk, 'desk-liveness-zh-CN', { fullPage: false });

    // Two identical frames: no movement.
    const still = liveFace(POSES.turnedRight);
    expect(await uploadCaptureFrom(desk, booked.sessionId, 'LIVENESS_BEFORE', still)).toBe(201);
    expect(await uploadCaptureFrom(desk, booked.sessionId, 'LIVENESS_ACTION', still)).toBe(201);
    await poll(() => desk.getByTestId('liveness-result').textContent()).toBe('未观察到动作');
    expect(await panel.innerText()).not.toMatch(CODES);
    await screenshot(desk, 'desk-liveness-not-seen-zh-CN', { fullPage: false });
    await desk.locator('.lang-switch select').first().selectOption('en');
    await poll(() => desk.getByTestId('liveness-result').textContent()).toBe('Movement not seen');
    await screenshot(desk, 'desk-liveness-not-seen-en', { fullPage: false });

    // The auditor's review page lists both checks, oldest first, in both languages.
    const auditorContext = await newContext(browser, app);
    const review = await auditorContext.newPage();
    const reviewErrors = watchPageErrors(review);
    await signInThroughPage(review, 'lv.auditor@bank.test', PASSWORD);
    await review.waitForURL(/\/review$/);
    await review.goto(`/review/${booked.sessionId}`);
    const reviewed = review.getByTestId('liveness');
    await poll(() => reviewed.getByTestId('liveness-result').allTextContents()).toEqual(['Movement seen', 'Movement not seen']);
    expect(await reviewed.innerText()).toContain('the agent decided');
    expect(await reviewed.innerText()).not.toMatch(CODES);
    await reviewed.scrollIntoViewIfNeeded();
    // The snapshots above the panel load lazily: wait for them, so the screenshot shows them.
    await poll(() => review.locator('.review-captures img').evaluateAll((imgs) => (imgs as unknown as { complete: boolean; naturalWidth: number }[]).every((i) => i.complete && i.naturalWidth > 0))).toBe(true);
    await screenshot(review, 'review-liveness-en', { fullPage: false });
    await review.locator('.lang-switch select').first().selectOption('zh-CN');
    await poll(() => reviewed.getByTestId('liveness-result').allTextContents()).toEqual(['已观察到动作', '未观察到动作']);
    expect(await reviewed.innerText()).not.toMatch(CODES);
    await reviewed.scrollIntoViewIfNeeded();
    await screenshot(review, 'review-liveness-zh-CN', { fullPage: false });
    expect(reviewErrors).toEqual([]);
    await auditorContext.close();

    expect(deskErrors).toEqual([]);
    await agentContext.close();
    await borrower.context.close();
  });
});
