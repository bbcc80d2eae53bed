// Prisma CLI configuration. The schema engine is our Wasm-backed stand-in (prisma/engine/), so no
// prisma command downloads a binary: facesign migrates in air-gapped networks.
import { fileURLToPath } from 'node:url';
import { defineConfig } from '@prisma/config';

process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= fileURLToPath(new URL('./prisma/engine/schema-engine.mjs', import.meta.url));

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations', seed: 'tsx prisma/seed.ts' },
  datasource: {
    // Migrations run as the tables' owner; the application connects as a role that owns nothing
    // (docs/database-roles.md). Without MIGRATION_DATABASE_URL, DATABASE_URL must be the owner's. The
    // fallback is the local superuser, for tooling such as `npm run db:drift` (a shadow database).
    url: process.env.MIGRATION_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/facesign',
    ...(process.env.SHADOW_DATABASE_URL ? { shadowDatabaseUrl: process.env.SHADOW_DATABASE_URL } : {}),
  },
});
