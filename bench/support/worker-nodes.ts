// Starts worker-only facesign nodes as child processes (bench/support/worker-node.ts, same tsx loader)
// and talks to them over IPC: their CPU is read from /proc by pid, their event-lag samples and pool
// waits come back on request.
import { fileURLToPath } from 'node:url';
import type { Env } from '../../server/config.js';
import type { EventLagSample } from '../../server/metrics/event-lag.js';
import type { PoolWaitReport } from './pool-wait.js';
import { spawnIpcChild } from './ipc-child.js';

export interface WorkerNodeReport {
  lag: EventLagSample[];
  pool: PoolWaitReport | undefined;
  errors: string[];
}

export interface WorkerNode {
  pid: number;
  /** Starts counting lag samples and pool waits afresh. */
  mark(): Promise<void>;
  report(): Promise<WorkerNodeReport>;
  stop(): Promise<void>;
}

export async function startWorkerNode(env: Partial<Record<keyof Env, string>>): Promise<WorkerNode> {
  const file = fileURLToPath(new URL('./worker-node.ts', import.meta.url));
  const { child, ask, stop } = spawnIpcChild(file, 'the worker node');
  await ask({ type: 'start', env }, 'ready');
  return {
    pid: child.pid!,
    async mark() {
      await ask({ type: 'mark' }, 'marked');
    },
    report: () => ask<WorkerNodeReport & { type: string }>({ type: 'report' }, 'report'),
    stop: () => stop({ type: 'stop' }),
  };
}
