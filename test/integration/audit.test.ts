import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApp, TEST_BUCKET, type TestApp } from '../support/harness.js';
import { S3RVER_CREDENTIALS } from '../../dev/s3-server.js';
import { verifyAuditChain } from '../../server/audit/chain-verify.js';
import { appendAudit } from '../../server/audit/audit.service.js';
import { sealAuditChain } from '../../server/audit/audit-sealer.service.js';
import { verifySealedChain } from '../support/audit.js';
import { eventually } from '../support/fixtures.js';
import { auditEventOf } from '../support/reads.js';

const run = promisify(execFile);
let t: TestApp;
let sql: pg.Client;

beforeAll(async () => {
  t = await startTestApp();
  sql = new pg.Client({ connectionString: t.databaseUrl });
  await sql.connect();
});
afterAll(async () => {
  await sql?.end();
  await t?.stop();
});

async function auditVerifyCli() {
  // The app signs tree heads with an ephemeral key: the verifier is told to trust its certificate.
  const trust = join(await mkdtemp(join(tmpdir(), 'facesign-trust-')), 'cert.pem');
  await writeFile(trust, t.facesign.signing.signer.certificateChainPem[0]!);
  const s3 = { S3_ENDPOINT: t.s3.endpoint, S3_BUCKET: TEST_BUCKET, S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey, S3_FORCE_PATH_STYLE: 'true' };
  try {
    const { stdout } = await run('npx', ['tsx', 'server/audit/verify-cli.ts', '--trust', trust], { env: { ...process.env, DATABASE_URL: t.databaseUrl, LOG_LEVEL: 'silent', ...s3 } });
    return { code: 0, out: stdout };
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, out: e.stderr };
  }
}

describe('audit chain', () => {
  it('stays linear under concurrent writers', async () => {
    const admin = await t.signIn({ roles: ['ADMIN'] });
    const key = await admin.post<{ key: string }>('/api/api-keys', { name: 'los', scopes: ['loan-files:write'] });
    const los = t.client().withApiKey(key.body.key);
    const results = await Promise.all(
      Array.from({ length: 25 }, (_, i) => los.post('/api/loan-files', { externalRef: `A-${i}`, product: 'p', amount: '10', currency: 'CNY' })),
    );
    expect(results.every((r) => r.status === 201)).toBe(true);
    // Two more writers that bypass HTTP, straight into transactions.
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        t.facesign.db.$transaction((tx) =>
          appendAudit(tx, { actor: { type: 'SYSTEM' }, entity: { type: 'test', id: `x${i}` }, event: { action: 'auth.logged_out', v: 1, data: { loginSessionId: '00000000-0000-4000-8000-00000000000' + (i % 10) } } }),
        ),
      ),
    );
    // The background sealer and an explicit one race each other over the same rows.
    const [verdict] = await Promise.all([verifySealedChain(t.facesign.db), sealAuditChain(t.facesign.db)]);
    const { rows } = await sql.query<{ n: string; links: string }>(`SELECT count(*) AS n, count(DISTINCT "prevHash") AS links FROM "AuditEvent"`);
    expect(rows[0]!.n).toBe(rows[0]!.links); // no two rows share a predecessor: the chain never forks
    expect(verdict).toMatchObject({ ok: true, checked: Number(rows[0]!.n), unsealed: 0 });
  });

  it('rejects UPDATE, DELETE and TRUNCATE in the database itself', async () => {
    await expect(sql.query(`UPDATE "AuditEvent" SET action = 'x' WHERE seq = 1`)).rejects.toThrow(/append-only/);
    await expect(sql.query(`DELETE FROM "AuditEvent" WHERE seq = 1`)).rejects.toThrow(/append-only/);
    await expect(sql.query(`TRUNCATE "AuditEvent"`)).rejects.toThrow(/append-only/);
  });

  it('seals committed events by itself, shortly after they commit', async () => {
    // fixture: an event appended as any audited change appends one
    const { id } = await t.facesign.db.$transaction((tx) =>
      appendAudit(tx, { actor: { type: 'SYSTEM' }, entity: { type: 'test', id: 'self-sealed' }, event: { action: 'auth.logged_out', v: 1, data: { loginSessionId: '00000000-0000-4000-8000-000000000001' } } }),
    );
    const auditor = await t.signIn({ roles: ['AUDITOR'] });
    const sealed = await eventually(async () => {
      const event = await auditEventOf(auditor, { entityType: 'test', entityId: 'self-sealed' });
      return event.chainSeq !== null ? event : undefined;
    });
    expect(sealed.id).toBe(id);
    expect(await verifyAuditChain(t.facesign.db)).toMatchObject({ ok: true });
  });

  it('chains an event that commits after later ones, without forking', async () => {
    const early = new pg.Client({ connectionString: t.databaseUrl });
    await early.connect();
    try {
      await early.query('BEGIN');
      const inserted = await early.query<{ seq: string }>(
        `INSERT INTO "AuditEvent" (id, "occurredAt", "recordedAt", "actorType", action, "actionVersion", "entityType", "entityId", data)
         VALUES (gen_random_uuid(), now(), now(), 'SYSTEM', 'auth.logged_out', 1, 'test', 'late', '{"loginSessionId":"00000000-0000-4000-8000-000000000002"}') RETURNING seq`,
      );
      // Later events (higher seq) commit and are sealed while the early one is still open.
      for (let i = 0; i < 3; i += 1) {
        await t.facesign.db.$transaction((tx) =>
          appendAudit(tx, { actor: { type: 'SYSTEM' }, entity: { type: 'test', id: `after-${i}` }, event: { action: 'auth.logged_out', v: 1, data: { loginSessionId: '00000000-0000-4000-8000-000000000003' } } }),
        );
      }
      await sealAuditChain(t.facesign.db, { wait: true });
      await early.query('COMMIT');
      await sealAuditChain(t.facesign.db, { wait: true });
      // storage: where the sealer put the late row in the chain
      const late = await t.facesign.db.auditEvent.findFirstOrThrow({ where: { seq: BigInt(inserted.rows[0]!.seq) } });
      const head = await t.facesign.db.auditEvent.findFirstOrThrow({ orderBy: { chainSeq: 'desc' } });
      expect(late.id).toBe(head.id); // joined at the end of the chain, after the rows with higher seq
      expect(await verifyAuditChain(t.facesign.db)).toMatchObject({ ok: true, unsealed: 0 });
      const { rows } = await sql.query<{ n: string; links: string }>(`SELECT count(*) AS n, count(DISTINCT "prevHash") AS links FROM "AuditEvent"`);
      expect(rows[0]!.n).toBe(rows[0]!.links);
    } finally {
      await early.end();
    }
  });

  it('lets the sealer fill in the chain fields once, and nothing else ever change', async () => {
    const insert = `INSERT INTO "AuditEvent" (id, "occurredAt", "recordedAt", "actorType", action, "actionVersion", "entityType", "entityId", data)
      VALUES (gen_random_uuid(), now(), now(), 'SYSTEM', 'auth.logged_out', 1, 'test', 'guarded', '{}') RETURNING seq`;
    const attempt = async (statements: (seq: string) => string[]) => {
      await sql.query('BEGIN');
      try {
        const seq = (await sql.query<{ seq: string }>(insert)).rows[0]!.seq;
        for (const statement of statements(seq)) await sql.query(statement);
      } finally {
        await sql.query('ROLLBACK');
      }
    };
    const seal = (seq: string) => `UPDATE "AuditEvent" SET "prevHash" = repeat('a', 64), hash = repeat('b', 64), "chainSeq" = 999999 WHERE seq = ${seq}`;
    // Unsealed: what it says cannot change, and it cannot be removed.
    await expect(attempt((seq) => [`UPDATE "AuditEvent" SET data = '{"x":1}' WHERE seq = ${seq}`])).rejects.toThrow(/append-only/);
    await expect(attempt((seq) => [`UPDATE "AuditEvent" SET "entityId" = 'other', hash = repeat('b', 64), "prevHash" = repeat('a', 64), "chainSeq" = 999999 WHERE seq = ${seq}`])).rejects.toThrow(/append-only/);
    await expect(attempt((seq) => [`UPDATE "AuditEvent" SET hash = repeat('b', 64) WHERE seq = ${seq}`])).rejects.toThrow(/append-only/);
    await expect(attempt((seq) => [`DELETE FROM "AuditEvent" WHERE seq = ${seq}`])).rejects.toThrow(/append-only/);
    // Sealing is allowed once; a sealed row cannot be re-sealed or changed.
    await expect(attempt((seq) => [seal(seq)])).resolves.toBeUndefined();
    await expect(attempt((seq) => [seal(seq), `UPDATE "AuditEvent" SET hash = repeat('c', 64) WHERE seq = ${seq}`])).rejects.toThrow(/append-only/);
  });

  it('audit:verify passes on a clean chain and names the exact row after tampering', async () => {
    await sealAuditChain(t.facesign.db, { wait: true });
    const clean = await auditVerifyCli();
    expect(clean.code).toBe(0);
    expect(clean.out).toMatch(/audit chain intact: \d+ events/);

    const { rows } = await sql.query<{ seq: string; id: string }>(`SELECT seq, id FROM "AuditEvent" ORDER BY "chainSeq" OFFSET 7 LIMIT 1`);
    const target = rows[0]!;
    await sql.query(`ALTER TABLE "AuditEvent" DISABLE TRIGGER audit_event_no_update_delete`);
    await sql.query(`UPDATE "AuditEvent" SET data = jsonb_set(data, '{amount}', '"99999999.00"') WHERE seq = $1`, [target.seq]);
    await sql.query(`ALTER TABLE "AuditEvent" ENABLE TRIGGER audit_event_no_update_delete`);

    const verdict = await verifyAuditChain(t.facesign.db);
    expect(verdict).toMatchObject({ ok: false, checked: 7, broken: { seq: BigInt(target.seq), id: target.id, reason: 'content_changed' } });
    const cli = await auditVerifyCli();
    expect(cli.code).toBe(1);
    expect(cli.out).toContain(`BROKEN at seq ${target.seq} (id ${target.id})`);
  });

  it('detects a deleted row as a broken link at its successor', async () => {
    const other = await startTestApp();
    const db = new pg.Client({ connectionString: other.databaseUrl });
    await db.connect();
    try {
      for (let i = 0; i < 4; i += 1) await other.signIn({ roles: ['AGENT'] });
      await sealAuditChain(other.facesign.db, { wait: true });
      const { rows } = await db.query<{ seq: string; id: string }>(`SELECT seq, id FROM "AuditEvent" ORDER BY "chainSeq" OFFSET 2 LIMIT 2`);
      const [victim, successor] = rows;
      await db.query(`ALTER TABLE "AuditEvent" DISABLE TRIGGER audit_event_no_update_delete`);
      await db.query(`DELETE FROM "AuditEvent" WHERE seq = $1`, [victim!.seq]);
      await db.query(`ALTER TABLE "AuditEvent" ENABLE TRIGGER audit_event_no_update_delete`);
      const verdict = await verifyAuditChain(other.facesign.db);
      expect(verdict).toMatchObject({ ok: false, checked: 2, broken: { seq: BigInt(successor!.seq), id: successor!.id, reason: 'link_broken' } });
    } finally {
      await db.end();
      await other.stop();
    }
  });

});
