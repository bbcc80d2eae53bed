// Test databases on the real local Postgres: one migrated template per run, one clone per file.
// The template is migrated by a non-superuser owner; the app connects as a member of facesign_app.
import pg from 'pg';
import { asRole, ensureLocalAppLogin, ensureOwnerRole, LOCAL_APP_ROLE, LOCAL_OWNER_ROLE, migrateAsOwner } from '../../dev/local-database.js';

const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
export const TEMPLATE_PREFIX = 'facesign_tpl_';
export const CLONE_PREFIX = 'facesign_t_';

/** The administrator (a superuser) on database `name`: for setting up, inspecting and tampering. */
export function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** The owner (who migrates) on database `name`. */
export const ownerDatabaseUrl = (name: string) => asRole(ADMIN_URL, LOCAL_OWNER_ROLE, name);
/** The application's login role on database `name`. */
export const appDatabaseUrl = (name: string) => asRole(ADMIN_URL, LOCAL_APP_ROLE, name);

export async function adminSql(sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * (Re)creates database `name` owned by the non-superuser owner, migrated by it, with the
 * application's login role ready: a template for clones.
 */
export async function createMigratedTemplate(name: string): Promise<void> {
  await adminSql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await ensureOwnerRole(ADMIN_URL);
  await adminSql(`CREATE DATABASE "${name}" OWNER "${LOCAL_OWNER_ROLE}"`);
  migrateAsOwner(ownerDatabaseUrl(name), { quiet: true });
  await ensureLocalAppLogin(ownerDatabaseUrl(name), appDatabaseUrl(name));
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Drops databases left behind by runs that crashed (their owning process is gone). */
export async function dropStaleDatabases(): Promise<void> {
  const { rows } = await adminSql(
    `SELECT datname FROM pg_database WHERE datname LIKE '${TEMPLATE_PREFIX}%' OR datname LIKE '${CLONE_PREFIX}%'`,
  );
  for (const { datname } of rows as { datname: string }[]) {
    const pid = Number(/_(\d+)(?:_|$)/.exec(datname.replace(TEMPLATE_PREFIX, '_').replace(CLONE_PREFIX, '_'))?.[1]);
    if (Number.isFinite(pid) && !processAlive(pid)) await adminSql(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  }
}

let counter = 0;

/** A fresh database cloned from the migrated template, dropped by the returned function. */
export async function cloneDatabase(template: string): Promise<{ name: string; url: string; ownerUrl: string; appUrl: string; drop(): Promise<void> }> {
  counter += 1;
  const name = `${CLONE_PREFIX}${process.pid}_${counter}_${Math.random().toString(36).slice(2, 8)}`;
  // Parallel clones of one template can briefly collide ("being accessed by other users"): retry.
  for (let attempt = 1; ; attempt += 1) {
    try {
      // Owned by the owner, as the template is: it keeps its rights on the schema (CREATE on public).
      await adminSql(`CREATE DATABASE "${name}" TEMPLATE "${template}" OWNER "${LOCAL_OWNER_ROLE}"`);
      break;
    } catch (error) {
      if (attempt >= 20 || !String((error as Error).message).includes('being accessed')) throw error;
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }
  return {
    name,
    url: databaseUrl(name),
    ownerUrl: ownerDatabaseUrl(name),
    appUrl: appDatabaseUrl(name),
    drop: async () => {
      await adminSql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}
