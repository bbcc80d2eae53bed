// facesign as it ships: the server compiled with tsc (what `npm run build` puts in dist/server and
// dist/recordings, without the console) into a temporary folder inside the repository, so that the
// compiled files resolve node_modules as dist/ does, and started on plain Node in a process of its own.
import { execFile, spawn } from 'node:child_process';
import { cpSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { promisify } from 'node:util';

const REPO = new URL('../../', import.meta.url).pathname;
const run = promisify(execFile);

/** What `npm run build` puts in dist/server and dist/recordings, into `outDir` (no console, no prisma CLI files). */
export async function compileServer(outDir: string): Promise<void> {
  await run(join(REPO, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.build.json', '--outDir', outDir], { cwd: REPO, maxBuffer: 64 * 1024 * 1024 });
  for (const folder of ['server', 'recordings']) {
    cpSync(join(REPO, folder), join(outDir, folder), { recursive: true, filter: (source) => !['.ts', '.md'].includes(extname(source)) });
  }
}

/** A compiled build in bench/results/ (gitignored), removed by `remove()`. */
export async function compiledBuild(): Promise<{ dir: string; remove(): Promise<void> }> {
  await mkdir(join(REPO, 'bench/results'), { recursive: true }); // gitignored: absent in a fresh checkout
  const dir = await mkdtemp(join(REPO, 'bench/results/build-'));
  try {
    await compileServer(dir);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface CompiledNode {
  pid: number;
  /** Error and fatal log lines it wrote (the first 100). */
  errors: string[];
  stop(): Promise<void>;
}

/**
 * Starts `<build>/server/main.js` with `env` (and nothing else from this process's environment) and
 * waits for its "facesign listening" (or worker) log line. `nodeFlags` go before the entry point
 * (e.g. `--cpu-prof --cpu-prof-dir=…`). Its log is read and dropped, error lines kept.
 */
export function startCompiledNode(build: string, env: Record<string, string>, nodeFlags: string[] = []): Promise<CompiledNode> {
  const child = spawn(process.execPath, [...nodeFlags, join(build, 'server/main.js')], { cwd: REPO, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const errors: string[] = [];
  let pending = '';
  let ready = false;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the compiled server was not ready in 120 s: ${pending.slice(-2000)}`)), 120_000);
    child.once('exit', (code) => {
      if (!ready) reject(new Error(`the compiled server exited with ${code}: ${pending.slice(-2000)}`));
    });
    const onData = (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = ready ? (lines.pop() ?? '') : pending;
      for (const line of ready ? lines : []) if (/"level":(50|60|"error"|"fatal")/.test(line) && errors.length < 100) errors.push(line);
      if (ready || !/facesign (listening|worker running)/.test(pending)) return;
      ready = true;
      pending = '';
      clearTimeout(timer);
      resolve({
        pid: child.pid!,
        errors,
        stop: async () => {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await exited;
        },
      });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
  });
}

/** A thread's time on a core and runnable but waiting for one, in ms (/proc/<pid>/task/<tid>/schedstat). */
export function threadScheduleOf(pid: number, tid = pid): { ranMs: number; waitedMs: number } | undefined {
  try {
    const [ran = 0, waited = 0] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return { ranMs: ran / 1e6, waitedMs: waited / 1e6 };
  } catch {
    return undefined;
  }
}
