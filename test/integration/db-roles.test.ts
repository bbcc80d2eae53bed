// Least-privilege database roles (finding M1): the application connects as a role that owns nothing,
// so with its credentials the audit log's triggers cannot be disabled or skipped, the log cannot be
// truncated, sealed events cannot be changed or deleted, and no objects can be created. Its grants are
// exactly the policy in server/db/grants-policy.ts, table by table, read from the live catalog.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { AUDIT_CHAIN_LOCK, sealAuditChain } from '../../server/audit/audit-sealer.service.js';
import { createDb } from '../../server/db/client.js';
import { APP_GROUP_ROLE } from '../../server/db/grants-policy.js';
import { checkDatabaseRole, DatabaseRoleError, databaseRoleProblems, ensureAppLogin, grantsDrift, scramVerifier, sqlOnClient } from '../../server/db/roles.js';
import { createLogger } from '../../server/logging.js';
import { createFacesign } from '../../server/main.js';
import { asRole, LOCAL_APP_ROLE, LOCAL_OWNER_ROLE } from '../../dev/local-database.js';
import { cloneDatabase } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/harness.js';

const run = promisify(execFile);
let t: TestApp;
/** Connected with the very URL the running application uses. */
let app: pg.Client;
let admin: pg.Client;

beforeAll(async () => {
  t = await startTestApp();
  // Audit events, sealed: a user created through the app, then the chain sealed.
  await t.signIn({ roles: ['ADMIN'] });
  await sealAuditChain(t.facesign.db, { wait: true });
  app = new pg.Client({ connectionString: t.facesign.config.database.url });
  admin = new pg.Client({ connectionString: t.databaseUrl });
  await Promise.all([app.connect(), admin.connect()]);
}, 60_000);
afterAll(async () => {
  await Promise.all([app?.end(), admin?.end()]);
  await t?.stop();
});

/** The SQLSTATE `sql` fails with as the application's role, or 'ok'. */
async function asApp(sql: string): Promise<string> {
  try {
    await app.query(sql);
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code ?? 'no code';
  }
}

const sealedSeq = async () => (await admin.query<{ seq: string }>(`SELECT "seq"::text AS seq FROM "AuditEvent" WHERE "chainSeq" IS NOT NULL ORDER BY "seq" LIMIT 1`)).rows[0]!.seq;
const INSUFFICIENT_PRIVILEGE = '42501';

describe("the application's database role", () => {
  it('is a member of facesign_app that owns nothing and is no superuser', async () => {
    const { rows: [me] } = await app.query<{ user: string; superuser: boolean; member: boolean }>(
      `SELECT current_user::text AS "user", (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser, pg_has_role(current_user, $1, 'MEMBER') AS member`,
      [APP_GROUP_ROLE],
    );
    expect(me).toEqual({ user: LOCAL_APP_ROLE, superuser: false, member: true });
    expect(await databaseRoleProblems(sqlOnClient(app))).toEqual([]);
  });

  it('cannot change or delete a sealed audit event, whatever the column', async () => {
    const seq = await sealedSeq();
    const before = (await admin.query(`SELECT * FROM "AuditEvent" WHERE "seq" = ${seq}`)).rows[0];
    expect(await asApp(`UPDATE "AuditEvent" SET "data" = '{"forged":true}' WHERE "seq" = ${seq}`)).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await asApp(`UPDATE "AuditEvent" SET "action" = 'user.created' WHERE "seq" = ${seq}`)).toBe(INSUFFICIENT_PRIVILEGE);
    // The chain columns are the sealer's to fill in once; on a sealed row the trigger refuses them.
    expect(await asApp(`UPDATE "AuditEvent" SET "hash" = repeat('0', 64) WHERE "seq" = ${seq}`)).toBe('55000');
    expect(await asApp(`DELETE FROM "AuditEvent" WHERE "seq" = ${seq}`)).toBe(INSUFFICIENT_PRIVILEGE);
    expect((await admin.query(`SELECT * FROM "AuditEvent" WHERE "seq" = ${seq}`)).rows[0]).toEqual(before);
  });

  it('cannot truncate, disable triggers, alter, drop or skip triggers with session_replication_role', async () => {
    expect(await asApp(`TRUNCATE "AuditEvent"`)).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await asApp(`TRUNCATE "LoanFile" CASCADE`)).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await asApp(`ALTER TABLE "AuditEvent" DISABLE TRIGGER audit_event_no_update_delete`)).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await asApp(`ALTER TABLE "AuditEvent" DISABLE TRIGGER ALL`)).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await asApp(`ALTER TABLE "AuditEvent" ADD COLUMN "note" text`)).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await asApp(`DROP TRIGGER audit_event_no_update_delete ON "AuditEvent"`)).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await asApp(`CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$`)).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await asApp(`DROP TABLE "Review"`)).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await asApp(`SET session_replication_role = replica`)).toBe(INSUFFICIENT_PRIVILEGE);
    // The M1 repro's first step, the way it was done: inside a transaction, for that transaction only.
    await app.query('BEGIN');
    try {
      expect(await asApp(`SET LOCAL session_replication_role = replica`)).toBe(INSUFFICIENT_PRIVILEGE);
    } finally {
      await app.query('ROLLBACK');
    }
    const { rows: [triggers] } = await admin.query<{ enabled: string[] }>(`SELECT array_agg(tgenabled::text) AS enabled FROM pg_trigger WHERE tgrelid = '"AuditEvent"'::regclass AND NOT tgisinternal`);
    expect(triggers!.enabled).toEqual(['O', 'O']);
  });

  it('cannot create objects or take another role', async () => {
    expect(await asApp(`CREATE TABLE "Shadow" ("id" int)`)).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await asApp(`CREATE VIEW "Events" AS SELECT 1 AS one`)).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await asApp(`CREATE FUNCTION nothing() RETURNS int LANGUAGE sql AS 'SELECT 1'`)).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await asApp(`CREATE SCHEMA attacker`)).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await asApp(`SET ROLE facesign_owner`)).toBe(INSUFFICIENT_PRIVILEGE);
    expect(await asApp(`GRANT facesign_owner TO ${LOCAL_APP_ROLE}`)).toBe(INSUFFICIENT_PRIVILEGE);
  });

  it('still seals new audit events: the chain columns of unsealed rows are the one update it may make', async () => {
    // The app's own sealer wakes on every append: hold the chain's lock so the new events wait unsealed.
    await admin.query('SELECT pg_advisory_lock($1)', [AUDIT_CHAIN_LOCK]);
    try {
      await t.signIn({ roles: ['AGENT'] });
      const unsealed = Number((await admin.query(`SELECT count(*) FROM "AuditEvent" WHERE "chainSeq" IS NULL`)).rows[0].count);
      expect(unsealed).toBeGreaterThan(0);
    } finally {
      await admin.query('SELECT pg_advisory_unlock($1)', [AUDIT_CHAIN_LOCK]);
    }
    await sealAuditChain(t.facesign.db, { wait: true });
    expect(Number((await admin.query(`SELECT count(*) FROM "AuditEvent" WHERE "chainSeq" IS NULL`)).rows[0].count)).toBe(0);
  });
});

describe('the grants policy', () => {
  it('matches the live catalog exactly, for facesign_app and for the login role', async () => {
    expect(await grantsDrift(sqlOnClient(admin), APP_GROUP_ROLE)).toEqual([]);
    expect(await grantsDrift(sqlOnClient(admin), LOCAL_APP_ROLE)).toEqual([]);
    // Nothing is granted to PUBLIC or to the login role directly: everything comes through the group.
    const { rows } = await admin.query(`SELECT grantee, table_name, privilege_type FROM information_schema.role_table_grants
      WHERE table_schema = 'public' AND grantee IN ('PUBLIC', $1)`, [LOCAL_APP_ROLE]);
    expect(rows).toEqual([]);
  });

  it('reports a table without a policy entry and a grant beyond the policy', async () => {
    const db = await cloneDatabase(inject('templateDatabase'));
    const owner = new pg.Client({ connectionString: db.ownerUrl });
    await owner.connect();
    try {
      await owner.query(`CREATE TABLE "Unplanned" ("id" int); GRANT SELECT ON "Unplanned" TO ${APP_GROUP_ROLE}; GRANT DELETE ON "Consent" TO ${APP_GROUP_ROLE}; GRANT UPDATE ("data") ON "AuditEvent" TO ${APP_GROUP_ROLE}`);
      const drift = await grantsDrift(sqlOnClient(owner), LOCAL_APP_ROLE);
      expect(drift).toEqual([
        'table Consent: facesign_api has SELECT, INSERT, DELETE, the policy says SELECT, INSERT',
        'table Unplanned: no entry in the grants policy (it has SELECT)',
        'column AuditEvent.data: facesign_api has SELECT, INSERT, UPDATE, the policy says SELECT, INSERT',
      ]);
    } finally {
      await owner.end();
      await db.drop();
    }
  });
});

describe('npm run db:roles', () => {
  it('creates the login of DATABASE_URL as the owner, with its password, in facesign_app; run again, it finds it all in place', async () => {
    const login = `facesign_api_${randomUUID().slice(0, 8)}`;
    const db = await cloneDatabase(inject('templateDatabase'));
    const password = 'pa ss:word/ü';
    const env = {
      ...process.env,
      NODE_ENV: 'development',
      LOG_LEVEL: 'silent',
      DATABASE_URL: asRole(db.url, login).replace(`${login}@`, `${login}:${encodeURIComponent(password)}@`),
      MIGRATION_DATABASE_URL: db.ownerUrl,
    };
    try {
      const first = await run('npx', ['tsx', 'server/db/roles-cli.ts'], { env });
      expect(first.stdout).toContain(`database role ${login}: created, password set, added to facesign_app`);
      expect(first.stdout + first.stderr).not.toContain('pa ss');
      // A production migration job needs only the two URLs (no signing key, object store or LiveKit).
      const again = await run('npx', ['tsx', 'server/db/roles-cli.ts'], { env: { ...env, NODE_ENV: 'production' } });
      expect(again.stdout).toContain(`database role ${login}: exists, password set, member of facesign_app`);
      const { rows: [role] } = await admin.query<{ rolcanlogin: boolean; rolsuper: boolean; rolpassword: string; member: boolean }>(
        `SELECT rolcanlogin, rolsuper, rolpassword, pg_has_role(rolname, 'facesign_app', 'MEMBER') AS member FROM pg_authid WHERE rolname = $1`, [login]);
      expect(role).toMatchObject({ rolcanlogin: true, rolsuper: false, member: true });
      // The verifier PostgreSQL itself computes for this password with the same salt and iterations.
      const [, iterations, salt] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(role!.rolpassword)!;
      expect(role!.rolpassword).toBe(scramVerifier(password, Buffer.from(salt!, 'base64'), Number(iterations)));
      const probe = `facesign_probe_${randomUUID().slice(0, 8)}`;
      await admin.query(`SET password_encryption = 'scram-sha-256'; CREATE ROLE ${probe} PASSWORD ${pg.escapeLiteral(password)}`);
      const { rows: [native] } = await admin.query<{ rolpassword: string }>(`SELECT rolpassword FROM pg_authid WHERE rolname = $1`, [probe]);
      await admin.query(`DROP ROLE ${probe}`);
      const [, nativeIterations, nativeSalt] = /^SCRAM-SHA-256\$(\d+):([^$]+)\$/.exec(native!.rolpassword)!;
      expect(scramVerifier(password, Buffer.from(nativeSalt!, 'base64'), Number(nativeIterations))).toBe(native!.rolpassword);
    } finally {
      await db.drop();
      await admin.query(`DROP ROLE IF EXISTS ${login}`);
    }
  }, 60_000);

  it('refuses to make the owner, or a superuser, the application role', async () => {
    const db = await cloneDatabase(inject('templateDatabase'));
    const owner = new pg.Client({ connectionString: db.ownerUrl });
    await owner.connect();
    try {
      await expect(ensureAppLogin(owner, { user: 'facesign_owner' })).rejects.toThrow(/must not be the role that owns and migrates the schema/);
      await expect(ensureAppLogin(owner, { user: 'postgres' })).rejects.toThrow(/postgres is a superuser/);
    } finally {
      await owner.end();
      await db.drop();
    }
  });
});

describe('the start-up check', () => {
  it('refuses, in production, a superuser or the tables\' owner, and starts as the application role', async () => {
    const db = await cloneDatabase(inject('templateDatabase'));
    try {
      const production = (url: string) => ({ ...t.facesign.config, env: 'production' as const, database: { ...t.facesign.config.database, url } });
      // The test app's signing identity: production would otherwise ask for a configured key first.
      const options = { signing: t.facesign.signing, logDestination: new Writable({ write: (_c, _e, done) => done() }) };
      await expect(createFacesign(production(db.url), options)).rejects.toThrow(DatabaseRoleError);
      await expect(createFacesign(production(db.url), options)).rejects.toThrow(/postgres is a superuser/);
      await expect(createFacesign(production(db.ownerUrl), options)).rejects.toThrow(/facesign_owner owns or may act as the owner of \d+ relation/);
      // As the application's role the same check passes (the rest of the graph is the harness's business).
      const appDb = createDb({ url: db.appUrl, poolSize: 1 });
      await expect(checkDatabaseRole(appDb, 'production', createLogger({ level: 'silent' }))).resolves.toBeUndefined();
      await appDb.$disconnect();
    } finally {
      await db.drop();
    }
  });

  it('outside production warns instead, naming the problem', async () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', destination: new Writable({ write: (chunk: Buffer, _e, done) => { lines.push(chunk.toString()); done(); } }) });
    const ownerDb = createDb({ url: asRole(t.databaseUrl, LOCAL_OWNER_ROLE), poolSize: 1 });
    try {
      await checkDatabaseRole(ownerDb, 'development', log);
    } finally {
      await ownerDb.$disconnect();
    }
    const warning = lines.map((line) => JSON.parse(line) as { level: string; msg: string; problems?: string[] }).find((l) => l.msg.includes('more rights than the application needs'));
    expect(warning?.level).toBe('warn');
    expect(warning?.problems?.join('\n')).toMatch(/^facesign_owner owns or may act as the owner of \d+ relation/m);
  });
});
