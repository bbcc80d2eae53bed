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
