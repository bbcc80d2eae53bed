// `npm run demo`: the whole system on embedded defaults. Starts Postgres and Redis if they are
// installed but stopped, an in-process S3 API server (s3rver) with the bucket, LiveKit (the real
// livekit-server and livekit-sip with a SIPp phone when they are installed or can be built here,
// else the simulator; DEMO_LIVEKIT=real|simulator decides), applies migrations offline, seeds demo
// users and loan files, and starts facesign. Ctrl-C stops everything.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { loadConfig } from '../server/config.js';
import { createFacesign } from '../server/main.js';
import { printDemoLogins, seedDemo } from '../prisma/seed.js';
import { startS3Server, S3RVER_CREDENTIALS } from './s3-server.js';
import { ensurePostgres, ensureRedis } from './local-services.js';
import { asRole, ensureLocalAppLogin, ensureOwnedDatabase, ensureOwnerRole, LOCAL_APP_ROLE, LOCAL_OWNER_ROLE, migrateAsOwner } from './local-database.js';
import { startLiveKitSimulator } from './livekit-sim/index.js';
import { SipClient } from 'livekit-server-sdk';
import { describeVersions, INSTALL_SCRIPT, realStackInstalled } from './real-livekit/binaries.js';
import { startRealLiveKit } from './real-livekit/stack.js';
import { generateSelfSignedIdentity } from '../server/signing/self-signed.js';

const say = (line: string) => console.log(`[demo] ${line}`);
const env = process.env;

async function demoSigningKey(dir: string): Promise<{ keyFile: string; certFile: string }> {
  const keyFile = `${dir}/key.pem`;
  const certFile = `${dir}/cert.pem`;
  if (!existsSync(keyFile) || !existsSync(certFile)) {
    await mkdir(dir, { recursive: true });
    const identity = await generateSelfSignedIdentity({ commonName: 'facesign demo signing key (self-signed)' });
    await writeFile(keyFile, identity.privateKeyPem, { mode: 0o600 });
    await writeFile(certFile, identity.certificatePem);
    say(`generated a self-signed signing key in ${dir} (key id ${identity.signer.keyId})`);
  }
  return { keyFile, certFile };
}

async function demoDir(path: string): Promise<string> {
  await rm(path, { recursive: true, force: true });
  await mkdir(path, { recursive: true });
  return path;
}

// As in production, the app connects as a role that owns nothing (facesign_api, in facesign_app) and
// migrations run as the tables' owner (facesign_owner); the local administrator creates both.
const databaseUrl = env.DATABASE_URL ?? `postgresql://${LOCAL_APP_ROLE}@127.0.0.1:5432/facesign`;
const ownerUrl = env.MIGRATION_DATABASE_URL ?? asRole(databaseUrl, LOCAL_OWNER_ROLE);
const adminUrl = env.DEMO_DATABASE_ADMIN_URL ?? asRole(databaseUrl, 'postgres', 'postgres');
const redisUrl = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const db = new URL(databaseUrl);
const redis = new URL(redisUrl);
await ensurePostgres(db.hostname, Number(db.port || 5432), say);
await ensureRedis(redis.hostname, Number(redis.port || 6379), say);

const bucket = env.S3_BUCKET ?? 'facesign-recordings';
const s3 = env.S3_ENDPOINT
  ? undefined
  : await startS3Server({ directory: env.DEMO_S3_DIR ?? '.tmp/s3', buckets: [bucket], port: Number(env.DEMO_S3_PORT ?? 4568) });
if (s3) say(`S3 API (s3rver) on ${s3.endpoint}, bucket ${bucket}, data in .tmp/s3`);

// No LiveKit configured: the real servers when they are here or can be built here (from the Go module
// proxy and Debian's packages), else the simulator, which speaks LiveKit's real Twirp and webhook
// protocol but carries no media.
function chooseLiveKit(): 'real' | 'simulator' | undefined {
  if (env.LIVEKIT_URL) return undefined;
  const asked = env.DEMO_LIVEKIT;
  if (asked !== undefined && asked !== 'real' && asked !== 'simulator') throw new Error(`DEMO_LIVEKIT must be real or simulator, not ${asked}`);
  if (asked === 'simulator') return 'simulator';
  if (realStackInstalled()) return 'real';
  say(`building the real LiveKit servers (${INSTALL_SCRIPT}; minutes the first time)`);
  try {
    execFileSync(INSTALL_SCRIPT, [], { stdio: 'inherit' });
    return 'real';
  } catch (error) {
    if (asked === 'real') throw error;
    say(`could not build them (${(error as Error).message.split('\n')[0]}); using the LiveKit simulator instead`);
    return 'simulator';
  }
}
const livekitKind = chooseLiveKit();
const sim = livekitKind === 'simulator' ? await startLiveKitSimulator({ port: Number(env.DEMO_LIVEKIT_PORT ?? 7880) }) : undefined;
const real = livekitKind === 'real' ? await startRealLiveKit({ workDir: await demoDir('.tmp/livekit') }) : undefined;
let sipTrunkId = env.LIVEKIT_SIP_TRUNK_ID;
if (sim) {
  sipTrunkId = (await new SipClient(sim.url, sim.apiKey, sim.apiSecret).createSipOutboundTrunk('demo trunk', 'sip.demo.invalid', ['+10000000000'])).sipTrunkId;
  say(`LiveKit SIMULATOR on ${sim.url} (no audio or video; key ${sim.apiKey}); outbound SIP trunk ${sipTrunkId}`);
}
if (real) {
  sipTrunkId = await real.createTrunk();
  say(`REAL LiveKit on ${real.wsUrl}: ${describeVersions(['livekit-server', 'livekit-sip', 'sipp'])}; logs and configs in .tmp/livekit`);
  say(`  calls go through livekit-sip to a SIPp phone on ${real.phoneAddress}: numbers ending 55501XX behave as the simulator's test numbers, others answer`);
}

const owner = decodeURIComponent(new URL(ownerUrl).username);
try {
  await ensureOwnerRole(adminUrl, owner);
  await ensureOwnedDatabase(adminUrl, decodeURIComponent(db.pathname.slice(1)), owner);
} catch (error) {
  say(`could not prepare roles as the administrator (${(error as Error).message}); assuming ${owner} and the database exist`);
}
say(`applying migrations as ${owner} (offline, Wasm schema engine)`);
migrateAsOwner(ownerUrl, { quiet: true });
await ensureLocalAppLogin(ownerUrl, databaseUrl);
say(`facesign connects as ${decodeURIComponent(db.username)}, a member of facesign_app that owns nothing`);

// A self-signed signing key kept in .tmp/signing across demo runs, so that evidence and audit tree heads
// signed in one run still verify in the next (`npm run audit:verify -- --trust .tmp/signing/cert.pem`).
const signing = env.SIGNING_KEY_FILE || env.SIGNING_PKCS12_FILE ? undefined : await demoSigningKey('.tmp/signing');

// The address printed below is the one that works: PUBLIC_URL (links, the console's socket origin)
// defaults to where the demo listens.
const port = Number(env.PORT ?? 3000);
const config = loadConfig({
  ...env,
  PUBLIC_URL: env.PUBLIC_URL ?? `http://127.0.0.1:${port}`,
  DATABASE_URL: databaseUrl,
  REDIS_URL: redisUrl,
  S3_BUCKET: bucket,
  ...(s3
    ? { S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey, S3_FORCE_PATH_STYLE: 'true' }
    : {}),
  ...(sim ? { LIVEKIT_URL: sim.url, LIVEKIT_API_KEY: sim.apiKey, LIVEKIT_API_SECRET: sim.apiSecret, LIVEKIT_MEDIA: 'simulated' } : {}),
  ...(real ? { LIVEKIT_URL: real.url, LIVEKIT_API_KEY: real.apiKey, LIVEKIT_API_SECRET: real.apiSecret, LIVEKIT_MEDIA: 'livekit' } : {}),
  ...(sipTrunkId ? { LIVEKIT_SIP_TRUNK_ID: sipTrunkId } : {}),
  ...(signing ? { SIGNING_KEY_FILE: signing.keyFile, SIGNING_CERT_FILE: signing.certFile } : {}),
});
if (config.env === 'production') throw new Error('npm run demo is for local use; start production with `npm start`');

const facesign = await createFacesign(config);
const { createdUsers } = await seedDemo(facesign.db);
if (createdUsers.length > 0) say(`seeded ${createdUsers.length} demo users and demo loan files`);
const listening = await facesign.listen();
const url = config.http.publicUrl;
sim?.control.setWebhookUrls([`${listening}/livekit/webhook`]);
real?.webhooks.setTarget(`${listening}/livekit/webhook`);
say(`facesign is up at ${url}`);
say(`  health   ${url}/healthz   readiness ${url}/readyz`);
say(`  API docs ${url}/api/docs`);
printDemoLogins(say);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    if (stopping) return;
    stopping = true;
    say('stopping');
    await facesign.stop();
    await sim?.stop();
    await real?.stop();
    await s3?.stop();
    process.exit(0);
  });
}
