// Test databases on the real local Postgres: one migrated template per run, one clone per file.
import pg from 'pg';

const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
export const TEMPLATE_PREFIX = 'facesign_tpl_';
export const CLONE_PREFIX = 'facesign_t_';

export function databaseUrl(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function adminSql(sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
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
export async function cloneDatabase(template: string): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  counter += 1;
  const name = `${CLONE_PREFIX}${process.pid}_${counter}_${Math.random().toString(36).slice(2, 8)}`;
  // Parallel clones of one template can briefly collide ("being accessed by other users"): retry.
  for (let attempt = 1; ; attempt += 1) {
    try {
      await adminSql(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
      break;
    } catch (error) {
      if (attempt >= 20 || !String((error as Error).message).includes('being accessed')) throw error;
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }
  return {
    name,
    url: databaseUrl(name),
    drop: async () => {
      await adminSql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}
