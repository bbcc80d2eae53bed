// The contract in the call: the LOS uploads the PDF (stored in the object store under the SHA-256
// facesign computes), a video session binds it, a hash that names no uploaded document is refused;
// in the call the assigned agent presents a page, the borrower's page reports the page it shows,
// the borrower signs, and the desk, the checklist and the loan file's verification result show it.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../support/api-client.js';
import { connectAgent } from '../support/agent-socket.js';
import { contractPdf, uploadContract } from '../support/contracts.js';
import { eventually } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { HttpSink } from '../support/http-sink.js';
import { auditEventsOf, auditLogOf, verificationOf } from '../support/reads.js';
import { ALWAYS_OPEN, loanFileWithBorrower, losClient, onlineAgent, stateOf, takeOffer } from '../support/verification.js';

let t: TestApp;
let los: ApiClient;
let reader: ApiClient;
let sms: HttpSink;
let pdf: Buffer;
let pdfV2: Buffer;
const MAX_BYTES = 256 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  sms = await HttpSink.start();
  t = await startTestApp({ ...ALWAYS_OPEN, NOTIFIER: 'http', NOTIFIER_URL: `${sms.url}/sms`, CONTRACT_MAX_BYTES: String(MAX_BYTES) }, { livekit: true });
  los = await losClient(t);
  reader = await t.signIn({ roles: ['AUDITOR'] });
  pdf = await contractPdf(['借款金额：人民币 80,000.00 元', '年化利率（单利）：4.35%', '还款方式：等额本息'], '合同 v1');
  pdfV2 = await contractPdf(['借款金额：人民币 80,000.00 元', '年化利率（单利）：3.95%'], '合同 v2');
});
afterAll(async () => {
  await t?.stop();
  await sms?.stop();
});

/** The evidence PDF of a session as text (poppler's pdftotext), whitespace removed (lines wrap anywhere). */
async function evidenceText(sessionId: string, reader: ApiClient): Promise<string> {
  const res = await fetch(`${t.url}/api/sessions/${sessionId}/evidence`, { headers: { cookie: reader.cookieHeader(), accept: 'application/pdf' } });
  expect(res.status).toBe(200);
  const file = join(await mkdtemp(join(tmpdir(), 'facesign-contract-')), 'evidence.pdf');
  await writeFile(file, Buffer.from(await res.arrayBuffer()));
  const { stdout } = await promisify(execFile)('pdftotext', ['-enc', 'UTF-8', file, '-']);
  return stdout.replace(/\s+/g, '');
}

let phones = 0;
const nextPhone = () => `+86139000027${String((phones += 1)).padStart(2, '0')}`;

describe('uploading the contract document', () => {
  it('stores the PDF under the SHA-256 facesign computes; the same bytes again change nothing; a new document becomes current', async () => {
    const { loanFileId } = await loanFileWithBorrower(los, { phone: nextPhone(), product: 'contract-upload' });
    const first = await uploadContract(los, loanFileId, pdf);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ loanFileId, sha256: sha(pdf), sizeBytes: pdf.length, contentUrl: `/api/loan-files/${loanFileId}/contract/content` });
    // The object store holds exactly these bytes, named by their hash.
    // storage: the object key is where the bytes live, which no API names
    const stored = await t.facesign.db.contractDocument.findFirstOrThrow({ where: { loanFileId } });
    expect(stored.objectKey).toBe(`contracts/${loanFileId}/${sha(pdf)}.pdf`);
    const content = await fetch(`${t.url}/api/loan-files/${loanFileId}/contract/content`, { headers: { authorization: `Bearer ${los.bearer!}` } });
    expect(content.status).toBe(200);
    expect(content.headers.get('content-type')).toBe('application/pdf');
    expect(Buffer.from(await content.arrayBuffer()).equals(pdf)).toBe(true);

    const again = await uploadContract(los, loanFileId, pdf);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    // storage: no API lists every document uploaded for a loan file, only the current one
    expect(await t.facesign.db.contractDocument.count({ where: { loanFileId } })).toBe(1);

    const second = await uploadContract(los, loanFileId, pdfV2);
    expect(second.status).toBe(201);
    expect((await los.get<{ sha256: string }>(`/api/loan-files/${loanFileId}/contract`)).body.sha256).toBe(sha(pdfV2));
    const audited = await auditLogOf(reader, { entityType: 'loan_file', entityId: loanFileId, action: 'contract.document_stored' });
    expect(audited.map((e) => (e.data as { sha256: string }).sha256)).toEqual([sha(pdf), sha(pdfV2)]);
  });

  it('refuses what is not a whole PDF, the wrong media type, an oversized body and an unknown loan file, with stable codes', async () => {
    const { loanFileId } = await loanFileWithBorrower(los, { phone: nextPhone(), product: 'contract-upload' });
    const html = Buffer.from('<html><script>alert(1)</script></html>'.padEnd(200, ' '));
    expect(await uploadContract(los, loanFileId, html)).toMatchObject({ status: 415, body: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
    // A PDF cut short (no end-of-file marker) is refused too.
    expect(await uploadContract(los, loanFileId, pdf.subarray(0, pdf.length - 200))).toMatchObject({ status: 415, body: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
    expect(await uploadContract(los, loanFileId, pdf, 'application/octet-stream')).toMatchObject({ status: 415, body: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
    const huge = Buffer.concat([pdf.subarray(0, 16), Buffer.alloc(MAX_BYTES), Buffer.from('\n%%EOF\n')]);
    const tooLarge = await uploadContract(los, loanFileId, huge);
    expect(tooLarge).toMatchObject({ status: 413, body: { code: 'PAYLOAD_TOO_LARGE' } });
    expect(tooLarge.contentType).toContain('application/problem+json');
    expect(await uploadContract(los, '00000000-0000-4000-8000-000000000000', pdf)).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect(await uploadContract(los, 'not-a-uuid', pdf)).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
    // Any stored document would be the current one.
    expect(await los.get(`/api/loan-files/${loanFileId}/contract`)).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
  });

  it('is for the LOS (loan-files:write), supervisors and admins; auditors only read; agents and the anonymous neither', async () => {
    const { loanFileId } = await loanFileWithBorrower(los, { phone: nextPhone(), product: 'contract-upload' });
    const admin = await t.signIn({ roles: ['ADMIN'] });
    const readOnlyKey = await admin.post<{ key: string }>('/api/api-keys', { name: 'reader', scopes: ['loan-files:read'] });
    const reader = t.client().withApiKey(readOnlyKey.body.key);
    const agent = await t.signIn({ roles: ['AGENT'] });
    const auditor = await t.signIn({ roles: ['AUDITOR'] });
    const supervisor = await t.signIn({ roles: ['SUPERVISOR'] });

    expect(await uploadContract(t.client(), loanFileId, pdf)).toMatchObject({ status: 401, body: { code: 'UNAUTHENTICATED' } });
    expect(await uploadContract(reader, loanFileId, pdf)).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    expect(await uploadContract(agent, loanFileId, pdf)).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    expect(await uploadContract(auditor, loanFileId, pdf)).toMatchObject({ status: 403, body: { code: 'FORBIDDEN' } });
    expect(await uploadContract(supervisor, loanFileId, pdf, 'application/pdf', { csrf: false })).toMatchObject({ status: 403, body: { code: 'CSRF_TOKEN_INVALID' } });
    expect(await los.get(`/api/loan-files/${loanFileId}/contract`)).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect((await uploadContract(supervisor, loanFileId, pdf)).status).toBe(201);
    expect((await uploadContract(admin, loanFileId, pdfV2)).status).toBe(201);

    expect((await auditor.get(`/api/loan-files/${loanFileId}/contract`)).status).toBe(200);
    expect((await reader.get(`/api/loan-files/${loanFileId}/contract`)).status).toBe(200);
    expect((await agent.get(`/api/loan-files/${loanFileId}/contract`)).status).toBe(403);
    // The OpenAPI document says who may upload.
    const openapi = await t.client().get<{ paths: Record<string, Record<string, { 'x-facesign-access': unknown }>> }>('/api/openapi.json');
    expect(openapi.body.paths['/api/loan-files/{id}/contract']?.put?.['x-facesign-access']).toEqual({ roles: ['SUPERVISOR', 'ADMIN'], apiKeyScope: 'loan-files:write' });
  });
});

describe('binding the contract when a video session is scheduled', () => {
  const schedule = (loanFileId: string, partyId: string, extra: Record<string, unknown> = {}) =>
    los.post<{ id: string; contractDocumentHash: string | null; code?: string; errors?: { field: string }[] }>(`/api/loan-files/${loanFileId}/sessions`, { partyId, kind: 'VIDEO', notBefore: new Date(Date.now() + 3600_000).toISOString(), ...extra });

  it('binds the current document; an explicit hash must name an uploaded document (CONTRACT_HASH_MISMATCH); without documents the hash alone is kept', async () => {
    const withDoc = await loanFileWithBorrower(los, { phone: nextPhone(), product: 'contract-bind' });
    expect((await uploadContract(los, withDoc.loanFileId, pdf)).status).toBe(201);
    const wrong = 'ab'.repeat(32);
    const refused = await schedule(withDoc.loanFileId, withDoc.partyId, { contractDocumentHash: wrong });
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('CONTRACT_HASH_MISMATCH');
    expect(refused.body.errors).toEqual([expect.objectContaining({ field: 'contractDocumentHash' })]);
    expect((await verificationOf(los, withDoc.loanFileId)).parties.flatMap((p) => p.sessions)).toEqual([]);

    const bound = await schedule(withDoc.loanFileId, withDoc.partyId);
    expect(bound.status).toBe(201);
    expect(bound.body.contractDocumentHash).toBe(sha(pdf));
    expect((await los.get<{ contractDocumentHash: string }>(`/api/sessions/${bound.body.id}`)).body.contractDocumentHash).toBe(sha(pdf));

    // A newer upload does not change a session already scheduled; an explicit hash of an earlier upload is accepted.
    const other = await loanFileWithBorrower(los, { phone: nextPhone(), product: 'contract-bind' });
    await uploadContract(los, other.loanFileId, pdf);
    await uploadContract(los, other.loanFileId, pdfV2);
    const earlier = await schedule(other.loanFileId, other.partyId, { contractDocumentHash: sha(pdf) });
    expect(earlier.status).toBe(201);
    expect(earlier.body.contractDocumentHash).toBe(sha(pdf));

    const hashOnly = await loanFileWithBorrower(los, { phone: nextPhone(), product: 'contract-bind' });
    const legacy = await schedule(hashOnly.loanFileId, hashOnly.partyId, { contractDocumentHash: wrong });
    expect(legacy.status).toBe(201);
    expect(legacy.body.contractDocumentHash).toBe(wrong);
    const none = await loanFileWithBorrower(los, { phone: nextPhone(), product: 'contract-bind' });
    const noContract = await schedule(none.loanFileId, none.partyId);
    expect(noContract.body.contractDocumentHash).toBeNull();

    // The verification result says, per session, what there is to sign and whether the document itself is stored.
    type Summary = { parties: { sessions: { id: string; contractDocumentHash: string | null; contractDocumentStored: boolean; signing: unknown }[] }[] };
    const summaryOf = async (loanFileId: string) => (await los.get<Summary>(`/api/loan-files/${loanFileId}/verification`)).body.parties[0]!.sessions[0]!;
    expect(await summaryOf(withDoc.loanFileId)).toMatchObject({ contractDocumentHash: sha(pdf), contractDocumentStored: true, signing: null });
    expect(await summaryOf(hashOnly.loanFileId)).toMatchObject({ contractDocumentHash: wrong, contractDocumentStored: false, signing: null });
    expect(await summaryOf(none.loanFileId)).toMatchObject({ contractDocumentHash: null, contractDocumentStored: false, signing: null });
  });
});

function connectParty(link: string, partyToken: string): Promise<{ socket: Socket; heard: { event: string; payload: Record<string, unknown> }[] }> {
  const socket = io(`${t.url}/party`, { transports: ['websocket'], auth: { link, partyToken }, reconnection: false, forceNew: true });
  const heard: { event: string; payload: Record<string, unknown> }[] = [];
  socket.onAny((event: string, payload: Record<string, unknown>) => heard.push({ event, payload }));
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve({ socket, heard }));
    socket.once('connect_error', reject);
  });
}

describe('the contract in the call', () => {
  it('the agent presents a page, the desk sees the page the borrower is on, and the signing reaches the desk, the checklist and the verification result', async () => {
    const phone = nextPhone();
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone, product: 'contract-call' });
    expect((await uploadContract(los, loanFileId, pdf)).status).toBe(201);
    const booked = await los.post<{ id: string }>(`/api/loan-files/${loanFileId}/sessions`, { partyId, kind: 'VIDEO', notBefore: new Date().toISOString() });
    expect(booked.status).toBe(201);
    const sessionId = booked.body.id;
    const texts = () => sms.received.map((r) => JSON.parse(r.body) as { to: string; text: string }).filter((m) => m.to === phone).map((m) => m.text);
    const link = /\/join\/([A-Za-z0-9_-]{43})/.exec((await eventually(async () => texts()[0]))!)![1]!;
    const party = t.client();
    await party.post(`/api/join/${link}/otp`, { purpose: 'join' });
    const code = (n: number) => eventually(async () => /(\d{6})/.exec(texts()[n] ?? '')?.[1]);
    const verified = await party.post<{ partyToken: string }>(`/api/join/${link}/otp/verify`, { code: await code(1) });
    const headers = { 'x-party-token': verified.body.partyToken };

    // The borrower reads the very document (and only with the party token).
    expect((await party.get(`/api/join/${link}/contract/content`)).status).toBe(401);
    const doc = await fetch(`${t.url}/api/join/${link}/contract/content`, { headers });
    expect(Buffer.from(await doc.arrayBuffer()).equals(pdf)).toBe(true);
    // The borrower's read is audited once, naming the borrower by the session (the refused read is not).
    const reads = await auditLogOf(reader, { entityType: 'loan_file', entityId: loanFileId, action: 'contract.document_accessed' });
    expect(reads).toEqual([expect.objectContaining({ actorType: 'BORROWER', actorId: sessionId, data: { loanFileId, sha256: sha(pdf), via: 'join', sessionId } })]);
    expect((await party.get(`/api/join/${link}/contract`, headers)).body).toMatchObject({ documentHash: sha(pdf), documentStored: true, presentedPage: null, signedAt: null });

    await party.post(`/api/join/${link}/consent`, { recording: true, dataProcessing: true, locale: 'zh-CN' }, headers);
    const ready = await party.post<{ token: string }>(`/api/join/${link}/ready`, undefined, headers);
    await t.sim!.control.join(ready.body.token);
    const agent = await onlineAgent(t, 'contract-call');
    await takeOffer(agent, sessionId);
    const grant = await agent.client.post<{ token: string }>(`/api/sessions/${sessionId}/join`);
    await t.sim!.control.join(grant.body.token);
    await stateOf(t, sessionId, 'IN_PROGRESS');
    const borrower = await connectParty(link, verified.body.partyToken);

    try {
      // Only the assigned agent presents: another agent does not learn the session exists, a supervisor is refused.
      const otherAgent = await connectAgent(t.url, await t.signIn({ roles: ['AGENT'] }));
      const supervisor = await connectAgent(t.url, await t.signIn({ roles: ['SUPERVISOR', 'AGENT'] }));
      expect(await otherAgent.emit('contract:present', { sessionId, page: 2 })).toMatchObject({ ok: false, code: 'NOT_FOUND' });
      expect(await supervisor.emit('contract:present', { sessionId, page: 2 })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
      otherAgent.close();
      supervisor.close();
      expect(borrower.heard.filter((h) => h.event === 'contract:present')).toEqual([]);

      expect(await agent.socket.emit('contract:present', { sessionId, page: 2 })).toEqual({ ok: true });
      await eventually(async () => borrower.heard.find((h) => h.event === 'contract:present'));
      expect(borrower.heard.filter((h) => h.event === 'contract:present').map((h) => h.payload)).toEqual([{ v: 1, page: 2 }]);
      await agent.socket.next('contract:changed', (p) => p.sessionId === sessionId && p.reason === 'presented');
      const presented = (await auditEventsOf(await t.signIn({ roles: ['AUDITOR'] }), sessionId)).find((e) => e.entityId === sessionId && e.action === 'contract.page_presented');
      expect(presented?.data).toMatchObject({ documentHash: sha(pdf), page: 2 });

      // The borrower's page reports the page it shows; the desk hears it and reads it back.
      expect(await new Promise((resolve) => borrower.socket.emit('contract:viewing', { page: 2 }, resolve))).toEqual({ ok: true });
      await agent.socket.next('contract:changed', (p) => p.sessionId === sessionId && p.reason === 'viewing');
      type View = { documentHash: string; documentStored: boolean; presentedPage: number; partyPage: number; signing: { documentHash: string; recordingOffsetMs: number; confirmedAt: string } | null };
      expect((await agent.client.get<View>(`/api/sessions/${sessionId}/contract`)).body).toMatchObject({ documentHash: sha(pdf), documentStored: true, presentedPage: 2, partyPage: 2, signing: null });
      const desk = await fetch(`${t.url}/api/sessions/${sessionId}/contract/content`, { headers: { cookie: agent.client.cookieHeader() } });
      expect(Buffer.from(await desk.arrayBuffer()).equals(pdf)).toBe(true);

      // "Signed with the code" cannot be ticked before the borrower signed.
      const early = await agent.client.request<{ code: string }>('PUT', `/api/sessions/${sessionId}/answers/contract_signing_otp`, { value: 'CONFIRMED' });
      expect(early).toMatchObject({ status: 422, body: { code: 'SIGNING_NOT_CONFIRMED' } });

      await party.post(`/api/join/${link}/otp`, { purpose: 'sign' }, headers);
      const signed = await party.post<{ confirmedAt: string }>(`/api/join/${link}/sign`, { code: await code(2) }, headers);
      expect(signed.status).toBe(201);
      await agent.socket.next('contract:changed', (p) => p.sessionId === sessionId && p.reason === 'signed');
      const view = (await agent.client.get<View>(`/api/sessions/${sessionId}/contract`)).body;
      expect(view.signing).toMatchObject({ documentHash: sha(pdf), confirmedAt: signed.body.confirmedAt });
      expect(view.signing!.recordingOffsetMs).toBeGreaterThanOrEqual(0);
      expect((await agent.client.request('PUT', `/api/sessions/${sessionId}/answers/contract_signing_otp`, { value: 'CONFIRMED' })).status).toBe(200);

      // The evidence PDF shows the signing: when, where in the recording, which document.
      const pdfText = await evidenceText(sessionId, await t.signIn({ roles: ['AUDITOR'] }));
      expect(pdfText).toContain('Contractsigning');
      expect(pdfText).toContain(`Signedat:${signed.body.confirmedAt}`);
      expect(pdfText).toContain(`DocumentSHA-256:${sha(pdf)}`);

      type Summary = { parties: { sessions: { signing: View['signing'] }[] }[] };
      const summary = await los.get<Summary>(`/api/loan-files/${loanFileId}/verification`);
      expect(summary.body.parties[0]!.sessions[0]!.signing).toEqual({ ...view.signing, id: expect.any(String), attemptId: expect.any(String) });
    } finally {
      borrower.socket.close();
      agent.socket.close();
    }
  });

  it('without a contract the session says so, and the signing item cannot be confirmed', async () => {
    const { loanFileId, partyId } = await loanFileWithBorrower(los, { phone: nextPhone(), product: 'contract-none' });
    const booked = await los.post<{ id: string }>(`/api/loan-files/${loanFileId}/sessions`, { partyId, kind: 'VIDEO', notBefore: new Date(Date.now() + 3600_000).toISOString() });
    const supervisor = await t.signIn({ roles: ['SUPERVISOR'] });
    expect((await supervisor.get(`/api/sessions/${booked.body.id}/contract`)).body).toMatchObject({ documentHash: null, documentStored: false, signing: null });
    expect((await supervisor.get<{ code: string; detail: string }>(`/api/sessions/${booked.body.id}/contract/content`)).body).toMatchObject({ code: 'NOT_FOUND', detail: 'There is no contract to sign in this session' });
    expect(await evidenceText(booked.body.id, supervisor)).toContain('Nocontracttosigninthissession');
    // An agent it is not assigned to does not see it at all.
    const agent = await t.signIn({ roles: ['AGENT'] });
    expect((await agent.get(`/api/sessions/${booked.body.id}/contract`)).status).toBe(404);
  });
});
