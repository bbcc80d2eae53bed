// Local databases (demo, tests, benchmarks) set up the way production runs: a non-superuser owner
// that migrates, and an application login that is a member of facesign_app and owns nothing. The
// local server trusts loopback connections, so these roles have no passwords here.
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { ensureAppLogin } from '../server/db/roles.js';

export const LOCAL_OWNER_ROLE = 'facesign_owner';
export const LOCAL_APP_ROLE = 'facesign_api';

/** `url` with another user (and no password), and optionally another database. */
export function asRole(url: string, role: string, database?: string): string {
  const u = new URL(url);
  u.username = encodeURIComponent(role);
  u.password = '';
  if (database !== undefined) u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates the owner role, as an administrator, if it is missing: it may log in, create roles (the
 * application's) and nothing more, like a managed database's admin user.
 */
export async function ensureOwnerRole(adminUrl: string, owner = LOCAL_OWNER_ROLE): Promise<void> {
  await withClient(adminUrl, async (admin) => {
    for (let attempt = 1; ; attempt += 1) {
      if ((await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [owner])).rowCount === 1) return;
      try {
        await admin.query(`CREATE ROLE ${pg.escapeIdentifier(owner)} LOGIN CREATEROLE NOSUPERUSER NOCREATEDB`);
        return;
      } catch (error) {
        // Another process on this server created it at the same moment.
        const code = (error as { code?: string }).code;
        if (attempt >= 5 || (code !== '42710' && code !== '23505')) throw error;
      }
    }
  });
}

/**
 * Makes `database` exist and belong to the owner, as an administrator. A database made before the
 * split (its tables owned by the administrator) is handed over object by object.
 */
export async function ensureOwnedDatabase(adminUrl: string, database: string, owner = LOCAL_OWNER_ROLE): Promise<void> {
  const ownerIdent = pg.escapeIdentifier(owner);
  await withClient(adminUrl, async (admin) => {
    const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])).rowCount === 1;
    if (!exists) await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(database)} OWNER ${ownerIdent}`);
    else await admin.query(`ALTER DATABASE ${pg.escapeIdentifier(database)} OWNER TO ${ownerIdent}`);
  });
  const adminOnDatabase = new URL(adminUrl);
  adminOnDatabase.pathname = `/${encodeURIComponent(database)}`;
  await withClient(adminOnDatabase.toString(), async (admin) => {
    const { rows } = await admin.query<{ statement: string }>(
      `SELECT format('ALTER %s public.%I OWNER TO %I', CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, c.relname, $1::text) AS statement
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND pg_get_userbyid(c.relowner) <> $1
          -- a column's sequence follows its table
          AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')))
       UNION ALL
       SELECT format('ALTER TYPE public.%I OWNER TO %I', t.typname, $1::text)
         FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd') AND pg_get_userbyid(t.typowner) <> $1
       UNION ALL
       SELECT format('ALTER FUNCTION public.%I(%s) OWNER TO %I', p.proname, pg_get_function_identity_arguments(p.oid), $1::text)
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND p.prokind = 'f' AND pg_get_userbyid(p.proowner) <> $1`,
      [owner],
    );
    for (const { statement } of rows) await admin.query(statement);
  });
}

/** `prisma migrate deploy` as the owner. */
export function migrateAsOwner(ownerUrl: string, options: { quiet?: boolean } = {}): void {
  execFileSync('npx', ['prisma', 'migrate', 'deploy'], {
    env: { ...process.env, MIGRATION_DATABASE_URL: ownerUrl },
    stdio: ['ignore', options.quiet ? 'ignore' : 'inherit', 'inherit'],
  });
}

/** As the owner: the application's login (named in `appUrl`) exists, is in facesign_app and owns nothing. */
export async function ensureLocalAppLogin(ownerUrl: string, appUrl: string): Promise<void> {
  const app = new URL(appUrl);
  await withClient(ownerUrl, (owner) =>
    ensureAppLogin(owner, { user: decodeURIComponent(app.username), password: app.password ? decodeURIComponent(app.password) : undefined }),
  );
}
