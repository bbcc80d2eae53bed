// Dispatch: N call sessions fall due at the same instant (dial pacing off: DIAL_RATE_PER_SECOND at its
// maximum, 1000/s) and go through facesign's real path: the delayed `session-due` jobs the scheduling
// service queues -> the dispatcher offers each to a free agent -> the agent's console (a socket.io
// client in another process) gets `offer:new` and accepts over HTTP -> OFFER_ACCEPTED opens an
// attempt and queues `session-dial` -> the dial worker claims the attempt and asks LiveKit (the
// simulator) to place the call. A timing proxy in front of the simulator (in a process of its own,
// like the simulator) notes when each CreateSIPParticipant arrives. Every number is busy (SIP 486
// after 10 ms of simulated ringing), so each agent is free again right away, as they would be after
// a short failed call.
// Baseline: raw BullMQ on the same Redis, N no-op jobs added (addBulk) and processed with the dial
// worker's concurrency.
import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import { startStack } from './support/stack.js';
import { serverErrors } from './support/stack.js';
import { startClients } from './support/clients.js';
import { bulkCallSessions } from './support/sessions.js';
import { startTimingProxy, type TimingProxy } from './support/timing-proxy.js';
import { accountCpu, canAccountCpu, type CpuAccount } from './support/machine-cpu.js';
import type { BenchResult } from './support/report.js';
import { eventLagMet, eventLagReport, eventLagWhereItWent, LAG_TARGET_MS, watchEventLag } from './support/event-lag.js';
import { loadContext, nowMs, percentile, round, sleep } from './support/stats.js';
import { watchPoolWaits } from './support/pool-wait.js';
import { sqlPool } from '../server/db/client.js';

export interface DispatchBenchOptions {
  sessions: number;
  agents: number;
  /** The dial worker's concurrency in facesign (main.ts) and so the baseline worker's. */
  concurrency: number;
  /** Give up waiting after this many seconds. */
  timeoutSeconds?: number;
  /** DATABASE_POOL_SIZE of the facesign process (default 10). */
  poolSize?: number;
}

const BUSY_NUMBER = '+8613805550120';

async function rawBullmq(redisUrl: string, count: number, concurrency: number): Promise<{ perSecond: number; seconds: number }> {
  const url = new URL(redisUrl);
  const connection = { host: url.hostname, port: Number(url.port || 6379) };
  const prefix = `bench-raw-${randomUUID().slice(0, 8)}`;
  const queue = new Queue('noop', { connection, prefix });
  let done = 0;
  let finished!: () => void;
  const allDone = new Promise<void>((resolve) => (finished = resolve));
  const worker = new Worker('noop', async () => undefined, { connection: { ...connection, maxRetriesPerRequest: null }, prefix, concurrency });
  worker.on('completed', () => {
    done += 1;
    if (done === count) finished();
  });
  await worker.waitUntilReady();
  const started = nowMs();
  for (let i = 0; i < count; i += 1000) {
    await queue.addBulk(Array.from({ length: Math.min(1000, count - i) }, (_, j) => ({ name: 'noop', data: { n: i + j }, opts: { jobId: `noop-${i + j}`, removeOnComplete: true } })));
  }
  await allDone;
  const seconds = (nowMs() - started) / 1000;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return { perSecond: count / seconds, seconds };
}

export async function dispatchBench(options: DispatchBenchOptions): Promise<BenchResult> {
  const before = loadContext();
  let proxy: TimingProxy | undefined;
  const stack = await startStack({
    // The offer timeout stays at its default (20 s): an offer whose acceptance failed goes round again.
    env: { DIAL_RATE_PER_SECOND: '1000', ...(options.poolSize ? { DATABASE_POOL_SIZE: String(options.poolSize) } : {}) },
    livekitFront: async (simUrl) => (proxy = await startTimingProxy(simUrl)),
  });
  const clients = startClients();
  try {
    console.log(`  baseline: raw BullMQ, ${options.sessions} no-op jobs, concurrency ${options.concurrency}`);
    const raw = await rawBullmq(stack.facesign.config.redis.url, options.sessions, options.concurrency);

    const agents = await stack.users(options.agents, { roles: ['AGENT'], languages: ['zh-CN'], skills: ['bench-dispatch'] });
    const connected = await clients.connect({ url: stack.url, namespace: '/agent', count: agents.length, cookies: agents.map((a) => a.cookie), agents, event: 'session:changed' });
    if (connected !== agents.length) throw new Error(`only ${connected} of ${agents.length} agents connected`);
    console.log(`  facesign: ${options.agents} agents available; creating ${options.sessions} call sessions`);
    const { sessionIds } = await bulkCallSessions(stack.facesign.db, { count: options.sessions, state: 'SCHEDULED', notBefore: new Date(Date.now() + 3_600_000), phoneE164: BUSY_NUMBER, product: 'bench-dispatch' });
    // Every session falls due at dueAt; the due jobs are queued as the scheduling service queues them.
    const dueAt = Math.ceil(Date.now() / 1000) * 1000 + 3000;
    await stack.facesign.db.verificationSession.updateMany({ where: { id: { in: sessionIds } }, data: { notBefore: new Date(dueAt) } });
    const dueQueue = stack.facesign.queues.queue('session-due');
    for (let i = 0; i < sessionIds.length; i += 1000) {
      await dueQueue.addBulk(
        sessionIds.slice(i, i + 1000).map((sessionId) => ({
          name: 'session-due',
          data: { sessionId },
          opts: { jobId: `due-${sessionId}-0`, delay: Math.max(0, dueAt - Date.now()), attempts: 5, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: { age: 86_400, count: 10_000 } },
        })),
      );
    }
    // The whole machine is accounted for too: the path per call includes the agents' consoles, the
    // simulator and PostgreSQL, which a no-op job does not.
    const harness = [{ name: 'agents', pids: [clients.pid] }, { name: 'timing proxy', pids: [proxy!.pid] }];
    const machine = canAccountCpu() ? accountCpu([...(await stack.cpuParts()), ...harness]) : undefined;
    const cpuBefore = process.cpuUsage();
    const lagWatch = watchEventLag(stack.facesign);
    // Whether the event lanes (4 batches × 8 rooms) and the dials queue for DATABASE_POOL_SIZE connections.
    const pool = watchPoolWaits(sqlPool(stack.facesign.db));
    console.log(`  facesign: ${options.sessions} sessions due at ${new Date(dueAt).toISOString()}; waiting for their dials`);
    const deadline = dueAt + (options.timeoutSeconds ?? 1800) * 1000;
    let lastLog = 0;
    for (;;) {
      // Polled twice a second (a count only): each dial's time is the proxy's note of its arrival.
      const dialled = await proxy!.roomsDialled();
      if (dialled >= options.sessions || nowMs() > deadline) break;
      if (nowMs() - lastLog > 10_000) {
        lastLog = nowMs();
        console.log(`    ${dialled} dialled after ${round((nowMs() - dueAt) / 1000, 1)} s`);
      }
      await sleep(500);
    }
    const cpu = process.cpuUsage(cpuBefore);
    const account = machine?.stop();
    const poolWaits = pool.report();
    const arrivals = await proxy!.dials();
    const rooms = new Set(arrivals.map((d) => d.room));
    const dials = arrivals.filter((d) => d.at >= dueAt);
    const lateness = dials.map((d) => d.at - dueAt);
    const lastDial = Math.max(...dials.map((d) => d.at));
    const seconds = (lastDial - dueAt) / 1000;
    const perSecond = dials.length / seconds;
    const attempts = await stack.facesign.db.attempt.count();
    const dialledSessions = await stack.facesign.db.attempt.groupBy({ by: ['sessionId'], where: { dialClaimedAt: { not: null } } });
    const { accepted } = await clients.report();
    const complete = rooms.size >= options.sessions;
    console.log(`  facesign: last dial ${round(seconds, 1)} s after due; waiting for the LiveKit events to be applied`);
    const lag = await eventLagReport(stack.facesign, lagWatch.samples, lastDial, 300_000);
    lagWatch.stop();
    const lagMet = eventLagMet(lag);
    const cpuReport = account ? machineCpuReport(account, dials.length, raw.perSecond) : undefined;
    return {
      name: 'dispatch',
      setup: `${options.sessions} call sessions due at once, ${options.agents} agents accepting every offer over HTTP at once, dial pacing 1000/s (off), session-dial concurrency ${options.concurrency}${options.poolSize ? `, pool ${options.poolSize}` : ''}; every call busy after 10 ms`,
      facesign: {
        sessionsPerSecond: round(perSecond, 1),
        latenessP50Ms: round(percentile(lateness, 50), 0),
        latenessP99Ms: round(percentile(lateness, 99), 0),
        seconds: round(seconds, 1),
        dialled: rooms.size,
        dialRequests: dials.length,
        duplicateDials: dials.length - rooms.size,
        attempts,
        sessionsDialled: dialledSessions.length,
        offersAccepted: accepted?.ok ?? 0,
        offersRefused: JSON.stringify(accepted?.refused ?? {}),
        serverCpuMsPerSession: round((cpu.user + cpu.system) / 1000 / Math.max(1, dials.length), 2),
        ...cpuReport?.facesign,
        poolWaitsToLastDial: JSON.stringify(poolWaits),
        ...lag,
      },
      baseline: { what: `raw BullMQ on the same Redis: ${options.sessions} no-op jobs, addBulk + Worker concurrency ${options.concurrency}`, jobsPerSecond: round(raw.perSecond, 0), seconds: round(raw.seconds, 2), ...cpuReport?.baseline },
      ratio: { value: round(perSecond / raw.perSecond, 4), of: 'facesign sessions dialled/s ÷ raw BullMQ no-op jobs/s' },
      target: { text: '≥ 0.5× raw BullMQ', met: complete && perSecond / raw.perSecond >= 0.5 },
      more: [
        {
          figure: `LiveKit event lag p50/p99 to queued ${lag.eventLagQueuedP50Ms}/${lag.eventLagQueuedP99Ms} ms, to taken by a worker ${lag.eventLagTakenP50Ms}/${lag.eventLagTakenP99Ms} ms, to applied ${lag.eventLagAppliedP50Ms}/${lag.eventLagAppliedP99Ms} ms, to socket delivery ${lag.eventLagDeliveredP50Ms}/${lag.eventLagDeliveredP99Ms} ms; backlog at the last dial ${lag.eventBacklogAtLastDial} of ${lag.eventsStoredAtLastDial} stored (${lag.eventsUnappliedAtLastDial} in flight); all applied ${lag.eventDrainSeconds} s after it`,
          target: { text: `event lag p99 < ${LAG_TARGET_MS} ms, no backlog (nothing waiting > ${LAG_TARGET_MS} ms) at the last dial`, met: lagMet },
        },
      ],
      load: { before, after: loadContext() },
      notes: [...(complete ? [] : [`TIMED OUT: only ${rooms.size} of ${options.sessions} sessions were dialled`]), ...(lagMet ? [] : [`event lag target missed: ${eventLagWhereItWent(lag)}`]), ...(cpuReport?.notes ?? []), ...serverErrors(stack.errors)],
    };
  } finally {
    clients.close();
    await stack.stop();
  }
}

const HARNESS = ['agents', 'simulator', 'timing proxy'];

/**
 * Machine CPU per dialled call, by process, against what the target leaves: at half the raw BullMQ
 * rate the machine's cores allow `cores × 1000 / (0.5 × jobs/s)` ms of CPU per call for everything.
 * The bench's own stand-ins (the agents' consoles, the simulator, the timing proxy) are part of every
 * call; when they alone use more than that, no change to facesign can reach the target here.
 */
function machineCpuReport(account: CpuAccount, calls: number, rawPerSecond: number) {
  const perCall = (ms: number) => round(ms / Math.max(1, calls), 1);
  const accounted = Object.values(account.byPart).reduce((a, b) => a + b, 0);
  const byProcess = { ...Object.fromEntries(Object.entries(account.byPart).map(([k, v]) => [k, perCall(v)])), other: perCall(Math.max(0, account.machineMs - accounted)) };
  const budget = (account.cores * 1000) / (0.5 * rawPerSecond);
  const harness = HARNESS.reduce((sum, name) => sum + (account.byPart[name] ?? 0), 0) / Math.max(1, calls);
  const notes = harness > budget
    ? [`out of reach on this machine: at 0.5× raw BullMQ (${round(0.5 * rawPerSecond, 0)} calls/s) its ${account.cores} cores leave ${round(budget, 2)} ms of CPU per call for everything, and the bench's own agents, simulator and timing proxy used ${round(harness, 1)} ms per call`]
    : [];
  return {
    facesign: {
      machineCpuMsPerSession: perCall(account.machineMs),
      cpuMsPerSessionByProcess: JSON.stringify(byProcess),
      machineBusyPercent: round((account.machineMs / (account.wallMs * account.cores)) * 100, 0),
    },
    baseline: { machineCpuMsPerCallAtTarget: round(budget, 2) },
    notes,
  };
}
