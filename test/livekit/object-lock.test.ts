// Recording retention against a real WORM bucket: versitygw (built by dev/real-livekit/install.sh)
// with S3 Object Lock and versioning, facesign wired to it by startTestApp exactly as main.ts wires
// production. Every test asks the store itself (GetObjectRetention, GetObjectLegalHold,
// ListObjectVersions, DeleteObject by version id) what it enforces, not only facesign's rows.
import { randomUUID } from 'node:crypto';
import {
  DeleteObjectCommand,
  GetObjectLegalHoldCommand,
  GetObjectRetentionCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  PutObjectLegalHoldCommand,
  PutObjectRetentionCommand,
  S3ServiceException,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startVersityGw, type RunningVersityGw } from '../../dev/real-livekit/versitygw.js';
import { createS3Client, RecordingStore } from '../../recordings/object-store.js';
import { RetentionService } from '../../recordings/retention.service.js';
import { ContractRetention } from '../../recordings/contract-retention.service.js';
import { contractPdf, uploadContract } from '../support/contracts.js';
import { losClient } from '../support/verification.js';
import type { Db } from '../../server/db/client.js';
import type { ApiClient } from '../support/api-client.js';
import { verifiedRecording as storedRecording } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { retentionOf } from '../support/reads.js';
import { sealAuditChain } from '../../server/audit/audit-sealer.service.js';
import { verifyAuditLog } from '../../server/audit/log-verify.js';
import { treeHeadObjectKey, treeLeavesObjectKey } from '../../server/audit/tree-head.js';

const WORM_BUCKET = 'facesign-worm';
/** Maturity 2030-06-30: the default rules (5 years after maturity) retain until 2035-06-30. */
const NOT_DUE = { maturityDate: '2030-06-30', retainUntil: '2035-06-30T00:00:00.000Z' } as const;
/** Maturity 2010-01-31, verified 2015-06-01: due since 2015-06-01, so facesign locks nothing, it only holds. */
const DUE = { maturityDate: '2010-01-31', verifiedAt: new Date('2015-06-01T00:00:00.000Z') } as const;
/**
 * Object Lock refuses a retain-until date in the past and the rules count in months and years, so a
 * lock that ends while the test runs comes from a loan that matured long ago and a recording
 * "verified" this far ahead: the rule then retains it until exactly its verification instant.
 */
const SHORT_LOCK_MS = 4_000;

interface RetentionBody {
  state: string;
  retainUntil: string | null;
  legalHold: boolean;
  objectLockMode: string | null;
  enforcedBy: string | null;
}
interface Problem {
  code: string;
  detail: string;
}

let gw: RunningVersityGw;
let t: TestApp;
let db: Db;
/** The bucket as any S3 client sees it: how the tests ask the store what it enforces. */
let s3: S3Client;
/** Built from the app's config exactly as main.ts builds its own (which serves the routes). */
let service: RetentionService;
let admin: ApiClient;
let auditor: ApiClient;

beforeAll(async () => {
  gw = await startVersityGw({ buckets: [{ name: WORM_BUCKET, objectLock: true }] });
  t = await startTestApp({
    // No workers: only this file retains and sweeps, when it says so.
    FACESIGN_ROLES: 'api',
    S3_ENDPOINT: gw.endpoint,
    S3_REGION: gw.region,
    S3_BUCKET: WORM_BUCKET,
    S3_ACCESS_KEY_ID: gw.accessKeyId,
    S3_SECRET_ACCESS_KEY: gw.secretAccessKey,
    S3_FORCE_PATH_STYLE: 'true',
    OBJECT_LOCK_MODE: 'COMPLIANCE',
    // No floor after verification: the short-lock test needs a retention that ends in seconds.
    RETENTION_MONTHS_MIN_AFTER_VERIFICATION: '0',
  });
  db = t.facesign.db;
  const { config, log } = t.facesign;
  s3 = createS3Client(config.s3);
  service = new RetentionService({ db, store: new RecordingStore(s3, config.s3.bucket, config.recordings.sse), settings: { rules: config.recordings.retention, objectLockMode: config.recordings.objectLockMode }, log });
  admin = await t.signIn({ roles: ['ADMIN'] });
  auditor = await t.signIn({ roles: ['AUDITOR'] });
});
afterAll(async () => {
  s3?.destroy();
  await t?.stop();
  await gw?.stop();
});

/** A VERIFIED recording whose object is in the WORM bucket; with `history`, the key already had an upload and a delete marker. */
async function verifiedRecording(options: { maturityDate: string; verifiedAt?: Date; history?: boolean }) {
  return storedRecording(
    db,
    async (key, body) => {
      if (options.history) {
        await s3.send(new PutObjectCommand({ Bucket: WORM_BUCKET, Key: key, Body: 'an earlier, failed upload', ContentType: 'audio/ogg' }));
        await s3.send(new DeleteObjectCommand({ Bucket: WORM_BUCKET, Key: key }));
      }
      await s3.send(new PutObjectCommand({ Bucket: WORM_BUCKET, Key: key, Body: body, ContentType: 'audio/ogg' }));
    },
    { maturityDate: options.maturityDate, verifiedAt: options.verifiedAt ?? new Date() },
  );
}

/** The recording's retention as auditors read it. */
const row = (id: string) => retentionOf(auditor, id);

/** Every version and delete marker the store keeps for exactly this key, newest first. */
async function versionsOf(key: string): Promise<{ versions: string[]; deleteMarkers: string[] }> {
  const res = await s3.send(new ListObjectVersionsCommand({ Bucket: WORM_BUCKET, Prefix: key }));
  return {
    versions: (res.Versions ?? []).filter((v) => v.Key === key).map((v) => v.VersionId ?? '?'),
    deleteMarkers: (res.DeleteMarkers ?? []).filter((m) => m.Key === key).map((m) => m.VersionId ?? '?'),
  };
}

async function currentVersion(key: string): Promise<string> {
  const res = await s3.send(new ListObjectVersionsCommand({ Bucket: WORM_BUCKET, Prefix: key }));
  const latest = (res.Versions ?? []).find((v) => v.Key === key && v.IsLatest);
  if (!latest?.VersionId) throw new Error(`no current version of ${key}`);
  return latest.VersionId;
}

/** The retention the store reports for a version (the current one without a version id). */
async function storeRetention(key: string, versionId?: string): Promise<{ mode: string | undefined; until: string | undefined }> {
  const res = await s3.send(new GetObjectRetentionCommand({ Bucket: WORM_BUCKET, Key: key, ...(versionId ? { VersionId: versionId } : {}) }));
  return { mode: res.Retention?.Mode, until: res.Retention?.RetainUntilDate?.toISOString() };
}

async function storeLegalHold(key: string): Promise<string | undefined> {
  return (await s3.send(new GetObjectLegalHoldCommand({ Bucket: WORM_BUCKET, Key: key }))).LegalHold?.Status;
}

/** The store's error for a request it must refuse; fails the test if the store accepts it. */
async function refusal(request: Promise<unknown>): Promise<{ code: string; status: number | undefined }> {
  try {
    await request;
  } catch (error) {
    if (error instanceof S3ServiceException) return { code: error.name, status: error.$metadata.httpStatusCode };
    throw error;
  }
  throw new Error('the store accepted a request it must refuse');
}

const deleteVersion = (key: string, versionId: string, bypassGovernance = false) =>
  s3.send(new DeleteObjectCommand({ Bucket: WORM_BUCKET, Key: key, VersionId: versionId, ...(bypassGovernance ? { BypassGovernanceRetention: true } : {}) }));

const OBJECT_LOCKED = { code: 'AccessDenied', status: 403 };

async function sleepUntil(instant: number): Promise<void> {
  const ms = instant - Date.now();
  if (ms > SHORT_LOCK_MS * 2) throw new Error(`refusing to wait ${ms} ms`);
  if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
}

describe('COMPLIANCE lock', () => {
  it('the app finds Object Lock on the bucket and enforces retention through it', async () => {
    const ready = await t.client().get<{ checks: Record<string, { status: string; info?: Record<string, string | null> }> }>('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.checks.objectStorage?.status).toBe('up');
    expect(ready.body.checks.retention?.info).toEqual({ enforcedBy: 'object_lock', mode: 'COMPLIANCE' });
  });

  it('is applied by retain(): the store reports the mode and retain-until date facesign recorded', async () => {
    const rec = await verifiedRecording({ maturityDate: NOT_DUE.maturityDate });
    expect(await service.retain(rec.id)).toEqual({ kind: 'retained', retainUntil: new Date(NOT_DUE.retainUntil), enforcedBy: 'object_lock', lockMode: 'COMPLIANCE' });

    const after = await row(rec.id);
    expect(after).toMatchObject({ state: 'RETAINED', objectLockMode: 'COMPLIANCE' });
    const view = await auditor.get<RetentionBody>(`/api/recordings/${rec.id}/retention`);
    expect(view.body).toMatchObject({ state: 'RETAINED', retainUntil: NOT_DUE.retainUntil, objectLockMode: 'COMPLIANCE', enforcedBy: 'object_lock' });

    const version = await currentVersion(rec.objectKey);
    expect(await storeRetention(rec.objectKey, version)).toEqual({ mode: after.objectLockMode, until: after.retainUntil });
    expect(await storeRetention(rec.objectKey)).toEqual({ mode: 'COMPLIANCE', until: NOT_DUE.retainUntil });
  });

  it('the store refuses to delete the locked version before the date, and so does the delete route, naming the date', async () => {
    const rec = await verifiedRecording({ maturityDate: NOT_DUE.maturityDate });
    await service.retain(rec.id);
    const version = await currentVersion(rec.objectKey);

    expect(await refusal(deleteVersion(rec.objectKey, version))).toEqual(OBJECT_LOCKED);
    // COMPLIANCE, not GOVERNANCE: the bypass header changes nothing.
    expect(await refusal(deleteVersion(rec.objectKey, version, true))).toEqual(OBJECT_LOCKED);

    const res = await admin.delete<Problem>(`/api/recordings/${rec.id}`);
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('RETENTION_ACTIVE');
    expect(res.body.detail).toContain(`retained until ${NOT_DUE.retainUntil}`);

    expect(await versionsOf(rec.objectKey)).toEqual({ versions: [version], deleteMarkers: [] });
    expect(await row(rec.id)).toMatchObject({ state: 'RETAINED' });

    // A plain DELETE (what a leaked credential would try first) only hides the bytes behind a delete
    // marker: the locked version stays, which is why facesign deletes by version id.
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: WORM_BUCKET, Key: rec.objectKey }));
    expect(marker.DeleteMarker).toBe(true);
    expect(await versionsOf(rec.objectKey)).toEqual({ versions: [version], deleteMarkers: [marker.VersionId] });
    expect(await storeRetention(rec.objectKey, version)).toEqual({ mode: 'COMPLIANCE', until: NOT_DUE.retainUntil });
    await deleteVersion(rec.objectKey, marker.VersionId!);
  });
});

describe('legal hold', () => {
  it('is set and released through facesign, the store reports it each time, and refuses deletion while it is on', async () => {
    // Due long ago: facesign applies no retention date (Object Lock refuses past dates), so only the
    // hold stands between the store and a DELETE.
    const rec = await verifiedRecording({ maturityDate: DUE.maturityDate, verifiedAt: DUE.verifiedAt });
    expect(await service.retain(rec.id)).toMatchObject({ kind: 'retained', enforcedBy: 'facesign', lockMode: null });
    const version = await currentVersion(rec.objectKey);
    expect(await refusal(storeRetention(rec.objectKey, version))).toEqual({ code: 'NoSuchObjectLockConfiguration', status: 400 });

    const placed = await auditor.post<RetentionBody>(`/api/recordings/${rec.id}/legal-hold`, { hold: true, reason: 'Court order 2026-117' });
    expect(placed.status).toBe(200);
    expect(placed.body.legalHold).toBe(true);
    expect(await storeLegalHold(rec.objectKey)).toBe('ON');
    expect(await refusal(deleteVersion(rec.objectKey, version))).toEqual(OBJECT_LOCKED);
    const refused = await admin.delete<Problem>(`/api/recordings/${rec.id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/legal hold/);

    const released = await auditor.post<RetentionBody>(`/api/recordings/${rec.id}/legal-hold`, { hold: false, reason: 'Order lifted' });
    expect(released.body.legalHold).toBe(false);
    expect(await storeLegalHold(rec.objectKey)).toBe('OFF');

    expect((await admin.delete(`/api/recordings/${rec.id}`)).status).toBe(204);
    expect(await versionsOf(rec.objectKey)).toEqual({ versions: [], deleteMarkers: [] });
    expect(await row(rec.id)).toMatchObject({ state: 'DELETED' });
  });

  it('placed before retention, reaches the store at once and stays on beside the lock', async () => {
    const rec = await verifiedRecording({ maturityDate: NOT_DUE.maturityDate });
    expect((await auditor.post(`/api/recordings/${rec.id}/legal-hold`, { hold: true, reason: 'Complaint C-991' })).status).toBe(200);
    expect(await storeLegalHold(rec.objectKey)).toBe('ON');

    await service.retain(rec.id);
    expect(await storeLegalHold(rec.objectKey)).toBe('ON');
    expect(await storeRetention(rec.objectKey)).toEqual({ mode: 'COMPLIANCE', until: NOT_DUE.retainUntil });

    await auditor.post(`/api/recordings/${rec.id}/legal-hold`, { hold: false, reason: 'Complaint withdrawn' });
    expect(await storeLegalHold(rec.objectKey)).toBe('OFF');
    // Released, the date still holds it.
    expect(await refusal(deleteVersion(rec.objectKey, await currentVersion(rec.objectKey)))).toEqual(OBJECT_LOCKED);
  });
});

describe('contract documents', () => {
  let los: ApiClient;
  /** A retention service wired as main.ts wires it, with the contracts following their sessions' recordings. */
  let following: RetentionService;
  let contractNo = 0;
  const newContract = () => contractPdf([`借款合同 ${(contractNo += 1)}`, '年化利率（单利）：4.35%'], `合同 ${contractNo}`);

  beforeAll(async () => {
    los = await losClient(t);
    const { config, log } = t.facesign;
    const store = new RecordingStore(s3, config.s3.bucket, config.recordings.sse);
    const settings = { rules: config.recordings.retention, objectLockMode: config.recordings.objectLockMode };
    following = new RetentionService({ db, store, settings, log, follower: new ContractRetention({ db, store, settings, log }) });
  });

  it('an uploaded contract is locked COMPLIANCE until the date a recording of the loan would be, and the store refuses to delete that version', async () => {
    const { loanFileId } = await verifiedRecording({ maturityDate: NOT_DUE.maturityDate });
    expect((await uploadContract(los, loanFileId, await newContract())).status).toBe(201);
    // storage: the contract's retain-until, lock mode and hold, which the contract's API does not show
    const doc = await db.contractDocument.findFirstOrThrow({ where: { loanFileId } });
    expect(doc).toMatchObject({ retainUntil: new Date(NOT_DUE.retainUntil), objectLockMode: 'COMPLIANCE', legalHold: false });

    const version = await currentVersion(doc.objectKey);
    expect(await storeRetention(doc.objectKey, version)).toEqual({ mode: 'COMPLIANCE', until: NOT_DUE.retainUntil });
    expect(await refusal(deleteVersion(doc.objectKey, version))).toEqual(OBJECT_LOCKED);
    expect(await refusal(deleteVersion(doc.objectKey, version, true))).toEqual(OBJECT_LOCKED);
    expect(await versionsOf(doc.objectKey)).toEqual({ versions: [version], deleteMarkers: [] });
  });

  it("follows the recording of a session that binds it: a later retention extends the contract's lock, a hold on the recording holds the contract", async () => {
    const rec = await verifiedRecording({ maturityDate: NOT_DUE.maturityDate });
    const pdf = await newContract();
    expect((await uploadContract(los, rec.loanFileId, pdf)).status).toBe(201);
    // storage: the contract's retain-until, lock mode and hold (read again below), which the contract's API does not show
    const doc = await db.contractDocument.findFirstOrThrow({ where: { loanFileId: rec.loanFileId } });
    // fixture: a session of the loan file that binds this contract
    const attempt = await db.attempt.findUniqueOrThrow({ where: { id: rec.attemptId } });
    await db.verificationSession.update({ where: { id: attempt.sessionId }, data: { contractDocumentHash: doc.sha256 } });
    // The loan now ends a year later: the recording, retained now, is kept until 2036-06-30, and so must the contract be.
    await db.loanFile.update({ where: { id: rec.loanFileId }, data: { maturityDate: new Date('2031-06-30') } });
    const later = '2036-06-30T00:00:00.000Z';

    expect(await following.retain(rec.id)).toMatchObject({ kind: 'retained', retainUntil: new Date(later), lockMode: 'COMPLIANCE' });
    expect(await db.contractDocument.findUniqueOrThrow({ where: { id: doc.id } })).toMatchObject({ retainUntil: new Date(later), objectLockMode: 'COMPLIANCE' });
    expect(await storeRetention(doc.objectKey)).toEqual({ mode: 'COMPLIANCE', until: later });

    await following.setLegalHold(rec.id, true, 'Court order 2026-118', { type: 'SYSTEM' }, undefined);
    expect(await db.contractDocument.findUniqueOrThrow({ where: { id: doc.id } })).toMatchObject({ legalHold: true });
    expect(await storeLegalHold(doc.objectKey)).toBe('ON');
    await following.setLegalHold(rec.id, false, 'Order lifted', { type: 'SYSTEM' }, undefined);
    expect(await storeLegalHold(doc.objectKey)).toBe('OFF');
    expect(await storeRetention(doc.objectKey)).toEqual({ mode: 'COMPLIANCE', until: later });
    expect(await refusal(deleteVersion(doc.objectKey, await currentVersion(doc.objectKey)))).toEqual(OBJECT_LOCKED);
  });
});

describe('maturity changes', () => {
  const setMaturity = (loanFileId: string, date: string) => db.loanFile.update({ where: { id: loanFileId }, data: { maturityDate: new Date(date) } });

  it('a later maturity extends the lock in the store; an earlier one never shortens it', async () => {
    const rec = await verifiedRecording({ maturityDate: NOT_DUE.maturityDate });
    await service.retain(rec.id);

    await setMaturity(rec.loanFileId, '2032-06-30');
    expect(await service.recomputeForLoanFile(rec.loanFileId)).toEqual({ changed: 1, unchanged: 0 });
    expect(await storeRetention(rec.objectKey)).toEqual({ mode: 'COMPLIANCE', until: '2037-06-30T00:00:00.000Z' });
    expect((await row(rec.id)).retainUntil).toBe('2037-06-30T00:00:00.000Z');

    await setMaturity(rec.loanFileId, '2028-01-31');
    expect(await service.recomputeForLoanFile(rec.loanFileId)).toEqual({ changed: 0, unchanged: 1 });
    expect(await storeRetention(rec.objectKey)).toEqual({ mode: 'COMPLIANCE', until: '2037-06-30T00:00:00.000Z' });
    expect((await row(rec.id)).retainUntil).toBe('2037-06-30T00:00:00.000Z');

    // The store refuses to turn the COMPLIANCE lock into a weaker GOVERNANCE one with an earlier date.
    const weaker = s3.send(
      new PutObjectRetentionCommand({ Bucket: WORM_BUCKET, Key: rec.objectKey, Retention: { Mode: 'GOVERNANCE', RetainUntilDate: new Date('2030-01-01T00:00:00.000Z') } }),
    );
    expect(await refusal(weaker)).toEqual(OBJECT_LOCKED);
    expect(await storeRetention(rec.objectKey)).toEqual({ mode: 'COMPLIANCE', until: '2037-06-30T00:00:00.000Z' });
  });

  it('retaining again after a crash keeps the lock the first try placed, though the rule now says an earlier date', async () => {
    const rec = await verifiedRecording({ maturityDate: NOT_DUE.maturityDate });
    // A first retain() locked the object while the maturity was 2032-06-30 and died before its row
    // committed; the LOS has since moved the maturity earlier. AWS S3 refuses the shorter date
    // (retain would fail on every sweep), versitygw would accept it: either way the lock must stand.
    await s3.send(new PutObjectRetentionCommand({ Bucket: WORM_BUCKET, Key: rec.objectKey, Retention: { Mode: 'COMPLIANCE', RetainUntilDate: new Date('2037-06-30T00:00:00.000Z') } }));

    expect(await service.retain(rec.id)).toEqual({ kind: 'retained', retainUntil: new Date('2037-06-30T00:00:00.000Z'), enforcedBy: 'object_lock', lockMode: 'COMPLIANCE' });
    expect(await storeRetention(rec.objectKey)).toEqual({ mode: 'COMPLIANCE', until: '2037-06-30T00:00:00.000Z' });
    expect(await row(rec.id)).toMatchObject({ state: 'RETAINED', retainUntil: '2037-06-30T00:00:00.000Z', objectLockMode: 'COMPLIANCE' });
  });
});

describe('deletion after the date', () => {
  it('the sweeper deletes every version and delete marker of a recording once its lock ends, and keeps a held one', async () => {
    const verifiedAt = new Date(Date.now() + SHORT_LOCK_MS);
    const rec = await verifiedRecording({ maturityDate: DUE.maturityDate, verifiedAt, history: true });
    const held = await verifiedRecording({ maturityDate: DUE.maturityDate, verifiedAt, history: true });
    for (const r of [rec, held]) {
      expect(await service.retain(r.id)).toEqual({ kind: 'retained', retainUntil: verifiedAt, enforcedBy: 'object_lock', lockMode: 'COMPLIANCE' });
      expect(await storeRetention(r.objectKey)).toEqual({ mode: 'COMPLIANCE', until: verifiedAt.toISOString() });
    }
    await auditor.post(`/api/recordings/${held.id}/legal-hold`, { hold: true, reason: 'Regulator inquiry 2026-17' });
    const history = await versionsOf(rec.objectKey);
    expect({ versions: history.versions.length, deleteMarkers: history.deleteMarkers.length }).toEqual({ versions: 2, deleteMarkers: 1 });
    const heldHistory = await versionsOf(held.objectKey);

    // Before the date the store refuses, and the sweeper does not try.
    expect(await refusal(deleteVersion(rec.objectKey, await currentVersion(rec.objectKey)))).toEqual(OBJECT_LOCKED);
    expect(await service.sweep(new Date())).toEqual({ due: 0, deleted: 0, skipped: 0, failed: 0 });

    await sleepUntil(verifiedAt.getTime() + 250);
    expect(await service.sweep(new Date())).toEqual({ due: 1, deleted: 1, skipped: 0, failed: 0 });

    expect(await versionsOf(rec.objectKey)).toEqual({ versions: [], deleteMarkers: [] });
    expect(await row(rec.id)).toMatchObject({ state: 'DELETED' });

    expect(await row(held.id)).toMatchObject({ state: 'RETAINED', legalHold: true });
    expect(await versionsOf(held.objectKey)).toEqual(heldHistory);
    expect(await storeLegalHold(held.objectKey)).toBe('ON');
  });
});

// Where versitygw v1.7.0 is weaker than AWS S3. facesign must not lean on the store for these, and
// the tests above show it does not; if a versitygw upgrade starts refusing, these fail: turn them
// into refusals then.
describe('audit tree heads', () => {
  it('are published under COMPLIANCE retention; hiding or replacing one in the bucket is refused or reported by audit:verify', async () => {
    await sealAuditChain(db, { wait: true });
    const checkpoints = t.facesign.auditCheckpoints;
    await checkpoints.checkpoint({ wait: true });
    const head = (await checkpoints.latest())!;
    const headKey = treeHeadObjectKey(head.treeSize);
    const leavesKey = treeLeavesObjectKey(head.treeSize);
    const years = t.facesign.config.audit.headRetentionYears;
    for (const key of [headKey, leavesKey]) {
      const retention = await storeRetention(key);
      expect(retention.mode).toBe('COMPLIANCE');
      expect(new Date(retention.until!).getUTCFullYear()).toBe(new Date(head.timestamp).getUTCFullYear() + years);
    }
    const store = new RecordingStore(s3, WORM_BUCKET);
    const verify = () => verifyAuditLog({ db, store, keyring: t.facesign.signing.keyring });
    expect(await verify()).toMatchObject({ ok: true, problems: [] });

    // The locked version cannot be deleted, with or without the governance bypass.
    const version = await currentVersion(headKey);
    expect(await refusal(deleteVersion(headKey, version))).toEqual(OBJECT_LOCKED);
    expect(await refusal(deleteVersion(headKey, version, true))).toEqual(OBJECT_LOCKED);
    // A plain DELETE hides it behind a delete marker; a PUT puts a forged copy in front: both are reported.
    const marker = await s3.send(new DeleteObjectCommand({ Bucket: WORM_BUCKET, Key: headKey }));
    expect((await verify()).problems[0]).toBe(`${headKey} was deleted in the bucket (a delete marker hides 1 version(s)): a published head or its leaves were hidden`);
    await deleteVersion(headKey, marker.VersionId!);
    expect(await verify()).toMatchObject({ ok: true });
    await s3.send(new PutObjectCommand({ Bucket: WORM_BUCKET, Key: leavesKey, Body: '{}', ContentType: 'application/json' }));
    const replaced = await verify();
    expect(replaced.problems[0]).toBe(`${leavesKey} was written 2 times in the bucket: a published head or its leaves were replaced`);
    expect(await versionsOf(leavesKey)).toMatchObject({ versions: [expect.any(String), expect.any(String)] });
  });
});

describe('versitygw v1.7.0 deviations from AWS S3 Object Lock', () => {
  async function scratchObject(): Promise<{ key: string; versionId: string }> {
    const key = `scratch/${randomUUID()}.bin`;
    const put = await s3.send(new PutObjectCommand({ Bucket: WORM_BUCKET, Key: key, Body: 'scratch' }));
    return { key, versionId: put.VersionId! };
  }
  const lock = (key: string, mode: 'COMPLIANCE' | 'GOVERNANCE', until: Date) =>
    s3.send(new PutObjectRetentionCommand({ Bucket: WORM_BUCKET, Key: key, Retention: { Mode: mode, RetainUntilDate: until } }));

  it('accepts a shorter COMPLIANCE date (AWS S3 answers AccessDenied): only facesign keeps a lock from shrinking', async () => {
    const { key } = await scratchObject();
    await lock(key, 'COMPLIANCE', new Date('2037-06-30T00:00:00.000Z'));
    await lock(key, 'COMPLIANCE', new Date('2033-06-30T00:00:00.000Z'));
    expect(await storeRetention(key)).toEqual({ mode: 'COMPLIANCE', until: '2033-06-30T00:00:00.000Z' });
  });

  it('lets a version on legal hold be deleted once its retention date has passed (AWS S3 refuses while held)', async () => {
    const { key, versionId } = await scratchObject();
    const until = Date.now() + 1_000;
    await lock(key, 'COMPLIANCE', new Date(until));
    await s3.send(new PutObjectLegalHoldCommand({ Bucket: WORM_BUCKET, Key: key, LegalHold: { Status: 'ON' } }));
    await sleepUntil(until + 250);
    expect(await storeLegalHold(key)).toBe('ON');
    await deleteVersion(key, versionId);
    expect(await versionsOf(key)).toEqual({ versions: [], deleteMarkers: [] });
  });
});
