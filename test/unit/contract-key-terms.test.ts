// Where a contract states the loan's key terms: the patterns the contract viewer highlights, run over
// written-out lines and over the text pdf.js reads from a real contract PDF (the kind the e2e tests upload).
import { describe, expect, it } from 'vitest';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { findTerms, termBoxes, termPatterns, type PlacedRun, type TermsSnapshot, type TermValues } from '../../agent-console/src/shared/key-terms.js';
import { termValues, type TermsSnapshot as ServerSnapshot } from '../../server/loan-files/loan-terms.js';
import { contractPdf } from '../support/contracts.js';

const snapshot: ServerSnapshot = {
  amount: '80000.00',
  currency: 'CNY',
  termMonths: 12,
  apr: '4.35',
  fees: [{ name: { 'zh-CN': '担保费', en: 'guarantee fee' }, amount: '1200.00', period: 'ONCE' }],
  repaymentMethod: 'EQUAL_INSTALMENTS',
  instalmentAmount: '6826.67',
  dueDay: 15,
  lenderName: { 'zh-CN': '示范消费金融有限公司', en: 'Demo Consumer Finance Co.' },
  collateral: null,
};
const values: TermValues = { 'zh-CN': termValues(snapshot, 'zh-CN'), en: termValues(snapshot, 'en') };
const patterns = termPatterns(snapshot as TermsSnapshot, values);
const found = (lines: string[]) => findTerms(lines.map((str) => ({ str, hasEOL: true })), patterns).map((f) => [f.term, f.text.trim()]);

describe('the key terms a contract states', () => {
  it('finds each term as a Chinese contract prints it', () => {
    expect(found(['借款金额：人民币 80,000.00 元。借款期限：12 个月。', '年化利率（单利）：4.35%。还款方式：等额本息，每月 15 日还款，每期 6,826.67 元。', '担保费 1,200.00 元。贷款人：示范消费金融有限公司。'])).toEqual([
      ['amount', '人民币 80,000.00 元'],
      ['term', '12 个月'],
      ['apr', '4.35%'],
      ['repaymentMethod', '等额本息'],
      ['dueDay', '每月 15 日'],
      ['instalment', '6,826.67 元'],
      ['fees', '1,200.00 元'],
      ['lenderName', '示范消费金融有限公司'],
    ]);
  });

  it('finds them as an English contract prints them: no separators, trailing zeros, ordinals, 万', () => {
    expect(found(['The principal is CNY 80000 for 12 months at 4.3500 % a year, due on the 15th of each month to Demo Consumer Finance Co.', '本金 8万元'])).toEqual([
      ['amount', 'CNY 80000'],
      ['term', '12 months'],
      ['apr', '4.3500 %'],
      ['dueDay', '15th of each month'],
      ['lenderName', 'Demo Consumer Finance Co.'],
      ['amount', '8万元'],
    ]);
  });

  it('does not take other numbers for the terms', () => {
    expect(found(['罚息 180,000.00 元，违约金 80,000.50 元，利率 14.35%，共 112 个月，第 1 页', '每月 5 日'])).toEqual([]);
  });

  it('finds a number printed across two text runs, and boxes each part over its run', () => {
    const runs: PlacedRun[] = [
      { str: '金额 80,', transform: [10, 0, 0, 10, 100, 700], width: 40 },
      { str: '000.00 元', transform: [10, 0, 0, 10, 140, 700], width: 40, hasEOL: true },
    ];
    const terms = findTerms(runs, patterns);
    expect(terms.map((t) => [t.term, t.text, t.segments])).toEqual([['amount', '80,000.00 元', [{ run: 0, start: 3, end: 6 }, { run: 1, start: 0, end: 8 }]]]);
    // An A4 page at scale 1: y is flipped; each box sits on its run's baseline, a font size high.
    const boxes = termBoxes(terms, runs, { transform: [1, 0, 0, -1, 0, 842], scale: 1 }, (text) => text.length);
    expect(boxes).toHaveLength(2);
    expect(boxes[0]).toMatchObject({ term: 'amount', left: 100 + (40 * 3) / 6, width: (40 * 3) / 6, top: 142 - 8, height: 10 });
    expect(boxes[1]).toMatchObject({ left: 140, width: 40 });
  });

  it('finds the amount and the rate in the text pdf.js reads from a real contract PDF', async () => {
    const pdf = await contractPdf(['借款金额：人民币 80,000.00 元。借款期限：12 个月。', '年化利率（单利）：4.35%。还款方式：等额本息，每月 15 日还款。', '逾期责任与提前还款：详见本页条款。']);
    const task = getDocument({ data: new Uint8Array(pdf), useSystemFonts: false });
    const doc = await task.promise;
    const onPage = async (n: number) => {
      const content = await (await doc.getPage(n)).getTextContent();
      const runs = content.items.flatMap((item) => ('str' in item ? [{ str: item.str, hasEOL: item.hasEOL }] : []));
      return findTerms(runs, patterns).map((f) => f.term);
    };
    expect(await onPage(1)).toEqual(['amount', 'term']);
    expect(await onPage(2)).toEqual(['apr', 'repaymentMethod', 'dueDay']);
    expect(await onPage(3)).toEqual([]);
    await task.destroy();
  });
});
