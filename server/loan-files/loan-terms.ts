// The loan's key terms as the script must state them, and the one place they are put into words.
// A loan file carries them (validated on create and PATCH); scheduling copies them into the session,
// so what a session's script said never changes with later edits of the loan file. Prompts name them
// as {placeholders} (server/checklists/template.schema.ts); promptValues renders each for a language.
import { z } from 'zod';

/** A decimal as a string (numbers are accepted and kept as their text), with one message per problem. */
const decimal = (integerDigits: number, decimals: number, example: string, rule: (v: number) => string | undefined) =>
  z
    .union([z.string(), z.number()])
    .transform((v) => (typeof v === 'number' ? String(v) : v.trim()))
    .superRefine((v, ctx) => {
      const shape = new RegExp(`^\\d{1,${integerDigits}}(\\.\\d{1,${decimals}})?$`);
      const problem = shape.test(v) ? rule(Number(v)) : `must be a non-negative decimal with at most ${integerDigits} integer digits and ${decimals} decimals, such as "${example}"`;
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });

const positiveMoney = decimal(16, 2, '1250.00', (v) => (v > 0 ? undefined : 'must be positive'));

const bilingual = z
  .strictObject({
    'zh-CN': z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
    en: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  })
  .meta({ description: 'The same words in Chinese and English: the script is read in the party\'s language' });

export const repaymentMethods = ['EQUAL_INSTALMENTS', 'EQUAL_PRINCIPAL', 'INTEREST_ONLY', 'BULLET'] as const;
export const feePeriods = ['ONCE', 'MONTHLY', 'YEARLY'] as const;

export const loanFeeSchema = z.strictObject({
  name: bilingual.meta({ description: 'What the fee is called, e.g. {"zh-CN":"担保费","en":"guarantee fee"}' }),
  amount: positiveMoney.meta({ description: 'In the loan file\'s currency' }),
  period: z.enum(feePeriods, { message: 'must be ONCE, MONTHLY or YEARLY' }),
}).meta({ id: 'LoanFee' });

/**
 * The terms as the LOS sends them. Each may be absent (not known yet); a template that names an absent
 * term cannot be scheduled. `collateral: null` says the loan is unsecured; `fees: []` that there are none.
 */
export const loanTermsInput = z
  .strictObject({
    termMonths: z.number({ message: 'must be a whole number of months' }).int('must be a whole number of months').min(1, 'must be at least 1').max(600, 'must be at most 600').optional(),
    apr: decimal(3, 4, '4.35', (v) => (v < 100 ? undefined : 'must be below 100'))
      .optional()
      .meta({ description: 'Annual percentage rate, simple interest, in percent: "4.35" is 4.35 %' }),
    fees: z.array(loanFeeSchema).max(20, 'at most 20 fees').optional().meta({ description: 'Every fee besides interest, itemised; [] when there are none' }),
    repaymentMethod: z.enum(repaymentMethods, { message: 'must be EQUAL_INSTALMENTS, EQUAL_PRINCIPAL, INTEREST_ONLY or BULLET' }).optional(),
    instalmentAmount: positiveMoney.optional().meta({ description: 'Amount due per instalment, in the loan file\'s currency' }),
    dueDay: z.number({ message: 'must be a day of the month, 1 to 31' }).int('must be a day of the month, 1 to 31').min(1, 'must be a day of the month, 1 to 31').max(31, 'must be a day of the month, 1 to 31').optional(),
    lenderName: bilingual.optional().meta({ description: 'The lender as it introduces itself to the party' }),
    collateral: bilingual.nullable().optional().meta({ description: 'The collateral or guarantee arrangement; null when the loan is unsecured' }),
  })
  .meta({ id: 'LoanTerms' });

export type LoanTerms = z.output<typeof loanTermsInput>;

/** What a session's script states about its loan: the loan file's amount, currency and terms when scheduled. */
export const termsSnapshotSchema = loanTermsInput.extend({ amount: z.string(), currency: z.string() }).meta({ id: 'LoanTermsSnapshot' });
export type TermsSnapshot = z.output<typeof termsSnapshotSchema>;

export const promptValuesSchema = z
  .object({ 'zh-CN': z.record(z.string(), z.string()), en: z.record(z.string(), z.string()) })
  .meta({ id: 'PromptValues', description: 'What each {placeholder} in the prompts reads as, formatted for each language (¥88,000.00, 4.35%); a name missing here is not known for this session' });

/** Template placeholders filled from the loan's terms, and the term each needs. */
const TERM_PLACEHOLDERS = {
  amount: 'amount',
  term: 'termMonths',
  apr: 'apr',
  fees: 'fees',
  repaymentMethod: 'repaymentMethod',
  instalment: 'instalmentAmount',
  dueDay: 'dueDay',
  lenderName: 'lenderName',
  collateral: 'collateral',
} as const satisfies Record<string, keyof TermsSnapshot>;
export type TermPlaceholder = keyof typeof TERM_PLACEHOLDERS;

export const isTermPlaceholder = (name: string): name is TermPlaceholder => Object.hasOwn(TERM_PLACEHOLDERS, name);

/** The term placeholders among `names` that `terms` cannot fill, in the order given. */
export function missingTerms(names: Iterable<string>, terms: Partial<TermsSnapshot>): TermPlaceholder[] {
  const missing = new Set<TermPlaceholder>();
  for (const name of names) if (isTermPlaceholder(name) && terms[TERM_PLACEHOLDERS[name]] === undefined) missing.add(name);
  return [...missing];
}

export type PromptLocale = 'zh-CN' | 'en';

const REPAYMENT_WORDS: Record<(typeof repaymentMethods)[number], Record<PromptLocale, string>> = {
  EQUAL_INSTALMENTS: { 'zh-CN': '等额本息', en: 'equal monthly instalments of principal and interest' },
  EQUAL_PRINCIPAL: { 'zh-CN': '等额本金', en: 'equal monthly repayments of principal plus interest on the balance' },
  INTEREST_ONLY: { 'zh-CN': '按月付息、到期还本', en: 'monthly interest with the principal repaid at the end' },
  BULLET: { 'zh-CN': '到期一次性还本付息', en: 'a single repayment of principal and interest at the end' },
};

const PERIOD_WORDS: Record<(typeof feePeriods)[number], Record<PromptLocale, string>> = {
  ONCE: { 'zh-CN': '一次性', en: 'once' },
  MONTHLY: { 'zh-CN': '每月', en: 'per month' },
  YEARLY: { 'zh-CN': '每年', en: 'per year' },
};

export function formatMoney(amount: string, currency: string, locale: PromptLocale): string {
  return new Intl.NumberFormat(locale, { style: 'currency', currency, minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(Number(amount));
}

/** 4.35 -> "4.35%": at least two decimals, as many as given up to four. */
export function formatApr(apr: string, locale: PromptLocale): string {
  const decimals = Math.max(2, apr.split('.')[1]?.length ?? 0);
  return new Intl.NumberFormat(locale, { style: 'percent', minimumFractionDigits: decimals, maximumFractionDigits: decimals }).format(Number(apr) / 100);
}

const enOrdinal = (n: number) => {
  const rule = new Intl.PluralRules('en', { type: 'ordinal' }).select(n);
  return `${n}${{ one: 'st', two: 'nd', few: 'rd' }[rule as 'one' | 'two' | 'few'] ?? 'th'}`;
};

function feesClause(fees: z.output<typeof loanFeeSchema>[], currency: string, locale: PromptLocale): string {
  if (fees.length === 0) return locale === 'zh-CN' ? '无其他费用' : 'there are no other fees';
  if (locale === 'zh-CN') return `另收取${fees.map((f) => `${f.name['zh-CN']}${PERIOD_WORDS[f.period]['zh-CN']}${formatMoney(f.amount, currency, locale)}`).join('、')}`;
  const items = fees.map((f) => `${f.name.en}, ${formatMoney(f.amount, currency, locale)} ${PERIOD_WORDS[f.period].en}`);
  return fees.length === 1 ? `there is one fee: ${items[0]}` : `there are these fees: ${items.join('; ')}`;
}

/**
 * Each term placeholder the snapshot can fill, in words for `locale` (¥88,000.00, 4.35%, 等额本息).
 * `dueDay` is the bare day: the scripts say "每月{dueDay}日" / "day {dueDay} of each month" around it.
 */
export function termValues(terms: Partial<TermsSnapshot>, locale: PromptLocale): Partial<Record<TermPlaceholder, string>> {
  const values: Partial<Record<TermPlaceholder, string>> = {};
  const currency = terms.currency;
  if (terms.amount !== undefined && currency) values.amount = formatMoney(terms.amount, currency, locale);
  if (terms.termMonths !== undefined) values.term = locale === 'zh-CN' ? `${terms.termMonths}个月` : `${terms.termMonths} ${terms.termMonths === 1 ? 'month' : 'months'}`;
  if (terms.apr !== undefined) values.apr = formatApr(terms.apr, locale);
  if (terms.fees !== undefined && currency) values.fees = feesClause(terms.fees, currency, locale);
  if (terms.repaymentMethod !== undefined) values.repaymentMethod = REPAYMENT_WORDS[terms.repaymentMethod][locale];
  if (terms.instalmentAmount !== undefined && currency) values.instalment = formatMoney(terms.instalmentAmount, currency, locale);
  if (terms.dueDay !== undefined) values.dueDay = String(terms.dueDay);
  if (terms.lenderName !== undefined) values.lenderName = terms.lenderName[locale];
  if (terms.collateral !== undefined) values.collateral = terms.collateral ? terms.collateral[locale] : locale === 'zh-CN' ? '本笔贷款无抵押、无担保' : 'none: the loan is unsecured';
  return values;
}

/** The due day as people say it: "每月15日" / "the 15th of each month". */
export function dueDayWords(day: number, locale: PromptLocale): string {
  return locale === 'zh-CN' ? `每月${day}日` : `the ${enOrdinal(day)} of each month`;
}

/** The snapshot a session keeps, or undefined when it holds none (sessions scheduled before terms existed). */
export function parseTermsSnapshot(value: unknown): TermsSnapshot | undefined {
  const parsed = termsSnapshotSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/** Every value a prompt may name, per language: the loan's terms plus what the session knows. */
export function promptValues(
  terms: Partial<TermsSnapshot> | undefined,
  session: { phoneE164?: string | null; agentName?: string | null; livenessPrompt?: Record<PromptLocale, string> | null },
): Record<PromptLocale, Record<string, string>> {
  const forLocale = (locale: PromptLocale): Record<string, string> => {
    const values: Record<string, string> = { ...termValues(terms ?? {}, locale) };
    if (session.phoneE164) values.phoneLast4 = session.phoneE164.slice(-4);
    if (session.agentName) values.agentName = session.agentName;
    if (session.livenessPrompt) values.livenessPrompt = session.livenessPrompt[locale];
    return values;
  };
  return { 'zh-CN': forLocale('zh-CN'), en: forLocale('en') };
}

/** Fills every {name} `values` knows; the others stay as they are, for the caller to notice. */
export function renderPrompt(text: string, values: Record<string, string>): string {
  return text.replace(/\{([A-Za-z][A-Za-z0-9]*)\}/g, (whole, name: string) => values[name] ?? whole);
}
