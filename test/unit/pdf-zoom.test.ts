// Zooming the contract: the steps the buttons take, the body text size read from a real contract PDF
// (the kind the e2e tests upload: 14 pt title, 28 pt page heading, 13 pt body), and the zoom that
// makes that text readable on a phone.
import { describe, expect, it } from 'vitest';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { bodyTextSize, MAX_ZOOM, READABLE_FALLBACK, READABLE_PX, readableZoom, zoomIn, zoomOut } from '../../agent-console/src/shared/pdf-zoom.js';
import { contractPdf } from '../support/contracts.js';

const A4_WIDTH_PT = 595.28;

describe('zoom steps', () => {
  it.each([
    [1, 1.25, 1],
    [1.25, 1.5, 1],
    [1.5, 2, 1.25],
    [2.75, 3, 2.5],
    [3, 4, 2.5],
    [4, 4, 3],
  ])('from %s: in to %s, out to %s', (from, into, outTo) => {
    expect(zoomIn(from)).toBe(into);
    expect(zoomOut(from)).toBe(outTo);
  });
});

describe('body text size', () => {
  it('is the body size of a real contract, not its title or headings', async () => {
    const pdf = await contractPdf(['借款金额：人民币 80,000.00 元。借款期限：12 个月。', '年化利率（单利）：4.35%。还款方式：等额本息，每月 15 日还款。', '逾期责任与提前还款：详见本页条款。']);
    const task = getDocument({ data: new Uint8Array(pdf) });
    const doc = await task.promise;
    const items: { str: string; transform: number[] }[] = [];
    for (let n = 1; n <= doc.numPages; n++) {
      for (const item of (await (await doc.getPage(n)).getTextContent()).items) if ('str' in item) items.push({ str: item.str, transform: item.transform as number[] });
    }
    expect(bodyTextSize(items)).toBeCloseTo(13, 1);
    await task.destroy();
  });

  it('counts fine print: the size a fifth of the characters are set at or under', () => {
    const run = (chars: number, size: number) => ({ str: 'x'.repeat(chars), transform: [size, 0, 0, size, 0, 0] });
    expect(bodyTextSize([run(75, 12), run(25, 8)])).toBe(8);
    expect(bodyTextSize([run(85, 12), run(15, 8)])).toBe(12);
    // Rotated text: the height is the length of the transform's second column.
    expect(bodyTextSize([{ str: 'abc', transform: [0, 10, -10, 0, 0, 0] }])).toBe(10);
    expect(bodyTextSize([{ str: '   ', transform: [12, 0, 0, 12, 0, 0] }])).toBeUndefined();
  });
});

describe('readable zoom', () => {
  it('draws 13 pt body text at least 16 px tall on a 390 px phone, in quarter steps', () => {
    const fit = 287 / A4_WIDTH_PT;
    const zoom = readableZoom(13, fit);
    expect(zoom).toBe(2.75);
    expect(13 * fit * zoom).toBeGreaterThanOrEqual(READABLE_PX);
    expect(13 * fit * (zoom - 0.25)).toBeLessThan(READABLE_PX);
  });

  it('never zooms out below the width, never past the maximum, and falls back when text cannot be measured', () => {
    expect(readableZoom(13, 1366 / A4_WIDTH_PT)).toBe(1);
    expect(readableZoom(4, 287 / A4_WIDTH_PT)).toBe(MAX_ZOOM);
    expect(readableZoom(null, 287 / A4_WIDTH_PT)).toBe(READABLE_FALLBACK);
  });
});
