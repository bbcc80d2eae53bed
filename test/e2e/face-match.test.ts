// The face-match assist on the agent desk, in Chromium: a borrower in a video session, the agent's ID
// and face snapshots (the package's sample photographs, uploaded through the capture API with the
// desk's own cookie and CSRF token, since simulated media has no face to snap), the real model in the
// server's worker thread, and the desk's capture panel updated by the socket event: the two crops side
// by side, the band and the similarity, in English and Chinese; then a group photograph, said as
// "more than one face", with no score.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { createUser } from '../../server/users/users.service.js';
import type { TestApp } from '../support/harness.js';
import { stateOf } from '../support/verification.js';
import { FACES, idCard, liveFace, samplePhoto } from '../support/face-samples.js';
import { startBorrowerStage, type Borrowers, type BorrowerStage, poll } from './borrower.js';
import { acceptOffer, availableDesk, screenshot, uploadCaptureFrom } from './browser.js';

let stage: BorrowerStage;
let app: TestApp;
let browser: Browser;
let borrowers: Borrowers;
const PASSWORD = 'correct horse battery staple';
const CODES = /\b(?:MATCH|UNCERTAIN|NO_MATCH|NO_FACE|MULTIPLE_FACES|UNREADABLE|PENDING|DONE|FAILED|ID_FRONT|FACE)\b|\{\w+\}/;

beforeAll(async () => {
  stage = await startBorrowerStage({ SIP_MAX_CALL_SECONDS: '14400' });
  ({ app, browser, kit: borrowers } = stage);
  await createUser(app.facesign.db, { email: 'fm.agent@bank.test', password: PASSWORD, displayName: 'Face Match Agent', roles: ['AGENT'], languages: ['zh-CN'], skills: ['e2e-face-match'] });
});
afterAll(async () => {
  await stage?.stop();
});

describe('face-match assist on the desk', () => {
  it('shows the crops, the band and the similarity in both languages, and a group photo as more than one face', { timeout: 240_000 }, async () => {
    const phone = '+8613900000311';
    const booked = await borrowers.bookVideo({ phone, product: 'e2e-face-match' });
    const borrower = await borrowers.toWaitingRoom(booked.link, phone);

    const { context: agentContext, desk, errors: deskErrors } = await availableDesk(browser, app, 'fm.agent@bank.test', PASSWORD);
    await acceptOffer(desk);
    await stateOf(app, booked.sessionId, 'IN_PROGRESS');
    await poll(() => desk.getByRole('button', { name: 'Take snapshot' }).count()).toBe(1);

    // The same person on the ID card and live: the socket event brings the result to the panel.
    expect(await uploadCaptureFrom(desk, booked.sessionId, 'ID_FRONT', idCard(FACES.sample1Left))).toBe(201);
    expect(await uploadCaptureFrom(desk, booked.sessionId, 'FACE', liveFace(FACES.sample1Left))).toBe(201);
    const panel = desk.getByTestId('face-match');
    await poll(() => desk.getByTestId('face-match-result').textContent()).toBe('Match');
    expect(await desk.getByTestId('face-match-score').textContent()).toMatch(/^Similarity 0\.[6-9]\d$/);
    for (const name of ['Face on the ID', 'Live face']) {
      const crop = panel.getByRole('img', { name });
      // Loaded, from the audited crop route.
      await poll(() => crop.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth)).toBe(224);
    }
    expect(await panel.innerText()).not.toMatch(CODES);
    await screenshot(desk, 'desk-face-match-en');

    await desk.locator('.lang-switch select').first().selectOption('zh-CN');
    await poll(() => desk.getByTestId('face-match-result').textContent()).toBe('一致');
    expect(await desk.getByTestId('face-match-score').textContent()).toMatch(/^相似度 0\.[6-9]\d$/);
    expect(await panel.innerText()).not.toMatch(CODES);
    await screenshot(desk, 'desk-face-match-zh-CN');

    // A group photograph as the live snapshot: said as such, with no score.
    expect(await uploadCaptureFrom(desk, booked.sessionId, 'FACE', samplePhoto(1))).toBe(201);
    await poll(() => desk.getByTestId('face-match-result').textContent()).toBe('检测到多张人脸（人脸截图）');
    expect(await desk.getByTestId('face-match-score').count()).toBe(0);
    expect(await panel.innerText()).not.toMatch(CODES);
    await screenshot(desk, 'desk-face-match-multiple-zh-CN');
    await desk.locator('.lang-switch select').first().selectOption('en');
    await poll(() => desk.getByTestId('face-match-result').textContent()).toBe('More than one face (face snapshot)');
    await screenshot(desk, 'desk-face-match-multiple-en');

    expect(deskErrors).toEqual([]);
    await agentContext.close();
    await borrower.context.close();
  });
});
