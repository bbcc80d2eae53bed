// GET /api/audit-events: auditors, supervisors and administrators read the audit log by entity, action
// or request, oldest first, a page at a time; everyone else is refused, bad filters are a 400 naming
// the field, and reading writes nothing to the log.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/harness.js';
import type { ApiClient } from '../support/api-client.js';
import { losClient } from '../support/verification.js';
import { auditLogOf, type AuditEventView } from '../support/reads.js';

type Page = { items: AuditEventView[]; nextAfter: string | null };
type Problem = { code: string; status: number; errors?: { in: string; field: string; message: string }[] };

let t: TestApp;
let los: ApiClient;
let auditor: ApiClient;

const newLoanFile = () =>
  los.post<{ id: string; version: number; parties: { id: string }[] }>('/api/loan-files', {
    externalRef: `AE-${randomUUID().slice(0, 8)}`,
    product: 'audit-read',
    amount: '1000.00',
    currency: 'CNY',
    parties: [{ role: 'BORROWER', fullName: '李雷', phoneE164: '+8613805550171', timeZone: 'Asia/Shanghai', locale: 'zh-CN' }],
  });

beforeAll(async () => {
  t = await startTestApp();
  los = await losClient(t);
  auditor = await t.signIn({ roles: ['AUDITOR'] });
});
afterAll(async () => t?.stop());

describe('GET /api/audit-events', () => {
  it('is for auditors, supervisors and administrators: agents and LOS keys get 403, nobody signed in 401', async () => {
    const lf = await newLoanFile();
    const path = `/api/audit-events?entityType=loan_file&entityId=${lf.body.id}`;
    for (const roles of [['AUDITOR'], ['SUPERVISOR'], ['ADMIN']] as const) {
      const res = await (await t.signIn({ roles: [...roles] })).get<Page>(path);
      expect(res.status, roles[0]).toBe(200);
      expect(res.body.items.map((e) => e.action)).toEqual(['loan_file.created']);
    }
    const agent = await (await t.signIn({ roles: ['AGENT'] })).get<Problem>(path);
    expect([agent.status, agent.body.code]).toEqual([403, 'FORBIDDEN']);
    const key = await los.get<Problem>(path);
    expect([key.status, key.body.code]).toEqual([403, 'FORBIDDEN']);
    const anonymous = await t.client().get<Problem>(path);
    expect([anonymous.status, anonymous.body.code]).toEqual([401, 'UNAUTHENTICATED']);
  });

  it('filters by entity, by action and by the request that wrote the events, and shows each event as stored', async () => {
    const lf = await newLoanFile();
    const partyId = lf.body.parties[0]!.id;
    const patched = await los.patch<{ version: number }>(`/api/loan-files/${lf.body.id}`, { version: lf.body.version, maturityDate: '2031-06-30' });
    expect(patched.status).toBe(200);
    const requestId = patched.headers.get('x-request-id')!;

    const ofLoanFile = await auditLogOf(auditor, { entityType: 'loan_file', entityId: lf.body.id });
    expect(ofLoanFile.map((e) => e.action)).toEqual(['loan_file.created', 'loan_file.updated']);
    expect(ofLoanFile.every((e) => e.entityType === 'loan_file' && e.entityId === lf.body.id)).toBe(true);
    const updated = ofLoanFile[1]!;
    expect(updated).toMatchObject({ actorType: 'API_KEY', actionVersion: 1, requestId, data: { fields: ['maturityDate'], maturityDate: '2031-06-30' } });
    expect(BigInt(updated.seq)).toBeGreaterThan(BigInt(ofLoanFile[0]!.seq));

    expect((await auditLogOf(auditor, { entityType: 'loan_file', entityId: lf.body.id, action: 'loan_file.updated' })).map((e) => e.id)).toEqual([updated.id]);
    expect((await auditLogOf(auditor, { entityType: 'party', entityId: partyId })).map((e) => e.action)).toEqual(['party.added']);
    expect((await auditLogOf(auditor, { requestId })).map((e) => e.id)).toEqual([updated.id]);
    const updates = await auditLogOf(auditor, { action: 'loan_file.updated' });
    expect(updates.map((e) => e.id)).toContain(updated.id);
    expect(updates.every((e) => e.action === 'loan_file.updated')).toBe(true);
    expect(await auditLogOf(auditor, { entityType: 'user', entityId: lf.body.id })).toEqual([]);
  });

  it('pages oldest first: nextAfter leads through every event once, and is null on the last page', async () => {
    const lf = await newLoanFile();
    let version = lf.body.version;
    for (const maturityDate of ['2030-01-31', '2030-02-28', '2030-03-31']) {
      const res = await los.patch<{ version: number }>(`/api/loan-files/${lf.body.id}`, { version, maturityDate });
      expect(res.status).toBe(200);
      version = res.body.version;
    }
    const all = await auditLogOf(auditor, { entityType: 'loan_file', entityId: lf.body.id });
    expect(all.map((e) => e.action)).toEqual(['loan_file.created', 'loan_file.updated', 'loan_file.updated', 'loan_file.updated']);

    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const res: { status: number; body: Page } = await auditor.get<Page>(`/api/audit-events?entityType=loan_file&entityId=${lf.body.id}&limit=3${after ? `&after=${after}` : ''}`);
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((e) => e.id));
      after = res.body.nextAfter;
      pages += 1;
    } while (after);
    expect(pages).toBe(2);
    expect(seen).toEqual(all.map((e) => e.id));
    const seqs = all.map((e) => BigInt(e.seq));
    expect([...seqs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(seqs);

    const exact = await auditor.get<Page>(`/api/audit-events?entityType=loan_file&entityId=${lf.body.id}&limit=4`);
    expect([exact.body.items.length, exact.body.nextAfter]).toEqual([4, null]);
    const tail = await auditor.get<Page>(`/api/audit-events?entityType=loan_file&entityId=${lf.body.id}&after=${all[2]!.seq}`);
    expect(tail.body.items.map((e) => e.id)).toEqual([all[3]!.id]);
  });

  it('refuses bad filters with 400 VALIDATION_FAILED naming the field', async () => {
    const cases: [string, string][] = [
      [`entityId=${randomUUID()}`, 'entityType'],
      ['entityType=Loan-File', 'entityType'],
      ['action=loan_file.deleted', 'action'],
      ['after=abc', 'after'],
      ['after=0', 'after'],
      ['after=99999999999999999999', 'after'],
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      [`requestId=${'x'.repeat(65)}`, 'requestId'],
    ];
    for (const [query, field] of cases) {
      const res = await auditor.get<Problem>(`/api/audit-events?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.contentType).toContain('application/problem+json');
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(res.body.errors?.map((e) => [e.in, e.field]), query).toEqual([['query', field]]);
    }
  });

  it('writes nothing to the log: reading is not audited', async () => {
    const lf = await newLoanFile();
    const [last] = (await auditLogOf(auditor, {})).slice(-1);
    for (let i = 0; i < 3; i += 1) await auditLogOf(auditor, { entityType: 'loan_file', entityId: lf.body.id });
    expect((await auditor.get<Page>(`/api/audit-events?action=loan_file.created&limit=1`)).status).toBe(200);
    const since = await auditor.get<Page>(`/api/audit-events?after=${last!.seq}`);
    expect(since.status).toBe(200);
    expect(since.body.items).toEqual([]);
  });
});
