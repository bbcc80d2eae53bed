// Both sides of a video face-signing in Chromium at once: the borrower on the join page (phone screen)
// and the agent on the desk. The agent picks the waiting borrower up from the desk, both see the call
// (simulated media, said plainly), the agent takes a snapshot, the borrower signs, the agent works the
// checklist from the keyboard and submits; the borrower's page ends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { createUser } from '../../server/users/users.service.js';
import type { TestApp } from '../support/harness.js';
import { answersOf } from '../support/reads.js';
import { stateOf } from '../support/verification.js';
import { startBorrowerStage, type Borrowers, type BorrowerStage, codeIn, poll, visible } from './borrower.js';
import { acceptOffer, availableDesk, screenshot, unlabelledControls } from './browser.js';

let stage: BorrowerStage;
let app: TestApp;
let browser: Browser;
let borrowers: Borrowers;
const PASSWORD = 'correct horse battery staple';

beforeAll(async () => {
  stage = await startBorrowerStage({ SIP_MAX_CALL_SECONDS: '14400' });
  ({ app, browser, kit: borrowers } = stage);
  await createUser(app.facesign.db, { email: 'wu.agent@bank.test', password: PASSWORD, displayName: 'Wu Agent', roles: ['AGENT'], languages: ['zh-CN'], skills: ['e2e-video'] });
});
afterAll(async () => {
  await stage?.stop();
});

describe('video face-signing, borrower page and agent desk together', () => {
  it('goes from the waiting room to PASSED with a snapshot and a signature', { timeout: 240_000 }, async () => {
    const phone = '+8613900000301';
    const booked = await borrowers.bookVideo({ phone, product: 'e2e-video' });
    const auditor = await app.signIn({ roles: ['AUDITOR'] });

    // The borrower reaches the waiting room.
    const borrower = await borrowers.toWaitingRoom(booked.link, phone);

    // The agent goes available on the desk and accepts the offer there.
    const { context: agentContext, desk, errors: deskErrors } = await availableDesk(browser, app, 'wu.agent@bank.test', PASSWORD);
    expect(await acceptOffer(desk)).toContain('Video face-signing');

    await stateOf(app, booked.sessionId, 'IN_PROGRESS');
    await visible(borrower.page, 'in-call');
    await poll(() => desk.getByTestId('party-status').textContent()).toBe('Party connected');
    await poll(() => desk.getByTestId('video-stage').textContent()).toContain('Simulated media');
    await poll(() => desk.getByTestId('recording-indicator').getAttribute('data-state')).toBe('ACTIVE');
    await poll(() => desk.getByTestId('call-timer').textContent()).not.toBe('0:00');

    // A snapshot of the borrower (a labelled test frame, since media is simulated) is stored with its hash.
    await desk.getByLabel('Snapshot of').selectOption('FACE');
    await desk.getByRole('button', { name: 'Take snapshot' }).click();
    await poll(() => desk.getByText(/Snapshot saved/).count()).toBe(1);
    const captures = await auditor.get<{ items: { kind: string; contentType: string; sha256: string }[] }>(`/api/sessions/${booked.sessionId}/captures`);
    expect(captures.body.items).toHaveLength(1);
    const capture = captures.body.items[0]!;
    expect(capture).toMatchObject({ kind: 'FACE', contentType: 'image/png' });
    expect(await desk.getByText(/Snapshot saved/).textContent()).toContain(capture.sha256.slice(0, 12));
    // A second snapshot joins the first: the desk lists every snapshot on file, not only the last.
    await desk.getByLabel('Snapshot of').selectOption('ID_FRONT');
    await desk.getByRole('button', { name: 'Take snapshot' }).click();
    await poll(async () => (await desk.getByTestId('snapshots').locator('li').allTextContents()).sort()).toEqual(['Face', 'ID front']);

    // The borrower signs with a fresh code.
    await borrower.page.getByRole('button', { name: /^(Send me a signing code|发送签署验证码)$/ }).click();
    const signCode = codeIn(await borrowers.nextSms(phone, 'signing_code'));
    await borrower.page.getByLabel(/^(Signing code|签署验证码)/).fill(signCode);
    await borrower.page.getByRole('button', { name: /^(I agree and sign|我同意并签署)$/ }).click();
    await visible(borrower.page, 'signed');

    // The agent confirms every item from the keyboard: "1" answers and moves to the next open one.
    const items = desk.locator('ol.checklist > li');
    const count = await items.count();
    expect(count).toBeGreaterThan(5);
    await items.first().focus();
    for (let i = 0; i < count; i++) {
      await desk.keyboard.press('1');
      await poll(async () => (await answersOf(auditor, booked.sessionId)).size).toBe(i + 1);
    }
    await screenshot(desk, 'desk-live-video-en');
    await screenshot(borrower.page, 'join-in-call-with-desk-zh-CN');
    expect(await unlabelledControls(desk)).toEqual([]);

    await desk.getByRole('button', { name: 'End conversation' }).click();
    await stateOf(app, booked.sessionId, 'WRAP_UP');
    await desk.getByRole('button', { name: 'Submit checklist' }).click();
    const settled = desk.getByRole('heading', { name: /^Submitted/ }).or(desk.getByRole('alert'));
    await settled.first().waitFor();
    expect(await settled.first().textContent()).toBe('Submitted: Passed');
    expect((await stateOf(app, booked.sessionId, 'COMPLETED')).outcome).toBe('PASSED');
    await visible(borrower.page, 'step-end');

    expect(deskErrors).toEqual([]);
    expect(borrower.errors).toEqual([]);
    await agentContext.close();
    await borrower.context.close();
  });
});
