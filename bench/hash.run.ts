// The recording hash benchmark (bench/hash.bench.ts) run as a child process; its JSON result
// (bench/results/hash.json) is folded into this report, with what limits a missed target.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './support/report.js';
import { loadContext } from './support/stats.js';

interface HashSummary {
  sizeBytes: number;
  runs: number;
  facesignMBps: number;
  sha256sumMBps: number;
  ratio: number;
  peakRssMB: number;
  rssAddedByStreamingMB: number;
  storeReadMBps: number;
  ratioToStoreRead: number;
  store: string;
  coreBoundRatio: number;
  cpuSecondsPerGiB: { facesign: number; storeReadClient: number; store: number; sha256sum: number };
  limitedBy: string[];
  targets: { ratio: number; streamingRssMB: number };
  meetsTargets: boolean;
}

/** How much more streaming may add at the larger size than at the smaller one and still be flat. */
const FLAT_MARGIN_MB = 16;

async function runSize(size: string, runs: number, store: string | undefined): Promise<HashSummary> {
  const file = fileURLToPath(new URL('./hash.bench.ts', import.meta.url));
  const child = spawn(process.execPath, [...process.execArgv, file, '--size', size, '--runs', String(runs), ...(store ? ['--store', store] : [])], { stdio: ['ignore', 'inherit', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`hash.bench.ts exited with ${code}`))));
  });
  return JSON.parse(await readFile(fileURLToPath(new URL('./results/hash.json', import.meta.url)), 'utf8')) as HashSummary;
}

/**
 * The hash at each size (smallest first), judged on the worst ratio; with two sizes or more, memory
 * must also be flat: streaming adds no more at the largest size than at the smallest.
 */
export async function hashBench(options: { sizes: string[]; runs: number; store?: string }): Promise<BenchResult> {
  const before = loadContext();
  const summaries: HashSummary[] = [];
  for (const size of options.sizes) summaries.push(await runSize(size, options.runs, options.store));
  summaries.sort((a, b) => a.sizeBytes - b.sizeBytes);
  const mib = (s: HashSummary) => `${Math.round(s.sizeBytes / 2 ** 20)} MiB`;
  const worst = summaries.reduce((w, s) => (s.ratio < w.ratio ? s : w));
  const smallest = summaries[0]!;
  const largest = summaries[summaries.length - 1]!;
  const growthMB = Math.round((largest.rssAddedByStreamingMB - smallest.rssAddedByStreamingMB) * 10) / 10;
  const flat = summaries.length < 2 || growthMB <= FLAT_MARGIN_MB;
  const { ratio: ratioTarget, streamingRssMB } = smallest.targets;
  return {
    name: 'recording hash',
    setup: `bench/hash.bench.ts --size ${options.sizes.join(' and ')} --runs ${options.runs} --store ${smallest.store} (best of the runs at each size; RecordingStore.read + streaming SHA-256 through ${smallest.store})`,
    facesign: Object.fromEntries(
      summaries.flatMap((s) => [
        [`MBps@${mib(s)}`, s.facesignMBps],
        [`rssAddedByStreamingMB@${mib(s)}`, s.rssAddedByStreamingMB],
        [`peakRssMB@${mib(s)}`, s.peakRssMB],
        [`cpuSecondsPerGiB@${mib(s)}`, s.cpuSecondsPerGiB.facesign],
        [`storeCpuSecondsPerGiB@${mib(s)}`, s.cpuSecondsPerGiB.store],
      ]),
    ),
    baseline: {
      what: 'sha256sum of the same bytes on disk',
      ...Object.fromEntries(summaries.flatMap((s) => [[`MBps@${mib(s)}`, s.sha256sumMBps], [`storeReadMBps@${mib(s)}`, s.storeReadMBps]])),
    },
    ratio: { value: worst.ratio, of: `facesign MB/s ÷ sha256sum MB/s, the lower of ${summaries.map((s) => `${s.ratio} at ${mib(s)}`).join(' and ')}` },
    target: {
      text: `≥ ${ratioTarget}× sha256sum at every size; streaming adds < ${streamingRssMB} MB of RSS${summaries.length > 1 ? ` and no more than ${FLAT_MARGIN_MB} MB more at ${mib(largest)} than at ${mib(smallest)}` : ''}`,
      met: summaries.every((s) => s.meetsTargets) && flat,
    },
    ...(summaries.length > 1
      ? { more: [{ figure: `streaming added ${smallest.rssAddedByStreamingMB} MB at ${mib(smallest)} and ${largest.rssAddedByStreamingMB} MB at ${mib(largest)} (${growthMB >= 0 ? '+' : ''}${growthMB} MB)`, target: { text: `flat: ≤ +${FLAT_MARGIN_MB} MB`, met: flat } }] }
      : {}),
    load: { before, after: loadContext() },
    notes: summaries.flatMap((s) => s.limitedBy.map((line) => `${mib(s)}: limited by ${line}`)),
  };
}
