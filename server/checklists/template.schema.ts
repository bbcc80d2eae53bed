// A checklist template document: the versioned, bilingual script an agent follows. Templates live as
// JSON files in ./templates and are published once per (key, version); the validated document is
// what sessions pin and what the evidence package hashes.
import { z } from 'zod';
import { LIVENESS_MOVEMENTS } from '../../recordings/liveness-check.js';

/** Section, item and liveness prompt ids: one namespace per template, stored in VarChar(64) columns. */
export const TEMPLATE_ID_PATTERN = /^[a-z][a-z0-9_]{1,63}$/;
/** Template keys: the `<key>` in `<key>.v<version>.json`, stored in VarChar(64). */
export const TEMPLATE_KEY_PATTERN = /^[a-z][a-z0-9-]{1,63}$/;

export const templateLanguages = ['zh-CN', 'en'] as const;
export type TemplateLanguage = (typeof templateLanguages)[number];

export const templateItemKinds = [
  'question',
  'statement',
  'consent',
  'identity',
  'liveness',
  'capture',
  'contract',
  'risk_assessment',
] as const;
export type TemplateItemKind = (typeof templateItemKinds)[number];

/**
 * Placeholders a prompt or guidance text may contain as `{name}`. The session fills them from the loan
 * file, the party and the session before the agent sees the text; each language of one text must use
 * the same set, so a translation cannot drop a figure the borrower has to hear.
 */
export const TEMPLATE_PLACEHOLDERS = {
  lenderName: 'The lender as it introduces itself on calls, e.g. "某某银行" / "Example Bank".',
  agentName: "The agent's display name.",
  product: 'The loan product name.',
  amount: 'Loan amount with currency, formatted for the session language.',
  term: 'Loan term, e.g. "12个月" / "12 months".',
  repaymentMethod: 'Repayment method, e.g. "等额本息" / "equal monthly instalments".',
  instalment: 'Amount due per instalment, with currency.',
  dueDay: 'Day of the month each instalment is due.',
  apr: 'Annualised interest rate (年化利率, simple), e.g. "7.20%".',
  fees: 'Every fee besides interest as a clause, e.g. "另收取担保费每月¥50.00" / "there is one fee: guarantee fee, CN¥50.00 per month", or "无其他费用" / "there are no other fees".',
  collateral: 'The collateral or guarantee arrangement as the loan file describes it.',
  phoneLast4: "The last four digits of the party's phone number.",
  livenessPrompt: 'The liveness prompt drawn for this session from the livenessPool, in the session language.',
} as const;
export type TemplatePlaceholder = keyof typeof TEMPLATE_PLACEHOLDERS;

const PLACEHOLDER = /\{([^{}]*)\}/g;

/** The `{name}` placeholders in a text, in order of first appearance. */
export function placeholdersIn(text: string): string[] {
  return [...new Set(Array.from(text.matchAll(PLACEHOLDER), (m) => m[1] ?? ''))];
}

const text = z
  .string()
  .max(2000, 'must be at most 2000 characters')
  .refine((s) => s.trim().length > 0, 'must not be empty')
  .superRefine((s, ctx) => {
    for (const name of placeholdersIn(s)) {
      if (!Object.hasOwn(TEMPLATE_PLACEHOLDERS, name)) {
        ctx.addIssue({ code: 'custom', message: `unknown placeholder {${name}}; known: ${Object.keys(TEMPLATE_PLACEHOLDERS).join(', ')}` });
      }
    }
  });

export const localizedTextSchema = z
  .strictObject({ 'zh-CN': text, en: text })
  .superRefine((value, ctx) => {
    const zh = placeholdersIn(value['zh-CN']).sort();
    const en = placeholdersIn(value.en).sort();
    if (zh.join() !== en.join()) {
      ctx.addIssue({ code: 'custom', message: `zh-CN uses placeholders [${zh.join(', ')}] but en uses [${en.join(', ')}]` });
    }
  });
export type LocalizedText = z.infer<typeof localizedTextSchema>;

const id = z.string().regex(TEMPLATE_ID_PATTERN, 'must match ^[a-z][a-z0-9_]{1,63}$');

export const templateItemSchema = z.strictObject({
  id,
  kind: z.enum(templateItemKinds),
  required: z.boolean(),
  /** What the agent reads out (or, for risk_assessment, what the agent assesses). */
  prompt: localizedTextSchema,
  /** A short note for the agent only; never read out. */
  guidance: localizedTextSchema.optional(),
});
export type TemplateItem = z.infer<typeof templateItemSchema>;

export const templateSectionSchema = z.strictObject({
  id,
  title: localizedTextSchema,
  /** Items of this section are asked in a per-session random order (see randomize.ts). */
  randomize: z.boolean(),
  items: z.array(templateItemSchema).min(1, 'a section needs at least one item'),
});
export type TemplateSection = z.infer<typeof templateSectionSchema>;

export const livenessPromptSchema = z.strictObject({
  id,
  prompt: localizedTextSchema,
  /**
   * The movement the active-liveness assist checks from face landmarks (recordings/liveness-check.ts).
   * Optional: the default pools' ids are known; a prompt with neither (read digits aloud) is not checkable.
   */
  check: z.enum(LIVENESS_MOVEMENTS).optional(),
});
export type LivenessPrompt = z.infer<typeof livenessPromptSchema>;

export const templateDocumentSchema = z
  .strictObject({
    key: z.string().regex(TEMPLATE_KEY_PATTERN, 'must match ^[a-z][a-z0-9-]{1,63}$'),
    version: z.number().int('must be an integer').min(1, 'must be at least 1'),
    kind: z.enum(['CALL', 'VIDEO']),
    title: localizedTextSchema,
    sections: z.array(templateSectionSchema).min(1, 'a template needs at least one section'),
    livenessPool: z.array(livenessPromptSchema).optional(),
    /**
     * Opts the template into automated confirmation calls (server/automated-calls): no agent, the
     * prompts are spoken and answered on the keypad, and anything but "confirmed" goes to an agent.
     */
    automatedCall: z.boolean().optional(),
  })
  .superRefine((doc, ctx) => {
    if (doc.automatedCall === true) {
      if (doc.kind !== 'CALL') ctx.addIssue({ code: 'custom', path: ['automatedCall'], message: 'only CALL templates can be automated calls' });
      else if (placeholdersOfTemplate(doc).includes('agentName')) {
        ctx.addIssue({ code: 'custom', path: ['automatedCall'], message: 'an automated call has no agent: its prompts cannot use {agentName}' });
      }
    }
    const seen = new Map<string, string>();
    const claim = (value: string, path: (string | number)[]) => {
      const first = seen.get(value);
      if (first === undefined) seen.set(value, path.join('.'));
      else ctx.addIssue({ code: 'custom', path, message: `duplicate id "${value}" (first used at ${first})` });
    };
    const livenessItems: (string | number)[][] = [];
    doc.sections.forEach((section, s) => {
      claim(section.id, ['sections', s, 'id']);
      section.items.forEach((item, i) => {
        claim(item.id, ['sections', s, 'items', i, 'id']);
        if (item.kind === 'liveness') livenessItems.push(['sections', s, 'items', i]);
        if (doc.kind === 'CALL' && (item.kind === 'liveness' || item.kind === 'capture')) {
          ctx.addIssue({ code: 'custom', path: ['sections', s, 'items', i, 'kind'], message: `a CALL template has no camera: "${item.kind}" items belong in VIDEO templates` });
        }
      });
    });
    doc.livenessPool?.forEach((prompt, p) => claim(prompt.id, ['livenessPool', p, 'id']));

    const pool = doc.livenessPool ?? [];
    const [firstLiveness, secondLiveness] = livenessItems;
    if (firstLiveness && pool.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['livenessPool'], message: 'a template with a liveness item needs a non-empty livenessPool' });
    }
    if (secondLiveness) {
      // A session draws one liveness prompt (VerificationSession.livenessPromptId).
      ctx.addIssue({ code: 'custom', path: secondLiveness, message: 'a template may have at most one liveness item' });
    }
    if (!firstLiveness && doc.livenessPool !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['livenessPool'], message: 'livenessPool is given but no item has kind "liveness"' });
    }
  });
export type TemplateDocument = z.infer<typeof templateDocumentSchema>;

/** Every placeholder a template's prompts and guidance name (languages use the same set). */
export function placeholdersOfTemplate(doc: TemplateDocument): string[] {
  const texts = doc.sections.flatMap((section) => section.items.flatMap((item) => [item.prompt.en, item.guidance?.en ?? '']));
  return [...new Set(texts.flatMap(placeholdersIn))];
}
