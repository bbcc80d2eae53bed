import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/harness.js';
import { createAttempt, eventually } from '../support/fixtures.js';
import type { ApiClient } from '../support/api-client.js';
import { auditEventOf, auditEventsOf, auditLogOf, loanFileOf, type RecordingRetentionView as RecordingRetention } from '../support/reads.js';

interface LoanFile {
  id: string;
  externalRef: string;
  amount: string;
  status: string;
  maturityDate: string | null;
  version: number;
  parties: { id: string; phoneE164: string; fullName: string; version: number; locale: string }[];
}
interface Problem {
  code: string;
  errors?: { in: string; field: string; message: string }[];
}

let t: TestApp;
let los: ApiClient;
let supervisor: ApiClient;

const borrower = { role: 'BORROWER', fullName: '李雷', phoneE164: '+8613812345678', timeZone: 'Asia/Shanghai', locale: 'zh-CN', idNumberLast4: '123x' };
const loan = (ref: string, extra: Record<string, unknown> = {}) => ({ externalRef: ref, product: 'consumer-loan', amount: '50000.00', currency: 'CNY', ...extra });

beforeAll(async () => {
  t = await startTestApp();
  const admin = await t.signIn({ roles: ['ADMIN'] });
  const key = await admin.post<{ key: string }>('/api/api-keys', { name: 'LOS', scopes: ['loan-files:read', 'loan-files:write'] });
  los = t.client().withApiKey(key.body.key);
  supervisor = await t.signIn({ roles: ['SUPERVISOR'] });
});
afterAll(async () => t?.stop());

describe('creating loan files', () => {
  it('creates a loan file with its parties and audits each', async () => {
    const res = await los.post<LoanFile>('/api/loan-files', loan('LF-1', { parties: [borrower] }));
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ externalRef: 'LF-1', amount: '50000.00', status: 'NEW' });
    expect(res.body.parties[0]).toMatchObject({ phoneE164: '+8613812345678', idNumberLast4: '123X', version: 0 });
    const audit = await auditLogOf(supervisor, { requestId: res.headers.get('x-request-id')! });
    expect(audit.map((a) => [a.action, a.actorType])).toEqual([
      ['loan_file.created', 'API_KEY'],
      ['party.added', 'API_KEY'],
    ]);
    // The audit chain never holds personal data.
    expect(JSON.stringify(audit.map((a) => a.data))).not.toContain('13812345678');
  });

  it('returns the same loan file for the same externalRef, and 409 for different terms', async () => {
    const first = await los.post<LoanFile>('/api/loan-files', loan('LF-2'));
    const again = await los.post<LoanFile>('/api/loan-files', loan('LF-2'));
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    const clash = await los.post<Problem>('/api/loan-files', loan('LF-2', { amount: '60000' }));
    expect(clash.status).toBe(409);
    expect(clash.body.code).toBe('EXTERNAL_REF_CONFLICT');
  });

  it('yields exactly one row under 12 concurrent identical creates', async () => {
    const results = await Promise.all(Array.from({ length: 12 }, () => los.post<LoanFile>('/api/loan-files', loan('LF-RACE', { parties: [borrower] }))));
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    const listed = await los.get<{ items: LoanFile[] }>('/api/loan-files?externalRef=LF-RACE');
    expect(listed.body.items.map((lf) => lf.id)).toEqual([results[0]!.body.id]);
    expect((await loanFileOf(los, results[0]!.body.id)).parties).toHaveLength(1);
  });

  it('replays an Idempotency-Key, also under concurrency, and refuses its reuse with another body', async () => {
    const key = { 'idempotency-key': 'req-7f3a' };
    const results = await Promise.all(Array.from({ length: 8 }, () => los.post<LoanFile>('/api/loan-files', loan('LF-IDEM'), key)));
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    // A replay repeats the original response, status included.
    expect(results.every((r) => r.status === 201)).toBe(true);
    expect(results.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(7);
    const reuse = await los.post<Problem>('/api/loan-files', loan('LF-OTHER'), key);
    expect(reuse.status).toBe(422);
    expect(reuse.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect((await los.get<{ items: LoanFile[] }>('/api/loan-files?externalRef=LF-OTHER')).body.items).toEqual([]);
  });

  it('gives each invalid field its own error entry', async () => {
    const res = await los.post<Problem>('/api/loan-files', {
      externalRef: 'x'.repeat(129),
      product: 'p',
      amount: '-5',
      currency: 'yuan',
      parties: [{ role: 'UNCLE', fullName: 'A', phoneE164: '13812345678', timeZone: 'Mars/Olympus', locale: 'fr' }],
    });
    expect(res.status).toBe(400);
    expect(res.contentType).toContain('application/problem+json');
    expect(res.body.code).toBe('VALIDATION_FAILED');
    const byField = Object.fromEntries(res.body.errors!.map((e) => [e.field, e.message]));
    expect(Object.keys(byField).sort()).toEqual([
      'amount',
      'currency',
      'externalRef',
      'parties.0.locale',
      'parties.0.phoneE164',
      'parties.0.role',
      'parties.0.timeZone',
    ]);
    expect(byField.amount).toBe('must be positive');
    expect(byField['parties.0.phoneE164']).toMatch(/E\.164/);
    expect(byField['parties.0.timeZone']).toMatch(/IANA/);
    expect(byField.externalRef).toMatch(/at most 128/);
    expect(res.body.errors!.every((e) => e.in === 'body')).toBe(true);
  });

  it('keeps the product\'s display name from the LOS, in either or both languages, and names a bad one', async () => {
    const named = await los.post<LoanFile & { productName: unknown }>('/api/loan-files', loan('LF-NAME-1', { productName: { 'zh-CN': '安居消费贷', en: 'Home Consumer Loan' } }));
    expect(named.status).toBe(201);
    expect(named.body.productName).toEqual({ 'zh-CN': '安居消费贷', en: 'Home Consumer Loan' });
    expect((await los.get<{ productName: unknown }>(`/api/loan-files/${named.body.id}`)).body.productName).toEqual({ 'zh-CN': '安居消费贷', en: 'Home Consumer Loan' });
    const chineseOnly = await los.post<{ productName: unknown }>('/api/loan-files', loan('LF-NAME-2', { productName: { 'zh-CN': '安居消费贷' } }));
    expect(chineseOnly.body.productName).toEqual({ 'zh-CN': '安居消费贷' });
    expect((await los.post<{ productName: unknown }>('/api/loan-files', loan('LF-NAME-3'))).body.productName).toBeNull();
    for (const bad of [{}, { en: '' }, { fr: 'Prêt' }]) {
      const refused = await supervisor.post<Problem>('/api/loan-files', loan('LF-NAME-4', { productName: bad }));
      expect(refused.status).toBe(400);
      expect(refused.body.errors?.[0]?.field).toMatch(/^productName/);
    }
    // The same reference with another name is another loan file's data.
    expect((await los.post<Problem>('/api/loan-files', loan('LF-NAME-1', { productName: { en: 'Other' } }))).body.code).toBe('EXTERNAL_REF_CONFLICT');
  });

  it('reports malformed JSON and non-JSON bodies clearly', async () => {
    const broken = await los.request<Problem>('POST', '/api/loan-files', undefined, { 'content-type': 'application/json' }, { raw: '{"externalRef":' });
    expect(broken.status).toBe(400);
    expect(broken.body.code).toBe('MALFORMED_BODY');
    const text = await los.request<Problem>('POST', '/api/loan-files', undefined, { 'content-type': 'text/plain' }, { raw: 'hello' });
    expect(text.status).toBe(415);
  });
});

describe('reading loan files', () => {
  it('gets one by id; 404 for unknown, 400 for a malformed id', async () => {
    const created = await los.post<LoanFile>('/api/loan-files', loan('LF-GET', { parties: [borrower] }));
    const got = await supervisor.get<LoanFile>(`/api/loan-files/${created.body.id}`);
    expect(got.status).toBe(200);
    expect(got.body.parties).toHaveLength(1);
    expect((await supervisor.get<Problem>('/api/loan-files/00000000-0000-4000-8000-000000000000')).body.code).toBe('NOT_FOUND');
    const bad = await supervisor.get<Problem>('/api/loan-files/not-a-uuid');
    expect(bad.status).toBe(400);
    expect(bad.body.errors![0]).toMatchObject({ in: 'params', field: 'id' });
  });

  it('lists with filters and stable cursor pagination', async () => {
    for (let i = 0; i < 7; i += 1) await los.post('/api/loan-files', loan(`PAGE-${i}`, { product: 'mortgage' }));
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { status: number; body: { items: LoanFile[]; nextCursor: string | null } } = await los.get(`/api/loan-files?product=mortgage&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      seen.push(...res.body.items.map((i) => i.externalRef));
      cursor = res.body.nextCursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(['PAGE-6', 'PAGE-5', 'PAGE-4', 'PAGE-3', 'PAGE-2', 'PAGE-1', 'PAGE-0']);
    const none = await los.get<{ items: LoanFile[] }>('/api/loan-files?product=mortgage&status=VERIFIED');
    expect(none.body.items).toEqual([]);
    const badQuery = await los.get<Problem>('/api/loan-files?limit=1000&status=DONE&cursor=zzz');
    expect(badQuery.status).toBe(400);
    expect(badQuery.body.errors!.map((e) => e.field).sort()).toEqual(['limit', 'status']);
    const badCursor = await los.get<Problem>('/api/loan-files?cursor=zzz');
    expect(badCursor.body.errors![0]).toMatchObject({ in: 'query', field: 'cursor' });
  });
});

describe('parties', () => {
  it('adds and updates a party, conditionally on its version', async () => {
    const lf = await los.post<LoanFile>('/api/loan-files', loan('LF-PARTY'));
    const added = await los.post<LoanFile['parties'][number]>(`/api/loan-files/${lf.body.id}/parties`, { ...borrower, role: 'GUARANTOR', locale: undefined });
    expect(added.status).toBe(201);
    expect(added.body.locale).toBe('zh-CN');
    const path = `/api/loan-files/${lf.body.id}/parties/${added.body.id}`;
    const updated = await supervisor.patch<LoanFile['parties'][number]>(path, { phoneE164: '+8613900000000', version: 0 });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ phoneE164: '+8613900000000', version: 1, locale: 'zh-CN', fullName: '李雷' });
    const stale = await supervisor.patch<Problem>(path, { fullName: 'Someone', version: 0 });
    expect(stale.status).toBe(409);
    expect(stale.body.code).toBe('VERSION_CONFLICT');
    expect((await supervisor.patch<Problem>(path, { version: 1 })).status).toBe(400);
    expect((await supervisor.patch<Problem>(path, { phoneE164: 'call me' })).body.errors![0]!.field).toBe('phoneE164');
    const audit = await auditEventOf(supervisor, { entityType: 'party', entityId: added.body.id, action: 'party.updated' });
    expect(audit.data).toEqual({ loanFileId: lf.body.id, fields: ['phoneE164'], version: 1 });
  });

  it('refuses parties for unknown loan files', async () => {
    const res = await los.post<Problem>('/api/loan-files/00000000-0000-4000-8000-000000000000/parties', borrower);
    expect(res.status).toBe(404);
  });
});

describe('maturity date', () => {
  it('is accepted at creation, validated, and shown', async () => {
    const res = await los.post<LoanFile>('/api/loan-files', loan('LF-MAT-1', { maturityDate: '2031-06-30' }));
    expect(res.status).toBe(201);
    expect(res.body.maturityDate).toBe('2031-06-30');
    expect((await los.get<LoanFile>(`/api/loan-files/${res.body.id}`)).body.maturityDate).toBe('2031-06-30');
    const created = await auditEventOf(supervisor, { entityType: 'loan_file', entityId: res.body.id, action: 'loan_file.created' });
    expect(created.data).toMatchObject({ maturityDate: '2031-06-30' });
    const bad = await los.post<Problem>('/api/loan-files', loan('LF-MAT-2', { maturityDate: '2031-02-30' }));
    expect(bad.status).toBe(400);
    expect(bad.body.errors![0]!.field).toBe('maturityDate');
    // The same externalRef with another maturity is not the same loan file: PATCH changes it.
    expect((await los.post<Problem>('/api/loan-files', loan('LF-MAT-1', { maturityDate: '2032-06-30' }))).body.code).toBe('EXTERNAL_REF_CONFLICT');
    expect((await los.post<LoanFile>('/api/loan-files', loan('LF-MAT-1'))).status).toBe(200);
  });

  it('is changed by PATCH (at a version, audited), and the retained recordings follow it', async () => {
    const db = t.facesign.db;
    const { loanFile, attempt } = await createAttempt(db, { kind: 'CALL' });
    const lf = await los.get<LoanFile>(`/api/loan-files/${loanFile.id}`);
    expect(lf.body.maturityDate).toBeNull();
    // A recording retained while the maturity was unknown: verification + 10 years.
    // fixture: recordings come only from LiveKit egress, which this test does not run
    const rec = await db.recording.create({
      data: {
        attemptId: attempt.id,
        egressId: `EG_${randomUUID().slice(0, 12)}`,
        audioOnly: true,
        objectKey: `recordings/${attempt.id}.ogg`,
        state: 'RETAINED',
        verifiedAt: new Date('2026-01-15T08:00:00.000Z'),
        retainUntil: new Date('2036-01-15T08:00:00.000Z'),
      },
    });

    const path = `/api/loan-files/${lf.body.id}`;
    // A date that keeps the recording longer (2031 + 5 years is after 2036-01-15): the LOS may set it.
    // One that would keep it for less is an admin's change (security-data.test.ts).
    const changed = await los.patch<LoanFile>(path, { maturityDate: '2031-06-30', version: lf.body.version });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ maturityDate: '2031-06-30', version: lf.body.version + 1 });
    const stale = await los.patch<Problem>(path, { maturityDate: '2030-12-31', version: lf.body.version });
    expect(stale.status).toBe(409);
    expect(stale.body.code).toBe('VERSION_CONFLICT');
    expect((await supervisor.patch<Problem>(path, { maturityDate: 'soon' })).body.errors![0]!.field).toBe('maturityDate');
    const audit = await auditEventOf(supervisor, { entityType: 'loan_file', entityId: lf.body.id, action: 'loan_file.updated' });
    expect(audit.data).toEqual({ fields: ['maturityDate'], maturityDate: '2031-06-30', version: lf.body.version + 1 });

    // The worker recomputes: maturity + 5 years (s3rver has no Object Lock, so facesign enforces it).
    const auditor = await t.signIn({ roles: ['AUDITOR'] });
    const recomputed = await eventually(async () => {
      const retention = (await auditor.get<RecordingRetention>(`/api/recordings/${rec.id}/retention`)).body;
      return retention.retainUntil === '2036-06-30T00:00:00.000Z' ? retention : undefined;
    });
    expect(recomputed).toMatchObject({ objectLockMode: null, enforcedBy: 'facesign' });
    const event = (await auditEventsOf(auditor, attempt.sessionId)).find((e) => e.entityId === rec.id && e.action === 'recording.retention_changed');
    expect(event?.data).toEqual({ from: '2036-01-15T08:00:00.000Z', to: '2036-06-30T00:00:00.000Z', maturityDate: '2031-06-30', enforcedBy: 'facesign', lockMode: null, lockExtended: false });

    // Setting the same date again changes nothing and audits nothing.
    expect((await los.patch<LoanFile>(path, { maturityDate: '2031-06-30' })).body.version).toBe(lf.body.version + 1);
    expect(await auditLogOf(supervisor, { entityType: 'loan_file', entityId: lf.body.id, action: 'loan_file.updated' })).toHaveLength(1);
  });
});

describe('logs', () => {
  it('never contain a full phone number or name', async () => {
    await los.post('/api/loan-files', loan('LF-LOG', { parties: [{ ...borrower, phoneE164: '+8613787654321', fullName: '韩梅梅' }] }));
    await los.post('/api/loan-files', loan('LF-LOG-BAD', { parties: [{ ...borrower, phoneE164: '+8613787654321x' }] }));
    const all = t.logs.join('\n');
    expect(t.logs.length).toBeGreaterThan(5);
    expect(all).not.toContain('13787654321');
    expect(all).not.toContain('韩梅梅');
  });
});
