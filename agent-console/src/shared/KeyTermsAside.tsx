// The key terms a contract page states, as text beside the page: what the highlights on the drawing
// mark, for screen readers and for anyone who cannot make out the print. Used by the borrower's
// contract viewer and the agent's contract panel.
import { useMemo } from 'react';
import { defineMessages, useLocale, useT, type Locale } from './i18n';
import { termPatterns, TERM_KEYS, type FoundTerm, type TermKey, type TermPattern, type TermsSnapshot, type TermValues } from './key-terms';

const keyTermMessages = defineMessages({
  en: {
    heading: 'Key terms on this page',
    none: 'This page states none of the key terms.',
    amount: 'Loan amount',
    term: 'Term',
    apr: 'Annual interest rate (simple)',
    fees: 'Fees',
    repaymentMethod: 'Repayment method',
    instalment: 'Each instalment',
    dueDay: 'Due date',
    lenderName: 'Lender',
    collateral: 'Collateral or guarantee',
    hint: 'Highlighted on the page.',
  },
  'zh-CN': {
    heading: '本页关键条款',
    none: '本页未载明关键条款。',
    amount: '借款金额',
    term: '借款期限',
    apr: '年化利率（单利）',
    fees: '费用',
    repaymentMethod: '还款方式',
    instalment: '每期还款额',
    dueDay: '还款日',
    lenderName: '贷款机构',
    collateral: '抵押或担保',
    hint: '已在页面上以高亮标出。',
  },
});

const enOrdinal = (n: number) => {
  const rule = new Intl.PluralRules('en', { type: 'ordinal' }).select(n);
  return `${n}${{ one: 'st', two: 'nd', few: 'rd' }[rule as 'one' | 'two' | 'few'] ?? 'th'}`;
};

/** A term in words for `locale`: the server's wording, the due day as people say it. */
function termWords(key: TermKey, terms: TermsSnapshot, values: TermValues, locale: Locale): string {
  if (key === 'dueDay' && terms.dueDay !== undefined) return locale === 'zh-CN' ? `每月${terms.dueDay}日` : `the ${enOrdinal(terms.dueDay)} of each month`;
  const value = values[locale]?.[key];
  if (value) return value;
  if (key === 'amount') {
    try {
      return new Intl.NumberFormat(locale, { style: 'currency', currency: terms.currency }).format(Number(terms.amount));
    } catch {
      return `${terms.amount} ${terms.currency}`;
    }
  }
  return '';
}

/** The patterns for a snapshot, kept while the snapshot is the same (the page redraws when they change). */
export function useTermPatterns(terms: TermsSnapshot | null | undefined, values: TermValues | undefined): TermPattern[] | undefined {
  const key = JSON.stringify([terms ?? null, values ?? null]);
  // Keyed by content: a refetch of the same terms keeps the highlights (and does not redraw the page).
  return useMemo(() => (terms ? termPatterns(terms, values) : undefined), [key]);
}

/** The terms found on the page shown (`found` for `page`), or that it states none. */
export function KeyTermsAside({ terms, values, found, page }: { terms: TermsSnapshot; values: TermValues; found: { page: number; terms: FoundTerm[] } | undefined; page: number }) {
  const t = useT(keyTermMessages);
  const { locale } = useLocale();
  if (!found || found.page !== page) return null;
  const stated = TERM_KEYS.filter((key) => found.terms.some((f) => f.term === key));
  return (
    <aside className="key-terms" aria-labelledby="key-terms-heading" data-testid="key-terms" data-page={page}>
      <h3 id="key-terms-heading">{t('heading')}</h3>
      {stated.length === 0 ? (
        <p className="hint">{t('none')}</p>
      ) : (
        <>
          <dl>
            {stated.map((key) => (
              <div key={key} data-term={key}>
                <dt>{t(key)}</dt>
                <dd>{termWords(key, terms, values, locale)}</dd>
              </div>
            ))}
          </dl>
          <p className="hint">
            <span className="term-swatch" aria-hidden="true" /> {t('hint')}
          </p>
        </>
      )}
    </aside>
  );
}
