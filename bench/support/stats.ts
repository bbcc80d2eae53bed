// Percentiles and the machine's load, for benchmark reports.
import { cpus, loadavg, totalmem, freemem } from 'node:os';

/** The p-th percentile (0..100) by nearest rank; NaN for no samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export const round = (n: number, digits = 1): number => Number(n.toFixed(digits));

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across processes on one machine. */
export const nowMs = (): number => performance.timeOrigin + performance.now();

export interface LoadContext {
  cpus: number;
  loadAverage1m: number;
  loadAverage5m: number;
  memoryFreeMB: number;
  memoryTotalMB: number;
}

export function loadContext(): LoadContext {
  const [l1 = 0, l5 = 0] = loadavg();
  return { cpus: cpus().length, loadAverage1m: round(l1, 2), loadAverage5m: round(l5, 2), memoryFreeMB: Math.round(freemem() / 1e6), memoryTotalMB: Math.round(totalmem() / 1e6) };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
