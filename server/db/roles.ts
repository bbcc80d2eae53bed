// The split between the tables' owner (migrations) and the application's login role, which owns
// nothing and holds only facesign_app's grants (grants-policy.ts, docs/database-roles.md).
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import pg from 'pg';
import { APP_GROUP_ROLE, SEQUENCE_GRANTS, SEQUENCE_PRIVILEGES, TABLE_GRANTS, TABLE_PRIVILEGES } from './grants-policy.js';
import { sqlAutocommit, type Db, type Sql } from './client.js';
import type { Logger } from '../logging.js';

/**
 * Why `role` (default: the connected one) has more power than the application should: it could
 * rewrite the audit log or the schema. Empty when it is a plain member of facesign_app.
 */
export async function databaseRoleProblems(sql: Sql, role?: string): Promise<string[]> {
  const [row] = await sql.query<{
    name: string;
    superuser: boolean;
    owned: string[];
    createInSchema: boolean;
    auditWritable: boolean;
    replicationRole: boolean;
  }>({
    text: `SELECT r.rolname::text AS "name", r.rolsuper AS "superuser",
        ARRAY(SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
                AND pg_has_role(r.oid, c.relowner, 'MEMBER') ORDER BY c.relname) AS "owned",
        has_schema_privilege(r.oid, current_schema(), 'CREATE') AS "createInSchema",
        COALESCE((SELECT has_table_privilege(r.oid, t, 'UPDATE') OR has_table_privilege(r.oid, t, 'DELETE') OR has_table_privilege(r.oid, t, 'TRUNCATE')
                  FROM to_regclass('"AuditEvent"') AS t WHERE t IS NOT NULL), false) AS "auditWritable",
        CASE WHEN current_setting('server_version_num')::int >= 150000
          THEN (SELECT count(*) > 0 FROM pg_parameter_acl a, aclexplode(a.paracl) x
                WHERE a.parname = 'session_replication_role' AND x.privilege_type = 'SET'
                  AND (x.grantee = 0 OR pg_has_role(r.oid, x.grantee, 'MEMBER')))
          ELSE false END AS "replicationRole"
      FROM pg_roles r WHERE r.rolname = COALESCE($1::text, current_user)`,
    values: [role ?? null],
  });
  if (!row) return [`role ${role ?? '(current)'} does not exist`];
  const problems: string[] = [];
  if (row.superuser) problems.push(`${row.name} is a superuser (it can bypass the audit log's triggers)`);
  if (row.owned.length > 0) problems.push(`${row.name} owns or may act as the owner of ${row.owned.length} relation(s), e.g. ${row.owned.slice(0, 3).join(', ')} (an owner can disable triggers)`);
  if (row.createInSchema) problems.push(`${row.name} may create objects in the schema`);
  if (row.auditWritable) problems.push(`${row.name} may update, delete or truncate every AuditEvent row`);
  if (row.replicationRole) problems.push(`${row.name} may set session_replication_role (which skips triggers)`);
  return problems;
}

const COLUMN_PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'REFERENCES'] as const;
const sameSet = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));

/**
 * How `role`'s effective privileges (its own, inherited and PUBLIC's) on the schema's tables, columns
 * and sequences differ from grants-policy.ts: a relation without a policy entry, a policy entry for a
 * relation that is gone, or privileges that differ. Empty when they match exactly.
 */
export async function grantsDrift(sql: Sql, role: string = APP_GROUP_ROLE): Promise<string[]> {
  const drift: string[] = [];
  const tables = await sql.query<{ name: string; privileges: string[] }>({
    text: `SELECT c.relname::text AS "name", ARRAY(SELECT p FROM unnest($2::text[]) AS p WHERE has_table_privilege($1::text, c.oid, p)) AS "privileges"
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY 1`,
    values: [role, TABLE_PRIVILEGES],
  });
  const columns = await sql.query<{ table: string; column: string; privileges: string[] }>({
    text: `SELECT c.relname::text AS "table", a.attname::text AS "column",
        ARRAY(SELECT p FROM unnest($2::text[]) AS p WHERE has_column_privilege($1::text, c.oid, a.attnum, p)) AS "privileges"
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY 1, 2`,
    values: [role, COLUMN_PRIVILEGES],
  });
  const sequences = await sql.query<{ name: string; privileges: string[] }>({
    text: `SELECT c.relname::text AS "name", ARRAY(SELECT p FROM unnest($2::text[]) AS p WHERE has_sequence_privilege($1::text, c.oid, p)) AS "privileges"
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND c.relkind = 'S' ORDER BY 1`,
    values: [role, SEQUENCE_PRIVILEGES],
  });
  for (const { name, privileges } of tables) {
    const policy = TABLE_GRANTS[name];
    if (!policy) drift.push(`table ${name}: no entry in the grants policy (it has ${privileges.join(', ') || 'no privileges'})`);
    else if (!sameSet(privileges, policy.table)) drift.push(`table ${name}: ${role} has ${privileges.join(', ') || 'nothing'}, the policy says ${policy.table.join(', ') || 'nothing'}`);
  }
  for (const { table, column, privileges } of columns) {
    const policy = TABLE_GRANTS[table];
    if (!policy) continue;
    const expected = COLUMN_PRIVILEGES.filter((p) => policy.table.includes(p) || (p === 'UPDATE' && policy.updateColumns?.includes(column)));
    if (!sameSet(privileges, expected)) drift.push(`column ${table}.${column}: ${role} has ${privileges.join(', ') || 'nothing'}, the policy says ${expected.join(', ') || 'nothing'}`);
  }
  for (const { name, privileges } of sequences) {
    const policy = SEQUENCE_GRANTS[name];
    if (!policy) drift.push(`sequence ${name}: no entry in the grants policy (it has ${privileges.join(', ') || 'no privileges'})`);
    else if (!sameSet(privileges, policy)) drift.push(`sequence ${name}: ${role} has ${privileges.join(', ') || 'nothing'}, the policy says ${policy.join(', ') || 'nothing'}`);
  }
  const present = new Set([...tables.map((t) => t.name), ...sequences.map((q) => q.name)]);
  for (const name of [...Object.keys(TABLE_GRANTS), ...Object.keys(SEQUENCE_GRANTS)]) {
    if (!present.has(name)) drift.push(`${name}: in the grants policy but not in the database`);
  }
  return drift;
}

/** The SCRAM-SHA-256 verifier PostgreSQL stores for `password`: the password itself never reaches the server. */
export function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

function isRace(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  // A concurrent CREATE ROLE or GRANT of the same role (another database migrating on this cluster).
  return code === '42710' || code === '23505' || code === 'XX000';
}

async function retryingRaces<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= 5 || !isRace(error)) throw error;
      await new Promise((r) => setTimeout(r, 20 * attempt));
    }
  }
}

/** `Sql` over one pg connection (the CLI's and the dev tools' own, outside the application's pool). */
export function sqlOnClient(client: pg.ClientBase): Sql {
  return { query: async <R>(s: { text: string; values?: readonly unknown[] }) => (await client.query({ text: s.text, values: s.values ? [...s.values] : [] })).rows as R[] };
}

export interface AppLoginResult {
  role: string;
  created: boolean;
  passwordSet: boolean;
  addedToGroup: boolean;
}

/**
 * Makes sure the application's login role exists, may log in, is a member of facesign_app (and the
 * group role itself exists), run by the owner on `owner`: it needs CREATEROLE. With `password`, sets
 * it (as a SCRAM verifier). Refuses when the login would be the owner itself, a superuser, or own
 * anything: the point is a role that cannot rewrite the audit log.
 */
export async function ensureAppLogin(owner: pg.ClientBase, login: { user: string; password?: string | undefined }): Promise<AppLoginResult> {
  const ident = pg.escapeIdentifier(login.user);
  const { rows: [me] } = await owner.query<{ user: string }>('SELECT current_user::text AS "user"');
  if (me?.user === login.user) throw new Error(`the application's role (${login.user}) must not be the role that owns and migrates the schema`);
  const exists = async (name: string) => (await owner.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).rowCount === 1;
  await retryingRaces(async () => {
    if (!(await exists(APP_GROUP_ROLE))) await owner.query(`CREATE ROLE ${pg.escapeIdentifier(APP_GROUP_ROLE)} NOLOGIN`);
  });
  const created = await retryingRaces(async () => {
    if (await exists(login.user)) return false;
    await owner.query(`CREATE ROLE ${ident} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT`);
    return true;
  });
  const sql = sqlOnClient(owner);
  const before = await databaseRoleProblems(sql, login.user);
  if (before.length > 0) throw new Error(`the application's role cannot be used: ${before.join('; ')}`);
  const { rows: [attrs] } = await owner.query<{ rolcanlogin: boolean; rolinherit: boolean }>('SELECT rolcanlogin, rolinherit FROM pg_roles WHERE rolname = $1', [login.user]);
  if (!attrs?.rolcanlogin || !attrs.rolinherit) await retryingRaces(() => owner.query(`ALTER ROLE ${ident} LOGIN INHERIT`));
  if (login.password) {
    // A literal verifier: a statement log shows no password.
    await retryingRaces(() => owner.query(`ALTER ROLE ${ident} PASSWORD ${pg.escapeLiteral(scramVerifier(login.password!))}`));
  }
  const addedToGroup = await retryingRaces(async () => {
    // USAGE: a member whose membership passes on the group's privileges.
    const { rows: [m] } = await owner.query<{ member: boolean }>(`SELECT pg_has_role($1, $2, 'USAGE') AS member`, [login.user, APP_GROUP_ROLE]);
    if (m?.member) return false;
    await owner.query(`GRANT ${pg.escapeIdentifier(APP_GROUP_ROLE)} TO ${ident}`);
    return true;
  });
  const problems = await databaseRoleProblems(sql, login.user);
  if (problems.length > 0) throw new Error(`the application's role cannot be used: ${problems.join('; ')}`);
  return { role: login.user, created, passwordSet: Boolean(login.password), addedToGroup };
}

export class DatabaseRoleError extends Error {
  constructor(readonly problems: string[]) {
    super(`DATABASE_URL: the application's database role has more rights than it may have in production: ${problems.join('; ')}. Connect as a member of facesign_app that owns nothing (docs/database-roles.md).`);
    this.name = 'DatabaseRoleError';
  }
}

/**
 * At start-up: in production, refuses a database role that could rewrite the audit log (the owner,
 * a superuser); elsewhere warns, since a developer's database may predate the split.
 */
export async function checkDatabaseRole(db: Db, env: 'development' | 'test' | 'production', log: Logger): Promise<void> {
  const problems = await databaseRoleProblems(sqlAutocommit(db));
  if (problems.length === 0) return;
  if (env === 'production') throw new DatabaseRoleError(problems);
  log.warn({ problems }, 'the database role has more rights than the application needs (docs/database-roles.md)');
}
