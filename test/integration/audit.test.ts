import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/harness.js';
import { verifyAuditChain } from '../../server/audit/audit.verify.js';
import { appendAudit } from '../../server/audit/audit.service.js';

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
  try {
    const { stdout } = await run('npx', ['tsx', 'server/audit/verify-cli.ts'], { env: { ...process.env, DATABASE_URL: t.databaseUrl, LOG_LEVEL: 'silent' } });
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
    const { rows } = await sql.query<{ n: string; links: string }>(`SELECT count(*) AS n, count(DISTINCT "prevHash") AS links FROM "AuditEvent"`);
    expect(rows[0]!.n).toBe(rows[0]!.links); // no two rows share a predecessor: the chain never forks
    const verdict = await verifyAuditChain(t.facesign.db);
    expect(verdict).toMatchObject({ ok: true, checked: Number(rows[0]!.n) });
  });

  it('rejects UPDATE, DELETE and TRUNCATE in the database itself', async () => {
    await expect(sql.query(`UPDATE "AuditEvent" SET action = 'x' WHERE seq = 1`)).rejects.toThrow(/append-only/);
    await expect(sql.query(`DELETE FROM "AuditEvent" WHERE seq = 1`)).rejects.toThrow(/append-only/);
    await expect(sql.query(`TRUNCATE "AuditEvent"`)).rejects.toThrow(/append-only/);
  });

  it('audit:verify passes on a clean chain and names the exact row after tampering', async () => {
    const clean = await auditVerifyCli();
    expect(clean.code).toBe(0);
    expect(clean.out).toMatch(/audit chain intact: \d+ events/);

    const { rows } = await sql.query<{ seq: string; id: string }>(`SELECT seq, id FROM "AuditEvent" ORDER BY seq OFFSET 7 LIMIT 1`);
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
      const { rows } = await db.query<{ seq: string; id: string }>(`SELECT seq, id FROM "AuditEvent" ORDER BY seq OFFSET 2 LIMIT 2`);
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
