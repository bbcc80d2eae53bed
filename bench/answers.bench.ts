// Checklist answers: write latency of PUT /api/sessions/:id/answers/:itemId (session cookie + CSRF,
// the assigned agent, a session in conversation; the answer and its audit event in one transaction)
// with 200 agents working at once. Two loads, each also run against the baseline — an express route
// that upserts one row with pg on a pool of the same size in the same database:
//  - paced (the target): every agent answers about once a second (0.5-1.5 s after the previous
//    acknowledgement), several times faster than anyone reads a checklist item aloud and hears the
//    party confirm it — 200 answers/s offered; three rounds alternating with the baseline, judged on
//    the median round, with the CPU per answer of each process (server, PostgreSQL, Redis, load
//    generator) and of the whole machine for each;
//  - saturated (capacity): every agent sends the next answer the moment the last is acknowledged.
// facesign runs as it ships (the default): the server compiled with tsc, on plain Node in a process
// of its own (`runtime: 'in-process'` runs the sources in this process under tsx instead). The
// baseline route runs in this process. Targets, same runs: the CPU per answer of the stack's
// processes (the server's, PostgreSQL, Redis and the load generator) <= 1.3x the baseline's, and
// the median round's paced p99 <= 1.5x the baseline's. `profileDir` writes a CPU profile of the
// compiled server there (`--cpu-prof`) and prints its top functions by self time; without it, a missed
// target gets one more paced run on a profiled node of its own after the measured ones, so the bench
// always says what would move it from a profile.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import pg from 'pg';
import { serverErrors, startStack } from './support/stack.js';
import { freePort } from '../test/reliability/support/infra.js';
import { ownerDatabaseUrl } from '../test/support/databases.js';
import { compiledBuild, startCompiledNode, threadScheduleOf, type CompiledNode } from './support/compiled-node.js';
import { attributeCpuProfiles, summariseCpuProfiles, type ProfileBucket } from './support/cpu-profile.js';
import { bulkCallSessions } from './support/sessions.js';
import { runJsonChild } from './support/child.js';
import type { ClosedLoopReport } from './support/closed-loop.js';
import type { BenchResult } from './support/report.js';
import { loadContext, percentile, round, watchLoop, type LoopReport } from './support/stats.js';
import { accountCpu, canAccountCpu, threadSchedule, type CpuAccount, type CpuPart } from './support/machine-cpu.js';

export interface AnswersBenchOptions {
  agents: number;
  answersPerAgent: number;
  /** Mean pause between one agent's answers in the paced run. */
  thinkMs?: number;
  /** Paced runs of each (baseline, then facesign, alternating); the median is judged. Default 3. */
  rounds?: number;
  /** 'compiled' (the default): the tsc build on plain Node in a child process; 'in-process': the sources in this process. */
  runtime?: 'compiled' | 'in-process';
  /** Write a CPU profile of the compiled server into this folder and summarise it. */
  profileDir?: string;
}

export const ANSWERS_CPU_TARGET = 1.3;
export const ANSWERS_P99_TARGET = 1.5;

/** Where the server's time goes on an answer, for the profile's account of a missed target (inclusive shares: they overlap). */
const ANSWER_COST_BUCKETS: readonly ProfileBucket[] = [
  { name: 'socket writes (the kernel\'s loopback send, any socket)', frame: /^(writev|writeBuffer|writeString|writeUtf8String|writeLatin1String) $/ },
  { name: 'PostgreSQL client (statements sent, rows read)', frame: /^\S* node_modules\/(pg|pg-pool|pg-protocol)\// },
  { name: 'HTTP responses', frame: /^send node_modules\/express\/lib\/response\.js|^end node:_http_outgoing/ },
  { name: 'socket events through Redis (the socket.io adapter: publishing, and receiving its own message back)', frame: /node_modules\/@socket\.io\/redis-adapter\/|^toSessionWatchers / },
  { name: 'logging', frame: /node_modules\/(pino|sonic-boom)\/|server\/logging\.js/ },
  { name: 'login sessions', frame: /server\/auth\// },
  { name: 'validation (zod)', frame: /node_modules\/zod\// },
  { name: 'audit sealer and tree heads (background)', frame: /server\/audit\/(audit-sealer|checkpoint)/ },
  { name: 'start-up (loading modules)', frame: /^(compileSourceTextModule|wrapSafe|loadCJSModuleWithModuleLoad) / },
];

/** The bench process's part of the machine: the baseline route, and facesign too when it runs in-process. */
const BENCH_PART = 'bench';

const median = (values: number[]) => percentile(values, 50);

/** As the schema's owner: the route, like facesign, connects as the application role, which may not create tables. */
async function asOwner(databaseUrl: string, sql: string): Promise<void> {
  const owner = new pg.Client({ connectionString: ownerDatabaseUrl(new URL(databaseUrl).pathname.slice(1)) });
  await owner.connect();
  try {
    await owner.query(sql);
  } finally {
    await owner.end();
  }
}

async function upsertRoute(databaseUrl: string, poolSize: number): Promise<{ url: string; stop(): Promise<void> }> {
  const appRole = pg.escapeIdentifier(decodeURIComponent(new URL(databaseUrl).username));
  await asOwner(
    databaseUrl,
    `CREATE TABLE IF NOT EXISTS bench_answer (session_id uuid, item_id text, value text, revision int NOT NULL DEFAULT 1, PRIMARY KEY (session_id, item_id)); GRANT SELECT, INSERT, UPDATE ON bench_answer TO ${appRole}`,
  );
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize });
  const app = express();
  app.put('/answers/:session/:item', express.json(), async (req, res) => {
    await pool.query(
      'INSERT INTO bench_answer (session_id, item_id, value) VALUES ($1, $2, $3) ON CONFLICT (session_id, item_id) DO UPDATE SET value = EXCLUDED.value, revision = bench_answer.revision + 1',
      [req.params.session, req.params.item, (req.body as { value: string }).value],
    );
    res.json({ ok: true });
  });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.end();
      await asOwner(databaseUrl, 'DROP TABLE IF EXISTS bench_answer');
    },
  };
}

interface PacedRound {
  baseline: ClosedLoopReport;
  facesign: ClosedLoopReport;
  /** The event loop of this process while facesign ran in it (in-process only). */
  loop?: LoopReport;
  baselineLoop: LoopReport;
  /** Each side's server main thread: time on a core and time runnable but waiting for one. */
  schedule?: { ranMs: number; waitedMs: number };
  baselineSchedule?: { ranMs: number; waitedMs: number };
  machine?: CpuAccount;
  /** PostgreSQL transactions on the database per answer (pg_stat_database, flushed about once a second: approximate). */
  transactionsPerAnswer: number;
  baselineTransactionsPerAnswer: number;
  baselineMachine?: CpuAccount;
}

/** CPU per answer of one side in one round: its server process, PostgreSQL, Redis, the load generator, all of these, and the whole machine. */
function cpuPerAnswer(account: CpuAccount | undefined, run: ClosedLoopReport, serverPart: string) {
  if (!account) return undefined;
  const n = Math.max(1, run.requests);
  const parts = Object.values(account.byPart).reduce((a, b) => a + b, 0) / n;
  return {
    server: (account.byPart[serverPart] ?? 0) / n,
    postgres: (account.byPart.postgres ?? 0) / n,
    redis: (account.byPart.redis ?? 0) / n,
    loadGenerator: run.cpuMsPerRequest,
    stack: parts + run.cpuMsPerRequest,
    machine: account.machineMs / n,
  };
}

/**
 * The profile's account of a missed target: where facesign's server spends its time on an answer,
 * what it does that the baseline does not, and what would change that.
 */
function whatWouldMoveIt(shares: { name: string; percent: number }[], rounds: PacedRound[]): string {
  const pct = (name: string) => shares.find((s) => s.name.startsWith(name))?.percent ?? 0;
  const tx = median(rounds.map((r) => r.transactionsPerAnswer));
  const rawTx = median(rounds.map((r) => r.baselineTransactionsPerAnswer));
  return [
    `round trips are the cost: ${pct('socket writes')} % of the server's busy time is the kernel sending on loopback sockets (PostgreSQL client ${pct('PostgreSQL')} %, HTTP responses ${pct('HTTP')} %, as the baseline's one query and one response)`,
    `PostgreSQL runs ${round(tx, 2)} transactions per answer against the baseline's ${round(rawTx, 2)}: the answer, its row lock on the session and its audit event are one statement; the rest are login-session refreshes (LOGIN_SESSION_CACHE_SECONDS) and lastSeenAt touches, and the audit sealer's batches (background ${pct('audit sealer')} % of the server). Each answer writes more rows than the upsert: the answer, a lock on the session row, an AuditEvent row under every index of that table, and the sealer's update of it, which changes indexed columns (hash, chainSeq) and so writes every index again: fewer AuditEvent indexes, or the chain links kept apart from the event row, would move PostgreSQL's share`,
    `the checklist:changed socket event is one Redis PUBLISH per answer, which every node, this one too, receives and decodes (${pct('socket events')} %): a sharded adapter subscribed per room (Redis 7 SPUBLISH, subscriptionMode 'dynamic') would spare the nodes where nobody watches`,
    `logging ${pct('logging')} %, validation ${pct('validation')} %, login sessions ${pct('login sessions')} %; start-up ${pct('start-up')} % of the profile is not per answer`,
  ].join('; ');
}

export async function answersBench(options: AnswersBenchOptions): Promise<BenchResult> {
  const before = loadContext();
  const runtime = options.runtime ?? 'compiled';
  const dir = await mkdtemp(join(tmpdir(), 'facesign-bench-answers-'));
  if (runtime === 'compiled') console.log('  compiling the server (tsc, as npm run build does) into bench/results/');
  const build = runtime === 'compiled' ? await compiledBuild() : undefined;
  const stack = await startStack().catch(async (error: unknown) => {
    await build?.remove();
    throw error;
  });
  // Counted at the end with a client of its own: the in-process node is stopped when the compiled one serves.
  const counts = new pg.Pool({ connectionString: stack.facesign.config.database.url, max: 1 });
  let baselineRoute: Awaited<ReturnType<typeof upsertRoute>> | undefined;
  let compiled: CompiledNode | undefined;
  try {
    const baseline = (baselineRoute = await upsertRoute(stack.facesign.config.database.url, stack.facesign.config.database.poolSize));
    const agents = await stack.users(options.agents, { roles: ['AGENT'], languages: ['zh-CN'], skills: ['bench-loan'] });
    const { sessionIds, itemIds } = await bulkCallSessions(stack.facesign.db, {
      count: options.agents, state: 'IN_PROGRESS', notBefore: new Date(), phoneE164: '+8613805550100', product: 'bench-loan', agentIds: agents.map((a) => a.id), withAttempt: true,
    });
    const values = ['CONFIRMED', 'DENIED', 'UNCLEAR', 'CONFIRMED'];
    const facesignLines: string[] = [];
    const baselineLines: string[] = [];
    agents.forEach((agent, group) => {
      const sessionId = sessionIds[group]!;
      itemIds.forEach((itemId, i) => {
        const body = JSON.stringify({ value: values[i % values.length], note: i % 3 === 0 ? 'the party confirmed in their own words' : undefined });
        facesignLines.push(JSON.stringify({ group, method: 'PUT', path: `/api/sessions/${sessionId}/answers/${itemId}`, body, headers: { 'content-type': 'application/json', cookie: agent.cookie, 'x-csrf-token': agent.csrfToken } }));
        baselineLines.push(JSON.stringify({ group, method: 'PUT', path: `/answers/${sessionId}/${itemId}`, body, headers: { 'content-type': 'application/json' } }));
      });
    });
    await writeFile(join(dir, 'facesign.jsonl'), `${facesignLines.join('\n')}\n`);
    await writeFile(join(dir, 'baseline.jsonl'), `${baselineLines.join('\n')}\n`);

    const stackParts = canAccountCpu() ? await stack.cpuParts() : undefined;
    let facesignUrl = stack.url;
    // PostgreSQL as the backends of this benchmark's database: the server may serve other work on a
    // shared machine, which the whole postmaster's CPU would count.
    const databaseName = new URL(stack.facesign.config.database.url).pathname.slice(1);
    let parts: CpuPart[] | undefined = stackParts?.map((part) =>
      part.name === 'facesign' ? { ...part, name: BENCH_PART } : part.name === 'postgres' ? { name: 'postgres', pids: part.pids, childrenMatching: ` ${databaseName} ` } : part,
    );
    if (build) {
      // The same configuration on the same database, Redis prefix, store and simulator, as it ships.
      await stack.facesign.stop();
      const port = String(await freePort());
      compiled = await startCompiledNode(build.dir, { ...stack.env, PORT: port }, options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : []);
      facesignUrl = `http://127.0.0.1:${port}`;
      parts = parts && [...parts, { name: 'facesign', pids: [compiled.pid] }];
    }
    const facesignPart = build ? 'facesign' : BENCH_PART;

    const amount = options.agents * options.answersPerAgent;
    const thinkMs = options.thinkMs ?? 1000;
    // Each run starts with two unmeasured answers per agent, paced like the rest: every connection
    // open, each route's code and queries warm and the agents' rhythms spread out, as in a server
    // that has been busy for a while; only the steady state after that is measured.
    const load = (url: string, file: string, think: number) =>
      runJsonChild<ClosedLoopReport>('bench/support/closed-loop.ts', [JSON.stringify({ url, requestsFile: join(dir, file), perClient: options.answersPerAgent, thinkMs: think, warmup: 2 })]);
    const scheduleDelta = (from: { ranMs: number; waitedMs: number } | undefined, to: { ranMs: number; waitedMs: number } | undefined) =>
      from && to ? { ranMs: round(to.ranMs - from.ranMs, 0), waitedMs: round(to.waitedMs - from.waitedMs, 0) } : undefined;
    // Every answer sent counts, the two warm-up answers per agent too.
    const transactions = async () =>
      Number((await counts.query<{ n: string }>('SELECT (xact_commit + xact_rollback)::text AS n FROM pg_stat_database WHERE datname = current_database()')).rows[0]?.n ?? 0);
    const facesignThread = () => (compiled ? threadScheduleOf(compiled.pid) : threadSchedule());

    // The paced runs alternate, baseline then facesign, `rounds` times: on a small shared machine a
    // p99 moves from run to run, the baseline's too, and the rounds show by how much. The target is
    // judged on the median round.
    const rounds = options.rounds ?? 3;
    const pacedRounds: PacedRound[] = [];
    for (let round_ = 1; round_ <= rounds; round_ += 1) {
      console.log(`  paced round ${round_} of ${rounds}: ${options.agents} agents, one answer every ~${thinkMs} ms each, ${amount} answers — baseline, then facesign (${runtime})`);
      const baselineAccount = parts && accountCpu(parts);
      const baselineWatch = watchLoop(); // the baseline's route runs on this process's main thread
      const baselineThread = threadSchedule();
      const baselineTx = await transactions();
      const baselineRun = await load(baseline.url, 'baseline.jsonl', thinkMs);
      const baselineTransactionsPerAnswer = ((await transactions()) - baselineTx) / Math.max(1, baselineRun.requests + 2 * options.agents);
      const baselineSchedule = scheduleDelta(baselineThread, threadSchedule());
      const baselineLoop = baselineWatch.stop();
      const baselineMachine = baselineAccount?.stop();
      const account = parts && accountCpu(parts);
      const loop = compiled ? undefined : watchLoop();
      const thread = facesignThread();
      const facesignTx = await transactions();
      const facesignRun = await load(facesignUrl, 'facesign.jsonl', thinkMs);
      const transactionsPerAnswer = ((await transactions()) - facesignTx) / Math.max(1, facesignRun.requests + 2 * options.agents);
      const schedule = scheduleDelta(thread, facesignThread());
      pacedRounds.push({ baseline: baselineRun, facesign: facesignRun, loop: loop?.stop(), schedule, baselineSchedule, machine: account?.stop(), baselineMachine, baselineLoop, transactionsPerAnswer, baselineTransactionsPerAnswer });
    }
    // Each side's median round by its own p99 is the one reported in full for that side.
    const medianBy = (side: 'facesign' | 'baseline') => [...pacedRounds].sort((a, b) => a[side].latencyMs.p99 - b[side].latencyMs.p99)[Math.floor((pacedRounds.length - 1) / 2)]!;
    const fsMedian = medianBy('facesign');
    const fs = fsMedian.facesign;
    const rawMedian = medianBy('baseline');
    const rawPaced = rawMedian.baseline;
    const p99s = (pick: (r: PacedRound) => ClosedLoopReport) => pacedRounds.map((r) => pick(r).latencyMs.p99).join(' / ');
    const fsCpu = pacedRounds.map((r) => cpuPerAnswer(r.machine, r.facesign, facesignPart));
    const rawCpu = pacedRounds.map((r) => cpuPerAnswer(r.baselineMachine, r.baseline, BENCH_PART));
    const byRound = (cpu: typeof fsCpu, pick: (c: NonNullable<(typeof fsCpu)[number]>) => number) => cpu.map((c) => (c ? round(pick(c), 2) : 'n/a')).join(' / ');
    const medianOf = (cpu: typeof fsCpu, pick: (c: NonNullable<(typeof fsCpu)[number]>) => number) => {
      const known = cpu.flatMap((c) => (c ? [pick(c)] : []));
      return known.length > 0 ? round(median(known), 2) : undefined;
    };
    const fsStackCpu = medianOf(fsCpu, (c) => c.stack);
    const rawStackCpu = medianOf(rawCpu, (c) => c.stack);
    const cpuRatio = fsStackCpu !== undefined && rawStackCpu !== undefined ? round(fsStackCpu / rawStackCpu, 2) : undefined;
    const p99Ratio = round(fs.latencyMs.p99 / rawPaced.latencyMs.p99, 2);

    console.log(`  saturated: ${options.agents} agents, each answer sent on the last one's acknowledgement — baseline, then facesign`);
    const raw = await load(baseline.url, 'baseline.jsonl', 0);
    const fsSaturated = await load(facesignUrl, 'facesign.jsonl', 0);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the background sealer's next rounds
    const count = async (sql: string) => Number((await counts.query<{ n: string }>(sql)).rows[0]?.n ?? 0);
    const stored = await count('SELECT count(*)::text AS n FROM "ChecklistAnswer"'); // re-answering overwrites: one row per item
    const audited = await count(`SELECT count(*)::text AS n FROM "AuditEvent" WHERE action = 'checklist.answered'`);
    const sealed = await count(`SELECT count(*)::text AS n FROM "AuditEvent" WHERE action = 'checklist.answered' AND "chainSeq" IS NOT NULL`);
    const ok = (r: ClosedLoopReport) => r.errors === 0 && Object.keys(r.statuses).every((st) => st === '200');
    const allOk = pacedRounds.every((r) => ok(r.facesign)) && ok(fsSaturated);
    const cpuMet = cpuRatio !== undefined && cpuRatio <= ANSWERS_CPU_TARGET;
    const p99Met = p99Ratio <= ANSWERS_P99_TARGET;

    const notes = [...serverErrors(compiled ? compiled.errors : stack.errors), `saturated (capacity, no target): ${round(fsSaturated.perSecond, 0)}/s against the baseline's ${round(raw.perSecond, 0)}/s, ${round(fsSaturated.perSecond / Math.max(1, raw.perSecond), 2)}×`];
    if (!cpuMet || !p99Met) {
      const fsC = fsCpu.find((c) => c !== undefined);
      const rawC = rawCpu.find((c) => c !== undefined);
      if (fsC && rawC) {
        notes.push(
          `missed: per answer (first round) facesign's server process ${round(fsC.server, 2)} ms against the baseline route's ${round(rawC.server, 2)} ms, PostgreSQL ${round(fsC.postgres, 2)} against ${round(rawC.postgres, 2)} ms ` +
            `(${pacedRounds.map((r) => round(r.transactionsPerAnswer, 2)).join(' / ')} transactions per answer against ${pacedRounds.map((r) => round(r.baselineTransactionsPerAnswer, 2)).join(' / ')}), Redis ${round(fsC.redis, 2)} against ${round(rawC.redis, 2)} ms` +
            `${build ? ': see the profile\'s account below' : ' (the in-process runtime is not profiled: run the compiled build for the profile)'}`,
        );
      }
    }
    // The profile behind "what would move it": the measured node's own with --answers-profile; otherwise,
    // when a target is missed, a node of its own profiled over one more paced run after the measured
    // ones (the profiler's sampling must not weigh on the figures judged).
    let profileDir = options.profileDir && compiled ? options.profileDir : undefined;
    if (profileDir && compiled) {
      await compiled.stop(); // the profile is written when the process exits
      compiled = undefined;
    } else if (build && compiled && (!cpuMet || !p99Met)) {
      await compiled.stop();
      profileDir = join(dir, 'profile');
      console.log('  a target was missed: one more paced run on a profiled node, for what would move it');
      compiled = await startCompiledNode(build.dir, { ...stack.env, PORT: String(new URL(facesignUrl).port) }, ['--cpu-prof', `--cpu-prof-dir=${profileDir}`]);
      await load(facesignUrl, 'facesign.jsonl', thinkMs);
      await compiled.stop();
      compiled = undefined;
    }
    if (profileDir) {
      for (const line of await summariseCpuProfiles(profileDir, 15)) notes.push(`cpu profile: ${line}`);
      const shares = await attributeCpuProfiles(profileDir, ANSWER_COST_BUCKETS);
      notes.push(`cpu profile: the server's busy time by what it was doing (inclusive, overlapping): ${shares.map((b) => `${b.name} ${b.percent} %`).join(', ')}`);
      if (!cpuMet || !p99Met) notes.push(`what would move it: ${whatWouldMoveIt(shares, pacedRounds)}`);
    }
    return {
      name: 'checklist answers',
      setup:
        `${runtime === 'compiled' ? 'compiled server (tsc build, plain Node, own process)' : 'sources in the bench process (tsx)'}; ${options.agents} agents (one HTTP connection each, own session IN_PROGRESS) × ${options.answersPerAgent} measured answers, ` +
        `each run after 2 unmeasured (paced) warm-up answers per agent; paced: ~${thinkMs} ms between an acknowledgement and the agent's next answer, ${rounds} rounds alternating with the baseline, the median round reported; saturated: none; load generator in its own process`,
      facesign: {
        p99Ms: fs.latencyMs.p99, stackCpuMsPerAnswer: fsStackCpu ?? 'n/a', p50Ms: fs.latencyMs.p50, perSecond: round(fs.perSecond, 0), maxMs: fs.latencyMs.max, statuses: JSON.stringify(fs.statuses), errors: fs.errors,
        saturatedPerSecond: round(fsSaturated.perSecond, 0), saturatedP99Ms: fsSaturated.latencyMs.p99, saturatedStatuses: JSON.stringify(fsSaturated.statuses),
        answersStored: stored, auditEvents: audited, auditEventsSealed: sealed,
        pacedP99MsByRound: p99s((r) => r.facesign),
        stackCpuMsPerAnswerByRound: byRound(fsCpu, (c) => c.stack),
        serverCpuMsPerAnswerByRound: byRound(fsCpu, (c) => c.server),
        postgresCpuMsPerAnswerByRound: byRound(fsCpu, (c) => c.postgres),
        postgresTransactionsPerAnswerByRound: pacedRounds.map((r) => round(r.transactionsPerAnswer, 2)).join(' / '),
        redisCpuMsPerAnswerByRound: byRound(fsCpu, (c) => c.redis),
        loadGeneratorCpuMsPerAnswerByRound: byRound(fsCpu, (c) => c.loadGenerator),
        machineCpuMsPerAnswerByRound: byRound(fsCpu, (c) => c.machine),
        serverCpuMsPerAnswer: medianOf(fsCpu, (c) => c.server) ?? 'n/a',
        postgresCpuMsPerAnswer: medianOf(fsCpu, (c) => c.postgres) ?? 'n/a',
        machineCpuMsPerAnswer: medianOf(fsCpu, (c) => c.machine) ?? 'n/a',
        mainThreadRanMs: fsMedian.schedule?.ranMs ?? 'n/a', mainThreadWaitedForCpuMs: fsMedian.schedule?.waitedMs ?? 'n/a',
        ...(fsMedian.loop ?? {}),
      },
      baseline: {
        what: `express route, one pg upsert per request, pool of ${stack.facesign.config.database.poolSize}, same database, in the bench process`,
        p99Ms: rawPaced.latencyMs.p99, stackCpuMsPerAnswer: rawStackCpu ?? 'n/a', p50Ms: rawPaced.latencyMs.p50, perSecond: round(rawPaced.perSecond, 0),
        pacedP99MsByRound: p99s((r) => r.baseline),
        stackCpuMsPerAnswerByRound: byRound(rawCpu, (c) => c.stack),
        serverCpuMsPerAnswerByRound: byRound(rawCpu, (c) => c.server),
        postgresCpuMsPerAnswerByRound: byRound(rawCpu, (c) => c.postgres),
        postgresTransactionsPerAnswerByRound: pacedRounds.map((r) => round(r.baselineTransactionsPerAnswer, 2)).join(' / '),
        machineCpuMsPerAnswerByRound: byRound(rawCpu, (c) => c.machine),
        postgresCpuMsPerAnswer: medianOf(rawCpu, (c) => c.postgres) ?? 'n/a',
        machineCpuMsPerAnswer: medianOf(rawCpu, (c) => c.machine) ?? 'n/a',
        mainThreadRanMs: rawMedian.baselineSchedule?.ranMs ?? 'n/a', mainThreadWaitedForCpuMs: rawMedian.baselineSchedule?.waitedMs ?? 'n/a', windowMs: rawMedian.baselineLoop.windowMs,
        saturatedPerSecond: round(raw.perSecond, 0), saturatedP99Ms: raw.latencyMs.p99,
      },
      ratio: { value: cpuRatio ?? Number.NaN, of: 'facesign ÷ baseline, CPU per answer of the server process, PostgreSQL, Redis and the load generator (median of the paced rounds)' },
      target: {
        text: `CPU per answer ≤ ${ANSWERS_CPU_TARGET}× the baseline's and median paced p99 ≤ ${ANSWERS_P99_TARGET}× the baseline's, every answer acknowledged`,
        met: cpuMet && p99Met && allOk,
      },
      more: [
        { figure: `median paced p99 ${fs.latencyMs.p99} ms ÷ the baseline's ${rawPaced.latencyMs.p99} ms = ${p99Ratio}×`, target: { text: `≤ ${ANSWERS_P99_TARGET}×`, met: p99Met } },
        { figure: `CPU per answer ${fsStackCpu ?? 'n/a'} ms ÷ the baseline's ${rawStackCpu ?? 'n/a'} ms = ${cpuRatio ?? 'n/a'}×`, target: { text: `≤ ${ANSWERS_CPU_TARGET}×`, met: cpuMet } },
      ],
      load: { before, after: loadContext() },
      notes,
    };
  } finally {
    await compiled?.stop();
    await counts.end();
    await baselineRoute?.stop();
    await stack.stop();
    await build?.remove();
    await rm(dir, { recursive: true, force: true });
  }
}
