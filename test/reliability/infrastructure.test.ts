// The infrastructure fails under a running deployment: Redis restarts empty, PostgreSQL crashes,
// LiveKit answers `unavailable`, the object store goes away while a recording is being finalized.
// Each time the work resumes when the component is back, and nothing is lost or done twice.
import { createHash } from 'node:crypto';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3RVER_CREDENTIALS } from '../../dev/s3-server.js';
import { AgentBot, until } from './support/agents.js';
import { BUCKET, startCluster, type Cluster } from './support/cluster.js';
import { record } from './support/ledger.js';
import { seededRng, type Rng } from './support/rng.js';
import { dialCounts, PRODUCT, scheduleCalls, type ScheduledCall } from './support/sessions.js';

let cluster: Cluster;
const agents: AgentBot[] = [];
let rng: Rng;
let offset = 0;

beforeAll(async () => {
  cluster = await startCluster({ apis: 1, workers: 1 });
  for (let i = 0; i < 3; i += 1) agents.push(await AgentBot.online(cluster, cluster.apis[0]!, PRODUCT));
  rng = seededRng('infrastructure');
});
afterAll(async () => {
  agents.forEach((a) => a.close());
  await cluster?.stop();
});

async function schedule(count: number, row: string, notBefore?: Date): Promise<ScheduledCall[]> {
  const los = await cluster.los(cluster.apis[0]!);
  const calls = await scheduleCalls(los, count, { row, offset, ...(notBefore ? { notBefore: () => notBefore } : {}) });
  offset += count;
  return calls;
}

async function allIn(calls: ScheduledCall[], state: string, timeoutMs: number): Promise<void> {
  await until(`${calls.length} sessions to reach ${state}`, timeoutMs, async () =>
    // storage: every call, counted at once while the infrastructure fails under them
    (await cluster.db.verificationSession.count({ where: { id: { in: calls.map((c) => c.sessionId) }, state: { not: state as never } } })) === 0, 500);
}

describe('infrastructure faults', () => {
  it('Redis restarts empty: every queued job, schedule and presence is gone, and the calls still go out once', async () => {
    const calls = await schedule(6, '20', new Date(Date.now() + 3_000));
    await cluster.redis.crashRestart(rng.between(500, 2_000));
    // The consoles re-assert their presence (it lived in Redis only).
    await new Promise((r) => setTimeout(r, 1_000));
    await Promise.all(agents.map((a) => a.announce()));
    await allIn(calls, 'RETRY_PENDING', 120_000);
    const { duplicates, missed } = dialCounts(cluster, calls);
    record('infrastructure', { scenario: 'Redis', fault: 'Redis SIGKILLed, restarted empty', injected: 1, checked: `${calls.length} due calls (jobs lost): duplicate or missed dials`, losses: duplicates + missed, seed: rng.seed });
    expect({ duplicates, missed }).toEqual({ duplicates: 0, missed: 0 });
  });

  it('PostgreSQL crashes while calls are being dispatched, and everything resumes', async () => {
    const calls = await schedule(6, '20');
    await new Promise((r) => setTimeout(r, rng.between(200, 1_500)));
    await cluster.pg.crashRestart(rng.between(1_000, 3_000));
    await allIn(calls, 'RETRY_PENDING', 120_000);
    const { duplicates, missed } = dialCounts(cluster, calls);
    record('infrastructure', { scenario: 'PostgreSQL', fault: 'immediate shutdown (crash) and restart', injected: 1, checked: `${calls.length} due calls: duplicate or missed dials`, losses: duplicates + missed, seed: rng.seed });
    expect({ duplicates, missed }).toEqual({ duplicates: 0, missed: 0 });
  });

  it('LiveKit answers unavailable: no party loses an attempt, and every call goes out once it is back', async () => {
    cluster.sim.control.injectTwirpFault({ code: 'unavailable' });
    const calls = await schedule(6, '20');
    await new Promise((r) => setTimeout(r, rng.between(2_000, 5_000)));
    cluster.sim.control.clearFaults();
    await allIn(calls, 'RETRY_PENDING', 120_000);
    // storage: what the outage left stored for every call
    const sessions = await cluster.db.verificationSession.findMany({ where: { id: { in: calls.map((c) => c.sessionId) } } });
    // Sessions whose dial outlived the job's retries wait for a retry that does not count against them.
    const outage = sessions.filter((s) => s.lastDialOutcome === 'TRUNK_UNAVAILABLE');
    const counted = sessions.filter((s) => s.lastDialOutcome !== 'TRUNK_UNAVAILABLE' && s.lastDialOutcome !== 'BUSY');
    // Time passes (the retry is a minute away): bring the retries forward and let the sweep take them.
    await cluster.db.verificationSession.updateMany({ where: { id: { in: outage.map((s) => s.id) } }, data: { nextAttemptAt: new Date() } });
    await until('every call to be placed once LiveKit is back', 120_000, async () => calls.every((c) => cluster.callsTo(c.phone) >= 1), 500);
    await allIn(calls, 'RETRY_PENDING', 60_000);
    const { duplicates, missed } = dialCounts(cluster, calls);
    record('infrastructure', {
      scenario: 'LiveKit',
      fault: 'every Twirp call answers unavailable (503)',
      injected: 1,
      checked: `${calls.length} calls: duplicate, missed, or attempts wrongly counted`,
      losses: duplicates + missed + counted.length,
      seed: rng.seed,
      note: `${outage.length} waited for a free retry`,
    });
    expect(counted).toEqual([]);
    expect({ duplicates, missed }).toEqual({ duplicates: 0, missed: 0 });
  });

  it('the object store stops during finalize: the recording is verified once it is back, hash intact', async () => {
    await cluster.s3Proxy.down();
    // Answers at once; the call ends at SIP_MAX_CALL_SECONDS (18 real seconds at the simulator's pace).
    const [call] = await schedule(1, '00');
    const recording = await until('the recording to be uploaded and a finalize to have failed', 120_000, async () => {
      // storage: the recording row the storage outage left behind
      const attempt = await cluster.db.attempt.findFirst({ where: { sessionId: call!.sessionId }, include: { recording: true } });
      const rec = attempt?.recording;
      return rec && rec.state === 'UPLOADED' && rec.finalizeAttempts > 0 ? rec : undefined;
    });
    await new Promise((r) => setTimeout(r, rng.between(500, 2_000)));
    await cluster.s3Proxy.up();
    const verified = await until('the recording to be verified', 150_000, async () => {
      // storage: the stored state finalize reaches once the store is back
      const rec = await cluster.db.recording.findUniqueOrThrow({ where: { id: recording.id } });
      return rec.state === 'VERIFIED' || rec.state === 'RETAINED' ? rec : undefined;
    }, 1_000);
    const s3 = new S3Client({ endpoint: cluster.s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: verified.objectKey }));
    const stored = createHash('sha256').update(Buffer.from(await object.Body!.transformToByteArray())).digest('hex');
    s3.destroy();
    const lost = verified.sha256 === stored ? 0 : 1;
    record('infrastructure', { scenario: 'object store', fault: 'S3 API unreachable during finalize', injected: 1, checked: 'recording verified with the stored bytes\' SHA-256', losses: lost, seed: rng.seed, note: `${verified.finalizeAttempts} finalize tries` });
    expect(verified.sha256).toBe(stored);
  });
});
