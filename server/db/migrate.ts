// Applies prisma/migrations without the prisma CLI, so a production install (no dev dependencies)
// can migrate: it drives the same Wasm-backed schema engine the CLI uses here (prisma/engine/), with
// the request `prisma migrate deploy` sends. The engine keeps Prisma's bookkeeping (the
// _prisma_migrations table, checksums, a failed migration blocking the next run) and serialises
// concurrent runs on an advisory lock, so either tool can migrate the same database.
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

// prisma/ sits two levels above this file both in the sources (server/db) and in the build (dist/server/db).
const PRISMA_DIR = fileURLToPath(new URL('../../prisma/', import.meta.url));

export const MIGRATIONS_DIR = join(PRISMA_DIR, 'migrations');

interface MigrationsList {
  baseDir: string;
  lockfile: { path: string; content: string | null };
  migrationDirectories: { path: string; migrationFile: { path: string; content: { tag: 'ok' | 'error'; value: string } } }[];
  shadowDbInitScript: string;
}

/** The migrations folder as the engine expects it: one entry per sub-folder, in name order. */
export async function readMigrationsList(dir = MIGRATIONS_DIR): Promise<MigrationsList> {
  const lockPath = 'migration_lock.toml';
  const lock = await readFile(join(dir, lockPath), 'utf8').catch(() => null);
  const folders = (await readdir(dir, { withFileTypes: true })).filter((entry) => entry.isDirectory()).map((entry) => entry.name).sort();
  const migrationDirectories = await Promise.all(folders.map(async (name) => ({
    path: name,
    migrationFile: {
      path: 'migration.sql',
      content: await readFile(join(dir, name, 'migration.sql'), 'utf8').then(
        (value) => ({ tag: 'ok' as const, value }),
        (error: Error) => ({ tag: 'error' as const, value: error.message }),
      ),
    },
  })));
  return { baseDir: dir, lockfile: { path: lockPath, content: lock }, migrationDirectories, shadowDbInitScript: '' };
}

export class MigrationError extends Error {}

/** A JSON-RPC session with one schema engine process; requests are answered in order. */
class SchemaEngine {
  private readonly child;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private readonly errors: string[] = [];
  private nextId = 1;
  private readonly exited: Promise<number | null>;

  constructor(url: string) {
    this.child = spawn(
      process.execPath,
      [join(PRISMA_DIR, 'engine/schema-engine.mjs'), '--datamodels', join(PRISMA_DIR, 'schema.prisma'), '--datasource', JSON.stringify({ url })],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    createInterface({ input: this.child.stdout }).on('line', (line) => this.onMessage(line));
    // The engine logs JSON lines on stderr; keep its errors for the message if it dies.
    createInterface({ input: this.child.stderr }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { level?: string; fields?: { message?: string } };
        if (entry.level === 'ERROR' && entry.fields?.message) this.errors.push(entry.fields.message);
      } catch {
        this.errors.push(line);
      }
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => {
      const reason = new MigrationError(`the schema engine exited (${code})${this.errors.length ? `: ${this.errors.join('; ')}` : ''}`);
      for (const { reject } of this.pending.values()) reject(reason);
      this.pending.clear();
      resolve(code);
    }));
  }

  private onMessage(line: string): void {
    if (!line.trim()) return;
    const message = JSON.parse(line) as { id: number; result?: unknown; error?: { message: string; data?: { message?: string } } };
    const waiter = this.pending.get(message.id);
    if (!waiter) return;
    this.pending.delete(message.id);
    if (message.error) waiter.reject(new MigrationError(message.error.data?.message ?? message.error.message));
    else waiter.resolve(message.result);
  }

  request<T>(method: string, params: unknown): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  }

  async close(): Promise<void> {
    this.child.stdin.end();
    await this.exited;
  }
}

/**
 * Applies the pending migrations as `url`'s role (the schema owner), creating the database first if
 * it does not exist. Returns the names of the migrations it applied.
 */
export async function applyMigrations(url: string, dir = MIGRATIONS_DIR): Promise<string[]> {
  const migrationsList = await readMigrationsList(dir);
  const engine = new SchemaEngine(url);
  try {
    if (await databaseMissing(url)) await engine.request('createDatabase', {});
    const { appliedMigrationNames } = await engine.request<{ appliedMigrationNames: string[] }>('applyMigrations', {
      migrationsList,
      filters: { externalTables: [], externalEnums: [] },
    });
    return appliedMigrationNames;
  } finally {
    await engine.close();
  }
}

async function databaseMissing(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    return false;
  } catch (error) {
    if ((error as { code?: string }).code === '3D000') return true;
    throw error;
  } finally {
    await client.end().catch(() => undefined);
  }
}
