// Benchmark: signed tree heads over a large audit log. With N sealed events (default 100 000) in a
// fresh database: (a) the first head, built from no head (every leaf read and hashed), (b) a head
// over 100 new events on top of N, resumed from the stored right edge, (c) inclusion proofs for 20
// events (a cold in-memory tree, then warm), (d) audit:verify's full check (chain, tree, heads).
//
//   npx tsx bench/audit-log.bench.ts [--events 100000]
//
// Uses the local PostgreSQL (as the superuser, for set-up) and an in-process s3rver. Writes
// bench/results/audit-log.json.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import pino from 'pino';
import { createDb } from '../server/db/client.js';
import { sealAuditChain } from '../server/audit/audit-sealer.service.js';
import { AuditCheckpoints } from '../server/audit/checkpoint.service.js';
import { verifyAuditLog } from '../server/audit/log-verify.js';
import { generateSelfSignedIdentity } from '../server/signing/self-signed.js';
import { Keyring } from '../server/signing/keyring.js';
import { createS3Client, RecordingStore } from '../recordings/object-store.js';
import { startS3Server, S3RVER_CREDENTIALS } from '../dev/s3-server.js';
import { ensureOwnerRole, asRole, LOCAL_OWNER_ROLE, migrateAsOwner } from '../dev/local-database.js';

const { values } = parseArgs({ options: { events: { type: 'string', default: '100000' } } });
const events = Number(values.events);
const ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const name = `facesign_bench_audit_${process.pid}`;

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

const ms = async <T>(what: () => Promise<T>): Promise<[T, number]> => {
  const started = performance.now();
  const result = await what();
  return [result, Math.round((performance.now() - started) * 10) / 10];
};

await ensureOwnerRole(ADMIN_URL);
await admin(`CREATE DATABASE "${name}" OWNER "${LOCAL_OWNER_ROLE}"`);
const ownerUrl = asRole(ADMIN_URL, LOCAL_OWNER_ROLE, name);
migrateAsOwner(ownerUrl, { quiet: true });
const s3Dir = await mkdtemp(join(tmpdir(), 'facesign-bench-s3-'));
const s3Server = await startS3Server({ directory: s3Dir, buckets: ['bench-audit'] });
const s3 = createS3Client({ endpoint: s3Server.endpoint, region: 'us-east-1', bucket: 'bench-audit', accessKeyId: S3RVER_CREDENTIALS.accessKeyId, secretAccessKey: S3RVER_CREDENTIALS.secretAccessKey, forcePathStyle: true });
const store = new RecordingStore(s3, 'bench-audit');
const db = createDb({ url: ownerUrl, poolSize: 4 });
const log = pino({ level: 'silent' });
try {
  const insert = async (count: number) => {
    const client = new pg.Client({ connectionString: ownerUrl });
    await client.connect();
    await client.query(`INSERT INTO "AuditEvent" (id, "occurredAt", "recordedAt", "actorType", action, "actionVersion", "entityType", "entityId", data)
      SELECT gen_random_uuid(), now(), now(), 'SYSTEM', 'auth.logged_out', 1, 'bench', i::text, jsonb_build_object('loginSessionId', gen_random_uuid())
      FROM generate_series(1, ${count}) AS i`);
    await client.end();
    await sealAuditChain(db, { wait: true });
  };
  const [, sealMs] = await ms(() => insert(events));
  const { signer } = await generateSelfSignedIdentity();
  const checkpoints = new AuditCheckpoints({ db, store, signer, settings: { objectLockMode: 'off', retentionYears: 1 }, log });
  const [first, firstHeadMs] = await ms(() => checkpoints.checkpoint());
  await insert(100);
  const [second, incrementalHeadMs] = await ms(() => checkpoints.checkpoint());
  const sample = Array.from({ length: 20 }, (_, i) => 1 + Math.floor((i * (events - 1)) / 19));
  const [, coldProofsMs] = await ms(() => checkpoints.prove(sample));
  const [, warmProofsMs] = await ms(() => checkpoints.prove(sample));
  const [verdict, verifyMs] = await ms(() => verifyAuditLog({ db, store, keyring: Keyring.forSigner(signer) }));
  const result = {
    events,
    sealSeconds: sealMs / 1000,
    firstHeadMs,
    incrementalHeadMs,
    coldProofsMs,
    warmProofsMs,
    verifyMs,
    heads: [first?.treeSize, second?.treeSize],
    verifyOk: verdict.ok,
    node: process.version,
  };
  console.log(JSON.stringify(result, null, 2));
  await mkdir(new URL('./results/', import.meta.url), { recursive: true });
  await writeFile(new URL('./results/audit-log.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await db.$disconnect();
  s3.destroy();
  await s3Server.stop();
  await rm(s3Dir, { recursive: true, force: true });
  await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
}
