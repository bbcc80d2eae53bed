// Signed tree heads over the audit log: published to the bucket and the database by one node at a
// time, skipped when nothing new was sealed, proofs that verify offline, audit:verify over it all,
// and key rotation. The audit log's storage is what these tests are about: they read the events, their
// chain positions and the tree-head rows straight from the database (marked `storage:` below).
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, TEST_BUCKET, type TestApp } from '../support/harness.js';
import { signingFiles, type SigningFiles } from '../support/signing.js';
import { S3RVER_CREDENTIALS } from '../../dev/s3-server.js';
import { appendAudit } from '../../server/audit/audit.service.js';
import { sealAuditChain } from '../../server/audit/audit-sealer.service.js';
import { verifyAuditLog } from '../../server/audit/log-verify.js';
import { createS3Client, RecordingStore } from '../../recordings/object-store.js';
import { AuditCheckpoints } from '../../server/audit/checkpoint.service.js';
import { Keyring } from '../../server/signing/keyring.js';
import { SIGNING_KEYS_PATH } from '../../server/signing/signing.routes.js';
import {
  auditLeafHash,
  signedTreeHeadSchema,
  TREE_HEADS_PREFIX,
  treeHeadObjectKey,
  verifyEventInclusion,
  verifyHeadConsistency,
  verifyTreeHeadSignature,
  type SignedTreeHead,
} from '../../server/audit/tree-head.js';
import { MerkleTree } from '../../server/audit/merkle.js';

const run = promisify(execFile);
let t: TestApp;
let key: SigningFiles;

beforeAll(async () => {
  key = await signingFiles();
  // The schedule is long: these tests publish heads themselves, except where they test the schedule.
  t = await startTestApp({ ...key.env, AUDIT_CHECKPOINT_SECONDS: '3600' });
});
afterAll(async () => t?.stop());

const storeOf = (app: TestApp) => new RecordingStore(createS3Client(app.facesign.config.s3), TEST_BUCKET);
const store = () => storeOf(t);

// fixture: events appended and sealed directly, as any audited change would
async function addEvents(n: number, tag = 'e'): Promise<void> {
  for (let i = 0; i < n; i += 1) {
    await t.facesign.db.$transaction((tx) =>
      appendAudit(tx, { actor: { type: 'SYSTEM' }, entity: { type: 'test', id: `${tag}-${i}` }, event: { action: 'auth.logged_out', v: 1, data: { loginSessionId: '00000000-0000-4000-8000-000000000001' } } }),
    );
  }
  await sealAuditChain(t.facesign.db, { wait: true });
}

/** A head over everything sealed (the scheduled checkpoint may be running: wait for the lock). */
async function publishHead(): Promise<SignedTreeHead> {
  await t.facesign.auditCheckpoints.checkpoint({ wait: true });
  return (await t.facesign.auditCheckpoints.latest())!;
}

async function sealedCount(): Promise<number> {
  // storage: how many events the sealer has chained
  return t.facesign.db.auditEvent.count({ where: { chainSeq: { not: null } } });
}

async function bucketHead(size: number): Promise<SignedTreeHead> {
  const bytes = await store().getBytes(treeHeadObjectKey(size));
  if (!bytes) throw new Error(`no head ${size} in the bucket`);
  return signedTreeHeadSchema.parse(JSON.parse(bytes.toString('utf8')));
}

async function auditVerifyCli(app: TestApp, args: string[], env: Record<string, string> = {}) {
  const s3 = { S3_ENDPOINT: app.s3.endpoint, S3_BUCKET: TEST_BUCKET, S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey, S3_FORCE_PATH_STYLE: 'true' };
  try {
    const { stdout, stderr } = await run('npx', ['tsx', 'server/audit/verify-cli.ts', ...args], { env: { ...process.env, DATABASE_URL: app.databaseUrl, LOG_LEVEL: 'silent', ...s3, ...env } });
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

describe('signed tree heads', () => {
  it('publishes a head over every sealed event to the bucket and the database, signed with the configured key', async () => {
    await addEvents(5);
    const head = await publishHead();
    const size = await sealedCount();
    expect(head).toMatchObject({ treeSize: size, keyId: key.signer.keyId, algorithm: 'ES256' });
    expect(await bucketHead(size)).toEqual(head);
    // storage: the head's row in the database next to its copy in the bucket
    const row = await t.facesign.db.auditTreeHead.findUniqueOrThrow({ where: { treeSize: BigInt(size) } });
    expect(row).toMatchObject({ rootHash: head!.rootHash, signature: head!.signature, objectKey: treeHeadObjectKey(size) });
    expect(verifyTreeHeadSignature(head, Keyring.fromTrustedPem(key.certificatePem))).toMatchObject({ ok: true });
    // Its root is the Merkle root of the sealed events' chain hashes in chain order.
    // storage: the sealed rows in chain order, as the checkpoint reads them
    const events = await t.facesign.db.auditEvent.findMany({ where: { chainSeq: { not: null } }, orderBy: { chainSeq: 'asc' } });
    expect(Buffer.from(new MerkleTree(events.map((e) => auditLeafHash(e.hash!))).root()).toString('hex')).toBe(head!.rootHash);
  });

  it('skips a checkpoint when nothing new was sealed, and lets one node at a time publish', async () => {
    // storage: heads recorded in the database (and below, in the bucket)
    const before = await t.facesign.db.auditTreeHead.count();
    expect(await t.facesign.auditCheckpoints.checkpoint({ wait: true })).toBeUndefined();
    await addEvents(3);
    // Four at once, two queueing for the lock and two giving up when it is taken: one head results.
    const checkpoints = t.facesign.auditCheckpoints;
    const results = await Promise.all([checkpoints.checkpoint({ wait: true }), checkpoints.checkpoint(), checkpoints.checkpoint({ wait: true }), checkpoints.checkpoint()]);
    expect(results.filter(Boolean).length).toBeLessThanOrEqual(1);
    // storage: one tree-head row, however many checkpoints raced for the lock
    expect(await t.facesign.db.auditTreeHead.count()).toBe(before + 1);
    expect((await store().listKeys(TREE_HEADS_PREFIX)).length).toBe(before + 1);
    expect((await checkpoints.latest())!.treeSize).toBe(await sealedCount());
  });

  it('proves inclusion of any sealed event under a head, checkable offline, and heads are consistent', async () => {
    await addEvents(4, 'proof');
    // storage: the sealed rows in chain order, as the checkpoint reads them
    const events = await t.facesign.db.auditEvent.findMany({ where: { chainSeq: { not: null } }, orderBy: { chainSeq: 'asc' } });
    const chosen = [events[0]!, events[Math.floor(events.length / 2)]!, events[events.length - 1]!];
    // The newest event is not covered by any head yet: proving publishes one.
    const { head, proofs } = await t.facesign.auditCheckpoints.prove(chosen.map((e) => e.chainSeq!));
    expect(head.treeSize).toBe(events.length);
    for (const event of chosen) {
      const proof = proofs.get(Number(event.chainSeq))!;
      expect(verifyEventInclusion({ chainHash: event.hash!, chainSeq: Number(event.chainSeq) }, proof, head)).toBe(true);
      expect(verifyEventInclusion({ chainHash: event.hash!.replace(/^./, (c) => (c === '0' ? '1' : '0')), chainSeq: Number(event.chainSeq) }, proof, head)).toBe(false);
    }
    const keys = await store().listKeys(TREE_HEADS_PREFIX);
    const heads = await Promise.all(keys.map((k) => bucketHead(Number(k.slice(TREE_HEADS_PREFIX.length, -'.json'.length)))));
    expect(heads.map((h) => h.treeSize)).toEqual([...heads.map((h) => h.treeSize)].sort((a, b) => a - b));
    const tree = new MerkleTree(events.map((e) => auditLeafHash(e.hash!)));
    for (let i = 1; i < heads.length; i += 1) {
      const proof = tree.consistencyProof(heads[i - 1]!.treeSize, heads[i]!.treeSize).map((h) => Buffer.from(h).toString('hex'));
      expect(verifyHeadConsistency(heads[i - 1]!, heads[i]!, proof)).toBe(true);
    }
  });

  it('audit:verify passes, checks the heads in the bucket, and reports the unanchored tail', async () => {
    await addEvents(2, 'tail');
    const verdict = await verifyAuditLog({ db: t.facesign.db, store: store(), keyring: t.facesign.signing.keyring });
    expect(verdict).toMatchObject({ ok: true, problems: [], unanchored: { count: 2 } });
    expect(verdict.heads).toBeGreaterThanOrEqual(3);

    // The CLI finds the certificate through the same configuration as the app.
    const cli = await auditVerifyCli(t, [], key.env);
    expect(cli.code).toBe(0);
    expect(cli.out).toMatch(/audit chain intact: \d+ events/);
    expect(cli.out).toContain(`signed tree heads in s3://${TEST_BUCKET}: ${verdict.heads}`);
    expect(cli.out).toContain('unanchored tail: 2 sealed events after the newest head');
    expect(cli.out).toContain('audit log intact');

    // A verifier that trusts another key refuses the heads, naming the first.
    const stranger = await signingFiles();
    const refused = await auditVerifyCli(t, ['--trust', stranger.certFile]);
    expect(refused.code).toBe(1);
    expect(refused.out).toMatch(/audit log BROKEN: head \d+ \(audit\/heads\/0+\d+\.json\): signature not valid: key .* is not in the keyring/);
  });

  it('publishes the keyring at a public well-known URL', async () => {
    const res = await fetch(`${t.url}${SIGNING_KEYS_PATH}`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as ReturnType<Keyring['document']>;
    expect(doc.keys).toEqual([expect.objectContaining({ keyId: key.signer.keyId, status: 'current', algorithm: 'ES256', certificateChainPem: [key.certificatePem] })]);
    expect(Keyring.fromDocument(doc).get(key.signer.keyId)).toBeDefined();
  });

  it('schedules the checkpoint as a repeating job, and publishes a head on graceful shutdown', async () => {
    const scheduler = await t.facesign.queues.queue('audit-checkpoint').getJobScheduler('audit-checkpoint-every');
    expect(scheduler?.every).toBe(3600 * 1000);
    await addEvents(1, 'shutdown');
    const size = await sealedCount();
    await t.restart();
    // storage: the shutdown recorded the head in the database as well as the bucket
    expect(await t.facesign.db.auditTreeHead.findUnique({ where: { treeSize: BigInt(size) } })).not.toBeNull();
    expect(await bucketHead(size)).toMatchObject({ treeSize: size });
  });
});

describe('key rotation', () => {
  it('heads signed by a retired key verify inside its window only; the new key signs new heads', async () => {
    const rotated = await signingFiles();
    // The old key's certificate is listed as retired a minute from now (a planned rotation).
    const retiredAt = new Date(Date.now() + 60_000);
    const retiredFile = join(await mkdtemp(join(tmpdir(), 'facesign-retired-')), 'retired.pem');
    await writeFile(retiredFile, `Retired-At: ${retiredAt.toISOString()}\n${key.certificatePem}`);
    const app = await startTestApp({ ...rotated.env, SIGNING_RETIRED_CERTS_FILE: retiredFile, AUDIT_CHECKPOINT_SECONDS: '3600' });
    const appStore = storeOf(app);
    // The old key, as the previous deployment used it.
    const oldKey = new AuditCheckpoints({ db: app.facesign.db, store: appStore, signer: key.signer, settings: { objectLockMode: 'off', retentionYears: 1 }, log: app.facesign.log });
    // New events, then a head by `checkpoints` over them (the scheduled start-up checkpoint may take the first ones).
    const headBy = async (checkpoints: AuditCheckpoints, now?: Date) => {
      for (let attempt = 0; attempt < 3; attempt += 1) {
        await app.signIn({ roles: ['AGENT'] });
        await sealAuditChain(app.facesign.db, { wait: true });
        const head = await checkpoints.checkpoint({ wait: true, ...(now ? { now } : {}) });
        if (head) return head;
      }
      throw new Error('no head was published');
    };
    try {
      const oldHead = await headBy(oldKey);
      expect(oldHead.keyId).toBe(key.signer.keyId);
      const newHead = await headBy(app.facesign.auditCheckpoints);
      expect(newHead.keyId).toBe(rotated.signer.keyId);

      expect(app.facesign.signing.keyring.document().keys.map((k) => [k.keyId, k.status])).toEqual([[rotated.signer.keyId, 'current'], [key.signer.keyId, 'retired']]);
      // storage: every head recorded, which audit:verify must have checked
      const heads = await app.facesign.db.auditTreeHead.count();
      expect(await verifyAuditLog({ db: app.facesign.db, store: appStore, keyring: app.facesign.signing.keyring })).toMatchObject({ ok: true, heads, problems: [] });
      // Without the retired certificate, the old key's head is unverifiable.
      const newOnly = await verifyAuditLog({ db: app.facesign.db, store: appStore, keyring: Keyring.fromTrustedPem(rotated.certificatePem) });
      expect(newOnly.problems[0]).toContain(`head ${oldHead.treeSize} (${treeHeadObjectKey(oldHead.treeSize)}): signature not valid: key ${key.signer.keyId} is not in the keyring`);

      // Someone still holding the old key signs a head after its retirement: refused.
      const late = await headBy(oldKey, new Date(retiredAt.getTime() + 1000));
      const verdict = await verifyAuditLog({ db: app.facesign.db, store: appStore, keyring: app.facesign.signing.keyring });
      expect(verdict.ok).toBe(false);
      expect(verdict.problems[0]).toMatch(new RegExp(`^head ${late.treeSize} .*signature not valid: key ${key.signer.keyId} signs from .* to ${retiredAt.toISOString()}, not at`));
    } finally {
      await app.stop();
    }
  });
});

describe('the checkpoint and the bucket', () => {
  it('adopts a head an interrupted checkpoint published, and never extends head rows the bucket contradicts', async () => {
    const app = await startTestApp({ ...key.env, AUDIT_CHECKPOINT_SECONDS: '3600' });
    const superuser = new pg.Client({ connectionString: app.databaseUrl });
    await superuser.connect();
    const checkpoints = app.facesign.auditCheckpoints;
    const appStore = storeOf(app);
    const more = async () => {
      await app.signIn({ roles: ['AGENT'] });
      await sealAuditChain(app.facesign.db, { wait: true });
    };
    const asSuperuser = async (statement: string) => {
      await superuser.query('BEGIN');
      await superuser.query('SET LOCAL session_replication_role = replica');
      await superuser.query(statement);
      await superuser.query('COMMIT');
    };
    try {
      await more();
      await checkpoints.checkpoint({ wait: true });
      // Published, then stopped before recording it: the row is missing.
      await more();
      const orphan = (await checkpoints.checkpoint({ wait: true }))!;
      await asSuperuser(`DELETE FROM "AuditTreeHead" WHERE "treeSize" = ${orphan.treeSize}`);
      expect(await checkpoints.checkpoint({ wait: true })).toEqual(orphan);
      // storage: the missing row is recorded again
      expect(await app.facesign.db.auditTreeHead.count({ where: { treeSize: BigInt(orphan.treeSize) } })).toBe(1);
      // Again, with events sealed meanwhile: the next head repeats the orphan's leaves, and audit:verify accepts both.
      await asSuperuser(`DELETE FROM "AuditTreeHead" WHERE "treeSize" = ${orphan.treeSize}`);
      await more();
      const next = (await checkpoints.checkpoint({ wait: true }))!;
      expect(next.treeSize).toBeGreaterThan(orphan.treeSize);
      const verdict = await verifyAuditLog({ db: app.facesign.db, store: appStore, keyring: app.facesign.signing.keyring });
      expect(verdict).toMatchObject({ ok: true, problems: [] });
      expect(verdict.notes).toContain(`head ${orphan.treeSize} is published but not recorded in the database (a checkpoint interrupted after publishing)`);

      // Head rows rewritten in the database: the next checkpoint refuses to sign over them.
      await more();
      await asSuperuser(`UPDATE "AuditTreeHead" SET "rootHash" = repeat('0', 64) WHERE "treeSize" = ${next.treeSize}`);
      await expect(checkpoints.checkpoint({ wait: true })).rejects.toThrow(`the database's tree head ${next.treeSize} differs from the published one: refusing to extend it`);
      // And with every row removed, it refuses to start a tree over again.
      await asSuperuser(`DELETE FROM "AuditTreeHead"`);
      await expect(checkpoints.checkpoint({ wait: true })).rejects.toThrow(/the bucket holds \d+ published tree heads but the database none: refusing to start a new tree/);
      expect((await store().listKeys(TREE_HEADS_PREFIX)).length).toBeGreaterThan(0);
    } finally {
      await superuser.end();
      await app.stop();
    }
  });
});
