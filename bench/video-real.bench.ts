// Video face-signing sessions on the real livekit-server (dev/real-livekit): N sessions set up, held
// up at once with media flowing both ways, and completed, with each process's CPU read apart.
//
// The participants are @livekit/rtc-node clients in a process of their own (bench/support/
// rtc-participants.ts), each publishing one synthetic camera track (I420 at the given size and rate, no
// simulcast) and one microphone track (a tone), and subscribing to the other side's. No Chromium.
//
// Baseline (first, same run, same servers): N pairs of those participants in N rooms created with
// RoomServiceClient, with tokens from AccessToken, no facesign (LiveKit's webhooks for them are dropped
// by the relay), held up for the same time: what livekit-server costs to forward the same media.
// facesign: N video sessions created through the LOS API with N agents available (socket.io, accepting
// every offer at once); each borrower goes through the join page's API (link from the invitation text,
// one-time code, consent, ready) and joins with the token `ready` returns; the agent joins with the
// token the acceptance returns. Set-up ends when every session is IN_PROGRESS, media flows both ways
// and every LiveKit event is applied. Then all N are held up for `holdSeconds`. Wrap-up: each party
// confirms signing with a fresh code, the agent answers every required item and submits (the session
// completes, facesign closes the room); it ends when LiveKit has said room_finished for every room,
// every attempt has ended and every event is applied.
//
//   npm run bench -- --only video-real --video-sessions 8 --video-hold 30
import { createHash } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';
import { AccessToken, RoomServiceClient } from 'livekit-server-sdk';
import type { RealLiveKit } from '../dev/real-livekit/stack.js';
import type { EventLagSample } from '../server/metrics/event-lag.js';
import { startRealBenchStack } from './support/real-stack.js';
import { startRtcClients, type MediaSettings, type ReceivedMedia } from './support/rtc-clients.js';
import { accountCpu, canAccountCpu, postgresPart, redisPart, type CpuAccount, type CpuPart } from './support/machine-cpu.js';
import { eventLagMet, eventLagReport, LAG_TARGET_MS } from './support/event-lag.js';
import { serverErrors } from './support/stack.js';
import type { BenchResult } from './support/report.js';
import { loadContext, nowMs, percentile, round, sleep } from './support/stats.js';
import { LOAN_TERMS } from '../test/support/fixtures.js';

export interface RealVideoBenchOptions {
  sessions: number;
  holdSeconds: number;
  media: MediaSettings;
  timeoutSeconds: number;
}

const PRODUCT = 'bench-video-real';
const CONTRACT_HASH = createHash('sha256').update('loan contract, video-real bench').digest('hex');
/** livekit-server's cost per session in facesign's rooms may be at most this many times the bare rooms'. */
const MEDIA_COST_TARGET = 1.25;

const FACESIGN_API = 'facesign api (+ bench harness)';
const FACESIGN_WORKER = 'facesign worker';
const LIVEKIT_SERVER = 'livekit-server';
const CLIENTS = 'rtc participants + agents + SMS stand-in (bench harness)';

function livekitParts(real: RealLiveKit): CpuPart[] {
  const pids = real.pids();
  const part = (name: string, key: string): CpuPart[] => (pids[key] ? [{ name, pids: [pids[key]] }] : []);
  return [...part(LIVEKIT_SERVER, 'livekit-server'), ...part('livekit redis', 'redis-server'), ...part('livekit-sip (idle)', 'livekit-sip'), ...part('sipp (idle)', 'sipp')];
}

const stage = (values: number[]) => `${round(percentile(values, 50), 0)}/${round(percentile(values, 99), 0)}`;
const busy = (account: CpuAccount) => round((account.machineMs / (account.wallMs * account.cores)) * 100, 0);
const byProcess = (account: CpuAccount, per: number) => {
  const accounted = Object.values(account.byPart).reduce((a, b) => a + b, 0);
  return JSON.stringify({
    ...Object.fromEntries(Object.entries(account.byPart).map(([k, v]) => [k, round(v / Math.max(1, per), 1)])),
    'other (rest of the machine)': round(Math.max(0, account.machineMs - accounted) / Math.max(1, per), 1),
  });
};
/** What one participant received per second over a window: video kbit/s and decoded frames/s, audio kbit/s. */
function mediaRates(before: ReceivedMedia, after: ReceivedMedia, participants: number, seconds: number) {
  const per = Math.max(1, participants) * seconds;
  return {
    videoKbpsPerParticipant: round(((after.videoBytes - before.videoBytes) * 8) / 1000 / per, 0),
    videoFpsPerParticipant: round((after.videoFramesDecoded - before.videoFramesDecoded) / per, 1),
    audioKbpsPerParticipant: round(((after.audioBytes - before.audioBytes) * 8) / 1000 / per, 0),
  };
}

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = nowMs() + timeoutMs;
  while (!(await check())) {
    if (nowMs() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(250);
  }
}

export async function realVideoBench(options: RealVideoBenchOptions): Promise<BenchResult> {
  if (!canAccountCpu()) throw new Error('video-real reads CPU per process from /proc: Linux only');
  const before = loadContext();
  const n = options.sessions;
  const rtc = await startRtcClients();
  const cleanups: (() => Promise<unknown>)[] = [() => rtc.close()];
  try {
    const stack = await startRealBenchStack({
      answerAfterSeconds: 1,
      holdSeconds: 1,
      workers: 1,
      egress: 'answer',
      env: { NOTIFIER: 'http', NOTIFIER_URL: rtc.smsUrl },
    });
    cleanups.push(() => stack.stop());
    const { real, api } = stack;
    const observer = new Redis(stack.redis.url);
    cleanups.push(async () => observer.disconnect());
    const [{ pid: backendPid }] = await api.db.$queryRaw<[{ pid: number }]>`SELECT pg_backend_pid() AS pid`;
    const postmaster = postgresPart(backendPid)?.pids[0];
    const parts: CpuPart[] = [
      { name: FACESIGN_API, pids: [process.pid] },
      { name: FACESIGN_WORKER, pids: [stack.workers[0]!.pid] },
      { name: CLIENTS, pids: [rtc.pid] },
      ...(stack.egressAnswerer ? [{ name: 'egress answerer (bench harness)', pids: [stack.egressAnswerer.pid] }] : []),
      // Only this database's backends: other work on the machine may share the PostgreSQL server.
      ...(postmaster ? [{ name: 'postgres (facesign database)', pids: [postmaster], childrenMatching: ` ${stack.databaseName} ` }] : []),
      ...[redisPart(await observer.info('server'))].flatMap((p) => (p ? [{ ...p, name: 'facesign redis' }] : [])),
      ...livekitParts(real),
    ];
    const facesignMs = (account: CpuAccount) => (account.byPart[FACESIGN_API] ?? 0) + (account.byPart[FACESIGN_WORKER] ?? 0);
    console.log(`  real servers: ${JSON.stringify(real.versions)}; media ${options.media.width}x${options.media.height} at ${options.media.fps} fps, ≤ ${options.media.maxBitrate / 1000} kbit/s, no simulcast`);

    // ---- baseline: the same media in bare rooms ----
    console.log(`  baseline: ${n} rooms from RoomServiceClient, 2 participants each with AccessToken tokens, held ${options.holdSeconds} s`);
    const roomService = new RoomServiceClient(real.url, real.apiKey, real.apiSecret);
    const prefix = `bench-video-baseline-${Date.now().toString(36)}`;
    const token = async (room: string, identity: string) => {
      const at = new AccessToken(real.apiKey, real.apiSecret, { identity, ttl: 900 });
      at.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true });
      return at.toJwt();
    };
    const baseSetupCpu = accountCpu(parts);
    const baseStarted = nowMs();
    const baseRooms = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
    for (const room of baseRooms) await roomService.createRoom({ name: room, emptyTimeout: 300, maxParticipants: 3 });
    const basePairs = await Promise.all(baseRooms.map(async (room) => ({ a: await token(room, 'agent'), b: await token(room, 'party') })));
    const baseUp = await rtc.pairs({ wsUrl: real.wsUrl, pairs: basePairs, media: options.media });
    const baseSetup = baseSetupCpu.stop();
    if (baseUp.failures.length > 0) throw new Error(`baseline: ${baseUp.failures.length} pair(s) did not get media flowing; first: ${baseUp.failures[0]}`);
    const baseHold = await holdWindow(rtc, parts, options.holdSeconds);
    await rtc.leave();
    // LiveKit may have closed a room already, its last participant gone: then there is nothing to delete.
    for (const room of baseRooms) await roomService.deleteRoom(room).catch((error: Error) => console.log(`  baseline: ${room} already closed (${error.message})`));
    const baseLatency = baseUp.pairs.map((p) => p.flowing - p.started);
    const baseLk = (baseHold.account.byPart[LIVEKIT_SERVER] ?? 0) / baseHold.seconds / n;
    console.log(`  baseline: ${baseUp.pairs.length} pairs flowing in ${round((Math.max(...baseUp.pairs.map((p) => p.flowing)) - baseStarted) / 1000, 1)} s; livekit-server ${round(baseLk, 2)} ms CPU per second per session during the hold`);
    await sleep(3000);

    // ---- facesign ----
    real.webhooks.setTarget(`${stack.url}/livekit/webhook`);
    const [admin] = await stack.users(1, { roles: ['ADMIN'] });
    const keyRes = await fetch(`${stack.url}/api/api-keys`, {
      method: 'POST',
      headers: { cookie: admin!.cookie, 'x-csrf-token': admin!.csrfToken, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'LOS (bench)', scopes: ['loan-files:read', 'loan-files:write', 'sessions:read', 'sessions:write'] }),
    });
    if (keyRes.status !== 201) throw new Error(`creating the LOS API key: ${keyRes.status} ${await keyRes.text()}`);
    const losKey = ((await keyRes.json()) as { key: string }).key;
    // One agent more than sessions: the warm-up's agent may still be wrapping up when the measured sessions arrive.
    const agents = await stack.users(n + 1, { roles: ['AGENT'], languages: ['zh-CN'], skills: [PRODUCT] });
    const connected = await rtc.connectAgents(stack.url, agents);
    if (connected !== agents.length) throw new Error(`only ${connected} of ${agents.length} agents connected`);

    const reader = new pg.Client({ connectionString: stack.databaseUrl });
    await reader.connect();
    cleanups.push(() => reader.end());
    const count = async (sql: string, values: unknown[] = []) => Number((await reader.query<{ n: string }>(sql, values)).rows[0]!.n);
    const unapplied = () => count('SELECT count(*)::text AS n FROM "LiveKitEvent" WHERE "processedAt" IS NULL');
    const inState = (ids: string[], state: string) => count('SELECT count(*)::text AS n FROM "VerificationSession" WHERE "id" = ANY($1::uuid[]) AND "state" = $2::"SessionState"', [ids, state]);
    const timeoutMs = options.timeoutSeconds * 1000;
    const sessionsInput = { url: stack.url, losKey, product: PRODUCT, contractHash: CONTRACT_HASH, media: options.media, loanTerms: LOAN_TERMS };
    /** Up: every session IN_PROGRESS with media flowing, every event applied. */
    const bringUp = async (count: number) => {
      const up = await rtc.sessions({ ...sessionsInput, count });
      if (up.failures.length > 0) throw new Error(`${up.failures.length} of ${count} sessions did not get media flowing; first: ${up.failures[0]}${up.offerFailures[0] ? `; an offer acceptance failed: ${up.offerFailures[0]}` : ''}`);
      const ids = up.sessions.map((x) => x.sessionId);
      await waitFor('every session IN_PROGRESS and every event applied', timeoutMs, async () => (await inState(ids, 'IN_PROGRESS')) === ids.length && (await unapplied()) === 0);
      return { ...up, ids };
    };
    /** Wrapped up: every session COMPLETED, its attempts ended, LiveKit's room_finished for every room, every event applied. */
    const wrapUpAll = async (ids: string[]) => {
      const wrapped = await rtc.wrapUp(stack.url);
      if (wrapped.failures.length > 0) throw new Error(`${wrapped.failures.length} of ${ids.length} sessions did not complete; first: ${wrapped.failures[0]}`);
      const rooms = (await reader.query<{ room: string }>('SELECT "roomName" AS room FROM "Attempt" WHERE "sessionId" = ANY($1::uuid[])', [ids])).rows.map((r) => r.room);
      const finished = () => new Set(real.webhooks.deliveries.filter((d) => d.event === 'room_finished' && d.room && rooms.includes(d.room)).map((d) => d.room)).size;
      await waitFor('every session COMPLETED, every attempt ended, room_finished for every room and every event applied', timeoutMs, async () =>
        (await inState(ids, 'COMPLETED')) === ids.length &&
        (await count('SELECT count(*)::text AS n FROM "Attempt" WHERE "sessionId" = ANY($1::uuid[]) AND "endedAt" IS NULL', [ids])) === 0 &&
        finished() === rooms.length &&
        (await unapplied()) === 0,
      );
      return wrapped;
    };

    // A warm-up session, not measured: the nodes' first session compiles every code path it takes.
    console.log('  facesign: one warm-up session (not measured)');
    await wrapUpAll((await bringUp(1)).ids);
    await sleep(2000);
    await stack.workers[0]!.mark();
    stack.apiPool.reset();

    console.log(`  facesign: ${n} video sessions through the LOS API, the join page's API and the agents' offers`);
    const setupCpu = accountCpu(parts);
    const setupStarted = nowMs();
    const up = await bringUp(n);
    const allFlowing = Math.max(...up.sessions.map((x) => x.flowing));
    const setup = setupCpu.stop();
    const setupSeconds = (nowMs() - setupStarted) / 1000;
    console.log(`  facesign: ${n} sessions in progress with media flowing ${round((allFlowing - setupStarted) / 1000, 1)} s after the first was requested; holding ${options.holdSeconds} s`);

    const hold = await holdWindow(rtc, parts, options.holdSeconds);
    const lk = (hold.account.byPart[LIVEKIT_SERVER] ?? 0) / hold.seconds / n;

    console.log('  facesign: wrap-up (signing code, checklist answers, submit) and waiting for the rooms to finish');
    const wrapCpu = accountCpu(parts);
    const wrapStarted = nowMs();
    const wrapped = await wrapUpAll(up.ids);
    const wrap = wrapCpu.stop();
    const wrapSeconds = (nowMs() - wrapStarted) / 1000;
    const outcomes = (await reader.query<{ outcome: string | null; n: string }>('SELECT "outcome"::text AS outcome, count(*)::text AS n FROM "VerificationSession" WHERE "id" = ANY($1::uuid[]) GROUP BY 1', [up.ids])).rows;
    // facesign's view once the rooms are gone: nobody should still count as present (isPresent).
    const participantRows = await count(`SELECT count(*)::text AS n FROM "AttemptParticipant" WHERE "joinedAt" IS NOT NULL AND ("leftAt" IS NULL OR "joinedAt" > "leftAt")`);

    const report = await stack.workers[0]!.report();
    const samples: EventLagSample[] = report.lag;
    // Its drain time would count from the last session's media flowing, through the hold: not a figure here.
    const lagReport = await eventLagReport(api, samples, allFlowing, 1000);
    const { eventDrainSeconds: _drain, ...lag } = lagReport;
    const lagMet = eventLagMet(lagReport);

    // Figures.
    const times = up.sessions;
    const setupLatency = times.map((s) => s.flowing - s.created);
    const setupPlusWrap = facesignMs(setup) + facesignMs(wrap);
    const ratio = lk / baseLk;
    const perCore = (msPerSecondPerSession: number) => round(1000 / msPerSecondPerSession, 0);
    const met = ratio <= MEDIA_COST_TARGET;
    const facesignHoldPerS = facesignMs(hold.account) / hold.seconds;
    return {
      name: 'video-real',
      setup: `${n} video sessions on livekit-server, held ${options.holdSeconds} s at once; rtc-node participants publishing ${options.media.width}x${options.media.height}@${options.media.fps} (≤ ${options.media.maxBitrate / 1000} kbit/s, no simulcast) + audio, subscribing to the other side; 1 worker node; egress answered by a stand-in`,
      facesign: {
        sessions: n,
        facesignCpuMsPerSession: round(setupPlusWrap / n, 1),
        facesignSetupCpuMsPerSession: round(facesignMs(setup) / n, 1),
        facesignWrapUpCpuMsPerSession: round(facesignMs(wrap) / n, 1),
        facesignHoldCpuMsPerSecond: round(facesignHoldPerS, 1),
        facesignHoldSecondHalfCpuMsPerSecond: round(facesignMs(hold.secondHalf) / hold.secondHalfSeconds, 1),
        livekitServerHoldCpuMsPerSecondPerSession: round(lk, 2),
        livekitServerSessionsPerCore: perCore(lk),
        livekitServerSetupCpuMsPerSession: round((setup.byPart[LIVEKIT_SERVER] ?? 0) / n, 1),
        setupLatencyP50P99Ms: stage(setupLatency),
        createdToBorrowerTokenP50P99Ms: stage(times.map((s) => s.borrowerToken - s.created)),
        createdToAgentTokenP50P99Ms: stage(times.map((s) => s.agentToken - s.created)),
        joinedToFlowingP50P99Ms: stage(times.map((s) => s.flowing - s.joined)),
        submitToDisconnectedP50P99Ms: stage(wrapped.sessions.map((s) => (s.disconnected ?? Number.NaN) - (s.submitted ?? Number.NaN))),
        setupSeconds: round(setupSeconds, 1),
        wrapUpSeconds: round(wrapSeconds, 1),
        ...mediaRates(hold.receivedBefore, hold.receivedAfter, 2 * n, hold.seconds),
        holdMachineBusyPercent: busy(hold.account),
        setupMachineBusyPercent: busy(setup),
        cpuMsPerSessionSetup: byProcess(setup, n),
        cpuMsPerSessionWrapUp: byProcess(wrap, n),
        cpuMsPerSecondHold: byProcess(hold.account, hold.seconds),
        outcomes: JSON.stringify(Object.fromEntries(outcomes.map((o) => [o.outcome ?? 'none', Number(o.n)]))),
        participantsStillPresent: participantRows,
        ...lag,
      },
      baseline: {
        what: `${n} rooms created with RoomServiceClient, 2 rtc-node participants each with AccessToken tokens, the same media, held ${options.holdSeconds} s, no facesign`,
        livekitServerHoldCpuMsPerSecondPerSession: round(baseLk, 2),
        livekitServerSessionsPerCore: perCore(baseLk),
        livekitServerSetupCpuMsPerSession: round((baseSetup.byPart[LIVEKIT_SERVER] ?? 0) / n, 1),
        setupLatencyP50P99Ms: stage(baseLatency),
        ...mediaRates(baseHold.receivedBefore, baseHold.receivedAfter, 2 * n, baseHold.seconds),
        holdMachineBusyPercent: busy(baseHold.account),
        facesignIdleNodesCpuMsPerSecond: round(facesignMs(baseHold.account) / baseHold.seconds, 1),
        cpuMsPerSecondHold: byProcess(baseHold.account, baseHold.seconds),
      },
      ratio: { value: round(ratio, 3), of: "livekit-server CPU per concurrent session per second during the hold: facesign's sessions ÷ bare rooms with the same media" },
      target: { text: `≤ ${MEDIA_COST_TARGET}× the bare rooms' media cost, every session completed`, met },
      more: [
        {
          figure: `facesign's own CPU (api + worker node) per video session, set-up and wrap-up: ${round(facesignMs(setup) / n, 1)} + ${round(facesignMs(wrap) / n, 1)} ms (no same-run baseline: bare rooms have no sessions, links, codes, checklists or events to apply); during the hold ${round(facesignHoldPerS, 1)} ms/s for all ${n} (second half ${round(facesignMs(hold.secondHalf) / hold.secondHalfSeconds, 1)} ms/s; the idle nodes during the baseline's hold ${round(facesignMs(baseHold.account) / baseHold.seconds, 1)} ms/s)`,
          target: { text: 'reported, no target', met: true },
        },
        {
          figure: `LiveKit event lag p50/p99 to applied ${lag.eventLagAppliedP50Ms}/${lag.eventLagAppliedP99Ms} ms, to socket delivery ${lag.eventLagDeliveredP50Ms}/${lag.eventLagDeliveredP99Ms} ms; backlog when the last session's media flowed ${lag.eventBacklogAtLastDial} of ${lag.eventsStoredAtLastDial} stored`,
          target: { text: `event lag p99 < ${LAG_TARGET_MS} ms, no backlog`, met: lagMet },
        },
      ],
      load: { before, after: loadContext() },
      notes: [
        `set-up latency: from the LOS API's 201 for the session to media flowing both ways (a video frame decoded and audio received on each side), with the borrower and agent acting at once; the baseline's from its two participants starting to connect (its room already created) to the same point`,
        ...serverErrors([...stack.errors, ...report.errors]),
      ],
    };
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: Error) => console.error(`  cleanup: ${error.message}`));
  }
}

/** The hold: every participant stays, the media flows; CPU by process and media received over the window. */
async function holdWindow(rtc: Awaited<ReturnType<typeof startRtcClients>>, parts: CpuPart[], holdSeconds: number) {
  const receivedBefore = await rtc.received();
  const cpu = accountCpu(parts);
  const started = nowMs();
  await sleep((holdSeconds * 1000) / 2);
  // The second half apart: what is left once the set-up's tail (audit sealing, queued jobs, GC) is over.
  const secondHalfCpu = accountCpu(parts);
  const half = nowMs();
  await sleep((holdSeconds * 1000) / 2);
  const account = cpu.stop();
  const secondHalf = secondHalfCpu.stop();
  const seconds = (nowMs() - started) / 1000;
  const secondHalfSeconds = (nowMs() - half) / 1000;
  const receivedAfter = await rtc.received();
  return { account, seconds, secondHalf, secondHalfSeconds, receivedBefore, receivedAfter };
}
