// A video call with a contract, for browser tests: the LOS uploads a real PDF and schedules a video
// session, the borrower (phone) reaches the waiting room, an agent takes the session on the desk, and
// the borrower's page draws the contract. Also what such tests read off the drawn page.
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import type { Page } from 'playwright-core';
import { contractPdf, uploadContract } from '../support/contracts.js';
import { loanFileWithBorrower, stateOf } from '../support/verification.js';
import { poll, visible, type BorrowerStage } from './borrower.js';
import { acceptOffer, availableDesk } from './browser.js';

export const BORROWER_CANVAS = '[data-testid="contract"] canvas';

/** From a PDF of `pages` to the borrower in the call with page 1 of the contract drawn. */
export async function borrowerInContractCall(stage: BorrowerStage, options: { phone: string; product: string; agent: { email: string; password: string }; pages: string[]; productName?: { 'zh-CN': string; en: string } }) {
  const { app, los, kit, browser } = stage;
  const pdf = await contractPdf(options.pages);
  const documentHash = createHash('sha256').update(pdf).digest('hex');
  const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: options.phone, product: options.product, ...(options.productName ? { productName: options.productName } : {}) });
  expect((await uploadContract(los, loanFileId, pdf)).status).toBe(201);
  const booked = await los.post<{ id: string; contractDocumentHash: string }>(`/api/loan-files/${loanFileId}/sessions`, { partyId, kind: 'VIDEO', notBefore: new Date().toISOString() });
  expect(booked.body.contractDocumentHash).toBe(documentHash);
  const invitation = await kit.nextSms(options.phone, 'invitation');
  const link = /\/join\/([A-Za-z0-9_-]{43})/.exec(invitation.text)![1]!;
  const borrower = await kit.toWaitingRoom(link, options.phone);
  const agent = await availableDesk(browser, app, options.agent.email, options.agent.password);
  await acceptOffer(agent.desk);
  await stateOf(app, booked.body.id, 'IN_PROGRESS');
  await visible(borrower.page, 'in-call');
  await poll(() => borrower.page.locator(BORROWER_CANVAS).getAttribute('data-rendered-page')).toBe('1');
  return { loanFileId, sessionId: booked.body.id, documentHash, borrower, agent };
}

/**
 * The key-term highlights drawn over the page in `scope`: for each, its term, how much ink of the
 * canvas lies under it (a highlight over blank paper marks nothing), its size, and where it sits as a
 * fraction of the drawn page's width and height.
 */
export function highlights(page: Page, scope: string): Promise<{ term: string; inked: number; width: number; height: number; x: number; y: number }[]> {
  return page.evaluate<{ term: string; inked: number; width: number; height: number; x: number; y: number }[]>(`(() => {
    const root = document.querySelector(${JSON.stringify(scope)});
    const canvas = root.querySelector('canvas');
    const frame = canvas.getBoundingClientRect();
    const ratio = canvas.width / frame.width;
    const context = canvas.getContext('2d');
    return [...root.querySelectorAll('.term-mark')].map((mark) => {
      const box = mark.getBoundingClientRect();
      const x = Math.max(0, Math.round((box.left - frame.left) * ratio));
      const y = Math.max(0, Math.round((box.top - frame.top) * ratio));
      const w = Math.max(1, Math.round(box.width * ratio));
      const h = Math.max(1, Math.round(box.height * ratio));
      const data = context.getImageData(x, y, w, h).data;
      let inked = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i] < 128 && data[i + 3] > 0) inked += 1;
      const cx = (box.left + box.width / 2 - frame.left) / frame.width;
      const cy = (box.top + box.height / 2 - frame.top) / frame.height;
      return { term: mark.getAttribute('data-term'), inked, width: box.width, height: box.height, x: cx, y: cy };
    });
  })()`);
}
