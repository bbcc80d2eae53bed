// `npm run db:roles`: after `npm run db:migrate`, as the owner (MIGRATION_DATABASE_URL, with
// CREATEROLE), makes sure the role named in DATABASE_URL can log in with that URL's password, is a
// member of facesign_app and owns nothing, then checks its privileges against the grants policy.
// Idempotent. Without CREATEROLE, a database administrator runs the SQL in docs/database-roles.md.
import pg from 'pg';
import { databaseConfigOrExit, exitWith } from './cli.js';
import { ensureAppLogin, grantsDrift, sqlOnClient } from './roles.js';

function fail(message: string): never {
  exitWith(message, 78);
}

const database = databaseConfigOrExit();
if (!database.migrationUrl) fail('MIGRATION_DATABASE_URL: required (the owner that migrates the schema; DATABASE_URL is the application\'s role)');
const app = new URL(database.url);
const user = decodeURIComponent(app.username);
if (!user) fail('DATABASE_URL: must name the application\'s role (postgresql://<role>:<password>@host/db)');
const owner = new pg.Client({ connectionString: database.migrationUrl });
await owner.connect();
try {
  const result = await ensureAppLogin(owner, { user, password: app.password ? decodeURIComponent(app.password) : undefined });
  const did = [result.created ? 'created' : 'exists', result.passwordSet ? 'password set' : undefined, result.addedToGroup ? 'added to facesign_app' : 'member of facesign_app'];
  console.log(`database role ${result.role}: ${did.filter(Boolean).join(', ')}`);
  const drift = await grantsDrift(sqlOnClient(owner), result.role);
  if (drift.length > 0) fail(`db:roles: ${result.role}'s privileges differ from the grants policy (are all migrations applied?):\n  ${drift.join('\n  ')}`);
} catch (error) {
  fail(`db:roles: ${(error as Error).message}`);
} finally {
  await owner.end();
}
