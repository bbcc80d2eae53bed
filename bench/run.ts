// npm run bench: runs every benchmark, prints one table and writes bench/results/bench.json (plus a
// time-stamped copy), appends the run to bench/results/history.jsonl and prints how each figure moved
// since the last run of the same benchmark at the same setup. Each benchmark measures its own
// baseline in the same run.
//
//   npm run bench                                  # everything at the default sizes, hash at 256 MiB and 2 GiB
//   npm run bench -- --only webhook,answers        # a subset: dispatch, webhook, realtime, answers, hash, idle
//   npm run bench -- --sessions 2000 --agents 100  # dispatch size (--pool-size: its DATABASE_POOL_SIZE, default 10); --sockets 1000 (realtime), --answer-agents 200, --answer-rounds 3
//   npm run bench -- --hash-size 2G                # the recording hash on a 2 GiB object only (sizes: 256M,2G)
//   npm run bench -- --only hash --hash-store s3rver  # its store: versitygw (default when built) or s3rver
//   npm run bench -- --only answers --answers-profile /tmp/p  # answers on the compiled build, with a CPU profile of its server
//   npm run bench -- --only answers --answers-runtime in-process  # answers on the sources in the bench process (tsx)
//   npm run bench -- --seconds 10 --connections 10 # webhook load duration and concurrency
//   npm run bench -- --only idle --idle-seconds 60 # idle api and worker nodes' CPU per second (compiled; --idle-runtime tsx)
//   npm run bench -- --only face-match --face-comparisons 10  # CPU per face comparison
//   npm run bench -- --only dispatch-real --real-calls 40 --real-concurrency 8 --answer-after 1 --hold 3 --real-workers 1 [--real-egress answer|livekit|none] [--real-pool-size 20]
//                                                  # dispatch on the real livekit-server + livekit-sip + SIPp against a bare script
//                                                  # (needs dev/real-livekit/install.sh; also BENCH_REAL_CALLS, BENCH_REAL_CONCURRENCY, …)
//   npm run bench -- --only video-real --video-sessions 8 --video-hold 30 [--video-size 640x360 --video-fps 15 --video-kbps 450 --video-timeout 180]
//                                                  # video sessions on the real livekit-server, rtc-node participants (needs dev/real-livekit/install.sh)
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dropTemplate } from './support/stack.js';
import type { BenchResult } from './support/report.js';
import { loadContext } from './support/stats.js';
import { appendHistory, describeChanges, readHistory } from './support/history.js';
import { webhookBench } from './webhook.bench.js';
import { dispatchBench } from './dispatch.bench.js';
import { realtimeBench } from './realtime.bench.js';
import { answersBench } from './answers.bench.js';
import { hashBench } from './hash.run.js';
import { idleBench } from './idle.bench.js';
import { faceMatchBench } from './face-match.bench.js';
import { realDispatchBench } from './dispatch-real.bench.js';
import { realVideoBench } from './video-real.bench.js';

const ALL = ['dispatch', 'webhook', 'realtime', 'answers', 'hash', 'face-match', 'idle', 'dispatch-real', 'video-real'] as const;
/** Run only when named in --only: they need the real LiveKit servers (dev/real-livekit/install.sh). */
const ON_REQUEST: readonly Name[] = ['dispatch-real', 'video-real'];
type Name = (typeof ALL)[number];

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const num = (name: string, fallback: number) => {
  const value = Number(flag(name) ?? process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
};

function answersRuntime(value: string): 'compiled' | 'in-process' {
  if (value === 'compiled' || value === 'in-process') return value;
  throw new Error('--answers-runtime must be compiled or in-process');
}

function videoSize(value: string): { width: number; height: number } {
  const m = /^(\d+)x(\d+)$/.exec(value);
  if (!m || Number(m[1]) % 2 !== 0 || Number(m[2]) % 2 !== 0) throw new Error('--video-size must be WIDTHxHEIGHT, both even (e.g. 640x360)');
  return { width: Number(m[1]), height: Number(m[2]) };
}

function realEgress(value: string): 'answer' | 'livekit' | 'none' {
  if (value === 'answer' || value === 'livekit' || value === 'none') return value;
  throw new Error('--real-egress must be answer, livekit or none');
}

const only = (flag('only')?.split(',') ?? ALL.filter((n) => !ON_REQUEST.includes(n))) as Name[];
for (const n of only) if (!ALL.includes(n)) throw new Error(`--only: unknown benchmark "${n}" (${ALL.join(', ')})`);

const runners: Record<Name, () => Promise<BenchResult>> = {
  dispatch: () => dispatchBench({ sessions: num('sessions', 10_000), agents: num('agents', 200), concurrency: num('dial-concurrency', 8), timeoutSeconds: num('dispatch-timeout', 1800), ...(flag('pool-size') ? { poolSize: num('pool-size', 10) } : {}) }),
  webhook: () => webhookBench({ durationSeconds: num('seconds', 10), connections: num('connections', 10) }),
  realtime: () => realtimeBench({ sockets: num('sockets', 1000), changes: num('changes', 50) }),
  answers: () =>
    answersBench({
      agents: num('answer-agents', 200),
      answersPerAgent: num('answers-per-agent', 10),
      rounds: num('answer-rounds', 3),
      runtime: answersRuntime(flag('answers-runtime') ?? 'compiled'),
      ...(flag('answers-profile') ? { profileDir: flag('answers-profile')! } : {}),
    }),
  hash: () => hashBench({ sizes: (flag('hash-size') ?? '256M,2G').split(','), runs: num('hash-runs', 2), ...(flag('hash-store') ? { store: flag('hash-store')! } : {}) }),
  idle: () => idleBench({ warmupSeconds: num('idle-warmup', 30), windowSeconds: num('idle-seconds', 60), runtime: flag('idle-runtime') === 'tsx' ? 'tsx' : 'compiled' }),
  'face-match': () => faceMatchBench({ comparisons: num('face-comparisons', 10) }),
  'dispatch-real': () =>
    realDispatchBench({
      calls: num('real-calls', 40),
      concurrency: num('real-concurrency', 8),
      answerAfterSeconds: num('answer-after', 1),
      holdSeconds: num('hold', 3),
      workers: num('real-workers', 1),
      egress: realEgress(flag('real-egress') ?? 'answer'),
      poolSize: num('real-pool-size', 20),
      idleSeconds: num('real-idle-seconds', 15),
      timeoutSeconds: num('real-timeout', 300),
    }),
  'video-real': () =>
    realVideoBench({
      sessions: num('video-sessions', 8),
      holdSeconds: num('video-hold', 30),
      media: { ...videoSize(flag('video-size') ?? '640x360'), fps: num('video-fps', 15), maxBitrate: num('video-kbps', 450) * 1000 },
      timeoutSeconds: num('video-timeout', 180),
    }),
};

const started = new Date();
const results: BenchResult[] = [];
const failures: { name: string; error: string }[] = [];
try {
  for (const name of only) {
    console.log(`\n▶ ${name}`);
    try {
      results.push(await runners[name]());
    } catch (error) {
      console.error(`  ${name} failed: ${(error as Error).stack ?? String(error)}`);
      failures.push({ name, error: (error as Error).message });
    }
  }
} finally {
  await dropTemplate();
}

const dir = fileURLToPath(new URL('./results/', import.meta.url));
await mkdir(dir, { recursive: true });
const history = await readHistory(dir);

const fmt = (v: number | string | undefined) => (typeof v === 'number' ? String(v) : (v ?? ''));
console.log('\nfacesign benchmarks', started.toISOString(), `node ${process.version}`, `load before/after: see JSON`);
console.table(
  results.map((r) => ({
    benchmark: r.name,
    facesign: Object.entries(r.facesign).slice(0, 4).map(([k, v]) => `${k}=${fmt(v)}`).join(' '),
    baseline: Object.entries(r.baseline).filter(([k]) => k !== 'what').slice(0, 3).map(([k, v]) => `${k}=${fmt(v)}`).join(' '),
    ratio: r.ratio.value,
    target: r.target.text,
    met: r.target.met ? 'yes' : 'NO',
    load1m: `${r.load.before.loadAverage1m}→${r.load.after.loadAverage1m}`,
  })),
);
for (const r of results) {
  console.log(`\n${r.name}: ${r.setup}`);
  console.log(`  facesign: ${JSON.stringify(r.facesign)}`);
  console.log(`  baseline (${r.baseline.what}): ${JSON.stringify(Object.fromEntries(Object.entries(r.baseline).filter(([k]) => k !== 'what')))}`);
  console.log(`  ratio ${r.ratio.value} = ${r.ratio.of}; target ${r.target.text}: ${r.target.met ? 'met' : 'MISSED'}`);
  for (const m of r.more ?? []) console.log(`  ${m.figure}; target ${m.target.text}: ${m.target.met ? 'met' : 'MISSED'}`);
  for (const note of r.notes ?? []) console.log(`  note: ${note}`);
  for (const line of describeChanges(history, r)) console.log(line);
}
for (const f of failures) console.log(`\n${f.name}: FAILED ${f.error}`);

const report = { at: started.toISOString(), node: process.version, argv: process.argv.slice(2), load: loadContext(), results, failures };
const json = `${JSON.stringify(report, null, 2)}\n`;
await writeFile(`${dir}bench.json`, json);
await writeFile(`${dir}bench-${started.toISOString().replace(/[:.]/g, '-')}.json`, json);
if (results.length > 0) await appendHistory(dir, report);
console.log(`\nwrote ${dir}bench.json${results.length > 0 ? ' and appended the run to history.jsonl' : ''}`);
process.exit(failures.length > 0 ? 1 : 0);
