// Runs once per `vitest` run: migrates a template database with the real migrations (offline,
// through the Wasm schema engine). Each test file then clones it, which takes milliseconds.
import { execFileSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { adminSql, databaseUrl, dropStaleDatabases, TEMPLATE_PREFIX } from './databases.js';

declare module 'vitest' {
  export interface ProvidedContext {
    templateDatabase: string;
  }
}

export default async function setup(project: TestProject) {
  await dropStaleDatabases();
  const template = `${TEMPLATE_PREFIX}${process.pid}`;
  await adminSql(`DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`);
  execFileSync('npx', ['prisma', 'migrate', 'deploy'], {
    env: { ...process.env, DATABASE_URL: databaseUrl(template) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  project.provide('templateDatabase', template);
  return async () => {
    await adminSql(`DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`);
  };
}
