// A loan file's key terms: validated on create and PATCH (at a version), copied into each session
// when it is scheduled (later edits do not change what that session's script says), refused at
// scheduling when the script names a term the loan file lacks, and served as locale-formatted values.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/harness.js';
import { auditEventOf, auditEventsOf, auditLogOf, verificationOf } from '../support/reads.js';
import { LOAN_TERMS } from '../support/fixtures.js';
import { ALWAYS_OPEN, losClient } from '../support/verification.js';
import type { ApiClient } from '../support/api-client.js';

interface LoanFile {
  id: string;
  version: number;
  terms: Record<string, unknown> | null;
  parties: { id: string }[];
}
interface Problem {
  code: string;
  detail: string;
  errors?: { in: string; field: string; message: string }[];
}
interface Checklist {
  items: { id: string; prompt: { 'zh-CN': string; en: string } }[];
  loanTerms: Record<string, unknown> | null;
  values: Record<'zh-CN' | 'en', Record<string, string>>;
}

let t: TestApp;
let los: ApiClient;
let supervisor: ApiClient;

const party = (phone: string, locale = 'zh-CN') => ({ role: 'BORROWER', fullName: '韩梅梅', phoneE164: phone, timeZone: 'Asia/Shanghai', locale });
const loan = (extra: Record<string, unknown> = {}) => ({
  externalRef: `LT-${randomUUID().slice(0, 8)}`,
  product: 'terms-test',
  amount: '88000.00',
  currency: 'CNY',
  parties: [party('+8613805550161')],
  ...extra,
});

beforeAll(async () => {
  t = await startTestApp(ALWAYS_OPEN);
  los = await losClient(t);
  supervisor = await t.signIn({ roles: ['SUPERVISOR'] });
});
afterAll(async () => t?.stop());

describe('loan terms on the loan file', () => {
  it('are stored as sent, normalised, and audited by digest', async () => {
    const res = await los.post<LoanFile>('/api/loan-files', loan({ terms: { ...LOAN_TERMS, apr: 4.35, instalmentAmount: 7507.27 } }));
    expect(res.status).toBe(201);
    expect(res.body.terms).toEqual({ ...LOAN_TERMS, apr: '4.35', instalmentAmount: '7507.27' });
    expect((await los.get<LoanFile>(`/api/loan-files/${res.body.id}`)).body.terms).toEqual(res.body.terms);
    const created = await auditEventOf(supervisor, { entityType: 'loan_file', entityId: res.body.id, action: 'loan_file.created' });
    expect(created.data).toMatchObject({ termsSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it.each([
    ['terms.apr', { apr: '4.3.5' }],
    ['terms.apr', { apr: '120' }],
    ['terms.termMonths', { termMonths: 0 }],
    ['terms.dueDay', { dueDay: 32 }],
    ['terms.repaymentMethod', { repaymentMethod: 'WHENEVER' }],
    ['terms.instalmentAmount', { instalmentAmount: '-1' }],
    ['terms.fees.0.period', { fees: [{ name: { 'zh-CN': '服务费', en: 'service fee' }, amount: '10', period: 'WEEKLY' }] }],
    ['terms.fees.0.amount', { fees: [{ name: { 'zh-CN': '服务费', en: 'service fee' }, amount: '0', period: 'ONCE' }] }],
    ['terms.lenderName.en', { lenderName: { 'zh-CN': '示例银行' } }],
    ['terms.collateral.zh-CN', { collateral: { 'zh-CN': ' ', en: 'a car' } }],
  ])('refuses a bad %s on create and on PATCH, as problem+json naming the field', async (field, bad) => {
    const created = await los.post<Problem>('/api/loan-files', loan({ terms: { ...LOAN_TERMS, ...bad } }));
    expect(created.status).toBe(400);
    expect(created.contentType).toMatch(/^application\/problem\+json/);
    expect(created.body.code).toBe('VALIDATION_FAILED');
    expect(created.body.errors?.map((e) => e.field)).toEqual([field]);
    const lf = await los.post<LoanFile>('/api/loan-files', loan({ terms: LOAN_TERMS }));
    const patched = await los.patch<Problem>(`/api/loan-files/${lf.body.id}`, { terms: { ...LOAN_TERMS, ...bad } });
    expect({ status: patched.status, fields: patched.body.errors?.map((e) => e.field) }).toEqual({ status: 400, fields: [field] });
  });

  it('refuses an unknown term rather than dropping it', async () => {
    const res = await los.post<Problem>('/api/loan-files', loan({ terms: { ...LOAN_TERMS, penaltyRate: '0.05' } }));
    expect(res.status).toBe(400);
    expect(res.body.errors?.[0]).toMatchObject({ field: 'terms', message: expect.stringContaining('penaltyRate') });
  });

  it('are replaced by PATCH at a version, audited; a stale version is refused and the same terms change nothing', async () => {
    const lf = await los.post<LoanFile>('/api/loan-files', loan());
    expect(lf.body.terms).toBeNull();
    const path = `/api/loan-files/${lf.body.id}`;
    const updated = await supervisor.patch<LoanFile>(path, { terms: LOAN_TERMS, version: lf.body.version });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ terms: LOAN_TERMS, version: lf.body.version + 1, maturityDate: null });
    const stale = await los.patch<Problem>(path, { terms: { ...LOAN_TERMS, apr: '5' }, version: lf.body.version });
    expect({ status: stale.status, code: stale.body.code }).toEqual({ status: 409, code: 'VERSION_CONFLICT' });
    const same = await los.patch<LoanFile>(path, { terms: LOAN_TERMS });
    expect(same.body.version).toBe(updated.body.version);
    const events = await auditLogOf(supervisor, { entityType: 'loan_file', entityId: lf.body.id, action: 'loan_file.updated' });
    expect(events.map((e) => e.data)).toEqual([expect.objectContaining({ fields: ['terms'], version: updated.body.version, termsSha256: expect.stringMatching(/^[0-9a-f]{64}$/) })]);
    const empty = await los.patch<Problem>(path, {});
    expect({ status: empty.status, code: empty.body.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
  });

  it('make a re-sent create with other terms a conflict, and with the same terms a replay', async () => {
    const body = loan({ terms: LOAN_TERMS });
    expect((await los.post('/api/loan-files', body)).status).toBe(201);
    expect((await los.post('/api/loan-files', body)).status).toBe(200);
    const clash = await los.post<Problem>('/api/loan-files', { ...body, terms: { ...LOAN_TERMS, dueDay: 1 } });
    expect({ status: clash.status, code: clash.body.code }).toEqual({ status: 409, code: 'EXTERNAL_REF_CONFLICT' });
  });
});

describe('scheduling with loan terms', () => {
  it('is refused with 422 naming every term the script needs and the loan file lacks', async () => {
    const bare = await los.post<LoanFile>('/api/loan-files', loan());
    const refused = await los.post<Problem>(`/api/loan-files/${bare.body.id}/sessions`, { partyId: bare.body.parties[0]!.id, kind: 'VIDEO' });
    expect(refused.status).toBe(422);
    expect(refused.contentType).toMatch(/^application\/problem\+json/);
    expect(refused.body.code).toBe('LOAN_TERMS_MISSING');
    for (const name of ['term', 'apr', 'fees', 'repaymentMethod', 'instalment', 'dueDay', 'lenderName', 'collateral']) expect(refused.body.detail).toContain(name);
    expect(refused.body.detail).not.toMatch(/\bamount\b/);
    expect(refused.body.errors).toEqual([{ in: 'body', field: 'templateKey', message: expect.stringContaining('apr') }]);
    expect((await verificationOf(los, bare.body.id)).parties.flatMap((p) => p.sessions)).toEqual([]);

    // The call script names no collateral: a loan file without it can have a call, but not without fees.
    const { fees: _fees, collateral: _collateral, ...partial } = LOAN_TERMS;
    const some = await los.post<LoanFile>('/api/loan-files', loan({ terms: partial }));
    const call = await los.post<Problem>(`/api/loan-files/${some.body.id}/sessions`, { partyId: some.body.parties[0]!.id, kind: 'CALL' });
    expect({ status: call.status, code: call.body.code, fields: call.body.errors?.map((e) => e.message) }).toEqual({
      status: 422,
      code: 'LOAN_TERMS_MISSING',
      fields: ['names loan terms the loan file lacks: fees'],
    });
    await los.patch(`/api/loan-files/${some.body.id}`, { terms: { ...partial, fees: [] } });
    expect((await los.post(`/api/loan-files/${some.body.id}/sessions`, { partyId: some.body.parties[0]!.id, kind: 'CALL' })).status).toBe(201);
  });

  it('snapshots the terms into the session: later loan-file edits do not change what its script says', async () => {
    const lf = await los.post<LoanFile>('/api/loan-files', loan({ terms: LOAN_TERMS, parties: [party('+8613805550162'), party('+8613805550163', 'en')] }));
    const [first, second] = lf.body.parties;
    const scheduled = await los.post<{ id: string }>(`/api/loan-files/${lf.body.id}/sessions`, { partyId: first!.id, kind: 'VIDEO' });
    expect(scheduled.status).toBe(201);
    const before = await supervisor.get<Checklist>(`/api/sessions/${scheduled.body.id}/checklist`);
    expect(before.body.loanTerms).toEqual({ ...LOAN_TERMS, amount: '88000.00', currency: 'CNY' });

    const changed = { ...LOAN_TERMS, apr: '5.5', dueDay: 1, collateral: { 'zh-CN': '车辆一台', en: 'a car' } };
    expect((await los.patch(`/api/loan-files/${lf.body.id}`, { terms: changed })).status).toBe(200);
    const after = await supervisor.get<Checklist>(`/api/sessions/${scheduled.body.id}/checklist`);
    expect(after.body.loanTerms).toEqual(before.body.loanTerms);
    expect(after.body.values).toEqual(before.body.values);
    expect(after.body.values['zh-CN'].apr).toBe('4.35%');

    const next = await los.post<{ id: string }>(`/api/loan-files/${lf.body.id}/sessions`, { partyId: second!.id, kind: 'VIDEO' });
    const nextChecklist = await supervisor.get<Checklist>(`/api/sessions/${next.body.id}/checklist`);
    expect(nextChecklist.body.values.en).toMatchObject({ apr: '5.50%', dueDay: '1', collateral: 'a car' });
    const scheduledEvent = (await auditEventsOf(supervisor, scheduled.body.id)).find((e) => e.entityId === scheduled.body.id && e.action === 'session.scheduled');
    expect(scheduledEvent?.data).toMatchObject({ loanTermsSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });

  it('serves every placeholder formatted for each language, leaving none of the loan terms unfilled', async () => {
    const terms = { ...LOAN_TERMS, fees: [...LOAN_TERMS.fees, { name: { 'zh-CN': '服务费', en: 'service fee' }, amount: '300', period: 'ONCE' }], collateral: null };
    const lf = await los.post<LoanFile>('/api/loan-files', loan({ terms, parties: [party('+8613805550164')] }));
    const session = await los.post<{ id: string }>(`/api/loan-files/${lf.body.id}/sessions`, { partyId: lf.body.parties[0]!.id, kind: 'VIDEO' });
    const checklist = (await supervisor.get<Checklist>(`/api/sessions/${session.body.id}/checklist`)).body;
    expect(checklist.values['zh-CN']).toMatchObject({
      amount: '¥88,000.00',
      term: '12个月',
      apr: '4.35%',
      fees: '另收取担保费每月¥50.00、服务费一次性¥300.00',
      repaymentMethod: '等额本息',
      instalment: '¥6,824.79',
      dueDay: '15',
      lenderName: '示例银行',
      collateral: '本笔贷款无抵押、无担保',
      phoneLast4: '0164',
    });
    expect(checklist.values.en).toMatchObject({
      amount: 'CN¥88,000.00',
      term: '12 months',
      apr: '4.35%',
      fees: 'there are these fees: guarantee fee, CN¥50.00 per month; service fee, CN¥300.00 once',
      lenderName: 'Example Bank',
      collateral: 'none: the loan is unsecured',
    });
    expect(typeof checklist.values['zh-CN'].livenessPrompt).toBe('string');
    // Nobody is assigned yet, so only the agent's name is still open.
    for (const locale of ['zh-CN', 'en'] as const) {
      const open = checklist.items.flatMap((i) => [...i.prompt[locale].matchAll(/\{(\w+)\}/g)].map((m) => m[1]!)).filter((name) => !(name in checklist.values[locale]));
      expect([...new Set(open)]).toEqual(['agentName']);
    }
  });
});
