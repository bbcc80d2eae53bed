// Finding M1: with the database superuser's rights, triggers bypassed (session_replication_role =
// replica), an attacker edits one audit event and re-hashes every event after it with the project's
// own hash function, so the hash chain alone verifies again. Any event covered by a published tree
// head must still be caught, by name, because the heads in the bucket anchor the log.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, TEST_BUCKET, type TestApp } from '../support/harness.js';
import { signingFiles, type SigningFiles } from '../support/signing.js';
import { S3RVER_CREDENTIALS } from '../../dev/s3-server.js';
import { GENESIS_HASH, hashAuditRow } from '../../server/audit/audit.service.js';
import { sealAuditChain } from '../../server/audit/audit-sealer.service.js';
import { verifyAuditChain } from '../../server/audit/chain-verify.js';
import { verifyAuditLog } from '../../server/audit/log-verify.js';
import { MerkleFrontier } from '../../server/audit/merkle.js';
import { auditLeafHash, toHex } from '../../server/audit/tree-head.js';
import { createS3Client, RecordingStore } from '../../recordings/object-store.js';

const run = promisify(execFile);
let t: TestApp;
let key: SigningFiles;
let superuser: pg.Client;

beforeEach(async () => {
  key = await signingFiles();
  t = await startTestApp({ ...key.env, AUDIT_CHECKPOINT_SECONDS: '3600' });
  superuser = new pg.Client({ connectionString: t.databaseUrl });
  await superuser.connect();
  const { rows } = await superuser.query<{ rolsuper: boolean }>('SELECT rolsuper FROM pg_roles WHERE rolname = current_user');
  expect(rows[0]?.rolsuper).toBe(true);
  // Real activity: users created, signed in, an API key, loan files.
  const admin = await t.signIn({ roles: ['ADMIN'] });
  const created = await admin.post<{ key: string }>('/api/api-keys', { name: 'los', scopes: ['loan-files:write'] });
  const los = t.client().withApiKey(created.body.key);
  for (let i = 0; i < 6; i += 1) {
    expect((await los.post('/api/loan-files', { externalRef: `M1-${i}`, product: 'p', amount: '100000.00', currency: 'CNY' })).status).toBe(201);
  }
  await sealAuditChain(t.facesign.db, { wait: true });
});
afterEach(async () => {
  await superuser?.end();
  await t?.stop();
});

/** A head over everything sealed (the scheduled checkpoint may be running: wait for the lock). */
async function publishHead() {
  await t.facesign.auditCheckpoints.checkpoint({ wait: true });
  return (await t.facesign.auditCheckpoints.latest())!;
}

const store = () => new RecordingStore(createS3Client(t.facesign.config.s3), TEST_BUCKET);
const verify = () => verifyAuditLog({ db: t.facesign.db, store: store(), keyring: t.facesign.signing.keyring });

async function auditVerifyCli() {
  const env = { ...process.env, ...key.env, DATABASE_URL: t.databaseUrl, LOG_LEVEL: 'silent', S3_ENDPOINT: t.s3.endpoint, S3_BUCKET: TEST_BUCKET, S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey, S3_FORCE_PATH_STYLE: 'true' };
  try {
    const { stdout, stderr } = await run('npx', ['tsx', 'server/audit/verify-cli.ts'], { env });
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

interface Row { seq: string; id: string; chainSeq: string; occurredAt: Date; recordedAt: Date; actorType: string; actorId: string | null; action: string; actionVersion: number; entityType: string; entityId: string; requestId: string | null; data: unknown }

/**
 * The attack, as the superuser runs it: triggers off for the session, the event at `position` changed,
 * every later event re-hashed onto it, and the database's head rows rewritten to the forged tree.
 */
async function forge(position: number, edit: string): Promise<Row> {
  await superuser.query('BEGIN');
  await superuser.query('SET LOCAL session_replication_role = replica');
  const { rows: [victim] } = await superuser.query<Row>(`SELECT * FROM "AuditEvent" WHERE "chainSeq" = $1`, [position]);
  await superuser.query(`UPDATE "AuditEvent" SET data = ${edit} WHERE seq = $1`, [victim!.seq]);
  const { rows } = await superuser.query<Row>(`SELECT * FROM "AuditEvent" WHERE "chainSeq" >= $1 ORDER BY "chainSeq"`, [position]);
  const { rows: [before] } = await superuser.query<{ hash: string }>(`SELECT hash FROM "AuditEvent" WHERE "chainSeq" = $1`, [position - 1]);
  let prevHash = before?.hash ?? GENESIS_HASH;
  for (const row of rows) {
    const hash = hashAuditRow({ ...row, prevHash });
    await superuser.query(`UPDATE "AuditEvent" SET "prevHash" = $1, hash = $2 WHERE seq = $3`, [prevHash, hash, row.seq]);
    prevHash = hash;
  }
  // The head rows in the database now describe the forged tree (the signatures cannot be forged).
  const { rows: leaves } = await superuser.query<{ hash: string }>(`SELECT hash FROM "AuditEvent" WHERE "chainSeq" IS NOT NULL ORDER BY "chainSeq"`);
  const { rows: heads } = await superuser.query<{ treeSize: string }>(`SELECT "treeSize" FROM "AuditTreeHead"`);
  for (const head of heads) {
    const frontier = MerkleFrontier.empty();
    for (const leaf of leaves.slice(0, Number(head.treeSize))) frontier.append(auditLeafHash(leaf.hash));
    await superuser.query(`UPDATE "AuditTreeHead" SET "rootHash" = $1, frontier = $2 WHERE "treeSize" = $3`, [toHex(frontier.root()), frontier.hashes.map(toHex), head.treeSize]);
  }
  await superuser.query('COMMIT');
  return victim!;
}

describe('M1: a superuser rewriting the audit chain', () => {
  it('is caught for an event covered by a published head, naming the event', async () => {
    const head = (await publishHead());
    expect(head.treeSize).toBeGreaterThan(8);
    expect(await verify()).toMatchObject({ ok: true });
    // Events after the head, so the rewrite reaches into the unanchored tail as well.
    const admin = await t.signIn({ roles: ['SUPERVISOR'] });
    expect(admin).toBeDefined();
    await sealAuditChain(t.facesign.db, { wait: true });

    const { rows: [target] } = await superuser.query<{ chainSeq: string }>(`SELECT "chainSeq" FROM "AuditEvent" WHERE action = 'loan_file.created' ORDER BY "chainSeq" OFFSET 2 LIMIT 1`);
    const position = Number(target!.chainSeq);
    expect(position).toBeLessThanOrEqual(head.treeSize);
    const victim = await forge(position, `jsonb_set(data, '{amount}', '"1.00"')`);

    // What M1 showed: the hash chain alone is fooled by the re-hash.
    expect(await verifyAuditChain(t.facesign.db)).toMatchObject({ ok: true });
    // The anchored log is not.
    const verdict = await verify();
    expect(verdict.ok).toBe(false);
    expect(verdict.problems[0]).toBe(`event seq ${victim.seq} (id ${victim.id}, chain position ${position}) is not the event anchored by head ${head.treeSize} (audit/heads/${String(head.treeSize).padStart(20, '0')}.json): its chain hash in the database differs from the published one (changed after it was anchored)`);
    expect(verdict.problems).toContain(`head ${head.treeSize}: the database's copy differs from the published head`);

    const cli = await auditVerifyCli();
    expect(cli.code).toBe(1);
    expect(cli.out).toContain(`audit log BROKEN: event seq ${victim.seq} (id ${victim.id}, chain position ${position}) is not the event anchored by head ${head.treeSize}`);
  });

  it('is caught for the first event, the whole chain re-hashed', async () => {
    const head = (await publishHead());
    const first = await forge(1, `'{"forged":true}'::jsonb`);
    expect(await verifyAuditChain(t.facesign.db)).toMatchObject({ ok: true });
    expect((await verify()).problems[0]).toContain(`event seq ${first.seq} (id ${first.id}, chain position 1) is not the event anchored by head ${head.treeSize}`);
  });

  it('is caught when the last covered event is forged, or covered events are removed', async () => {
    const head = (await publishHead());
    const last = await forge(head.treeSize, `'{"forged":true}'::jsonb`);
    expect(await verifyAuditChain(t.facesign.db)).toMatchObject({ ok: true });
    expect((await verify()).problems[0]).toContain(`event seq ${last.seq} (id ${last.id}, chain position ${head.treeSize}) is not the event anchored by head ${head.treeSize}`);

    // Removing the newest covered events leaves a chain that verifies on its own, and a head that does not.
    await superuser.query('BEGIN');
    await superuser.query('SET LOCAL session_replication_role = replica');
    await superuser.query(`DELETE FROM "AuditEvent" WHERE "chainSeq" >= $1`, [head.treeSize - 1]);
    await superuser.query('COMMIT');
    expect(await verifyAuditChain(t.facesign.db)).toMatchObject({ ok: true });
    expect((await verify()).problems[0]).toContain(`covers ${head.treeSize} events but the database has no sealed event at chain position ${head.treeSize - 1}: events were removed`);
  });

  it('is not caught in the unanchored tail, which audit:verify reports as such (the documented window)', async () => {
    const head = (await publishHead());
    await t.signIn({ roles: ['AGENT'] });
    await t.signIn({ roles: ['AGENT'] });
    await sealAuditChain(t.facesign.db, { wait: true });
    await forge(head.treeSize + 1, `'{"forged":true}'::jsonb`);
    const verdict = await verify();
    expect(verdict).toMatchObject({ ok: true, latestHead: { treeSize: head.treeSize } });
    expect(verdict.unanchored.count).toBeGreaterThanOrEqual(4);
    const cli = await auditVerifyCli();
    expect(cli.code).toBe(0);
    expect(cli.out).toMatch(/unanchored tail: \d+ sealed events after the newest head/);
  });
});
