// Recording retention end to end: real Postgres, the real s3rver bucket, the retention routes served
// by createHttpApp with a real AuthService (main.ts does not wire them yet). s3rver has no S3 Object
// Lock, so here facesign enforces retention itself; one test drives the Object Lock path through a
// store that claims the feature and records what it would send. test/livekit/object-lock.test.ts
// proves the same paths against a real WORM bucket (versitygw).
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpApp } from '../../server/http/app.js';
import { AuthService } from '../../server/auth/auth.service.js';
import { DomainEvents } from '../../server/events/domain-events.js';
import { ApiKeyService } from '../../server/auth/api-keys.service.js';
import { RateLimiter } from '../../server/auth/rate-limiter.js';
import { authRoutes } from '../../server/auth/auth.routes.js';
import { createUser, type NewUser } from '../../server/users/users.service.js';
import { verifySealedChain } from '../support/audit.js';
import type { Db } from '../../server/db/client.js';
import { createS3Client, RecordingStore } from '../../recordings/object-store.js';
import type { RetentionRules } from '../../recordings/retention.js';
import { RetentionService } from '../../recordings/retention.service.js';
import { retentionRoutes } from '../../recordings/retention.routes.js';
import { verifiedRecording as storedRecording } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { ApiClient } from '../support/api-client.js';

// No floor after verification here (these dates predate it); security-data.test.ts covers the floor.
const RULES: RetentionRules = { yearsAfterMaturity: 5, minMonthsAfterMaturity: 6, yearsWithoutMaturity: 10, minMonthsAfterVerification: 0 };
const VERIFIED_AT = '2026-11-23T10:00:00.000Z';
/** Maturity 2010-01-31, verified 2015-06-01: retained until 2015-06-01, long due. */
const DUE = { maturityDate: '2010-01-31', verifiedAt: '2015-06-01T00:00:00.000Z', retainUntil: '2015-06-01T00:00:00.000Z' } as const;
/** Maturity 2030-06-30: retained until 2035-06-30. */
const NOT_DUE = { maturityDate: '2030-06-30', verifiedAt: VERIFIED_AT, retainUntil: '2035-06-30T00:00:00.000Z' } as const;

interface RetentionBody {
  recordingId: string;
  state: string;
  retainUntil: string | null;
  legalHold: boolean;
  legalHoldReason: string | null;
  enforcedBy: string | null;
}
interface Problem {
  code: string;
  detail: string;
  status: number;
}

/** s3rver has no Object Lock. This store says the bucket has it and records the calls it would send. */
class ObjectLockRecordingStore extends RecordingStore {
  readonly sent: { call: string; rowState: string | undefined }[] = [];
  /** The retention each key was last given, which the store then reports. */
  readonly locks = new Map<string, { mode: 'COMPLIANCE' | 'GOVERNANCE'; until: Date }>();
  db: Db | undefined;

  override async objectLockSupported(): Promise<boolean> {
    return true;
  }
  override async getRetention(key: string): Promise<{ mode: 'COMPLIANCE' | 'GOVERNANCE'; until: Date } | undefined> {
    return this.locks.get(key);
  }
  override async applyRetention(key: string, until: Date, mode: 'COMPLIANCE' | 'GOVERNANCE'): Promise<void> {
    this.sent.push({ call: `retention ${until.toISOString()} ${mode}`, rowState: await this.rowState(key) });
    this.locks.set(key, { mode, until });
  }
  override async setLegalHold(key: string, on: boolean): Promise<void> {
    this.sent.push({ call: `legal-hold ${on ? 'ON' : 'OFF'}`, rowState: await this.rowState(key) });
  }
  /** What the row said when the store was asked: shows whether the store came before the row. */
  private async rowState(key: string): Promise<string | undefined> {
    return (await this.db?.recording.findFirst({ where: { objectKey: key } }))?.state;
  }
}

/**
 * A versioned Object Lock bucket in memory (s3rver has neither): a plain DELETE adds a delete marker,
 * a DELETE by version id removes that version, and a version locked until later cannot be deleted.
 */
class VersionedLockStore extends ObjectLockRecordingStore {
  readonly versions = new Map<string, { versionId: string; deleteMarker: boolean; lockedUntil?: Date }[]>();
  readonly plainDeletes: string[] = [];
  private next = 0;

  addVersion(key: string, deleteMarker = false): void {
    this.next += 1;
    this.versions.set(key, [...(this.versions.get(key) ?? []), { versionId: `v${this.next}`, deleteMarker }]);
  }
  override async versioningEnabled(): Promise<boolean> {
    return true;
  }
  override async listVersions(key: string) {
    return (this.versions.get(key) ?? []).map(({ versionId, deleteMarker }) => ({ versionId, deleteMarker }));
  }
  override async deleteVersion(key: string, versionId: string): Promise<void> {
    const list = this.versions.get(key) ?? [];
    const version = list.find((v) => v.versionId === versionId);
    if (version?.lockedUntil && version.lockedUntil.getTime() > Date.now()) throw Object.assign(new Error('AccessDenied: object is WORM protected'), { name: 'AccessDenied' });
    this.versions.set(key, list.filter((v) => v.versionId !== versionId));
  }
  override async deleteCurrent(key: string): Promise<void> {
    this.plainDeletes.push(key);
    this.addVersion(key, true);
  }
  override async applyRetention(key: string, until: Date, mode: 'COMPLIANCE' | 'GOVERNANCE'): Promise<void> {
    await super.applyRetention(key, until, mode);
    const latest = (this.versions.get(key) ?? []).filter((v) => !v.deleteMarker).at(-1);
    if (latest) latest.lockedUntil = until;
  }
}

let t: TestApp;
let db: Db;
let store: RecordingStore;
let service: RetentionService;
let http: { url: string; close(): Promise<void> };

beforeAll(async () => {
  // No workers: whatever main.ts schedules later, only this file sweeps.
  t = await startTestApp({ FACESIGN_ROLES: 'api' });
  db = t.facesign.db;
  store = new RecordingStore(createS3Client(t.facesign.config.s3), t.facesign.config.s3.bucket);
  service = new RetentionService({ db, store, settings: { rules: RULES, objectLockMode: 'COMPLIANCE' }, log: t.facesign.log });
  const { redis, config, log } = t.facesign;
  const apiKeys = new ApiKeyService(db);
  const auth = new AuthService({ db: db, limiter: new RateLimiter(redis), apiKeys: apiKeys, settings: config.auth, events: new DomainEvents() });
  const app = createHttpApp({
    log,
    authenticator: auth,
    publicUrl: config.http.publicUrl,
    trustProxy: config.http.trustProxy,
    routes: [...authRoutes(auth, apiKeys, db), ...retentionRoutes(service)],
  });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  http = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
});
afterAll(async () => {
  await http?.close();
  store?.s3.destroy();
  await t?.stop();
});

async function signIn(roles: NewUser['roles']): Promise<{ client: ApiClient; userId: string }> {
  const email = `${roles.join('-').toLowerCase()}-${randomUUID().slice(0, 8)}@bank.test`;
  const user = await createUser(db, { email, displayName: 'Test', password: 'correct horse battery staple', roles });
  const client = new ApiClient(http.url);
  const res = await client.login(email, 'correct horse battery staple');
  if (res.status !== 200) throw new Error(`login failed: ${res.status}`);
  return { client, userId: user.id };
}

/** A VERIFIED recording whose object is really in the bucket, on a loan file with the given maturity. */
function verifiedRecording(options: { maturityDate?: string; verifiedAt?: string; using?: RecordingStore } = {}) {
  return storedRecording(db, (key, body) => (options.using ?? store).put(key, body, 'audio/ogg'), { maturityDate: options.maturityDate, verifiedAt: new Date(options.verifiedAt ?? VERIFIED_AT) });
}

async function retainedRecording(when: typeof DUE | typeof NOT_DUE) {
  const rec = await verifiedRecording(when);
  const result = await service.retain(rec.id);
  expect(result).toMatchObject({ kind: 'retained', retainUntil: new Date(when.retainUntil) });
  return rec;
}

async function auditOf(recordingId: string) {
  return db.auditEvent.findMany({ where: { entityType: 'recording', entityId: recordingId }, orderBy: { seq: 'asc' } });
}

const row = (id: string) => db.recording.findUniqueOrThrow({ where: { id } });

describe('retain', () => {
  it('computes retain-until from the loan maturity, and on s3rver facesign enforces it', async () => {
    const rec = await verifiedRecording({ maturityDate: '2027-03-31' });
    const result = await service.retain(rec.id);
    expect(result).toEqual({ kind: 'retained', retainUntil: new Date('2032-03-31T00:00:00.000Z'), enforcedBy: 'facesign', lockMode: null });

    const after = await row(rec.id);
    expect(after).toMatchObject({ state: 'RETAINED', retainUntil: new Date('2032-03-31T00:00:00.000Z'), objectLockMode: null, version: rec.version + 1 });
    expect(await store.head(rec.objectKey)).toBeDefined();
    const audit = await auditOf(rec.id);
    expect(audit.map((a) => [a.action, a.actorType, a.actorId, a.data])).toEqual([
      ['recording.state_changed', 'SYSTEM', 'facesign-retention', { attemptId: rec.attemptId, egressId: rec.egressId, from: 'VERIFIED', to: 'RETAINED', source: 'facesign' }],
      ['recording.retention_applied', 'SYSTEM', 'facesign-retention', { retainUntil: '2032-03-31T00:00:00.000Z', enforcedBy: 'facesign', lockMode: null }],
    ]);
  });

  it('without a maturity date keeps the recording for years after verification', async () => {
    const rec = await verifiedRecording({ verifiedAt: '2024-02-29T08:00:00.000Z' });
    expect(await service.retain(rec.id)).toMatchObject({ kind: 'retained', retainUntil: new Date('2034-02-28T08:00:00.000Z') });
  });

  it('is idempotent: concurrent and repeated calls retain once', async () => {
    const rec = await verifiedRecording({ maturityDate: '2027-03-31' });
    const results = await Promise.all([service.retain(rec.id), service.retain(rec.id), service.retain(rec.id)]);
    const again = await service.retain(rec.id);
    expect(results.filter((r) => r.kind === 'retained')).toHaveLength(1);
    expect(again).toEqual({ kind: 'already-retained', state: 'RETAINED', retainUntil: new Date('2032-03-31T00:00:00.000Z') });
    expect((await auditOf(rec.id)).filter((a) => a.action === 'recording.retention_applied')).toHaveLength(1);
    expect((await row(rec.id)).version).toBe(rec.version + 1);
  });

  it('leaves a recording that is not verified yet alone', async () => {
    const rec = await verifiedRecording();
    await db.recording.update({ where: { id: rec.id }, data: { state: 'UPLOADED', verifiedAt: null } });
    expect(await service.retain(rec.id)).toEqual({ kind: 'not-verified', state: 'UPLOADED' });
    expect(await row(rec.id)).toMatchObject({ state: 'UPLOADED', retainUntil: null });
    expect(await auditOf(rec.id)).toHaveLength(0);
  });
});

describe('who enforces retention', () => {
  it('s3rver has no Object Lock: objectLockSupported() is false and facesign enforces, though COMPLIANCE is configured', async () => {
    expect(await store.objectLockSupported()).toBe(false);
    expect(await service.refreshEnforcement()).toBe('facesign');
    expect(await service.detectEnforcement()).toBe('facesign');
    expect(await service.retentionStatus()).toEqual({ enforcedBy: 'facesign', mode: null });
    // The operator asked for Object Lock: the fallback is logged, not silent.
    expect(t.logs.some((line) => line.includes('no S3 Object Lock') && line.includes('"level":"warn"'))).toBe(true);
  });

  it('with Object Lock on the bucket, the retention and the hold reach the store before the row changes', async () => {
    const lockStore = new ObjectLockRecordingStore(store.s3, store.bucket);
    lockStore.db = db;
    const locked = new RetentionService({ db, store: lockStore, settings: { rules: RULES, objectLockMode: 'COMPLIANCE' }, log: t.facesign.log });
    expect(await locked.retentionStatus()).toEqual({ enforcedBy: 'object_lock', mode: 'COMPLIANCE' });

    const rec = await verifiedRecording({ maturityDate: '2027-03-31' });
    const auditor = { type: 'USER', id: randomUUID() } as const;
    await locked.setLegalHold(rec.id, true, 'Litigation LIT-2026-0042', auditor, 'req-hold-1');
    expect(await locked.retain(rec.id)).toEqual({ kind: 'retained', retainUntil: new Date('2032-03-31T00:00:00.000Z'), enforcedBy: 'object_lock', lockMode: 'COMPLIANCE' });
    await locked.setLegalHold(rec.id, false, 'Litigation settled', auditor, 'req-hold-2');

    expect(lockStore.sent).toEqual([
      { call: 'legal-hold ON', rowState: 'VERIFIED' },
      { call: 'retention 2032-03-31T00:00:00.000Z COMPLIANCE', rowState: 'VERIFIED' },
      { call: 'legal-hold ON', rowState: 'VERIFIED' },
      { call: 'legal-hold OFF', rowState: 'RETAINED' },
    ]);
    expect(await row(rec.id)).toMatchObject({ state: 'RETAINED', objectLockMode: 'COMPLIANCE', legalHold: false });
    expect((await auditOf(rec.id)).find((a) => a.action === 'recording.retention_applied')?.data).toEqual({
      retainUntil: '2032-03-31T00:00:00.000Z',
      enforcedBy: 'object_lock',
      lockMode: 'COMPLIANCE',
    });
  });

  it('with OBJECT_LOCK_MODE=off facesign enforces without asking the store', async () => {
    const lockStore = new ObjectLockRecordingStore(store.s3, store.bucket);
    const off = new RetentionService({ db, store: lockStore, settings: { rules: RULES, objectLockMode: 'off' }, log: t.facesign.log });
    expect(await off.retentionStatus()).toEqual({ enforcedBy: 'facesign', mode: null });
    const rec = await verifiedRecording({ maturityDate: '2027-03-31' });
    expect(await off.retain(rec.id)).toMatchObject({ kind: 'retained', enforcedBy: 'facesign', lockMode: null });
    expect(lockStore.sent).toEqual([]);
  });
});

describe('sweep', () => {
  it('catches up a verified recording whose retain never ran, and leaves a just-verified one to its own call', async () => {
    const forgotten = await verifiedRecording({ maturityDate: '2027-03-31', verifiedAt: '2026-11-23T10:00:00.000Z' });
    const now = new Date('2026-11-23T10:05:00.000Z');
    const fresh = await verifiedRecording({ maturityDate: '2027-03-31', verifiedAt: '2026-11-23T10:04:30.000Z' });
    expect(await service.retainPending(now, 60_000)).toEqual({ retained: 1, failed: 0 });
    expect(await row(forgotten.id)).toMatchObject({ state: 'RETAINED', retainUntil: new Date('2032-03-31T00:00:00.000Z') });
    expect((await row(fresh.id)).state).toBe('VERIFIED');
    await service.retain(fresh.id);
  });

  it('deletes an expired recording, and keeps a held one and one not yet due', async () => {
    const expired = await retainedRecording(DUE);
    const held = await retainedRecording(DUE);
    const notDue = await retainedRecording(NOT_DUE);
    await service.setLegalHold(held.id, true, 'Regulator inquiry 2026-17', { type: 'USER', id: randomUUID() }, undefined);

    const now = new Date();
    expect(await service.sweep(now)).toEqual({ due: 1, deleted: 1, skipped: 0, failed: 0 });

    expect(await row(expired.id)).toMatchObject({ state: 'DELETED', deletedAt: now, version: expired.version + 2 });
    expect(await store.head(expired.objectKey)).toBeUndefined();
    const audit = (await auditOf(expired.id)).slice(-2);
    expect(audit.map((a) => [a.action, a.actorId, a.data])).toEqual([
      ['recording.state_changed', 'retention-sweep', { attemptId: expired.attemptId, egressId: expired.egressId, from: 'RETAINED', to: 'DELETED', source: 'facesign' }],
      ['recording.deleted', 'retention-sweep', { objectKey: expired.objectKey, retainUntil: DUE.retainUntil }],
    ]);

    for (const kept of [held, notDue]) {
      expect((await row(kept.id)).state).toBe('RETAINED');
      expect(await store.head(kept.objectKey)).toBeDefined();
      expect((await auditOf(kept.id)).some((a) => a.action === 'recording.deleted')).toBe(false);
    }

    // The hold was the only thing keeping it: released, the next sweep takes it.
    await service.setLegalHold(held.id, false, 'Inquiry closed', { type: 'USER', id: randomUUID() }, undefined);
    expect(await service.sweep(new Date())).toMatchObject({ due: 1, deleted: 1 });
    expect(await store.head(held.objectKey)).toBeUndefined();
    expect((await row(notDue.id)).state).toBe('RETAINED');
  });

  it('two sweeps at once delete each recording once', async () => {
    const recs = await Promise.all([1, 2, 3, 4].map(() => retainedRecording(DUE)));
    const now = new Date();
    const [a, b] = await Promise.all([service.sweep(now), service.sweep(now)]);
    expect(a!.deleted + b!.deleted).toBe(4);
    expect(a!.failed + b!.failed).toBe(0);
    for (const rec of recs) {
      expect((await row(rec.id)).state).toBe('DELETED');
      expect(await store.head(rec.objectKey)).toBeUndefined();
      expect((await auditOf(rec.id)).filter((e) => e.action === 'recording.deleted')).toHaveLength(1);
    }
  });

  it('a hold racing the sweeper either wins or is refused, never a held recording deleted', async () => {
    const rec = await retainedRecording(DUE);
    const [, hold] = await Promise.allSettled([
      service.sweep(new Date()),
      service.setLegalHold(rec.id, true, 'Late court order', { type: 'USER', id: randomUUID() }, undefined),
    ]);
    const after = await row(rec.id);
    if (after.state === 'DELETED') {
      expect(after.legalHold).toBe(false);
      expect(hold.status).toBe('rejected');
      expect(hold.status === 'rejected' ? (hold.reason as { code?: string }).code : undefined).toBe('RECORDING_STATE_CONFLICT');
    } else {
      expect(after).toMatchObject({ state: 'RETAINED', legalHold: true });
      expect(hold.status).toBe('fulfilled');
      expect(await store.head(rec.objectKey)).toBeDefined();
      // Left held: later sweeps in this file must not count it.
    }
  });
});

describe('versioned Object Lock buckets', () => {
  it('s3rver keeps no versions, so a plain DELETE removes the object', async () => {
    expect(await store.versioningEnabled()).toBe(false);
  });

  it('deleting a due recording removes every version and delete marker, never just adds a marker', async () => {
    const versioned = new VersionedLockStore(store.s3, store.bucket);
    const locked = new RetentionService({ db, store: versioned, settings: { rules: RULES, objectLockMode: 'COMPLIANCE' }, log: t.facesign.log });
    const rec = await verifiedRecording(DUE);
    // An older upload of the same key, an old delete marker, and the current version.
    versioned.addVersion(rec.objectKey);
    versioned.addVersion(rec.objectKey, true);
    versioned.addVersion(rec.objectKey);
    expect(await locked.retain(rec.id)).toMatchObject({ kind: 'retained', retainUntil: new Date(DUE.retainUntil) });
    expect(await locked.sweep(new Date())).toMatchObject({ deleted: 1, failed: 0 });
    expect(await versioned.listVersions(rec.objectKey)).toEqual([]);
    expect(versioned.plainDeletes).toEqual([]);
    expect(await row(rec.id)).toMatchObject({ state: 'DELETED' });
  });

  it('a version the store still locks is not deleted: the sweep fails, the row stays RETAINED for the next sweep', async () => {
    const versioned = new VersionedLockStore(store.s3, store.bucket);
    const locked = new RetentionService({ db, store: versioned, settings: { rules: RULES, objectLockMode: 'COMPLIANCE' }, log: t.facesign.log });
    const rec = await verifiedRecording(DUE);
    versioned.addVersion(rec.objectKey);
    await locked.retain(rec.id);
    versioned.versions.get(rec.objectKey)![0]!.lockedUntil = new Date(Date.now() + 86_400_000);
    expect(await locked.sweep(new Date())).toMatchObject({ deleted: 0, failed: 1 });
    expect(await row(rec.id)).toMatchObject({ state: 'RETAINED' });
    expect(await versioned.listVersions(rec.objectKey)).toHaveLength(1);
    versioned.versions.get(rec.objectKey)![0]!.lockedUntil = undefined;
    expect(await locked.sweep(new Date())).toMatchObject({ deleted: 1 });
  });
});

describe('maturity changes', () => {
  const setMaturity = (rec: { attemptId: string }, date: string) =>
    db.loanFile.updateMany({ where: { sessions: { some: { attempts: { some: { id: rec.attemptId } } } } }, data: { maturityDate: new Date(date) } });

  it('with Object Lock, a later maturity extends the lock first; an earlier one never shortens it', async () => {
    const lockStore = new ObjectLockRecordingStore(store.s3, store.bucket);
    lockStore.db = db;
    const locked = new RetentionService({ db, store: lockStore, settings: { rules: RULES, objectLockMode: 'COMPLIANCE' }, log: t.facesign.log });
    const rec = await verifiedRecording(NOT_DUE);
    await locked.retain(rec.id);
    const loanFileId = (await db.attempt.findUniqueOrThrow({ where: { id: rec.attemptId }, include: { session: true } })).session.loanFileId;

    await setMaturity(rec, '2032-06-30');
    expect(await locked.recomputeForLoanFile(loanFileId)).toEqual({ changed: 1, unchanged: 0 });
    expect(lockStore.sent.at(-1)).toEqual({ call: 'retention 2037-06-30T00:00:00.000Z COMPLIANCE', rowState: 'RETAINED' });
    expect(await row(rec.id)).toMatchObject({ retainUntil: new Date('2037-06-30T00:00:00.000Z'), objectLockMode: 'COMPLIANCE' });
    const sentBefore = lockStore.sent.length;

    await setMaturity(rec, '2028-01-31');
    expect(await locked.recomputeForLoanFile(loanFileId)).toEqual({ changed: 0, unchanged: 1 });
    expect(lockStore.sent).toHaveLength(sentBefore);
    expect((await row(rec.id)).retainUntil).toEqual(new Date('2037-06-30T00:00:00.000Z'));
    const changes = (await auditOf(rec.id)).filter((a) => a.action === 'recording.retention_changed');
    expect(changes.map((a) => a.data)).toEqual([
      { from: '2035-06-30T00:00:00.000Z', to: '2037-06-30T00:00:00.000Z', maturityDate: '2032-06-30', enforcedBy: 'object_lock', lockMode: 'COMPLIANCE', lockExtended: true },
    ]);
  });

  it('the sweeper applies the rule as it stands: a maturity moved later keeps a recording that looked due', async () => {
    const { client: admin } = await signIn(['ADMIN']);
    const rec = await retainedRecording(DUE);
    await setMaturity(rec, '2030-01-31');
    expect(await service.sweep(new Date())).toMatchObject({ deleted: 0, skipped: 1 });
    const refused = await admin.delete<Problem>(`/api/recordings/${rec.id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toContain('retained until 2035-01-31T00:00:00.000Z');
    expect(await store.head(rec.objectKey)).toBeDefined();
    const loanFileId = (await db.attempt.findUniqueOrThrow({ where: { id: rec.attemptId }, include: { session: true } })).session.loanFileId;
    expect(await service.recomputeForLoanFile(loanFileId)).toEqual({ changed: 1, unchanged: 0 });
    expect(await row(rec.id)).toMatchObject({ state: 'RETAINED', retainUntil: new Date('2035-01-31T00:00:00.000Z') });
  });
});

describe('HTTP', () => {
  it('an early DELETE is refused with a problem naming the retain-until date', async () => {
    const { client: admin } = await signIn(['ADMIN']);
    const rec = await retainedRecording(NOT_DUE);
    const res = await admin.delete<Problem>(`/api/recordings/${rec.id}`);
    expect(res.status).toBe(409);
    expect(res.contentType).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('RETENTION_ACTIVE');
    expect(res.body.detail).toContain(`retained until ${NOT_DUE.retainUntil}`);
    expect((await row(rec.id)).state).toBe('RETAINED');
    expect(await store.head(rec.objectKey)).toBeDefined();
    expect((await auditOf(rec.id)).some((a) => a.action === 'recording.deleted')).toBe(false);
  });

  it('a DELETE under legal hold is refused naming the hold; once due and released, it deletes (audited with the admin)', async () => {
    const { client: admin, userId: adminId } = await signIn(['ADMIN']);
    const rec = await retainedRecording(DUE);
    const hold = await admin.post(`/api/recordings/${rec.id}/legal-hold`, { hold: true, reason: 'Complaint C-991' });
    expect(hold.status).toBe(200);

    const refused = await admin.delete<Problem>(`/api/recordings/${rec.id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('RETENTION_ACTIVE');
    expect(refused.body.detail).toMatch(/legal hold/);
    expect(await store.head(rec.objectKey)).toBeDefined();

    expect((await admin.post(`/api/recordings/${rec.id}/legal-hold`, { hold: false, reason: 'Complaint withdrawn' })).status).toBe(200);
    const deleted = await admin.delete(`/api/recordings/${rec.id}`, { 'x-request-id': 'del-req-0001' });
    expect(deleted.status).toBe(204);
    expect(await store.head(rec.objectKey)).toBeUndefined();
    expect(await row(rec.id)).toMatchObject({ state: 'DELETED' });
    const event = (await auditOf(rec.id)).find((a) => a.action === 'recording.deleted');
    expect(event).toMatchObject({ actorType: 'USER', actorId: adminId, requestId: 'del-req-0001', data: { objectKey: rec.objectKey, retainUntil: DUE.retainUntil } });

    // Deleting again is harmless and writes nothing.
    expect((await admin.delete(`/api/recordings/${rec.id}`)).status).toBe(204);
    expect((await auditOf(rec.id)).filter((a) => a.action === 'recording.deleted')).toHaveLength(1);
  });

  it('the legal hold is audited with who and why, and GET shows retain-until, hold and enforcer', async () => {
    const { client: auditor, userId: auditorId } = await signIn(['AUDITOR']);
    const { client: supervisor } = await signIn(['SUPERVISOR']);
    const rec = await retainedRecording(NOT_DUE);

    const placed = await auditor.post<RetentionBody>(`/api/recordings/${rec.id}/legal-hold`, { hold: true, reason: 'Court order 2026-117' }, { 'x-request-id': 'hold-req-0001' });
    expect(placed.status).toBe(200);
    expect(placed.body).toMatchObject({ legalHold: true, legalHoldReason: 'Court order 2026-117' });

    const view = await supervisor.get<RetentionBody>(`/api/recordings/${rec.id}/retention`);
    expect(view.status).toBe(200);
    expect(view.body).toEqual({
      recordingId: rec.id,
      state: 'RETAINED',
      retainUntil: NOT_DUE.retainUntil,
      legalHold: true,
      legalHoldReason: 'Court order 2026-117',
      objectLockMode: null,
      enforcedBy: 'facesign',
      deletedAt: null,
    });

    // Placing the same hold again changes nothing and audits nothing; releasing it is audited.
    expect((await auditor.post(`/api/recordings/${rec.id}/legal-hold`, { hold: true, reason: 'Court order 2026-117' })).status).toBe(200);
    expect((await auditor.post<RetentionBody>(`/api/recordings/${rec.id}/legal-hold`, { hold: false, reason: 'Order lifted' })).body.legalHold).toBe(false);

    const holds = (await auditOf(rec.id)).filter((a) => a.action === 'recording.legal_hold_changed');
    expect(holds.map((a) => [a.actorType, a.actorId, a.data])).toEqual([
      ['USER', auditorId, { legalHold: true, reason: 'Court order 2026-117' }],
      ['USER', auditorId, { legalHold: false, reason: 'Order lifted' }],
    ]);
    expect(holds[0]!.requestId).toBe('hold-req-0001');
  });

  it('only admins delete, auditors and admins hold, and a reason is required', async () => {
    const { client: supervisor } = await signIn(['SUPERVISOR']);
    const { client: auditor } = await signIn(['AUDITOR']);
    const { client: agent } = await signIn(['AGENT']);
    const rec = await retainedRecording(NOT_DUE);

    expect((await supervisor.delete<Problem>(`/api/recordings/${rec.id}`)).body.code).toBe('FORBIDDEN');
    expect((await auditor.delete<Problem>(`/api/recordings/${rec.id}`)).status).toBe(403);
    expect((await supervisor.post(`/api/recordings/${rec.id}/legal-hold`, { hold: true, reason: 'x' })).status).toBe(403);
    expect((await agent.get(`/api/recordings/${rec.id}/retention`)).status).toBe(403);
    expect((await auditor.post<Problem>(`/api/recordings/${rec.id}/legal-hold`, { hold: true, reason: '  ' })).body.code).toBe('VALIDATION_FAILED');
    expect((await auditor.get<Problem>(`/api/recordings/${randomUUID()}/retention`)).status).toBe(404);
    expect(await row(rec.id)).toMatchObject({ state: 'RETAINED', legalHold: false });
    expect((await auditOf(rec.id)).some((a) => a.action === 'recording.legal_hold_changed')).toBe(false);
  });
});

describe('audit chain', () => {
  it('stays intact through every retention change above', async () => {
    expect(await verifySealedChain(db)).toMatchObject({ ok: true });
  });
});
