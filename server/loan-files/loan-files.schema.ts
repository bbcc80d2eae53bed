import { z } from 'zod';
import { calendarDate, timestamp } from '../shared/schemas.js';
import { loanTermsInput } from './loan-terms.js';

const E164 = /^\+[1-9]\d{7,14}$/;

function isIanaTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone.includes('/') || zone === 'UTC';
  } catch {
    return false;
  }
}

export const partyRoleSchema = z.enum(['BORROWER', 'CO_BORROWER', 'GUARANTOR'], { message: 'must be BORROWER, CO_BORROWER or GUARANTOR' });
export const localeSchema = z.enum(['zh-CN', 'en'], { message: 'must be zh-CN or en' });

const partyFields = z.object({
  role: partyRoleSchema,
  fullName: z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
  phoneE164: z.string().regex(E164, 'must be an E.164 phone number such as +8613812345678'),
  timeZone: z.string().max(64).refine(isIanaTimeZone, 'must be an IANA time zone such as Asia/Shanghai'),
  locale: localeSchema,
  idNumberLast4: z
    .string()
    .regex(/^[0-9]{3}[0-9Xx]$/, 'must be the last four characters of the ID number (digits, last may be X)')
    .transform((v) => v.toUpperCase())
    .optional(),
});

export const partyInput = partyFields.extend({ locale: localeSchema.default('zh-CN') }).meta({ id: 'PartyInput' });

export const partyPatch = partyFields.partial().extend({
  version: z.number().int().min(0).optional().meta({ description: 'When given, the update applies only to this version' }),
}).refine((v) => Object.keys(v).some((k) => k !== 'version'), 'must change at least one field').meta({ id: 'PartyPatch' });

const amountSchema = z
  .union([z.string(), z.number()])
  .transform((v) => (typeof v === 'number' ? String(v) : v.trim()))
  .superRefine((v, ctx) => {
    const problem = !/^-?\d+(\.\d+)?$/.test(v)
      ? 'must be a decimal number such as "250000.00"'
      : v.startsWith('-') || Number(v) === 0
        ? 'must be positive'
        : !/^\d{1,16}(\.\d{1,2})?$/.test(v)
          ? 'at most 16 integer digits and 2 decimals'
          : undefined;
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** The product as the lender names it to the party, in either or both languages (the party's page falls back to the other). */
export const productNameSchema = z
  .strictObject({
    'zh-CN': z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters').optional(),
    en: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters').optional(),
  })
  .refine((v) => v['zh-CN'] !== undefined || v.en !== undefined, 'must name the product in zh-CN, en or both')
  .meta({ id: 'ProductName', description: 'The product\'s display name, e.g. {"zh-CN":"安居消费贷","en":"Home Consumer Loan"}; without it the party sees the console\'s name for the product code' });

/** A calendar date (the loan's last repayment), YYYY-MM-DD; not before the loan file's creation (checked by the service). */
const maturityDateSchema = calendarDate('must be a date such as 2031-06-30').meta({ description: 'The loan\'s maturity (last repayment) date; recordings are retained counted from it' });

export const createLoanFileBody = z.object({
  externalRef: z.string().trim().min(1).max(128, 'must be at most 128 characters').regex(/^[\w.:/-]+$/, 'letters, digits and _ . : / - only'),
  product: z.string().trim().min(1).max(64, 'must be at most 64 characters'),
  productName: productNameSchema.optional(),
  amount: amountSchema,
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as CNY'),
  maturityDate: maturityDateSchema.optional(),
  terms: loanTermsInput.optional().meta({ description: 'The key terms the verification script states; each may be sent later with PATCH' }),
  parties: z.array(partyInput).max(10, 'at most 10 parties').default([]),
}).meta({ id: 'CreateLoanFile' });

export const updateLoanFileBody = z.object({
  maturityDate: maturityDateSchema.nullable().optional().meta({ description: 'The loan\'s last repayment date; null when unknown. Recording retention is recomputed from it.' }),
  version: z.number().int().min(0).optional().meta({ description: 'When given, the update applies only to this version' }),
  reason: z.string().trim().min(1, 'must not be empty').max(500, 'must be at most 500 characters').optional().meta({
    description: 'Why the date changes; audited. Required, and only an ADMIN may make the change, when it shortens the retention of any recording of the loan file.',
  }),
  terms: loanTermsInput.optional().meta({ description: 'Replaces the key terms as a whole; sessions already scheduled keep the terms they were scheduled with' }),
}).refine((v) => v.maturityDate !== undefined || v.terms !== undefined, 'must change maturityDate or terms').meta({ id: 'UpdateLoanFile' });

export const partySchema = z.object({
  id: z.uuid(),
  loanFileId: z.uuid(),
  role: partyRoleSchema,
  fullName: z.string(),
  phoneE164: z.string(),
  timeZone: z.string(),
  locale: z.string(),
  idNumberLast4: z.string().nullable(),
  version: z.number().int(),
  createdAt: timestamp,
  updatedAt: timestamp,
}).meta({ id: 'Party' });

export const loanFileStatusSchema = z.enum(['NEW', 'IN_VERIFICATION', 'VERIFIED', 'FAILED', 'CANCELLED']);

export const loanFileSchema = z.object({
  id: z.uuid(),
  externalRef: z.string(),
  product: z.string(),
  productName: productNameSchema.nullable(),
  amount: z.string(),
  currency: z.string(),
  maturityDate: z.iso.date().nullable(),
  terms: loanTermsInput.nullable(),
  status: loanFileStatusSchema,
  version: z.number().int(),
  createdAt: timestamp,
  updatedAt: timestamp,
  parties: z.array(partySchema),
}).meta({ id: 'LoanFile' });

export const listLoanFilesQuery = z.object({
  status: loanFileStatusSchema.optional(),
  product: z.string().max(64).optional(),
  externalRef: z.string().max(128).optional(),
  createdFrom: timestamp.optional(),
  createdTo: timestamp.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(200).optional(),
});

export const idempotencyHeaders = z.object({
  'idempotency-key': z.string().min(1).max(255).regex(/^[\x21-\x7e]+$/, 'printable ASCII only').optional(),
});

export type CreateLoanFileInput = z.output<typeof createLoanFileBody>;
export type PartyInput = z.output<typeof partyInput>;
export type UpdateLoanFileInput = z.output<typeof updateLoanFileBody>;
export type PartyPatch = z.output<typeof partyPatch>;
export type LoanFileDto = z.infer<typeof loanFileSchema>;
export type PartyDto = z.infer<typeof partySchema>;
export type ProductName = z.output<typeof productNameSchema>;
