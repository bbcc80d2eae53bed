// Creating a loan file from the console (POST /api/loan-files), for lenders whose loan system is not
// connected: the loan, its key terms and its parties, then scheduling from the same page. The server
// validates; a refusal names each field (problem+json errors[].field), and the hint for it is shown next
// to that field in the page's language. A contract PDF chosen on the form is uploaded once the loan
// file exists (PUT /api/loan-files/:id/contract), before any session is scheduled, so the video
// session binds it.
import { useRef, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError, call, client, type Schemas } from '../../shared/api';
import { ErrorNote } from '../../shared/ErrorNote';
import { formatDateTime, useLocale, useT, type Locale, type Translate } from '../../shared/i18n';
import { useLabels } from '../../shared/labels';
import { fieldHint } from '../../shared/problems';
import { SchedulePanel } from '../supervisor/SchedulePanel';
import { ContractInput, ContractSection, uploadContract, type ContractDocument } from './ContractUpload';
import { loanFileMessages, type LoanFileKey } from './messages';
import '../supervisor/supervisor.css';
import './loan-files.css';

type T = Translate<LoanFileKey>;

const PRODUCTS = ['consumer-loan', 'mortgage', 'mortgage-release', 'car-loan', 'business-loan', 'credit-card'] as const;
const REPAYMENT = ['EQUAL_INSTALMENTS', 'EQUAL_PRINCIPAL', 'INTEREST_ONLY', 'BULLET'] as const;
const PERIODS = ['ONCE', 'MONTHLY', 'YEARLY'] as const;
const ROLES = ['BORROWER', 'CO_BORROWER', 'GUARANTOR'] as const;
const TIME_ZONES = ['Asia/Shanghai', 'Asia/Hong_Kong', 'Asia/Taipei', 'Asia/Singapore', 'Asia/Tokyo', 'Europe/London', 'Europe/Berlin', 'America/New_York', 'America/Los_Angeles', 'UTC'] as const;

interface FeeDraft {
  nameZh: string;
  nameEn: string;
  amount: string;
  period: (typeof PERIODS)[number];
}

interface PartyDraft {
  role: (typeof ROLES)[number];
  fullName: string;
  phoneE164: string;
  timeZone: string;
  locale: Locale;
  idNumberLast4: string;
}

interface Draft {
  externalRef: string;
  product: string;
  productNameZh: string;
  productNameEn: string;
  amount: string;
  currency: string;
  maturityDate: string;
  termMonths: string;
  apr: string;
  repaymentMethod: string;
  instalmentAmount: string;
  dueDay: string;
  lenderNameZh: string;
  lenderNameEn: string;
  unsecured: boolean;
  collateralZh: string;
  collateralEn: string;
  fees: FeeDraft[];
  parties: PartyDraft[];
  /** The contract PDF to upload once the loan file is created; not part of the loan file's body. */
  contract?: File;
}

const newParty = (role: PartyDraft['role'] = 'BORROWER'): PartyDraft => ({ role, fullName: '', phoneE164: '', timeZone: 'Asia/Shanghai', locale: 'zh-CN', idNumberLast4: '' });

const EMPTY: Draft = {
  externalRef: '',
  product: 'consumer-loan',
  productNameZh: '',
  productNameEn: '',
  amount: '',
  currency: 'CNY',
  maturityDate: '',
  termMonths: '',
  apr: '',
  repaymentMethod: '',
  instalmentAmount: '',
  dueDay: '',
  lenderNameZh: '',
  lenderNameEn: '',
  // Not assumed: whether the loan is secured is stated, as the script states it.
  unsecured: false,
  collateralZh: '',
  collateralEn: '',
  fees: [],
  parties: [newParty()],
};

/** A whole number as typed, or the text itself so the server names what is wrong with it. */
const wholeNumber = (text: string): number | string | undefined => {
  const trimmed = text.trim();
  if (!trimmed) return undefined;
  return /^\d+$/.test(trimmed) ? Number(trimmed) : trimmed;
};
const optional = (text: string) => (text.trim() ? text.trim() : undefined);
const bilingual = (zh: string, en: string) => (zh.trim() || en.trim() ? { 'zh-CN': zh.trim(), en: en.trim() } : undefined);

/** What the form sends: empty optional fields are left out, so the server judges only what was entered. */
/** What was typed, as the API's shape; a value that is not valid yet (a half-typed number) is sent as typed, and the server's refusal marks its field. */
function requestBody(d: Draft) {
  const productName = d.productNameZh.trim() || d.productNameEn.trim() ? { ...(optional(d.productNameZh) ? { 'zh-CN': d.productNameZh.trim() } : {}), ...(optional(d.productNameEn) ? { en: d.productNameEn.trim() } : {}) } : undefined;
  return {
    externalRef: d.externalRef.trim(),
    product: d.product,
    ...(productName ? { productName } : {}),
    amount: d.amount.trim(),
    currency: d.currency.trim().toUpperCase(),
    ...(optional(d.maturityDate) ? { maturityDate: d.maturityDate } : {}),
    terms: {
      termMonths: wholeNumber(d.termMonths),
      apr: optional(d.apr),
      repaymentMethod: optional(d.repaymentMethod),
      instalmentAmount: optional(d.instalmentAmount),
      dueDay: wholeNumber(d.dueDay),
      lenderName: bilingual(d.lenderNameZh, d.lenderNameEn),
      collateral: d.unsecured ? null : (bilingual(d.collateralZh, d.collateralEn) ?? { 'zh-CN': '', en: '' }),
      fees: d.fees.map((f) => ({ name: { 'zh-CN': f.nameZh.trim(), en: f.nameEn.trim() }, amount: f.amount.trim(), period: f.period })),
    },
    parties: d.parties.map((p) => ({
      role: p.role,
      fullName: p.fullName.trim(),
      phoneE164: p.phoneE164.replace(/[\s-]/g, ''),
      timeZone: p.timeZone,
      locale: p.locale,
      ...(optional(p.idNumberLast4) ? { idNumberLast4: p.idNumberLast4.trim() } : {}),
    })),
  };
}

interface Created {
  id: string;
  externalRef: string;
  contract?: ContractDocument;
  contractError?: unknown;
}

export default function NewLoanFilePage() {
  const t = useT(loanFileMessages);
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<Created>();
  const summary = useRef<HTMLDivElement>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const loanFile = await call(client.POST('/api/loan-files', { body: requestBody(draft) as unknown as Schemas['CreateLoanFile'] }));
      // The loan file exists even if its contract is refused: the refusal is shown with the contract, to try again.
      let contract: ContractDocument | undefined;
      let contractError: unknown;
      if (draft.contract) {
        try {
          contract = await uploadContract(loanFile.id, draft.contract);
        } catch (e) {
          contractError = e;
        }
      }
      setCreated({ id: loanFile.id, externalRef: loanFile.externalRef, contract, contractError });
    } catch (e) {
      setError(e);
      // The summary says how many fields to fix; the first marked field takes the focus.
      requestAnimationFrame(() => {
        const first = document.querySelector<HTMLElement>('.lf-form [aria-invalid="true"]');
        (first ?? summary.current)?.focus();
      });
    } finally {
      setBusy(false);
    }
  };

  if (created) {
    return (
      <div className="stack lf-page">
        <h1>{t('title')}</h1>
        <div className="alert ok" role="status" data-testid="loan-file-created">
          {t('created', { ref: created.externalRef })} {t('scheduleNext')}
        </div>
        <ContractSection loanFileId={created.id} initial={created.contract} initialError={created.contractError} />
        <SchedulePanel initialRef={created.externalRef} onChanged={() => undefined} />
        <div>
          <button type="button" onClick={() => (setCreated(undefined), setDraft(EMPTY))}>
            {t('another')}
          </button>
        </div>
      </div>
    );
  }

  const fieldErrors = error instanceof ApiError ? error.errors : [];
  return (
    <div className="stack lf-page">
      <h1>{t('title')}</h1>
      <p className="hint">{t('intro')}</p>
      <div ref={summary} tabIndex={-1}>
        {fieldErrors.length > 0 ? (
          <div className="alert error" role="alert" data-testid="loan-file-invalid" data-code="VALIDATION_FAILED">
            {t('invalidSummary', { n: new Set(fieldErrors.map((e) => e.field)).size })}
          </div>
        ) : (
          <ErrorNote error={error} />
        )}
      </div>
      <Form draft={draft} setDraft={setDraft} error={error} t={t} busy={busy} onSubmit={(e) => void submit(e)} />
    </div>
  );
}

function Form({ draft, setDraft, error, t, busy, onSubmit }: { draft: Draft; setDraft(update: (d: Draft) => Draft): void; error: unknown; t: T; busy: boolean; onSubmit(e: FormEvent): void }) {
  const labels = useLabels();
  const { locale } = useLocale();
  const set = <K extends keyof Draft>(key: K) => (value: Draft[K]) => setDraft((d) => ({ ...d, [key]: value }));
  const setParty = (i: number, patch: Partial<PartyDraft>) => setDraft((d) => ({ ...d, parties: d.parties.map((p, j) => (j === i ? { ...p, ...patch } : p)) }));
  const setFee = (i: number, patch: Partial<FeeDraft>) => setDraft((d) => ({ ...d, fees: d.fees.map((f, j) => (j === i ? { ...f, ...patch } : f)) }));
  const text = (path: string, label: string, value: string, onChange: (v: string) => void, more: { type?: string; inputMode?: 'decimal' | 'numeric' | 'tel'; hint?: ReactNode; autoComplete?: string } = {}) => (
    <Field path={path} label={label} error={error} hint={more.hint}>
      {(props) => <input {...props} type={more.type ?? 'text'} inputMode={more.inputMode} autoComplete={more.autoComplete ?? 'off'} value={value} onChange={(e) => onChange(e.target.value)} />}
    </Field>
  );
  const dateReads = draft.maturityDate && !Number.isNaN(Date.parse(draft.maturityDate)) ? t('dateReads', { date: formatDateTime(`${draft.maturityDate}T00:00:00Z`, locale, { dateStyle: 'full', timeZone: 'UTC' }) }) : undefined;

  return (
    <form className="lf-form stack" onSubmit={onSubmit} noValidate aria-label={t('title')}>
      <fieldset className="panel">
        <legend>{t('loanLegend')}</legend>
        <div className="lf-grid">
          {text('externalRef', t('externalRef'), draft.externalRef, set('externalRef'))}
          <Field path="product" label={t('product')} error={error}>
            {(props) => (
              <select {...props} value={draft.product} onChange={(e) => set('product')(e.target.value)}>
                {PRODUCTS.map((p) => (
                  <option key={p} value={p}>
                    {labels.product(p)}
                  </option>
                ))}
              </select>
            )}
          </Field>
          {text('productName.zh-CN', t('productNameZh'), draft.productNameZh, set('productNameZh'), { hint: t('productNameHint') })}
          {text('productName.en', t('productNameEn'), draft.productNameEn, set('productNameEn'))}
          {text('amount', t('amount'), draft.amount, set('amount'), { inputMode: 'decimal' })}
          {text('currency', t('currency'), draft.currency, set('currency'))}
          {text('maturityDate', t('maturityDate'), draft.maturityDate, set('maturityDate'), { type: 'date', hint: dateReads })}
        </div>
      </fieldset>

      <fieldset className="panel">
        <legend>{t('termsLegend')}</legend>
        <div className="lf-grid">
          {text('terms.termMonths', t('termMonths'), draft.termMonths, set('termMonths'), { inputMode: 'numeric' })}
          {text('terms.apr', t('apr'), draft.apr, set('apr'), { inputMode: 'decimal' })}
          <Field path="terms.repaymentMethod" label={t('repaymentMethod')} error={error}>
            {(props) => (
              <select {...props} value={draft.repaymentMethod} onChange={(e) => set('repaymentMethod')(e.target.value)}>
                <option value="">{t('choose')}</option>
                {REPAYMENT.map((m) => (
                  <option key={m} value={m}>
                    {t(`repay_${m}`)}
                  </option>
                ))}
              </select>
            )}
          </Field>
          {text('terms.instalmentAmount', t('instalmentAmount'), draft.instalmentAmount, set('instalmentAmount'), { inputMode: 'decimal' })}
          {text('terms.dueDay', t('dueDay'), draft.dueDay, set('dueDay'), { inputMode: 'numeric' })}
          {text('terms.lenderName.zh-CN', t('lenderNameZh'), draft.lenderNameZh, set('lenderNameZh'))}
          {text('terms.lenderName.en', t('lenderNameEn'), draft.lenderNameEn, set('lenderNameEn'))}
        </div>
        <label className="sv-radio">
          <input type="checkbox" checked={draft.unsecured} onChange={(e) => set('unsecured')(e.target.checked)} />
          {t('unsecured')}
        </label>
        {draft.unsecured ? null : (
          <div className="lf-grid">
            {text('terms.collateral.zh-CN', t('collateralZh'), draft.collateralZh, set('collateralZh'))}
            {text('terms.collateral.en', t('collateralEn'), draft.collateralEn, set('collateralEn'))}
          </div>
        )}
        <fieldset className="lf-sub">
          <legend>{t('feesLegend')}</legend>
          {draft.fees.length === 0 ? <p className="hint">{t('noFees')}</p> : null}
          {draft.fees.map((fee, i) => (
            <div className="lf-grid lf-row" key={i} data-testid={`fee-${i}`}>
              {text(`terms.fees.${i}.name.zh-CN`, t('feeNameZh'), fee.nameZh, (v) => setFee(i, { nameZh: v }))}
              {text(`terms.fees.${i}.name.en`, t('feeNameEn'), fee.nameEn, (v) => setFee(i, { nameEn: v }))}
              {text(`terms.fees.${i}.amount`, t('feeAmount'), fee.amount, (v) => setFee(i, { amount: v }), { inputMode: 'decimal' })}
              <Field path={`terms.fees.${i}.period`} label={t('feePeriod')} error={error}>
                {(props) => (
                  <select {...props} value={fee.period} onChange={(e) => setFee(i, { period: e.target.value as FeeDraft['period'] })}>
                    {PERIODS.map((p) => (
                      <option key={p} value={p}>
                        {t(`period_${p}`)}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
              <div>
                <button type="button" className="small" onClick={() => setDraft((d) => ({ ...d, fees: d.fees.filter((_, j) => j !== i) }))}>
                  {t('removeFee', { n: i + 1 })}
                </button>
              </div>
            </div>
          ))}
          <button type="button" className="small" onClick={() => setDraft((d) => ({ ...d, fees: [...d.fees, { nameZh: '', nameEn: '', amount: '', period: 'ONCE' }] }))}>
            {t('addFee')}
          </button>
        </fieldset>
      </fieldset>

      <fieldset className="panel">
        <legend>{t('partiesLegend')}</legend>
        <FieldMessage path="parties" error={error} exact />
        {draft.parties.map((party, i) => (
          <section className="lf-party" key={i} aria-labelledby={`lf-party-${i}`} data-testid={`party-${i}`}>
            <h2 id={`lf-party-${i}`}>{t('partyHeading', { n: i + 1 })}</h2>
            <div className="lf-grid">
              <Field path={`parties.${i}.role`} label={t('role')} error={error}>
                {(props) => (
                  <select {...props} value={party.role} onChange={(e) => setParty(i, { role: e.target.value as PartyDraft['role'] })}>
                    {ROLES.map((r) => (
                      <option key={r} value={r}>
                        {t(`role_${r}`)}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
              {text(`parties.${i}.fullName`, t('fullName'), party.fullName, (v) => setParty(i, { fullName: v }))}
              {text(`parties.${i}.phoneE164`, t('phone'), party.phoneE164, (v) => setParty(i, { phoneE164: v }), { type: 'tel', inputMode: 'tel' })}
              <Field path={`parties.${i}.timeZone`} label={t('timeZone')} error={error}>
                {(props) => (
                  <select {...props} value={party.timeZone} onChange={(e) => setParty(i, { timeZone: e.target.value })}>
                    {TIME_ZONES.map((z) => (
                      <option key={z} value={z}>
                        {z}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
              <Field path={`parties.${i}.locale`} label={t('language')} error={error}>
                {(props) => (
                  <select {...props} value={party.locale} onChange={(e) => setParty(i, { locale: e.target.value as Locale })}>
                    {(['zh-CN', 'en'] as const).map((l) => (
                      <option key={l} value={l}>
                        {labels.language(l)}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
              {text(`parties.${i}.idNumberLast4`, t('idLast4'), party.idNumberLast4, (v) => setParty(i, { idNumberLast4: v }))}
            </div>
            {draft.parties.length > 1 ? (
              <button type="button" className="small" onClick={() => setDraft((d) => ({ ...d, parties: d.parties.filter((_, j) => j !== i) }))}>
                {t('removeParty', { n: i + 1 })}
              </button>
            ) : null}
          </section>
        ))}
        <button type="button" className="small" onClick={() => setDraft((d) => ({ ...d, parties: [...d.parties, newParty('CO_BORROWER')] }))}>
          {t('addParty')}
        </button>
      </fieldset>

      <fieldset className="panel">
        <legend>{t('contractLegend')}</legend>
        <ContractInput id="lf-contract" file={draft.contract} onChange={set('contract')} />
      </fieldset>

      <div>
        <button className="primary" type="submit" disabled={busy}>
          {busy ? t('creating') : t('create')}
        </button>
      </div>
    </form>
  );
}

const fieldId = (path: string) => `lf-${path.replace(/[^A-Za-z0-9]+/g, '-')}`;

/** Whether the server named this field (or, unless `exact`, a part of it such as lenderName.en). */
function named(error: unknown, path: string, exact = false): boolean {
  return error instanceof ApiError && error.errors.some((e) => e.field === path || (!exact && e.field.startsWith(`${path}.`)));
}

interface ControlProps {
  id: string;
  'aria-invalid': true | undefined;
  'aria-describedby': string | undefined;
}

function Field({ path, label, error, hint, children }: { path: string; label: string; error: unknown; hint?: ReactNode; children(props: ControlProps): ReactNode }) {
  const id = fieldId(path);
  const invalid = named(error, path);
  const describedBy = [hint ? `${id}-hint` : '', invalid ? `${id}-error` : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div className="field lf-field" data-field={path}>
      <label htmlFor={id}>{label}</label>
      {children({ id, 'aria-invalid': invalid ? true : undefined, 'aria-describedby': describedBy })}
      {hint ? (
        <span className="hint" id={`${id}-hint`}>
          {hint}
        </span>
      ) : null}
      <FieldMessage path={path} error={error} />
    </div>
  );
}

/** The hint for a field the server refused, in the page's language; the server's own words stay on the element for support. */
function FieldMessage({ path, error, exact = false }: { path: string; error: unknown; exact?: boolean }) {
  const { locale } = useLocale();
  if (!named(error, path, exact) || !(error instanceof ApiError)) return null;
  const problem = error.errors.find((e) => e.field === path) ?? error.errors.find((e) => e.field.startsWith(`${path}.`));
  return (
    <span className="field-error" id={`${fieldId(path)}-error`} data-testid={`field-error-${path}`} data-message={problem?.message}>
      {fieldHint(problem?.field ?? path, locale)}
    </span>
  );
}
