// `npm run demo`: the whole system on embedded defaults. Starts Postgres and Redis if they are
// installed but stopped, an in-process S3 API server (s3rver) with the bucket, applies migrations
// offline, seeds demo users and loan files, and starts facesign. Ctrl-C stops everything.
import { execFileSync } from 'node:child_process';
import { loadConfig } from '../server/config.js';
import { createFacesign } from '../server/main.js';
import { printDemoLogins, seedDemo } from '../prisma/seed.js';
import { startS3Server, S3RVER_CREDENTIALS } from './s3-server.js';
import { ensurePostgres, ensureRedis } from './local-services.js';
import { startLiveKitSimulator } from './livekit-sim/index.js';
import { SipClient } from 'livekit-server-sdk';

const say = (line: string) => console.log(`[demo] ${line}`);
const env = process.env;

const databaseUrl = env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/facesign';
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

// No LiveKit configured: the simulator stands in, speaking LiveKit's real Twirp and webhook protocol.
const sim = env.LIVEKIT_URL ? undefined : await startLiveKitSimulator({ port: Number(env.DEMO_LIVEKIT_PORT ?? 7880) });
let sipTrunkId = env.LIVEKIT_SIP_TRUNK_ID;
if (sim) {
  sipTrunkId = (await new SipClient(sim.url, sim.apiKey, sim.apiSecret).createSipOutboundTrunk('demo trunk', 'sip.demo.invalid', ['+10000000000'])).sipTrunkId;
  say(`LiveKit simulator on ${sim.url} (key ${sim.apiKey}); outbound SIP trunk ${sipTrunkId}`);
}

say('applying migrations (offline, Wasm schema engine)');
execFileSync('npx', ['prisma', 'migrate', 'deploy'], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...env, DATABASE_URL: databaseUrl } });

const config = loadConfig({
  ...env,
  DATABASE_URL: databaseUrl,
  REDIS_URL: redisUrl,
  S3_BUCKET: bucket,
  ...(s3
    ? { S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey, S3_FORCE_PATH_STYLE: 'true' }
    : {}),
  ...(sim ? { LIVEKIT_URL: sim.url, LIVEKIT_API_KEY: sim.apiKey, LIVEKIT_API_SECRET: sim.apiSecret, LIVEKIT_MEDIA: 'simulated' } : {}),
  ...(sipTrunkId ? { LIVEKIT_SIP_TRUNK_ID: sipTrunkId } : {}),
});
if (config.env === 'production') throw new Error('npm run demo is for local use; start production with `npm start`');

const facesign = await createFacesign(config);
const { createdUsers } = await seedDemo(facesign.db);
if (createdUsers.length > 0) say(`seeded ${createdUsers.length} demo users and demo loan files`);
const url = await facesign.listen();
sim?.control.setWebhookUrls([`${url}/livekit/webhook`]);
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
    await s3?.stop();
    process.exit(0);
  });
}
