// The recording hash benchmark (bench/hash.bench.ts, owned by the recordings work) run as a child
// process; its JSON result (bench/results/hash.json) is folded into this report.
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
  targets: { ratio: number; peakRssMB: number };
  meetsTargets: boolean;
}

export async function hashBench(options: { size: string; runs: number }): Promise<BenchResult> {
  const before = loadContext();
  const file = fileURLToPath(new URL('./hash.bench.ts', import.meta.url));
  const child = spawn(process.execPath, [...process.execArgv, file, '--size', options.size, '--runs', String(options.runs)], { stdio: ['ignore', 'inherit', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`hash.bench.ts exited with ${code}`))));
  });
  const summary = JSON.parse(await readFile(fileURLToPath(new URL('./results/hash.json', import.meta.url)), 'utf8')) as HashSummary;
  return {
    name: 'recording hash',
    setup: `bench/hash.bench.ts --size ${options.size} --runs ${options.runs} (best of the runs; RecordingStore.read + streaming SHA-256 through s3rver)`,
    facesign: { MBps: summary.facesignMBps, peakRssMB: summary.peakRssMB, rssAddedByStreamingMB: summary.rssAddedByStreamingMB, sizeMiB: Math.round(summary.sizeBytes / 2 ** 20) },
    baseline: { what: 'sha256sum of the same bytes on disk', MBps: summary.sha256sumMBps, storeReadMBps: summary.storeReadMBps, facesignToStoreRead: summary.ratioToStoreRead },
    ratio: { value: summary.ratio, of: 'facesign MB/s ÷ sha256sum MB/s' },
    target: { text: `≥ ${summary.targets.ratio}× sha256sum, peak RSS < ${summary.targets.peakRssMB} MB`, met: summary.meetsTargets },
    load: { before, after: loadContext() },
  };
}
