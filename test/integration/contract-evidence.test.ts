// The stored contract as evidence: every read of its bytes is audited (who, which loan file, which
// hash) and refused to roles that may not read it; the LOS may name it by URL with its SHA-256, which
// facesign fetches within the fetch policy and refuses on any mismatch, storing nothing; and it is
// kept under the recordings' retention, deleted by the sweep only when no session needs it. (Object
// Lock itself is proven against versitygw in test/livekit/object-lock.test.ts; s3rver here has none,
// so facesign alone enforces, exactly as for recordings.)
import { createHash } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContractRetention } from '../../recordings/contract-retention.service.js';
import { RecordingStore, createS3Client } from '../../recordings/object-store.js';
import { addYearsUtc } from '../../recordings/retention.js';
import type { ApiClient } from '../support/api-client.js';
import { contractPdf, uploadContract } from '../support/contracts.js';
import { createAttempt } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { losClient } from '../support/verification.js';
import { auditEventOf, auditLogOf } from '../support/reads.js';

const MAX_BYTES = 64 * 1024;
const FETCH_TIMEOUT_MS = 1_500;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let t: TestApp;
let los: ApiClient;
let reader: ApiClient;
let pdf: Buffer;
let origin: Server;
let port: number;
/** The bucket the app stores in, as the tests look into it. */
let store: RecordingStore;
const hanging = new Set<ServerResponse>();

interface Problem {
  code: string;
  detail: string;
}
interface ContractBody {
  id: string;
  sha256: string;
  sizeBytes: number;
}

beforeAll(async () => {
  pdf = await contractPdf(['借款金额：人民币 50,000.00 元', '年化利率（单利）：4.35%'], '合同');
  const big = Buffer.concat([pdf.subarray(0, pdf.length - 8), Buffer.alloc(MAX_BYTES), Buffer.from('\n%%EOF\n')]);
  // The LOS's document server, on loopback.
  origin = createServer((req, res) => {
    const path = req.url ?? '/';
    if (path === '/contract.pdf') return void res.writeHead(200, { 'content-type': 'application/pdf' }).end(pdf);
    if (path === '/moved') return void res.writeHead(302, { location: '/contract.pdf' }).end();
    if (path === '/elsewhere') return void res.writeHead(302, { location: `http://localhost:${port}/contract.pdf` }).end();
    if (path === '/not-a-pdf') return void res.writeHead(200, { 'content-type': 'application/pdf' }).end('<html>a login page</html>');
    if (path === '/big-declared') return void res.writeHead(200, { 'content-length': String(big.length) }).end(big);
    if (path === '/big-chunked') {
      // No Content-Length: the limit must hold while streaming.
      res.writeHead(200, { 'content-type': 'application/pdf' });
      for (let i = 0; i < big.length; i += 8192) res.write(big.subarray(i, i + 8192));
      return void res.end();
    }
    if (path === '/hangs') {
      hanging.add(res);
      return; // never answers
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  port = (origin.address() as AddressInfo).port;
  const hosts = `127.0.0.1:${port},localhost:${port}`;
  t = await startTestApp({
    FACESIGN_ROLES: 'api',
    CONTRACT_MAX_BYTES: String(MAX_BYTES),
    CONTRACT_FETCH_ALLOWED_HOSTS: hosts,
    CONTRACT_FETCH_HTTP_HOSTS: hosts,
    // Loopback by its address only: "localhost" is allowed as a host, but not to reach a private address.
    CONTRACT_FETCH_PRIVATE_HOSTS: `127.0.0.1:${port}`,
    CONTRACT_FETCH_CONNECT_TIMEOUT_MS: '500',
    CONTRACT_FETCH_TIMEOUT_MS: String(FETCH_TIMEOUT_MS),
  });
  los = await losClient(t);
  reader = await t.signIn({ roles: ['AUDITOR'] });
  store = new RecordingStore(createS3Client(t.facesign.config.s3), t.facesign.config.s3.bucket, t.facesign.config.recordings.sse);
});
afterAll(async () => {
  store?.s3.destroy();
  await t?.stop();
  for (const res of hanging) res.destroy();
  await new Promise((resolve) => origin?.close(resolve));
});

async function loanFile(): Promise<string> {
  const created = await los.post<{ id: string }>('/api/loan-files', { externalRef: `CE-${Math.random().toString(36).slice(2, 10)}`, product: 'consumer-loan', amount: '50000.00', currency: 'CNY', parties: [] });
  expect(created.status).toBe(201);
  return created.body.id;
}

const accessRows = (loanFileId: string) => auditLogOf(reader, { entityType: 'loan_file', entityId: loanFileId, action: 'contract.document_accessed' });

async function staff(role: 'AUDITOR' | 'SUPERVISOR' | 'AGENT' | 'ADMIN'): Promise<{ client: ApiClient; userId: string }> {
  const client = await t.signIn({ roles: [role] });
  const me = await client.get<{ id: string }>('/api/auth/me');
  expect(me.status).toBe(200);
  return { client, userId: me.body.id };
}

const read = (client: ApiClient, path: string, method: 'GET' | 'HEAD' = 'GET') =>
  fetch(`${t.url}${path}`, { method, headers: client.bearer ? { authorization: `Bearer ${client.bearer}` } : { cookie: client.cookieHeader() } });

describe('reads of the contract are audited', () => {
  it('a staff read of the loan file contract appends one audit row naming the reader and the hash; a HEAD sends no bytes and appends none', async () => {
    const loanFileId = await loanFile();
    expect((await uploadContract(los, loanFileId, pdf)).status).toBe(201);
    const auditor = await staff('AUDITOR');

    const res = await read(auditor.client, `/api/loan-files/${loanFileId}/contract/content`);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(pdf)).toBe(true);
    const rows = await accessRows(loanFileId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actorType: 'USER', actorId: auditor.userId, data: { loanFileId, sha256: sha(pdf), via: 'loan_file', sessionId: null } });

    expect((await read(auditor.client, `/api/loan-files/${loanFileId}/contract/content`, 'HEAD')).status).toBe(200);
    expect(await accessRows(loanFileId)).toHaveLength(1);

    // The LOS reading it back is a read too, by its API key.
    expect((await read(los, `/api/loan-files/${loanFileId}/contract/content`)).status).toBe(200);
    const second = (await accessRows(loanFileId))[1];
    expect(second).toMatchObject({ actorType: 'API_KEY', data: { sha256: sha(pdf), via: 'loan_file' } });
  });

  it("a read of a session's contract names the session; a role that may not read gets 403 or 404 and leaves no audit row", async () => {
    const { loanFile: file, session } = await createAttempt(t.facesign.db, { kind: 'VIDEO' });
    expect((await uploadContract(los, file.id, pdf)).status).toBe(201);
    // fixture: the session binds the contract, as scheduling a video session with one does
    await t.facesign.db.verificationSession.update({ where: { id: session.id }, data: { contractDocumentHash: sha(pdf) } });
    const supervisor = await staff('SUPERVISOR');
    const agent = await staff('AGENT');

    const res = await read(supervisor.client, `/api/sessions/${session.id}/contract/content`);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    expect(await accessRows(file.id)).toEqual([expect.objectContaining({ actorType: 'USER', actorId: supervisor.userId, data: { loanFileId: file.id, sha256: sha(pdf), via: 'session', sessionId: session.id } })]);

    // An agent may not read loan files' contracts, nor the contract of a session not assigned to them.
    const forbidden = await read(agent.client, `/api/loan-files/${file.id}/contract/content`);
    expect(forbidden.status).toBe(403);
    expect(((await forbidden.json()) as Problem).code).toBe('FORBIDDEN');
    expect((await read(agent.client, `/api/sessions/${session.id}/contract/content`)).status).toBe(404);
    expect((await read(t.client(), `/api/loan-files/${file.id}/contract/content`)).status).toBe(401);
    expect(await accessRows(file.id)).toHaveLength(1);
  });
});

describe('fetching the contract from a URL', () => {
  const fetchContract = (loanFileId: string, body: Record<string, unknown>) => los.post<ContractBody & Problem>(`/api/loan-files/${loanFileId}/contract/fetch`, body);
  // storage: nothing stored means no row at all, not only no current document (which GET .../contract shows)
  const stored = (loanFileId: string) => t.facesign.db.contractDocument.count({ where: { loanFileId } });

  it('fetches the PDF, checks the hash the LOS sent, and stores it as an upload does; a same-origin redirect is followed', async () => {
    const loanFileId = await loanFile();
    const res = await fetchContract(loanFileId, { url: `http://127.0.0.1:${port}/moved`, sha256: sha(pdf).toUpperCase() });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ sha256: sha(pdf), sizeBytes: pdf.length });
    const content = await read(los, `/api/loan-files/${loanFileId}/contract/content`);
    expect(Buffer.from(await content.arrayBuffer()).equals(pdf)).toBe(true);
    const storedEvent = await auditEventOf(reader, { entityType: 'loan_file', entityId: loanFileId, action: 'contract.document_stored' });
    // The origin only: a URL's path or query may carry a token.
    expect(storedEvent.data).toEqual({ loanFileId, sha256: sha(pdf), sizeBytes: pdf.length, fetchedFrom: `http://127.0.0.1:${port}` });

    const again = await fetchContract(loanFileId, { url: `http://127.0.0.1:${port}/contract.pdf`, sha256: sha(pdf) });
    expect(again.status).toBe(200);
    expect(await stored(loanFileId)).toBe(1);
  });

  it('refuses a hash mismatch, a body over the limit (declared or streamed), and what is not a PDF, storing nothing', async () => {
    const loanFileId = await loanFile();
    const cases: Array<[string, string, number, string]> = [
      ['/contract.pdf', 'ab'.repeat(32), 422, 'CONTRACT_HASH_MISMATCH'],
      ['/big-declared', 'ab'.repeat(32), 413, 'PAYLOAD_TOO_LARGE'],
      ['/big-chunked', 'ab'.repeat(32), 413, 'PAYLOAD_TOO_LARGE'],
      ['/not-a-pdf', sha(Buffer.from('<html>a login page</html>')), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['/missing', 'ab'.repeat(32), 502, 'CONTRACT_FETCH_FAILED'],
    ];
    for (const [path, hash, status, code] of cases) {
      const res = await fetchContract(loanFileId, { url: `http://127.0.0.1:${port}${path}`, sha256: hash });
      expect({ path, status: res.status, code: res.body.code }).toEqual({ path, status, code });
    }
    expect(await stored(loanFileId)).toBe(0);
    expect(await store.listKeys(`contracts/${loanFileId}/`)).toEqual([]);
  });

  it('refuses hosts not allowed, plain http where only https is, private addresses of a name, and a redirect to another origin', async () => {
    const loanFileId = await loanFile();
    const refused = async (url: string) => {
      const res = await fetchContract(loanFileId, { url, sha256: sha(pdf) });
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('CONTRACT_URL_NOT_ALLOWED');
      return res.body.detail;
    };
    expect(await refused(`http://127.0.0.2:${port}/contract.pdf`)).toContain('not in CONTRACT_FETCH_ALLOWED_HOSTS');
    expect(await refused(`http://127.0.0.1:${port + 1}/contract.pdf`)).toContain('not in CONTRACT_FETCH_ALLOWED_HOSTS');
    expect(await refused('https://files.example.com/contract.pdf')).toContain('not in CONTRACT_FETCH_ALLOWED_HOSTS');
    expect(await refused(`file:///etc/passwd`)).toContain('Only https');
    expect(await refused(`http://user:pw@127.0.0.1:${port}/contract.pdf`)).toContain('credentials');
    // "localhost" is an allowed host, but it resolves to loopback, which only 127.0.0.1 is allowed to be.
    expect(await refused(`http://localhost:${port}/contract.pdf`)).toContain('not a public address');
    expect(await refused(`http://127.0.0.1:${port}/elsewhere`)).toContain('another origin');
    expect(await stored(loanFileId)).toBe(0);
  });

  it('gives up on a server that does not answer (CONTRACT_FETCH_TIMEOUT), within the configured time', async () => {
    const loanFileId = await loanFile();
    const started = Date.now();
    const res = await fetchContract(loanFileId, { url: `http://127.0.0.1:${port}/hangs`, sha256: sha(pdf) });
    const took = Date.now() - started;
    expect(res.status).toBe(504);
    expect(res.body.code).toBe('CONTRACT_FETCH_TIMEOUT');
    expect(took).toBeGreaterThanOrEqual(FETCH_TIMEOUT_MS - 50);
    expect(took).toBeLessThan(FETCH_TIMEOUT_MS + 5_000);
    expect(await stored(loanFileId)).toBe(0);
  });

  it('is for the LOS, supervisors and admins only', async () => {
    const loanFileId = await loanFile();
    const auditor = await staff('AUDITOR');
    const res = await auditor.client.post<Problem>(`/api/loan-files/${loanFileId}/contract/fetch`, { url: `http://127.0.0.1:${port}/contract.pdf`, sha256: sha(pdf) });
    expect(res.status).toBe(403);
    expect(await stored(loanFileId)).toBe(0);
  });
});

describe('retention of the contract', () => {
  it('is the rule from when it was stored (facesign enforces: no Object Lock here), follows the recordings of sessions that bind it, and the sweep deletes it only when no session needs it', async () => {
    // storage: no API shows a contract's retention, hold or deletion; the sweep's effect on its row is the point
    const { config, log, db } = t.facesign;
    const contracts = new ContractRetention({ db, store, settings: { rules: config.recordings.retention, objectLockMode: config.recordings.objectLockMode }, log });
    const { loanFile: file, session, attempt } = await createAttempt(db, { kind: 'VIDEO' });
    const uploaded = await uploadContract(los, file.id, pdf);
    expect(uploaded.status).toBe(201);
    const row = await db.contractDocument.findFirstOrThrow({ where: { loanFileId: file.id } });
    // No maturity: RETENTION_YEARS_WITHOUT_MATURITY (10) from when it was stored; nothing locked by the store.
    expect(row.retainUntil).toEqual(addYearsUtc(row.createdAt, 10));
    expect(row.objectLockMode).toBeNull();
    await db.verificationSession.update({ where: { id: session.id }, data: { contractDocumentHash: sha(pdf) } });

    // A retained recording of the binding session, kept longer and on hold: the sweep brings the contract up to it.
    const recordingUntil = addYearsUtc(row.createdAt, 12);
    const recording = await db.recording.create({
      data: { attemptId: attempt.id, egressId: `EG_${attempt.id.slice(0, 8)}`, audioOnly: false, objectKey: `recordings/${attempt.id}.mp4`, state: 'RETAINED', retainUntil: recordingUntil, legalHold: true, verifiedAt: new Date() },
    });
    await contracts.sweep();
    expect(await db.contractDocument.findUniqueOrThrow({ where: { id: row.id } })).toMatchObject({ retainUntil: recordingUntil, legalHold: true, deletedAt: null });
    const applied = await auditLogOf(reader, { entityType: 'loan_file', entityId: file.id, action: 'contract.retention_applied' });
    expect(applied.map((e) => e.data)).toEqual([
      { sha256: sha(pdf), retainUntil: row.retainUntil!.toISOString(), enforcedBy: 'facesign', lockMode: null, legalHold: false },
      { sha256: sha(pdf), retainUntil: recordingUntil.toISOString(), enforcedBy: 'facesign', lockMode: null, legalHold: true },
    ]);

    const after = addYearsUtc(row.createdAt, 13);
    // The sweep is global (this file's other contracts are due by then too): look at this one.
    const kept = async () => {
      expect((await contracts.sweep(after)).failed).toBe(0);
      expect(await store.head(row.objectKey)).toBeDefined();
      expect((await db.contractDocument.findUniqueOrThrow({ where: { id: row.id } })).deletedAt).toBeNull();
    };
    // Held: kept. Released, but the session is still open and its recording is there: kept.
    await kept();
    await db.recording.update({ where: { id: recording.id }, data: { legalHold: false } });
    await kept();
    expect((await db.contractDocument.findUniqueOrThrow({ where: { id: row.id } })).legalHold).toBe(false);
    await db.verificationSession.update({ where: { id: session.id }, data: { state: 'COMPLETED' } });
    await kept();
    // The recording is deleted and the session closed: nothing needs the contract any more.
    await db.recording.update({ where: { id: recording.id }, data: { state: 'DELETED', deletedAt: after } });
    expect(await contracts.sweep(after)).toMatchObject({ failed: 0 });
    expect(await store.head(row.objectKey)).toBeUndefined();
    expect((await db.contractDocument.findUniqueOrThrow({ where: { id: row.id } })).deletedAt).toEqual(after);
    expect(await auditLogOf(reader, { entityType: 'loan_file', entityId: file.id, action: 'contract.deleted' })).toHaveLength(1);
    const gone = await read(los, `/api/loan-files/${file.id}/contract/content`);
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as Problem).detail).toContain('after its retention ended');
  });
});
