#!/usr/bin/env node
// Installs what is missing, from the project's own files, before `npm run demo` and `npm test`:
// npm packages (from the lockfile) and the generated Prisma client and table types. Idempotent and fast when
// nothing changed. No binary is downloaded: Prisma's schema engine runs from Wasm.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });
const mtime = (p) => (existsSync(root + p) ? statSync(root + p).mtimeMs : 0);

if (mtime('node_modules/.package-lock.json') < mtime('package-lock.json')) {
  console.log('[facesign] installing npm packages from package-lock.json');
  // Exactly the lockfile: npm ci fails rather than resolve anything anew.
  run('npm', ['ci', '--no-audit', '--no-fund', '--ignore-scripts']);
}
// The client and the Kysely table types (dev/kysely-types.mjs) come from the same `prisma generate`.
const generated = Math.min(mtime('server/db/generated/prisma/client.ts'), mtime('server/db/generated/kysely/types.ts'));
if (generated < Math.max(mtime('prisma/schema.prisma'), mtime('dev/kysely-types.mjs'))) {
  console.log('[facesign] generating the Prisma client and the table types');
  run('npx', ['prisma', 'generate']);
}
