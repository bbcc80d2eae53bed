#!/usr/bin/env node
// npm run build: everything a production install runs from, in dist/ (needs the dev dependencies).
//   dist/server, dist/recordings   the compiled server (with the generated Prisma client) and the
//                                  files it reads at run time (checklist templates, ...)
//   dist/prisma                    migrations, schema and schema engine for `npm run db:migrate`
//   dist/agent-console             the built console, which the server serves
// Plain JavaScript so that it runs without a TypeScript loader.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { extname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
const bin = (name) => join(root, 'node_modules/.bin', name);
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });
const step = (what) => console.log(`[build] ${what}`);

rmSync(dist, { recursive: true, force: true });

step('prisma generate');
run(bin('prisma'), ['generate']);

step('tsc -p tsconfig.build.json');
run(bin('tsc'), ['-p', 'tsconfig.build.json']);

// Whatever the compiled code reads next to itself: every file in server/ and recordings/ that tsc
// does not emit (TypeScript sources and folder READMEs aside).
step('run-time files');
for (const folder of ['server', 'recordings']) {
  cpSync(join(root, folder), join(dist, folder), {
    recursive: true,
    filter: (source) => !['.ts', '.md'].includes(extname(source)),
  });
}
for (const path of ['prisma/schema.prisma', 'prisma/migrations', 'prisma/engine/schema-engine.mjs']) {
  cpSync(join(root, path), join(dist, path), { recursive: true });
}

step('vite build (console)');
run(bin('vite'), ['build', '--config', 'agent-console/vite.config.ts', '--outDir', join(dist, 'agent-console'), '--emptyOutDir']);

step(`done: ${dist}`);
