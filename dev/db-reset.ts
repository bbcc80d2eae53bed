// `npm run db:reset`: drops the configured database, re-applies every migration and seeds demo
// data. Development only. (Prisma's own `migrate reset` refuses to run under automation.)
// The administrator (DEMO_DATABASE_ADMIN_URL, by default postgres on the same server) drops it and
// creates the owner; the owner (MIGRATION_DATABASE_URL) migrates; the app's role seeds.
import pg from 'pg';
import { loadConfig } from '../server/config.js';
import { createDb } from '../server/db/client.js';
import { seedDemo } from '../prisma/seed.js';
import { asRole, ensureLocalAppLogin, ensureOwnedDatabase, ensureOwnerRole, LOCAL_OWNER_ROLE, migrateAsOwner } from './local-database.js';

const config = loadConfig();
if (config.env === 'production') {
  console.error('Refusing to reset a production database.');
  process.exit(1);
}
const target = new URL(config.database.url);
const name = decodeURIComponent(target.pathname.slice(1));
const ownerUrl = config.database.migrationUrl ?? asRole(config.database.url, LOCAL_OWNER_ROLE);
const owner = decodeURIComponent(new URL(ownerUrl).username);
const adminUrl = process.env.DEMO_DATABASE_ADMIN_URL ?? asRole(config.database.url, 'postgres', 'postgres');
const client = new pg.Client({ connectionString: adminUrl });
await client.connect();
await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
await client.end();
await ensureOwnerRole(adminUrl, owner);
await ensureOwnedDatabase(adminUrl, name, owner);
migrateAsOwner(ownerUrl);
await ensureLocalAppLogin(ownerUrl, config.database.url);
const db = createDb({ url: config.database.url, poolSize: 2 });
await seedDemo(db);
await db.$disconnect();
console.log(`Database ${name} reset, migrated and seeded.`);
