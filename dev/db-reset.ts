// `npm run db:reset`: drops the configured database, re-applies every migration and seeds demo
// data. Development only. (Prisma's own `migrate reset` refuses to run under automation.)
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { loadConfig } from '../server/config.js';
import { createDb } from '../server/db/client.js';
import { seedDemo } from '../prisma/seed.js';

const config = loadConfig();
if (config.env === 'production') {
  console.error('Refusing to reset a production database.');
  process.exit(1);
}
const target = new URL(config.database.url);
const name = decodeURIComponent(target.pathname.slice(1));
const admin = new URL(config.database.url);
admin.pathname = '/postgres';
const client = new pg.Client({ connectionString: admin.toString() });
await client.connect();
await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
await client.end();
execFileSync('npx', ['prisma', 'migrate', 'deploy'], { stdio: 'inherit' });
const db = createDb({ url: config.database.url, poolSize: 2 });
await seedDemo(db);
await db.$disconnect();
console.log(`Database ${name} reset, migrated and seeded.`);
