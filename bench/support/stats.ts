// Percentiles and the machine's load, for benchmark reports.
import { cpus, loadavg, totalmem, freemem } from 'node:os';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { threadSchedule } from './machine-cpu.js';

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

/** How this process's event loop fared over a window: its delay and the garbage collector's pauses. */
export interface LoopReport {
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  gcPauses: number;
  gcPauseMaxMs: number;
  gcPauseTotalMs: number;
  /** The main thread's time on a core, and runnable but waiting for one (undefined where unknown). */
  mainThreadRanMs?: number;
  mainThreadWaitedForCpuMs?: number;
  /** The window these cover. */
  windowMs: number;
}

/** Starts watching the event loop and GC; `stop()` returns what was seen since. */
export function watchLoop(): { stop(): LoopReport } {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  const pauses: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) pauses.push(entry.duration);
  });
  observer.observe({ entryTypes: ['gc'] });
  delay.enable();
  const scheduled = threadSchedule();
  const started = performance.now();
  return {
    stop() {
      delay.disable();
      observer.disconnect();
      const now = threadSchedule();
      return {
        windowMs: round(performance.now() - started, 0),
        ...(scheduled && now ? { mainThreadRanMs: round(now.ranMs - scheduled.ranMs, 0), mainThreadWaitedForCpuMs: round(now.waitedMs - scheduled.waitedMs, 0) } : {}),
        loopDelayP99Ms: round(delay.percentile(99) / 1e6, 1),
        loopDelayMaxMs: round(delay.max / 1e6, 1),
        gcPauses: pauses.length,
        gcPauseMaxMs: round(Math.max(0, ...pauses), 1),
        gcPauseTotalMs: round(pauses.reduce((a, b) => a + b, 0), 0),
      };
    },
  };
}
