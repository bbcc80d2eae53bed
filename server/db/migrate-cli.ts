// `npm run db:migrate` (node dist/server/db/migrate-cli.js): applies pending migrations as the schema
// owner (MIGRATION_DATABASE_URL, else DATABASE_URL). Needs only the production dependencies; then run
// `npm run db:roles` for the application's login role.
import { databaseConfigOrExit, exitWith as fail } from './cli.js';
import { applyMigrations, MigrationError, MIGRATIONS_DIR } from './migrate.js';

// Only the database variables: a migration job needs no signing key, S3 or LiveKit settings.
const database = databaseConfigOrExit();
try {
  const applied = await applyMigrations(database.migrationUrl ?? database.url);
  console.log(applied.length ? `applied ${applied.length} migrations from ${MIGRATIONS_DIR}:\n${applied.map((name) => `  ${name}`).join('\n')}` : 'no pending migrations');
} catch (error) {
  if (error instanceof MigrationError) fail(`db:migrate: ${error.message}`, 1);
  throw error;
}
