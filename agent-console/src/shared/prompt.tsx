// A checklist prompt as people read it: each {term} the page knows is filled in; a term it does not
// know is named in words and marked, so nobody reads a variable name aloud or mistakes it for text.
import { Fragment, type ReactNode } from 'react';
import { defineMessages, useLocale, type Locale } from './i18n';
import { plainWords } from './labels';

const termMessages = defineMessages({
  en: {
    lenderName: 'lender name',
    agentName: 'agent name',
    product: 'loan product',
    amount: 'loan amount',
    term: 'loan term',
    repaymentMethod: 'repayment method',
    instalment: 'instalment amount',
    dueDay: 'due day',
    apr: 'annual interest rate',
    fees: 'fees',
    collateral: 'collateral',
    phoneLast4: 'last four digits of the phone number',
    livenessPrompt: 'liveness prompt',
    missing: 'Not known here: read it from the loan file',
  },
  'zh-CN': {
    lenderName: '贷款机构名称',
    agentName: '坐席姓名',
    product: '贷款产品',
    amount: '贷款金额',
    term: '贷款期限',
    repaymentMethod: '还款方式',
    instalment: '每期还款额',
    dueDay: '还款日',
    apr: '年化利率',
    fees: '费用',
    collateral: '抵押或担保',
    phoneLast4: '手机号后四位',
    livenessPrompt: '活体检测指令',
    missing: '此处未知：请查阅贷款档案',
  },
});

const TERM = /(\{[A-Za-z][A-Za-z0-9]*\})/;

function termName(name: string, locale: Locale): string {
  return (termMessages[locale] as Record<string, string>)[name] ?? plainWords(name);
}

export type PromptValues = Partial<Record<string, string | null | undefined>>;

/** The prompt as elements: known terms in bold, unknown ones named and marked. */
export function promptParts(text: string, values: PromptValues, locale: Locale): ReactNode[] {
  return text.split(TERM).map((part, i) => {
    const name = /^\{([A-Za-z][A-Za-z0-9]*)\}$/.exec(part)?.[1];
    if (!name) return <Fragment key={i}>{part}</Fragment>;
    const value = values[name];
    return value ? (
      <strong key={i}>{value}</strong>
    ) : (
      <mark key={i} className="missing-term" title={termMessages[locale].missing}>
        {termName(name, locale)}
      </mark>
    );
  });
}

/** The same as plain text, for accessible names and tooltips: unknown terms in brackets. */
export function promptPlain(text: string, values: PromptValues, locale: Locale): string {
  return text.replace(/\{([A-Za-z][A-Za-z0-9]*)\}/g, (_whole, name: string) => values[name] || `[${termName(name, locale)}]`);
}

/** A prompt in the page's language (or `locale`, e.g. the party's language on the desk). */
export function PromptText({ text, values = {}, locale }: { text: string; values?: PromptValues; locale?: Locale }) {
  const page = useLocale().locale;
  return <>{promptParts(text, values, locale ?? page)}</>;
}
