// Starts worker-only facesign nodes as child processes (bench/support/worker-node.ts, same tsx loader)
// and talks to them over IPC: their CPU is read from /proc by pid, their event-lag samples and pool
// waits come back on request.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Env } from '../../server/config.js';
import type { EventLagSample } from '../../server/metrics/event-lag.js';
import type { PoolWaitReport } from './pool-wait.js';

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
  const child: ChildProcess = spawn(process.execPath, [...process.execArgv, file], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const next = <T>(type: string) =>
    new Promise<T>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the worker node exited (${code}) while the bench waited for "${type}"`));
      const onMessage = (message: { type: string; message?: string }) => {
        if (message.type === 'error') reject(new Error(message.message));
        else if (message.type === type) resolve(message as T);
        else return;
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const ready = next<unknown>('ready');
  child.send({ type: 'start', env });
  await ready;
  return {
    pid: child.pid!,
    async mark() {
      const marked = next<unknown>('marked');
      child.send({ type: 'mark' });
      await marked;
    },
    report() {
      const report = next<WorkerNodeReport & { type: string }>('report');
      child.send({ type: 'report' });
      return report;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send({ type: 'stop' });
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
