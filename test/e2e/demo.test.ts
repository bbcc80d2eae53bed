// `npm run demo` as a new user meets it: the address the banner prints is opened in Chromium, an
// agent signs in with a demo login and goes available on the desk, and the desk's live connection
// holds (a console on another origin than the socket accepts shows "Live updates interrupted" forever).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cloneDatabase } from '../support/databases.js';
import { freePort, launchChromium, signInThroughPage, watchPageErrors } from './browser.js';

let demo: ChildProcess;
let browser: Browser;
let database: Awaited<ReturnType<typeof cloneDatabase>>;
let s3Dir: string;
const output: string[] = [];
const prefix = `t-demo-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  database = await cloneDatabase(inject('templateDatabase'));
  s3Dir = await mkdtemp(join(tmpdir(), 'facesign-demo-s3-'));
  demo = spawn('npx', ['tsx', 'dev/stack.ts'], {
    env: {
      ...process.env,
      // The demo's own split: the owner migrates, the app connects as the role that owns nothing.
      DATABASE_URL: database.appUrl,
      MIGRATION_DATABASE_URL: database.ownerUrl,
      REDIS_PREFIX: prefix,
      PORT: String(await freePort()),
      DEMO_S3_DIR: s3Dir,
      DEMO_S3_PORT: String(await freePort()),
      DEMO_LIVEKIT: 'simulator',
      DEMO_LIVEKIT_PORT: String(await freePort()),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  demo.stdout!.on('data', (chunk: Buffer) => output.push(...chunk.toString('utf8').split('\n')));
  demo.stderr!.on('data', (chunk: Buffer) => output.push(...chunk.toString('utf8').split('\n')));
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  if (demo && demo.exitCode === null) {
    const exited = new Promise((resolve) => demo.once('exit', resolve));
    demo.kill('SIGTERM');
    await exited;
  }
  const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379');
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  await rm(s3Dir, { recursive: true, force: true });
  await database?.drop();
});

describe('the demo', () => {
  it('prints an address whose console signs in and keeps its live connection', async () => {
    const banner = () => output.map((line) => /^\[demo\] facesign is up at (\S+)$/.exec(line)?.[1]).find(Boolean);
    await expect.poll(banner, { timeout: 60_000, interval: 250 }).toMatch(/^http:\/\//);
    const printed = banner()!;

    const context = await browser.newContext({ baseURL: printed, locale: 'en-US' });
    const page = await context.newPage();
    const errors = watchPageErrors(page);
    await signInThroughPage(page, 'agent@demo.facesign', 'facesign-demo');
    await page.waitForURL(/\/desk$/);
    expect(new URL(page.url()).origin).toBe(new URL(printed).origin);
    await page.getByRole('radio', { name: 'Available' }).check();

    // The server holds the agent available only if the socket connected and its event was accepted.
    const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', { keyPrefix: `${prefix}:` });
    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    const user = (await db.query<{ id: string }>(`SELECT "id" FROM "User" WHERE "email" = 'agent@demo.facesign'`)).rows[0]!;
    await db.end();
    await expect.poll(() => redis.hget('presence', user.id), { timeout: 20_000 }).toBe('available');
    redis.disconnect();
    expect(await page.getByText('Live updates interrupted').count()).toBe(0);
    expect(errors).toEqual([]);
    await context.close();
  });
});
