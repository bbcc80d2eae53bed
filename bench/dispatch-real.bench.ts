// Dispatch on the real servers: livekit-server and livekit-sip (dev/real-livekit) call a SIPp phone that
// answers every call after `answerAfterSeconds`, talks for `holdSeconds` and hangs up. Both sides place
// the same N calls with the same external work, measured the same way: a call counts as placed once
// CreateSIPParticipant has returned with the call answered and LiveKit's `participant_joined` webhook
// for its room has arrived (through the same relay, verified with LiveKit's signature).
//
// Baseline: a script with no facesign rules, in this process: for N numbers, `concurrency` at a time,
// CreateRoom, CreateSIPParticipant (waiting for the answer, the options facesign uses) and a wait for
// the room's participant_joined at an HTTP endpoint checking it with WebhookReceiver.
// facesign: N call sessions fall due at once (dial pacing off) and go through the real path: the
// due jobs -> an offer to one of N agents (socket.io clients in another process, accepting over HTTP at
// once) -> an attempt and a `session-dial` job -> the dial worker creates the room and places the call
// -> the webhooks are stored and applied by the workers. facesign's api node runs in this process,
// its worker nodes in processes of their own, so each role's CPU is read apart (/proc/<pid>/stat).
//
// Recording starts are answered at once by bench/support/egress-answerer.ts, as an egress that accepted
// them would, so that both sides place calls and neither records (--real-egress livekit sends them to
// the real stack's audio egress stand-in, which records; --real-egress none leaves them to a
// livekit-server with no egress, which holds each for the SDK's 10 s: a 'recording-start' job's slot,
// not a dial's).
//
//   npm run bench -- --only dispatch-real --real-calls 40 --real-concurrency 8 --answer-after 1 --hold 3 --real-workers 1
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import pg from 'pg';
import { RoomServiceClient, SipClient, WebhookReceiver } from 'livekit-server-sdk';
import type { RealLiveKit } from '../dev/real-livekit/stack.js';
import type { EventLagSample } from '../server/metrics/event-lag.js';
import { LIVEKIT_ANSWER_WAIT_SECONDS } from '../server/livekit/limits.js';
import { startRealBenchStack, type RealBenchStack } from './support/real-stack.js';
import { startClients } from './support/clients.js';
import { bulkCallSessions } from './support/sessions.js';
import { accountCpu, canAccountCpu, postgresPart, redisPart, type CpuAccount, type CpuPart } from './support/machine-cpu.js';
import { eventLagMet, eventLagReport, eventLagWhereItWent, LAG_TARGET_MS, watchEventLag } from './support/event-lag.js';
import type { PoolWaitReport } from './support/pool-wait.js';
import { serverErrors } from './support/stack.js';
import type { BenchResult } from './support/report.js';
import { loadContext, nowMs, percentile, round, sleep } from './support/stats.js';

export interface RealDispatchBenchOptions {
  calls: number;
  /** The baseline's concurrent calls; facesign's is its session-dial concurrency (8, server/main.ts). */
  concurrency: number;
  answerAfterSeconds: number;
  holdSeconds: number;
  /** facesign worker-only nodes (processes). */
  workers: number;
  /** DATABASE_POOL_SIZE of every facesign node. */
  poolSize: number;
  /** How recording starts are served (see RealBenchStackOptions.egress). */
  egress: 'answer' | 'livekit' | 'none';
  /** The agents sit idle at their desks this long first: PostgreSQL and Redis load of idle agents. */
  idleSeconds: number;
  timeoutSeconds: number;
}

export const FACESIGN_DIAL_CONCURRENCY = 8;
/** Not one of the simulator's scripted test numbers: the SIPp phone answers it by the bench's script. */
const NUMBER = '+8613800138000';
const RINGING_TIMEOUT_SECONDS = 30;
/** PostgreSQL's backends report their counters when idle at most this often (PGSTAT_IDLE_INTERVAL). */
const PG_STATS_FLUSH_MS = 11_000;
const EGRESS_SETUP = {
  answer: 'answered at once by a stand-in, nothing recorded',
  livekit: 'through livekit-server to the audio egress stand-in, recording',
  none: 'absent (livekit-server holds each recording start until the SDK gives up)',
} as const;
/** A checkout slower than this at p99 means queries queue for a connection, not just open one. */
const POOL_WAIT_P99_MS = 50;

interface Placement {
  room: string;
  /** Epoch ms: started, answered (CreateSIPParticipant returned / answeredAt), participant_joined arrived. */
  began: number;
  answered: number;
  joined: number;
}

const placedAt = (p: Placement) => Math.max(p.answered, p.joined);

function livekitParts(real: RealLiveKit): CpuPart[] {
  const pids = real.pids();
  const part = (name: string, key: string, children = false): CpuPart[] => (pids[key] ? [{ name, pids: [pids[key]], ...(children ? { withChildren: true, withReapedChildren: true } : {}) }] : []);
  return [...part('livekit-server', 'livekit-server'), ...part('egress (stand-in)', 'egress-standin'), ...part('livekit-sip', 'livekit-sip', true), ...part('sipp (phone)', 'sipp'), ...part('livekit redis', 'redis-server')];
}

/** The first participant_joined the relay received for each room (LiveKit's own clock of the webhook path). */
function joinedAtRelay(real: RealLiveKit): Map<string, number> {
  const joined = new Map<string, number>();
  for (const d of real.webhooks.deliveries) if (d.event === 'participant_joined' && d.room && !joined.has(d.room)) joined.set(d.room, d.at);
  return joined;
}

async function redisCommands(redis: Redis): Promise<{ calls: number; usec: number }> {
  const info = await redis.info('commandstats');
  let calls = 0;
  let usec = 0;
  for (const m of info.matchAll(/calls=(\d+),usec=(\d+)/g)) {
    calls += Number(m[1]);
    usec += Number(m[2]);
  }
  return { calls, usec };
}

async function pgCounters(admin: pg.Client, database: string): Promise<{ xacts: number; rowsWritten: number }> {
  const { rows } = await admin.query<{ x: string; w: string }>(
    'SELECT (xact_commit + xact_rollback)::text AS x, (tup_inserted + tup_updated + tup_deleted)::text AS w FROM pg_stat_database WHERE datname = $1',
    [database],
  );
  return { xacts: Number(rows[0]?.x ?? 0), rowsWritten: Number(rows[0]?.w ?? 0) };
}

function cpuByPart(account: CpuAccount, calls: number): Record<string, number> {
  const accounted = Object.values(account.byPart).reduce((a, b) => a + b, 0);
  return {
    ...Object.fromEntries(Object.entries(account.byPart).map(([k, v]) => [k, round(v / Math.max(1, calls), 1)])),
    'other (rest of the machine)': round(Math.max(0, account.machineMs - accounted) / Math.max(1, calls), 1),
  };
}

async function runBaseline(stack: RealBenchStack, options: RealDispatchBenchOptions) {
  const { real } = stack;
  const receiver = new WebhookReceiver(real.apiKey, real.apiSecret);
  const joined = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  let rejected = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      receiver.receive(Buffer.concat(chunks).toString('utf8'), req.headers.authorization).then(
        (event) => {
          const room = event.room?.name;
          if (event.event === 'participant_joined' && room && !joined.has(room)) {
            joined.set(room, nowMs());
            waiters.get(room)?.();
          }
          res.writeHead(200).end();
        },
        () => {
          rejected += 1;
          res.writeHead(401).end();
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  real.webhooks.setTarget(`http://127.0.0.1:${(server.address() as AddressInfo).port}/livekit/webhook`);
  const rooms = new RoomServiceClient(real.url, real.apiKey, real.apiSecret);
  const sip = new SipClient(real.url, real.apiKey, real.apiSecret);
  const prefix = `bench-baseline-${Date.now().toString(36)}`;
  const waitJoined = (room: string) =>
    new Promise<void>((resolve, reject) => {
      if (joined.has(room)) return resolve();
      const timer = setTimeout(() => reject(new Error(`no participant_joined for ${room} within 30 s`)), 30_000);
      waiters.set(room, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  const placements: Placement[] = [];
  const failures: string[] = [];
  const parts = livekitParts(real);
  const machine = canAccountCpu() ? accountCpu([{ name: 'baseline script', pids: [process.pid] }, ...parts]) : undefined;
  const started = nowMs();
  let next = 0;
  const runner = async () => {
    for (let i = next++; i < options.calls; i = next++) {
      const room = `${prefix}-${i}`;
      const began = nowMs();
      try {
        await rooms.createRoom({ name: room, emptyTimeout: 300, departureTimeout: 20, maxParticipants: 4, metadata: JSON.stringify({ bench: true }) });
        await sip.createSipParticipant(stack.sipTrunkId, NUMBER, room, {
          participantIdentity: `sip-${i}`,
          waitUntilAnswered: true,
          ringingTimeout: RINGING_TIMEOUT_SECONDS,
          maxCallDuration: 3600,
          playDialtone: false,
          hidePhoneNumber: true,
          timeout: LIVEKIT_ANSWER_WAIT_SECONDS + 10,
        });
        const answered = nowMs();
        await waitJoined(room);
        placements.push({ room, began, answered, joined: joined.get(room)! });
      } catch (error) {
        failures.push(`${room}: ${(error as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, runner));
  const lastPlaced = Math.max(...placements.map(placedAt));
  const placedAccount = machine?.stop();
  // The whole calls: until the phone has hung up on the last one.
  await sleep(Math.max(0, lastPlaced + (options.holdSeconds + 2) * 1000 - nowMs()));
  const wholeAccount = machine?.stop();
  for (const p of placements) await rooms.deleteRoom(p.room).catch(() => undefined);
  // Their room_finished webhooks go to this receiver, not to facesign.
  await sleep(2000);
  server.closeAllConnections();
  server.close();
  return { placements, failures, started, lastPlaced, placedAccount, wholeAccount, rejected };
}

export async function realDispatchBench(options: RealDispatchBenchOptions): Promise<BenchResult> {
  const before = loadContext();
  const stack = await startRealBenchStack({
    answerAfterSeconds: options.answerAfterSeconds,
    holdSeconds: options.holdSeconds,
    workers: options.workers,
    egress: options.egress,
    env: { DATABASE_POOL_SIZE: String(options.poolSize), DIAL_RATE_PER_SECOND: '1000', SIP_RINGING_TIMEOUT_SECONDS: String(RINGING_TIMEOUT_SECONDS) },
  });
  const clients = startClients();
  const admin = new pg.Client({ connectionString: process.env.DATABASE_URL_ADMIN ?? 'postgresql://postgres@127.0.0.1:5432/postgres' });
  const observer = new Redis(stack.redis.url);
  try {
    await admin.connect();
    console.log(`  real servers: ${JSON.stringify(stack.real.versions)}`);
    console.log(`  baseline: CreateRoom + CreateSIPParticipant for ${options.calls} numbers, ${options.concurrency} at a time, each waiting for participant_joined`);
    const base = await runBaseline(stack, options);
    if (base.placements.length === 0) throw new Error(`the baseline placed no call: ${base.failures[0] ?? 'unknown'}`);
    const baseSeconds = (base.lastPlaced - base.started) / 1000;
    const baseRate = base.placements.length / baseSeconds;
    console.log(`  baseline: ${base.placements.length} placed in ${round(baseSeconds, 1)} s (${round(baseRate, 2)}/s)`);

    const { real, api } = stack;
    real.webhooks.setTarget(`${stack.url}/livekit/webhook`);
    const facesignParts: CpuPart[] = [{ name: 'facesign api (+ bench harness)', pids: [process.pid] }, ...stack.workers.map((w, i) => ({ name: stack.workers.length > 1 ? `facesign worker ${i + 1}` : 'facesign worker', pids: [w.pid] }))];
    const facesignCpu = (account: CpuAccount | undefined) => (account ? facesignParts.reduce((sum, p) => sum + (account.byPart[p.name] ?? 0), 0) : Number.NaN);
    // What the nodes cost PostgreSQL and Redis with nothing to do, then with the agents idle at their desks.
    const idleWindow = async () => {
      await sleep(PG_STATS_FLUSH_MS);
      const pg0 = await pgCounters(admin, stack.databaseName);
      const redis0 = await redisCommands(observer);
      const cpu = canAccountCpu() ? accountCpu(facesignParts) : undefined;
      const started = nowMs();
      await sleep(options.idleSeconds * 1000);
      const seconds = (nowMs() - started) / 1000;
      const account = cpu?.stop();
      const pg1 = await pgCounters(admin, stack.databaseName);
      const redis1 = await redisCommands(observer);
      return { pgPerS: (pg1.xacts - pg0.xacts) / seconds, redisPerS: (redis1.calls - redis0.calls) / seconds, cpuMsPerS: account ? facesignCpu(account) / seconds : Number.NaN };
    };
    console.log(`  facesign: nodes idle, no agents, for ${options.idleSeconds} s (after ${PG_STATS_FLUSH_MS / 1000} s for PostgreSQL's counters to settle)`);
    const idleNodes = await idleWindow();
    const agents = await stack.users(options.calls, { roles: ['AGENT'], languages: ['zh-CN'], skills: ['bench-dispatch-real'] });
    const connected = await clients.connect({ url: stack.url, namespace: '/agent', count: agents.length, cookies: agents.map((a) => a.cookie), agents, event: 'session:changed' });
    if (connected !== agents.length) throw new Error(`only ${connected} of ${agents.length} agents connected`);
    console.log(`  facesign: ${agents.length} agents available, idle for ${options.idleSeconds} s`);
    const idleAgents = await idleWindow();

    // The api node takes the webhooks: its samples time each event's intake (stored and queued).
    const intakeLag = watchEventLag(api);
    const { sessionIds } = await bulkCallSessions(api.db, { count: options.calls, state: 'SCHEDULED', notBefore: new Date(Date.now() + 3_600_000), phoneE164: NUMBER, product: 'bench-dispatch-real' });
    const dueAt = Math.ceil(Date.now() / 1000) * 1000 + 3000;
    await api.db.verificationSession.updateMany({ where: { id: { in: sessionIds } }, data: { notBefore: new Date(dueAt) } });
    const dueQueue = api.queues.queue('session-due');
    await dueQueue.addBulk(
      sessionIds.map((sessionId) => ({
        name: 'session-due',
        data: { sessionId },
        opts: { jobId: `due-${sessionId}-0`, delay: Math.max(0, dueAt - Date.now()), attempts: 5, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: { age: 86_400, count: 10_000 } },
      })),
    );
    await Promise.all(stack.workers.map((w) => w.mark()));
    stack.apiPool.reset();
    const [{ pid: backendPid }] = await api.db.$queryRaw<[{ pid: number }]>`SELECT pg_backend_pid() AS pid`;
    const harness = [{ name: 'agents (bench harness)', pids: [clients.pid] }, ...(stack.egressAnswerer ? [{ name: 'egress answerer (bench harness)', pids: [stack.egressAnswerer.pid] }] : [])];
    const machineParts = [...facesignParts, ...harness, ...[postgresPart(backendPid), redisPart(await observer.info('server'))].filter((p): p is CpuPart => p !== undefined).map((p) => ({ ...p, name: p.name === 'redis' ? 'facesign redis' : p.name })), ...livekitParts(real)];
    const pg0 = await pgCounters(admin, stack.databaseName);
    const redis0 = await redisCommands(observer);
    await sleep(Math.max(0, dueAt - nowMs()));
    const machine = canAccountCpu() ? accountCpu(machineParts) : undefined;
    console.log(`  facesign: ${options.calls} sessions due at ${new Date(dueAt).toISOString()}; waiting for their calls`);

    const deadline = dueAt + options.timeoutSeconds * 1000;
    let lastLog = nowMs();
    let rows: { room: string; startedAt: Date; claimedAt: Date | null; answeredAt: Date | null }[] = [];
    const placedNow = () => {
      const joined = joinedAtRelay(real);
      return rows.filter((r) => r.answeredAt && joined.has(r.room)).length;
    };
    // Read on a connection of the bench's own, so that the api node's pool waits are its own.
    const reader = new pg.Client({ connectionString: stack.databaseUrl });
    await reader.connect();
    for (;;) {
      rows = (await reader.query<(typeof rows)[number]>('SELECT "roomName" AS "room", "startedAt", "dialClaimedAt" AS "claimedAt", "answeredAt" FROM "Attempt"')).rows;
      const placed = placedNow();
      if (placed >= options.calls || nowMs() > deadline) break;
      if (nowMs() - lastLog > 10_000) {
        lastLog = nowMs();
        console.log(`    ${placed} placed after ${round((nowMs() - dueAt) / 1000, 1)} s`);
      }
      await sleep(200);
    }
    await reader.end();
    const joined = joinedAtRelay(real);
    const placements: Placement[] = rows.flatMap((r) => (r.answeredAt && joined.has(r.room) ? [{ room: r.room, began: r.startedAt.getTime(), answered: r.answeredAt.getTime(), joined: joined.get(r.room)! }] : []));
    const complete = placements.length >= options.calls;
    const lastPlaced = placements.length > 0 ? Math.max(...placements.map(placedAt)) : nowMs();
    const placedAccount = machine?.stop();
    const seconds = (lastPlaced - dueAt) / 1000;
    const rate = placements.length / seconds;
    console.log(`  facesign: ${placements.length} placed in ${round(seconds, 1)} s (${round(rate, 2)}/s); waiting for the calls to end and their events to be applied`);

    // The whole calls: the phone hangs up, the events of the hang-up are applied.
    await sleep(Math.max(0, lastPlaced + (options.holdSeconds + 2) * 1000 - nowMs()));
    let drained = -1;
    for (const until = nowMs() + 120_000; nowMs() < until; await sleep(250)) {
      const [open] = await api.db.$queryRaw<[{ n: bigint }]>`SELECT count(*) AS "n" FROM "LiveKitEvent" WHERE "processedAt" IS NULL`;
      if (open.n === 0n) {
        drained = round((nowMs() - lastPlaced) / 1000, 1);
        break;
      }
    }
    const wholeAccount = machine?.stop();
    const redis1 = await redisCommands(observer);
    const reports = await Promise.all(stack.workers.map((w) => w.report()));
    intakeLag.stop();
    const samples: EventLagSample[] = [...intakeLag.samples, ...reports.flatMap((r) => r.lag)];
    const lag = { ...(await eventLagReport(api, samples, lastPlaced, 1000)), eventDrainSeconds: drained };
    const lagMet = eventLagMet(lag);
    const workerPool = mergePools(reports.flatMap((r) => (r.pool ? [r.pool] : [])));
    const apiPool = stack.apiPool.report();
    const { accepted } = await clients.report();
    await sleep(PG_STATS_FLUSH_MS);
    const pg1 = await pgCounters(admin, stack.databaseName);

    // Where a facesign call's time went, against the baseline's time in the same LiveKit calls.
    const stage = (values: number[]) => `${round(percentile(values, 50), 0)}/${round(percentile(values, 99), 0)}`;
    const placedRows = rows.filter((r) => r.answeredAt && r.claimedAt);
    const toAttempt = placedRows.map((r) => r.startedAt.getTime() - dueAt);
    const queued = placedRows.map((r) => r.claimedAt!.getTime() - r.startedAt.getTime());
    const inDial = placedRows.map((r) => r.answeredAt!.getTime() - r.claimedAt!.getTime());
    const baseInCall = base.placements.map((p) => p.answered - p.began);
    const ratio = rate / baseRate;
    const met = complete && ratio >= 0.5;
    const calls = placements.length;
    const busy = (account: CpuAccount | undefined) => (account ? round((account.machineMs / (account.wallMs * account.cores)) * 100, 0) : Number.NaN);
    const per100Agents = (withAgents: number, without: number) => round(((withAgents - without) * 100) / agents.length, 2);
    const notes = [
      ...(complete ? [] : [`TIMED OUT: only ${calls} of ${options.calls} calls were placed`]),
      ...(base.failures.length > 0 ? [`baseline: ${base.failures.length} call(s) failed; first: ${base.failures[0]}`] : []),
      ...(met ? [] : [whatWouldMoveIt({ ratio, rate, busyPercent: busy(placedAccount), toAttempt, queued, inDial, baseInCall, workers: options.workers })]),
      ...(lagMet
        ? []
        : [
            `event lag target missed: ${eventLagWhereItWent(lag)}; backlog ${lag.eventBacklogAtLastDial}, with the machine ${busy(wholeAccount)}% busy, of which other work ${wholeAccount ? cpuByPart(wholeAccount, calls)['other (rest of the machine)'] : '?'} ms per call, and the workers' pool checkouts waiting up to ${workerPool?.checkoutWaitMaxMs ?? '?'} ms (p99 ${workerPool?.checkoutWaitP99Ms ?? '?'} ms)`,
          ]),
      ...serverErrors([...stack.errors, ...reports.flatMap((r) => r.errors)]),
    ];
    return {
      name: 'dispatch-real',
      setup: `${options.calls} calls on livekit-server + livekit-sip to a SIPp phone answering after ${options.answerAfterSeconds} s and hanging up after ${options.holdSeconds} s; baseline concurrency ${options.concurrency}, facesign session-dial concurrency ${FACESIGN_DIAL_CONCURRENCY} × ${options.workers} worker node(s), pool ${options.poolSize}, ${options.calls} agents accepting at once, dial pacing off, egress ${EGRESS_SETUP[options.egress]}`,
      facesign: {
        callsPlacedPerSecond: round(rate, 2),
        placed: calls,
        seconds: round(seconds, 1),
        dueToAttemptP50P99Ms: stage(toAttempt),
        attemptToDialClaimP50P99Ms: stage(queued),
        dialToAnsweredP50P99Ms: stage(inDial),
        offersAccepted: accepted?.ok ?? 0,
        facesignCpuMsPerCall: round(facesignCpu(placedAccount) / Math.max(1, calls), 1),
        facesignCpuMsPerCallWhole: round(facesignCpu(wholeAccount) / Math.max(1, calls), 1),
        machineCpuMsPerCall: placedAccount ? round(placedAccount.machineMs / Math.max(1, calls), 1) : Number.NaN,
        machineBusyPercent: busy(placedAccount),
        cpuMsPerCallByProcess: placedAccount ? JSON.stringify(cpuByPart(placedAccount, calls)) : '',
        cpuMsPerCallByProcessWhole: wholeAccount ? JSON.stringify(cpuByPart(wholeAccount, calls)) : '',
        pgTransactionsPerCall: round((pg1.xacts - pg0.xacts) / Math.max(1, calls), 1),
        pgRowsWrittenPerCall: round((pg1.rowsWritten - pg0.rowsWritten) / Math.max(1, calls), 1),
        redisCommandsPerCall: round((redis1.calls - redis0.calls) / Math.max(1, calls), 1),
        redisBusyMsPerCall: round((redis1.usec - redis0.usec) / 1000 / Math.max(1, calls), 2),
        idleNodesPgTransactionsPerSecond: round(idleNodes.pgPerS, 2),
        idleNodesRedisCommandsPerSecond: round(idleNodes.redisPerS, 1),
        idleNodesCpuMsPerSecond: round(idleNodes.cpuMsPerS, 1),
        idleAgentsPgTransactionsPerSecondPer100: per100Agents(idleAgents.pgPerS, idleNodes.pgPerS),
        idleAgentsRedisCommandsPerSecondPer100: per100Agents(idleAgents.redisPerS, idleNodes.redisPerS),
        idleAgentsCpuMsPerSecondPer100: per100Agents(idleAgents.cpuMsPerS, idleNodes.cpuMsPerS),
        workerPool: JSON.stringify(workerPool),
        apiPool: JSON.stringify(apiPool),
        ...lag,
      },
      baseline: {
        what: `CreateRoom + CreateSIPParticipant (waiting for the answer) + participant_joined through the webhook relay, ${options.concurrency} at a time, no facesign`,
        callsPlacedPerSecond: round(baseRate, 2),
        placed: base.placements.length,
        seconds: round(baseSeconds, 1),
        callP50P99Ms: stage(baseInCall),
        scriptCpuMsPerCall: base.placedAccount ? round((base.placedAccount.byPart['baseline script'] ?? 0) / base.placements.length, 1) : Number.NaN,
        machineCpuMsPerCall: base.placedAccount ? round(base.placedAccount.machineMs / base.placements.length, 1) : Number.NaN,
        machineBusyPercent: busy(base.placedAccount),
        cpuMsPerCallByProcess: base.placedAccount ? JSON.stringify(cpuByPart(base.placedAccount, base.placements.length)) : '',
        cpuMsPerCallByProcessWhole: base.wholeAccount ? JSON.stringify(cpuByPart(base.wholeAccount, base.placements.length)) : '',
        webhooksRejected: base.rejected,
      },
      ratio: { value: round(ratio, 3), of: 'facesign calls placed/s ÷ baseline calls placed/s (same calls, same servers)' },
      target: { text: '≥ 0.5× the baseline', met },
      more: [
        {
          figure: `LiveKit event lag p50/p99 to queued ${lag.eventLagQueuedP50Ms}/${lag.eventLagQueuedP99Ms} ms, to taken by a worker ${lag.eventLagTakenP50Ms}/${lag.eventLagTakenP99Ms} ms, to applied ${lag.eventLagAppliedP50Ms}/${lag.eventLagAppliedP99Ms} ms, to socket delivery ${lag.eventLagDeliveredP50Ms}/${lag.eventLagDeliveredP99Ms} ms; backlog at the last call placed ${lag.eventBacklogAtLastDial} of ${lag.eventsStoredAtLastDial} stored (${lag.eventsUnappliedAtLastDial} in flight); all applied ${lag.eventDrainSeconds} s after it (the calls end ${options.holdSeconds} s after they are answered)`,
          target: { text: `event lag p99 < ${LAG_TARGET_MS} ms, no backlog at the last call placed`, met: lagMet },
        },
        {
          figure: `worker pool (DATABASE_POOL_SIZE ${workerPool?.poolSize ?? '?'}): ${workerPool?.checkouts ?? 0} checkouts, ${workerPool?.checkoutsWaited ?? 0} waited > 2 ms, wait p99 ${workerPool?.checkoutWaitP99Ms ?? '?'} ms, max ${workerPool?.checkoutWaitMaxMs ?? '?'} ms, at most ${workerPool?.maxQueued ?? '?'} queued and ${workerPool?.maxOpen ?? '?'} open`,
          target: { text: `the workers' queries do not queue for the pool (checkout wait p99 ≤ ${POOL_WAIT_P99_MS} ms)`, met: (workerPool?.checkoutWaitP99Ms ?? 0) <= POOL_WAIT_P99_MS },
        },
      ],
      load: { before, after: loadContext() },
      notes,
    };
  } finally {
    clients.close();
    observer.disconnect();
    await admin.end().catch(() => undefined);
    await stack.stop();
  }
}

function mergePools(pools: PoolWaitReport[]): PoolWaitReport | undefined {
  if (pools.length <= 1) return pools[0];
  return {
    poolSize: pools[0]!.poolSize,
    checkouts: pools.reduce((s, p) => s + p.checkouts, 0),
    checkoutsWaited: pools.reduce((s, p) => s + p.checkoutsWaited, 0),
    checkoutWaitP50Ms: Math.max(...pools.map((p) => p.checkoutWaitP50Ms)),
    checkoutWaitP99Ms: Math.max(...pools.map((p) => p.checkoutWaitP99Ms)),
    checkoutWaitMaxMs: Math.max(...pools.map((p) => p.checkoutWaitMaxMs)),
    maxQueued: Math.max(...pools.map((p) => p.maxQueued)),
    maxOpen: Math.max(...pools.map((p) => p.maxOpen)),
  };
}

/** The note printed when the target is missed: which part of facesign's path the time went to. */
function whatWouldMoveIt(input: { ratio: number; rate: number; busyPercent: number; toAttempt: number[]; queued: number[]; inDial: number[]; baseInCall: number[]; workers: number }): string {
  const p50 = (v: number[]) => round(percentile(v, 50), 0);
  const parts = [
    `target missed at ${round(input.ratio, 2)}×.`,
    `Per call (p50): due → attempt (offer + acceptance) ${p50(input.toAttempt)} ms, attempt → dial claimed (queued for one of ${FACESIGN_DIAL_CONCURRENCY * input.workers} dial slots) ${p50(input.queued)} ms, dial → answered ${p50(input.inDial)} ms against the baseline's ${p50(input.baseInCall)} ms for the same LiveKit calls.`,
  ];
  const mean = (v: number[]) => v.reduce((x, y) => x + y, 0) / Math.max(1, v.length);
  const slotsCould = (FACESIGN_DIAL_CONCURRENCY * input.workers * 1000) / Math.max(1, p50(input.inDial));
  if (input.rate < 0.6 * slotsCould && mean(input.queued) > mean(input.inDial)) {
    parts.push(`The dial slots could place ${round(slotsCould, 1)} calls/s at this dial time but placed ${round(input.rate, 2)}/s, and calls waited for a slot longer than they took: each slot is held after the answer, by the work the dial job does once CreateSIPParticipant returns (the answered transition, its audit row and the queueing of the 'recording-start' job, which no longer waits for LiveKit egress; see the server's warnings and the pool waits below).`);
  } else if (input.busyPercent >= 85) parts.push(`The machine was ${input.busyPercent}% busy: CPU is the limit; see cpuMsPerCallByProcess for the process to make cheaper.`);
  else if (p50(input.queued) > p50(input.inDial)) parts.push('Calls waited for a dial slot longer than they took: more session-dial concurrency (or worker nodes) moves it.');
  else if (p50(input.toAttempt) > p50(input.inDial)) parts.push('Offers and acceptances took longer than the calls: the dispatcher path (session-due → offer → accept) moves it.');
  else parts.push('Each dial took longer than the baseline\'s same call: the work around CreateSIPParticipant in the dial worker (claim, room, transitions) moves it.');
  return parts.join(' ');
}
