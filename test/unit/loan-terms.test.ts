import { describe, expect, it } from 'vitest';
import { dueDayWords, formatApr, missingTerms, promptValues, renderPrompt, termValues, type TermsSnapshot } from '../../server/loan-files/loan-terms.js';

const terms: TermsSnapshot = {
  amount: '88000.00',
  currency: 'CNY',
  termMonths: 1,
  apr: '4.35',
  fees: [],
  repaymentMethod: 'BULLET',
  instalmentAmount: '88319.00',
  dueDay: 3,
  lenderName: { 'zh-CN': '示例银行', en: 'Example Bank' },
  collateral: { 'zh-CN': '车辆一台', en: 'a car' },
};

describe('loan terms in words', () => {
  it.each([
    ['zh-CN', { amount: '¥88,000.00', term: '1个月', apr: '4.35%', fees: '无其他费用', repaymentMethod: '到期一次性还本付息', instalment: '¥88,319.00', dueDay: '3', lenderName: '示例银行', collateral: '车辆一台' }],
    ['en', { amount: 'CN¥88,000.00', term: '1 month', apr: '4.35%', fees: 'there are no other fees', repaymentMethod: 'a single repayment of principal and interest at the end', instalment: 'CN¥88,319.00', dueDay: '3', lenderName: 'Example Bank', collateral: 'a car' }],
  ] as const)('fills every term for %s', (locale, expected) => {
    expect(termValues(terms, locale)).toEqual(expected);
  });

  it.each([
    ['4', '4.00%'],
    ['4.35', '4.35%'],
    ['3.875', '3.875%'],
    ['0.1234', '0.1234%'],
    ['24', '24.00%'],
  ])('states an APR of %s as %s', (apr, words) => {
    expect(formatApr(apr, 'zh-CN')).toBe(words);
    expect(formatApr(apr, 'en')).toBe(words);
  });

  it.each([
    [1, '每月1日', 'the 1st of each month'],
    [2, '每月2日', 'the 2nd of each month'],
    [3, '每月3日', 'the 3rd of each month'],
    [11, '每月11日', 'the 11th of each month'],
    [15, '每月15日', 'the 15th of each month'],
    [22, '每月22日', 'the 22nd of each month'],
  ])('says due day %i as %s / %s', (day, zh, en) => {
    expect(dueDayWords(day, 'zh-CN')).toBe(zh);
    expect(dueDayWords(day, 'en')).toBe(en);
  });

  it('lists several fees in each language', () => {
    const fees: TermsSnapshot['fees'] = [
      { name: { 'zh-CN': '担保费', en: 'guarantee fee' }, amount: '50.00', period: 'MONTHLY' },
      { name: { 'zh-CN': '服务费', en: 'service fee' }, amount: '300.00', period: 'ONCE' },
      { name: { 'zh-CN': '保险费', en: 'insurance premium' }, amount: '120.00', period: 'YEARLY' },
    ];
    expect(termValues({ ...terms, fees }, 'zh-CN').fees).toBe('另收取担保费每月¥50.00、服务费一次性¥300.00、保险费每年¥120.00');
    expect(termValues({ ...terms, fees }, 'en').fees).toBe('there are these fees: guarantee fee, CN¥50.00 per month; service fee, CN¥300.00 once; insurance premium, CN¥120.00 per year');
  });

  it('says an unsecured loan is unsecured, and leaves an unknown term out', () => {
    expect(termValues({ ...terms, collateral: null }, 'en').collateral).toBe('none: the loan is unsecured');
    const { collateral: _collateral, apr: _apr, ...partial } = terms;
    expect(termValues(partial, 'zh-CN')).not.toHaveProperty('collateral');
    expect(termValues(partial, 'zh-CN')).not.toHaveProperty('apr');
  });
});

describe('missing terms', () => {
  it('names only term placeholders the snapshot cannot fill, once each, in order', () => {
    const { fees: _fees, apr: _apr, collateral: _collateral, ...partial } = terms;
    expect(missingTerms(['agentName', 'fees', 'amount', 'apr', 'fees', 'phoneLast4', 'livenessPrompt'], partial)).toEqual(['fees', 'apr']);
    expect(missingTerms(['collateral'], { ...partial, collateral: null })).toEqual([]);
    expect(missingTerms(['amount', 'term'], terms)).toEqual([]);
  });
});

describe('rendering a prompt', () => {
  it('fills what it knows and leaves the rest for the caller to notice', () => {
    const values = promptValues(terms, { phoneE164: '+8613805550164', agentName: null })['zh-CN'];
    expect(renderPrompt('年化利率为{apr}；尾号{phoneLast4}；我是{agentName}', values)).toBe('年化利率为4.35%；尾号0164；我是{agentName}');
  });
});
