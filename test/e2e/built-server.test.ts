// The production path: `npm run build`, then `npm run db:migrate` and `npm start` exactly as package.json
// says, on plain Node (no TypeScript loader), against PostgreSQL, Redis and an S3 API. A build that
// forgets a run-time file (checklist templates, migrations, the console) fails here, not in a
// deployment.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startS3Server, S3RVER_CREDENTIALS, type RunningS3Server } from '../../dev/s3-server.js';
import { hashPassword } from '../../server/auth/password.js';
import { adminSql, appDatabaseUrl, CLONE_PREFIX, databaseUrl, ownerDatabaseUrl } from '../support/databases.js';
import { LOCAL_OWNER_ROLE } from '../../dev/local-database.js';
import { freePort } from './browser.js';

const run = promisify(execFile);
const REPO = new URL('../../', import.meta.url).pathname;
const scripts = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;

/** A package.json script as argv; the production ones are plain `node <file>` commands. */
function scriptArgv(name: string): [string, string[]] {
  const [command, ...args] = (scripts[name] ?? '').split(' ');
  return [command ?? '', args];
}

const database = `${CLONE_PREFIX}${process.pid}_built_${randomUUID().slice(0, 6)}`;
const prefix = `t-built-${randomUUID().slice(0, 8)}`;
let s3: RunningS3Server;
let s3Dir: string;
let server: ChildProcess;
let baseUrl: string;
const output: string[] = [];

beforeAll(async () => {
  await run(process.execPath, ['dev/build.mjs'], { cwd: REPO, maxBuffer: 64 * 1024 * 1024 });
  await adminSql(`CREATE DATABASE "${database}" OWNER "${LOCAL_OWNER_ROLE}"`);
  s3Dir = await mkdtemp(join(tmpdir(), 'facesign-built-s3-'));
  s3 = await startS3Server({ directory: s3Dir, buckets: ['facesign-built'] });
}, 240_000);

afterAll(async () => {
  if (server && server.exitCode === null && server.signalCode === null) {
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  await s3?.stop();
  if (s3Dir) await rm(s3Dir, { recursive: true, force: true });
  const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  await adminSql(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
});

describe('the built server', () => {
  it('migrates an empty database with `npm run db:migrate`, without the prisma CLI', async () => {
    const [command, args] = scriptArgv('db:migrate');
    expect(command).toBe('node');
    expect(args[0]).toMatch(/^dist\//);
    const { stdout } = await run(command === 'node' ? process.execPath : command, args, {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? '', MIGRATION_DATABASE_URL: ownerDatabaseUrl(database), DATABASE_URL: appDatabaseUrl(database), LOG_LEVEL: 'silent' },
    });
    expect(stdout).toContain('20261123000000_init');
    const client = new pg.Client({ connectionString: databaseUrl(database) });
    await client.connect();
    try {
      const { rows } = await client.query<{ pending: number }>('SELECT count(*)::int AS pending FROM _prisma_migrations WHERE finished_at IS NULL OR rolled_back_at IS NOT NULL');
      expect(rows[0]?.pending).toBe(0);
      const applied = await client.query('SELECT migration_name FROM _prisma_migrations');
      expect(applied.rowCount).toBeGreaterThan(0);
    } finally {
      await client.end();
    }
    // A second run finds nothing to do.
    const again = await run(process.execPath, args, {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? '', MIGRATION_DATABASE_URL: ownerDatabaseUrl(database), DATABASE_URL: appDatabaseUrl(database), LOG_LEVEL: 'silent' },
    });
    expect(again.stdout).toContain('no pending migrations');
  });

  it('starts with `npm start` on plain node and reports ready', async () => {
    const [command, args] = scriptArgv('start');
    expect(command).toBe('node');
    expect(args).toEqual(['dist/server/main.js']);
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    server = spawn(process.execPath, args, {
      cwd: REPO,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'test',
        HOST: '127.0.0.1',
        PORT: String(port),
        PUBLIC_URL: baseUrl,
        LOG_LEVEL: 'info',
        DATABASE_URL: appDatabaseUrl(database),
        REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
        REDIS_PREFIX: prefix,
        S3_ENDPOINT: s3.endpoint,
        S3_BUCKET: 'facesign-built',
        S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
        S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
        S3_FORCE_PATH_STYLE: 'true',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [server.stdout!, server.stderr!]) stream.on('data', (chunk: Buffer) => output.push(...chunk.toString('utf8').split('\n')));
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (output.some((line) => line.includes('"facesign listening"'))) {
          clearInterval(timer);
          resolve();
        }
      }, 50);
      server.once('exit', (code) => {
        clearInterval(timer);
        reject(new Error(`the built server exited (${code}):\n${output.slice(-40).join('\n')}`));
      });
    });

    const ready = await fetch(`${baseUrl}/readyz`);
    const body = (await ready.json()) as { status: string; checks?: Record<string, { status: string }> };
    expect(ready.status, JSON.stringify(body)).toBe(200);
    expect(body.status).toBe('ready');
  });

  it('runs no TypeScript loader', async () => {
    const pid = server.pid!;
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
    expect(argv.slice(1)).toEqual(['dist/server/main.js']);
    const environ = (await readFile(`/proc/${pid}/environ`, 'utf8')).split('\0');
    expect(environ.filter((entry) => entry.startsWith('NODE_OPTIONS='))).toEqual([]);
    expect(argv.join(' ')).not.toMatch(/tsx|--import|--loader|--experimental-strip-types/);
  });

  it('serves the console from the build', async () => {
    const index = await fetch(`${baseUrl}/`);
    expect(index.status).toBe(200);
    const html = await index.text();
    const script = /<script[^>]+src="([^"]+\.js)"/.exec(html)?.[1];
    expect(script, html.slice(0, 500)).toBeDefined();
    const asset = await fetch(new URL(script!, baseUrl));
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
  });

  it('answers the API: sign-in and the signed-in user through the compiled Prisma client', async () => {
    const email = `built-${randomUUID().slice(0, 6)}@bank.test`;
    const password = 'correct horse battery staple';
    const client = new pg.Client({ connectionString: databaseUrl(database) });
    await client.connect();
    try {
      await client.query(
        `INSERT INTO "User" (id, email, "displayName", "passwordHash", roles, "updatedAt") VALUES (gen_random_uuid(), $1, 'Built', $2, ARRAY['AGENT']::"Role"[], now())`,
        [email, await hashPassword(password)],
      );
    } finally {
      await client.end();
    }
    const login = await fetch(`${baseUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: baseUrl },
      body: JSON.stringify({ email, password }),
    });
    expect(login.status, await login.clone().text()).toBe(200);
    const cookies = login.headers.getSetCookie().map((cookie) => cookie.split(';')[0]).join('; ');
    const me = await fetch(`${baseUrl}/api/auth/me`, { headers: { Cookie: cookies } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ email, roles: ['AGENT'] });
  });
});
