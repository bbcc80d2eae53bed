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
  targets: { ratio: number; peakRssMB: number };
  meetsTargets: boolean;
}

export async function hashBench(options: { size: string; runs: number; store?: string }): Promise<BenchResult> {
  const before = loadContext();
  const file = fileURLToPath(new URL('./hash.bench.ts', import.meta.url));
  const child = spawn(process.execPath, [...process.execArgv, file, '--size', options.size, '--runs', String(options.runs), ...(options.store ? ['--store', options.store] : [])], { stdio: ['ignore', 'inherit', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`hash.bench.ts exited with ${code}`))));
  });
  const summary = JSON.parse(await readFile(fileURLToPath(new URL('./results/hash.json', import.meta.url)), 'utf8')) as HashSummary;
  return {
    name: 'recording hash',
    setup: `bench/hash.bench.ts --size ${options.size} --runs ${options.runs} --store ${summary.store} (best of the runs; RecordingStore.read + streaming SHA-256 through ${summary.store})`,
    facesign: {
      MBps: summary.facesignMBps, peakRssMB: summary.peakRssMB, rssAddedByStreamingMB: summary.rssAddedByStreamingMB, sizeMiB: Math.round(summary.sizeBytes / 2 ** 20),
      cpuSecondsPerGiB: summary.cpuSecondsPerGiB.facesign, storeCpuSecondsPerGiB: summary.cpuSecondsPerGiB.store, coreBoundRatio: summary.coreBoundRatio,
    },
    baseline: { what: 'sha256sum of the same bytes on disk', MBps: summary.sha256sumMBps, storeReadMBps: summary.storeReadMBps, facesignToStoreRead: summary.ratioToStoreRead, cpuSecondsPerGiB: summary.cpuSecondsPerGiB.sha256sum },
    ratio: { value: summary.ratio, of: 'facesign MB/s ÷ sha256sum MB/s' },
    target: { text: `≥ ${summary.targets.ratio}× sha256sum, peak RSS < ${summary.targets.peakRssMB} MB`, met: summary.meetsTargets },
    load: { before, after: loadContext() },
    notes: summary.limitedBy.map((line) => `limited by ${line}`),
  };
}
