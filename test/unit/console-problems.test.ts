// The console words every refusal the server can give in both languages, and never shows a code.
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../server/shared/errors.js';
import { PROBLEM_MESSAGES, fieldHint, problemText } from '../../agent-console/src/shared/problems.js';
import { createLoanFileBody, partyInput } from '../../server/loan-files/loan-files.schema.js';
import { loanTermsInput } from '../../server/loan-files/loan-terms.js';

const LOCALES = ['en', 'zh-CN'] as const;

describe('the console catalogue of problem codes', () => {
  it.each(Object.keys(ERROR_CODES))('words %s in both languages, not as the code', (code) => {
    expect(Object.hasOwn(PROBLEM_MESSAGES, code)).toBe(true);
    for (const locale of LOCALES) {
      const text = problemText(code, locale);
      expect(text.length).toBeGreaterThan(3);
      expect(text).not.toContain(code);
      expect(text).not.toMatch(/[A-Z]{2,}_[A-Z]/);
    }
    expect(problemText(code, 'zh-CN')).toMatch(/\p{Script=Han}/u);
    expect(problemText(code, 'zh-CN')).not.toBe(problemText(code, 'en'));
  });

  it('lists no code the server does not have, besides the console\'s own NETWORK', () => {
    expect(Object.keys(PROBLEM_MESSAGES).filter((c) => !Object.hasOwn(ERROR_CODES, c))).toEqual(['NETWORK']);
  });

  it('falls back to a generic sentence for a code it does not know, never the code', () => {
    for (const locale of LOCALES) {
      for (const code of ['SOMETHING_NEW', undefined, 'constructor', 'toString']) {
        const text = problemText(code, locale);
        expect(text).toBe(locale === 'en' ? 'Something went wrong. Try again.' : '操作未成功，请重试。');
      }
    }
  });

  it('has a hint in both languages for every field of the loan-file form, found from the path the server names', () => {
    const fields = [...Object.keys(createLoanFileBody.shape).filter((f) => f !== 'terms'), ...Object.keys(partyInput.shape), ...Object.keys(loanTermsInput.shape)];
    for (const field of fields) {
      for (const locale of LOCALES) expect(fieldHint(field, locale), field).not.toBe(fieldHint('noSuchField', locale));
    }
    expect(fieldHint('parties.0.phoneE164', 'zh-CN')).toContain('+8613812345678');
    expect(fieldHint('terms.fees.1.amount', 'en')).toContain('positive amount');
    expect(fieldHint('terms.lenderName.en', 'en')).toContain('lender');
    expect(fieldHint('(root)', 'en')).toBe('This value is not valid.');
  });
});
