#!/usr/bin/env node
// Stand-in for Prisma's native `schema-engine` binary, backed by Prisma's official Wasm build of the
// same engine (@prisma/schema-engine-wasm) talking to PostgreSQL through @prisma/adapter-pg.
// prisma.config.ts points PRISMA_SCHEMA_ENGINE_BINARY here, so no prisma command downloads a binary.
// See README.md next to this file for the why and for the upstream bugs worked around below.
//
// It speaks the binary's protocol:
//   schema-engine --version
//   schema-engine --datasource <json> cli can-connect-to-database|create-database|drop-database
//   schema-engine [--datamodels <path>]... [--datasource <json>]   (JSON-RPC 2.0, one object per line)
/* global WebAssembly, setTimeout */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import pg from 'pg';

// The connection-string parser pg itself uses, resolved from pg's own location.
const { parseIntoClientConfig } = createRequire(import.meta.resolve('pg'))('pg-connection-string');

// ---------------------------------------------------------------------------------------------
// Logging. The CLI reads stderr as JSON lines (like the native engine's tracing output); a stray
// non-JSON line makes it fail to parse one-shot `cli` errors, so Node's own warnings (e.g. pg's
// sslmode notice) are re-emitted as JSON too.

function log(level, message, extra = {}, target = 'schema_engine::logger') {
  process.stderr.write(`${JSON.stringify({ timestamp: new Date().toISOString(), level, fields: { message, ...extra }, target })}\n`);
}
process.removeAllListeners('warning');
process.on('warning', (warning) => log('WARN', `${warning.name}: ${warning.message}`));

// ---------------------------------------------------------------------------------------------
// PostgreSQL plumbing.

const OID_CHAR = 18; // the internal one-byte "char" type of pg_catalog columns
const OID_NAME = 19;
const OID_TEXT = 25;

/** Relabels "char"/name columns as text: adapter-pg cannot deserialise "char", which the engine's catalog queries return. */
function relabelCatalogTypes(result) {
  for (const part of Array.isArray(result) ? result : [result]) {
    for (const field of part?.fields ?? []) {
      if (field.dataTypeID === OID_CHAR || field.dataTypeID === OID_NAME) field.dataTypeID = OID_TEXT;
    }
  }
  return result;
}

/** A pg client whose results carry relabelled field types; used for every pool the engine gets. */
class CatalogTextClient extends pg.Client {
  query(config, values, callback) {
    if (typeof values === 'function') [values, callback] = [undefined, values];
    if (typeof config?.submit === 'function') return super.query(config, values, callback);
    if (callback) return super.query(config, values, (err, res) => callback(err, err ? res : relabelCatalogTypes(res)));
    return super.query(config, values).then(relabelCatalogTypes);
  }
}

const quoteIdent = (name) => `"${name.replaceAll('"', '""')}"`;

/** Discrete connection fields for a URL. Never hand pg a connectionString: it overrides `database`. */
function clientConfig(url, overrides = {}) {
  const { schema, ...config } = parseIntoClientConfig(url);
  return { config: { ...config, ...overrides }, schema };
}

async function withClient(config, fn) {
  const client = new pg.Client(config);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Runs fn on the server's maintenance database: CREATE/DROP DATABASE must not depend on the target existing. */
async function withMaintenanceClient(url, fn) {
  const { config } = clientConfig(url);
  try {
    return await withClient({ ...config, database: 'postgres' }, fn);
  } catch (err) {
    if (err.code !== '3D000') throw err;
    return withClient({ ...config, database: 'template1' }, fn);
  }
}

// ---------------------------------------------------------------------------------------------
// Driver adapter factory handed to the Wasm engine: PrismaPg, with its shadow-database and
// executeScript behaviour replaced.

// Temporary shadow databases, by name, with their pending CREATE DATABASE: a shutdown in the middle
// of one must wait for it to finish before it can drop the database.
const shadowDatabases = new Map();

async function createShadowDatabase(mainUrl) {
  const name = `prisma_migrate_shadow_db_${randomUUID()}`;
  const created = withMaintenanceClient(mainUrl, (c) => c.query(`CREATE DATABASE ${quoteIdent(name)}`));
  shadowDatabases.set(name, created.catch(() => {}));
  try {
    await created;
  } catch (err) {
    shadowDatabases.delete(name);
    throw err;
  }
  return name;
}

async function dropShadowDatabase(mainUrl, name) {
  await shadowDatabases.get(name);
  // FORCE: the engine may not have closed every connection (and a shutdown does not wait for it).
  await withMaintenanceClient(mainUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
  shadowDatabases.delete(name);
}

async function openAdapter(url, overrides) {
  const { config, schema } = clientConfig(url, overrides);
  // The engine takes `pg_advisory_lock` (serialising concurrent `migrate deploy`s) and never releases
  // it explicitly: keep idle connections open so the lock lives as long as the engine, as with the
  // native engine's single connection.
  const poolConfig = { ...config, idleTimeoutMillis: 0, Client: CatalogTextClient };
  const adapter = await new PrismaPg(poolConfig, schema ? { schema } : undefined).connect();
  // adapter-pg splits scripts on every `;` (breaking `$$` bodies) and runs the pieces one by one, so a
  // failing migration would stay half-applied. Send the script as one simple-protocol query instead (no
  // parameters): PostgreSQL then runs it as a single implicit transaction, as with the native engine.
  adapter.executeScript = async (script) => {
    await adapter.executeRaw({ sql: script, args: [], argTypes: [] });
  };
  return adapter;
}

function createAdapterFactory(datasource) {
  const { url, shadowDatabaseUrl } = datasource;
  const requireUrl = () => {
    if (!url) throw new Error('No datasource url was given to the schema engine (set datasource.url in prisma.config.ts).');
    return url;
  };
  return {
    provider: 'postgres',
    adapterName: '@prisma/adapter-pg',
    connect: () => openAdapter(requireUrl()),
    async connectToShadowDb() {
      if (shadowDatabaseUrl) return openConfiguredShadow(requireUrl(), shadowDatabaseUrl);
      // PrismaPg's own connectToShadowDb reconnects to the main database and drops the shadow
      // database while its pool is still open, leaking it; manage the temporary database here.
      const name = await createShadowDatabase(url);
      try {
        const adapter = await openAdapter(url, { database: name });
        const dispose = adapter.dispose.bind(adapter);
        adapter.dispose = async () => {
          try {
            await dispose();
          } finally {
            await dropShadowDatabase(url, name);
          }
        };
        return adapter;
      } catch (err) {
        await dropShadowDatabase(url, name).catch(() => {});
        throw err;
      }
    },
  };
}

/** A configured shadow database is wiped first, as the native engine does; never the main database. */
async function openConfiguredShadow(mainUrl, shadowUrl) {
  const main = clientConfig(mainUrl).config;
  const { config, schema = 'public' } = clientConfig(shadowUrl);
  if (config.host === main.host && (config.port ?? 5432) === (main.port ?? 5432) && config.database === main.database) {
    throw new Error('The shadow database you configured appears to be the same as the main database. Please specify another shadow database.');
  }
  await withClient(config, (c) => c.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE; CREATE SCHEMA ${quoteIdent(schema)}`));
  return openAdapter(shadowUrl);
}

// ---------------------------------------------------------------------------------------------
// The Wasm engine.

let panicMessage = '';
// The Wasm glue reports a Rust panic's message through this global before trapping.
globalThis.PRISMA_WASM_PANIC_REGISTRY = { set_message: (message) => { panicMessage = message; } };

let wasmGlue;
async function loadWasm() {
  if (wasmGlue) return wasmGlue;
  const glueUrl = import.meta.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
  const glue = await import(glueUrl);
  const bytes = await readFile(new URL('schema_engine_bg.wasm', glueUrl));
  const { instance } = await WebAssembly.instantiate(bytes, { './schema_engine_bg.js': glue });
  glue.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start();
  return (wasmGlue = glue);
}

// Some engine failures (e.g. an unreachable database while the engine is being created) are thrown
// from inside the glue's callbacks as uncaught exceptions and the returned promise never settles.
// Requests run one at a time, so such an exception belongs to the engine call in flight.
let failInFlight = null;
process.on('uncaughtException', (err) => {
  if (failInFlight) return failInFlight(err);
  log('ERROR', `Uncaught exception: ${err?.stack ?? err}`);
  process.exit(1);
});
function engineCall(fn) {
  return new Promise((resolve, reject) => {
    failInFlight = reject;
    Promise.resolve().then(fn).then(resolve, reject);
  }).finally(() => { failInFlight = null; });
}

// JS errors thrown inside the adapter reach the engine only as "External error id#N"; the error
// itself waits in the bound factory's registry.
let adapterErrors = null;
const explainExternalErrors = (message) =>
  message.replace(/External error id#(\d+)/g, (text, id) => adapterErrors?.consumeError(Number(id))?.error?.message ?? text);

async function createEngine({ datamodels, datasource }) {
  const glue = await loadWasm();
  // Without --datamodels (e.g. `migrate diff`) the native engine infers the connector from the URL;
  // the Wasm engine panics on an empty list, so give it a schema with just the datasource.
  const files = datamodels.length
    ? datamodels.map((path) => [path, readFileSync(path, 'utf8')])
    : [['schema.prisma', 'datasource db {\n  provider = "postgresql"\n}\n']];
  const onLog = (line) => process.stderr.write(line.endsWith('\n') ? line : `${line}\n`);
  const factory = bindMigrationAwareSqlAdapterFactory(createAdapterFactory(datasource));
  adapterErrors = factory.errorRegistry;
  return engineCall(() => glue.SchemaEngine.new({ datamodels: files }, onLog, factory));
}

/** A diff between files and/or a migrations folder never reads the main database. */
const OFFLINE_DIFF_TARGETS = new Set(['empty', 'schemaDatamodel', 'migrations']);
const isOfflineDiff = ({ method, params }) =>
  method === 'diff' && OFFLINE_DIFF_TARGETS.has(params?.from?.tag) && OFFLINE_DIFF_TARGETS.has(params?.to?.tag);

/**
 * Creates the engine for a request. Unlike the native engine, the Wasm engine connects to the main
 * database when it is created, so a failure is classified with a direct connection attempt (for the
 * CLI's P1001/P1003 codes), and a file-only diff still works while that database does not exist yet
 * (e.g. the drift check on a fresh machine): it then runs against the maintenance database, which it
 * only uses to create its temporary shadow database.
 * Returns { engine, reusable }.
 */
async function startEngine(options, request) {
  try {
    return { engine: await createEngine(options), reusable: true };
  } catch (err) {
    const { url } = options.datasource;
    const probe = url ? await withClient(clientConfig(url).config, () => null).catch((e) => e) : null;
    if (!probe) throw err;
    if (probe.code === '3D000' && isOfflineDiff(request)) {
      const maintenanceUrl = new URL(url);
      maintenanceUrl.pathname = '/postgres';
      const datasource = { ...options.datasource, url: maintenanceUrl.href };
      return { engine: await createEngine({ ...options, datasource }), reusable: false };
    }
    const { message, error_code } = describeConnectionError(probe, url);
    throw Object.assign(new Error(message), { code: error_code });
  }
}

// ---------------------------------------------------------------------------------------------
// One-shot `cli` commands. The CLI skips the first stderr line (the native start-up log line) and
// reads the failure from a later {"level":"ERROR","target":"schema_engine::logger"} line.

function describeConnectionError(err, url) {
  const { config } = clientConfig(url);
  const where = `${config.host ?? 'localhost'}:${config.port ?? 5432}`;
  switch (err.code) {
    case '3D000':
      return { error_code: 'P1003', message: `Database \`${config.database}\` does not exist on the database server at \`${where}\`.` };
    case '28P01':
    case '28000':
      return { error_code: 'P1000', message: `Authentication failed against database server at \`${where}\`, the provided database credentials for \`${config.user}\` are not valid.\n\nPlease make sure to provide valid database credentials for the database server at \`${where}\`.` };
    case '42P04':
      return { error_code: 'P1009', message: `Database \`${config.database}\` already exists on the database server at \`${where}\`` };
    case 'ECONNREFUSED':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
    case 'ETIMEDOUT':
      return { error_code: 'P1001', message: `Can't reach database server at \`${where}\`\n\nPlease make sure your database server is running at \`${where}\`.` };
    default:
      return { message: err.message };
  }
}

const cliCommands = {
  'can-connect-to-database': (url) => withClient(clientConfig(url).config, () => {}),
  'create-database': (url) => createDatabase(url),
  'drop-database': (url) => withMaintenanceClient(url, (c) => c.query(`DROP DATABASE ${quoteIdent(clientConfig(url).config.database)}`)),
};

async function createDatabase(url) {
  const { database } = clientConfig(url).config;
  try {
    await withMaintenanceClient(url, (c) => c.query(`CREATE DATABASE ${quoteIdent(database)}`));
  } catch (err) {
    // The CLI only asks after finding the database missing; a concurrent `migrate deploy` may have
    // created it since (42P04, or 23505 when both CREATE DATABASE statements race). It exists now,
    // which is all the caller wants.
    const raced = err.code === '23505' && err.constraint === 'pg_database_datname_index';
    if (err.code !== '42P04' && !raced) throw err;
  }
  return database;
}

async function runCliCommand(command, datasource) {
  log('INFO', 'Starting schema engine CLI (Wasm stand-in)', {}, 'schema_engine_cli');
  try {
    if (!cliCommands[command]) throw new Error(`Unknown cli command: ${command}`);
    if (!datasource.url) throw new Error('The cli commands need --datasource with a url.');
    await cliCommands[command](datasource.url);
    return 0;
  } catch (err) {
    const { message, error_code } = describeConnectionError(err, datasource.url ?? 'postgresql://');
    log('ERROR', message, error_code ? { error_code } : {});
    return 1;
  }
}

// ---------------------------------------------------------------------------------------------
// JSON-RPC 2.0 server on stdin/stdout, one request at a time, in order.

const SHADOW_FACTORY_BUG = 'shadow DB must be provided through an external factory';

// Requests forwarded unchanged to the engine method of the same name.
const ENGINE_METHODS = new Set([
  'applyMigrations', 'createMigration', 'dbExecute', 'debugPanic', 'devDiagnostic', 'diagnoseMigrationHistory',
  'ensureConnectionValidity', 'evaluateDataLoss', 'introspect', 'introspectSql', 'markMigrationApplied',
  'markMigrationRolledBack', 'reset', 'schemaPush',
]);

function send(message) {
  return new Promise((resolve) => process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`, resolve));
}

function serve(options) {
  let engine = null; // created on first use: the Wasm engine connects to the database at creation
  let chain = Promise.resolve();
  const pendingOutbound = new Map(); // our requests to the CLI (`print`), by id
  let nextOutboundId = 1;

  const requestCli = (method, params) => {
    const id = nextOutboundId++;
    return new Promise((resolve) => {
      pendingOutbound.set(id, resolve);
      send({ id, method, params });
    });
  };

  const methods = {
    createDatabase: async ({ datasource } = {}) => ({ databaseName: await createDatabase(datasource?.url ?? options.datasource.url) }),
    getDatabaseVersion: (params, engine) => engineCall(() => engine.version(params)),
    // The native engine prints a diff through a `print` request to the CLI (which honours `-o`);
    // the Wasm engine returns it as `stdout` instead.
    diff: async (params, engine) => {
      const { exitCode, stdout } = await engineCall(() => engine.diff(params));
      if (typeof stdout === 'string') await requestCli('print', { content: stdout });
      return { exitCode, stdout: null };
    },
  };

  async function callEngine(engine, method, params) {
    try {
      return await engineCall(() => engine[method](params));
    } catch (err) {
      // Right after `migrate dev` applies pending migrations the engine loses track of its shadow
      // database factory; the read-only devDiagnostic restores it, after which one retry succeeds.
      if (!String(err?.message).includes(SHADOW_FACTORY_BUG) || !params?.migrationsList) throw err;
      log('INFO', `Retrying ${method} after devDiagnostic: ${err.message}`);
      await engineCall(() => engine.devDiagnostic({ migrationsList: params.migrationsList, filters: params.filters ?? { externalTables: [], externalEnums: [] } }));
      return engineCall(() => engine[method](params));
    }
  }

  async function handle(request) {
    const { id, method, params } = request;
    if (!methods[method] && !ENGINE_METHODS.has(method)) {
      return send({ id, error: { code: -32601, message: `Method not found: ${method}` } });
    }
    let ephemeral = null;
    try {
      if (method !== 'createDatabase' && !engine) {
        const started = await startEngine(options, request);
        if (started.reusable) engine = started.engine;
        else ephemeral = started.engine;
      }
      const result = methods[method] ? await methods[method](params, ephemeral ?? engine) : await callEngine(ephemeral ?? engine, method, params);
      await send({ id, result: result ?? null });
    } catch (err) {
      const isPanic = err instanceof WebAssembly.RuntimeError;
      const data = { is_panic: isPanic, message: isPanic ? panicMessage || String(err) : explainExternalErrors(err?.message ?? String(err)) };
      if (err?.code && /^P\d{4}$/.test(err.code)) data.error_code = err.code;
      if (err?.meta) data.meta = err.meta;
      await send({ id, error: { code: 4466, message: 'An error happened. Check the data field for details.', data } });
      if (isPanic) {
        // A trapped Wasm instance cannot be used again; exit like the native engine does on a panic.
        log('ERROR', 'PANIC', { reason: data.message });
        await shutdown(101);
      }
    }
  }

  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (!line.trim()) return;
    let message;
    try {
      message = JSON.parse(line);
    } catch {
      return void send({ id: null, error: { code: -32700, message: 'Parse error' } });
    }
    if (message.method === undefined) {
      // A response to one of our own requests.
      pendingOutbound.get(message.id)?.(message.result);
      return void pendingOutbound.delete(message.id);
    }
    chain = chain.then(() => handle(message));
  });
  lines.on('close', () => { chain.then(() => shutdown(0)); });
}

/** Drops shadow databases a dying engine call may have left behind, then exits. */
async function shutdown(code) {
  const timeout = new Promise((resolve) => setTimeout(resolve, 5000).unref());
  const drops = [...shadowDatabases.keys()].map((name) => dropShadowDatabase(options.datasource.url, name).catch(() => {}));
  await Promise.race([Promise.all(drops), timeout]);
  process.exit(code);
}

// ---------------------------------------------------------------------------------------------
// Entry point.

function parseArgs(argv) {
  const options = { datamodels: [], datasource: {}, cli: null, version: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--version' || arg === '-V') options.version = true;
    else if (arg === '--datamodels') options.datamodels.push(argv[++i]);
    else if (arg === '--datasource') options.datasource = JSON.parse(argv[++i]);
    else if (arg === '--enabled-preview-features' || arg === '--extension-types') i++; // no effect on the Wasm engine
    else if (arg === 'cli') options.cli = argv[++i];
    else throw new Error(`Unknown argument: ${arg}`);
  }
  return options;
}

const options = parseArgs(process.argv.slice(2));
process.on('SIGTERM', () => shutdown(0)); // the CLI stops the engine with SIGTERM right after closing stdin
process.on('SIGINT', () => shutdown(130));

if (options.version) {
  process.stdout.write(`schema-engine-cli ${(await loadWasm()).version()}\n`);
} else if (options.cli) {
  process.exit(await runCliCommand(options.cli, options.datasource));
} else {
  serve(options);
}
