// Runs once per `vitest` run: migrates a template database with the real migrations (offline,
// through the Wasm schema engine) as its non-superuser owner, and makes sure the application's login
// role exists. Each test file then clones it, which takes milliseconds.
import type { TestProject } from 'vitest/node';
import { adminSql, createMigratedTemplate, dropStaleDatabases, TEMPLATE_PREFIX } from './databases.js';

declare module 'vitest' {
  export interface ProvidedContext {
    templateDatabase: string;
  }
}

export default async function setup(project: TestProject) {
  await dropStaleDatabases();
  const template = `${TEMPLATE_PREFIX}${process.pid}`;
  await createMigratedTemplate(template);
  project.provide('templateDatabase', template);
  return async () => {
    await adminSql(`DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`);
  };
}
