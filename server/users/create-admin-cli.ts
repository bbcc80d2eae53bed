// `npm run users:create-admin -- --email <address> --name <display name>`: the first administrator of
// a new installation (later users are created by administrators in the API). The password comes from
// FACESIGN_ADMIN_PASSWORD, never from the command line, where other users of the machine could read it.
// Connects as the application (DATABASE_URL) and audits the creation with the SYSTEM actor.
import { parseArgs } from 'node:util';
import { adminBootstrapPassword } from '../config.js';
import { databaseConfigOrExit, exitWith } from '../db/cli.js';
import { createDb, isUniqueViolation } from '../db/client.js';
import { createUser } from './users.service.js';

function fail(message: string, code = 1): never {
  exitWith(`users:create-admin: ${message}`, code);
}

let args;
try {
  args = parseArgs({ options: { email: { type: 'string' }, name: { type: 'string' }, locale: { type: 'string' } } }).values;
} catch (error) {
  fail((error as Error).message, 2);
}
const email = args.email?.trim().toLowerCase();
if (!email || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) fail('--email: an e-mail address is required', 2);
const name = args.name?.trim();
if (!name) fail('--name: the display name is required', 2);
const locale = args.locale ?? 'zh-CN';
if (locale !== 'zh-CN' && locale !== 'en') fail('--locale: must be zh-CN or en', 2);
const password = adminBootstrapPassword();
if (password.length < 12) fail('FACESIGN_ADMIN_PASSWORD: set it to the initial password (at least 12 characters)', 2);

const database = databaseConfigOrExit();
const db = createDb({ url: database.url, poolSize: 1 });
try {
  const user = await createUser(db, { email, displayName: name, password, roles: ['ADMIN'], locale });
  console.log(`created administrator ${user.email} (${user.id})`);
} catch (error) {
  if (isUniqueViolation(error)) fail(`a user with the address ${email} exists`);
  throw error;
} finally {
  await db.$disconnect();
}
