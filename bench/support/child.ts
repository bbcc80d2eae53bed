// Runs a TypeScript file of this repository as a child process (under the same tsx loader) and
// returns the last JSON line it printed.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export function runJsonChild<T>(relativeToBench: string, args: string[], options: { inheritStdout?: boolean } = {}): Promise<T> {
  const file = fileURLToPath(new URL(`../../${relativeToBench}`, import.meta.url));
  const child = spawn(process.execPath, [...process.execArgv, file, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    out += s;
    if (options.inheritStdout) process.stdout.write(s);
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`${relativeToBench} exited with ${code}`));
      const last = out.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`${relativeToBench} printed no JSON result`));
      }
    });
  });
}

/** A long-running child (same tsx loader) that prints one JSON "ready" line on stdout when it is up. */
export interface ReadyChild<T> {
  ready: T;
  pid: number;
  stop(): Promise<void>;
}

export function startReadyChild<T>(relativeToBench: string, args: string[]): Promise<ReadyChild<T>> {
  const file = fileURLToPath(new URL(`../../${relativeToBench}`, import.meta.url));
  const child = spawn(process.execPath, [...process.execArgv, file, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let out = '';
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${relativeToBench} exited with ${code} before it was ready`)));
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (!line || !out.includes('\n')) return;
      child.stdout.removeAllListeners('data');
      child.stdout.resume();
      resolve({
        ready: JSON.parse(line) as T,
        pid: child.pid!,
        stop: async () => {
          if (child.exitCode === null) child.kill('SIGTERM');
          await exited;
        },
      });
    });
  });
}
