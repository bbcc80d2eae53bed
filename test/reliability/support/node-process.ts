// A facesign node as a child process (`server/main.ts` under tsx), with its role, port and
// environment. The suite SIGKILLs these at random points: nothing they hold in memory may matter.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LEDGER_DIR } from './ledger.js';
import { onExit } from './infra.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));

export type Role = 'api' | 'worker';

export interface NodeSpec {
  name: string;
  role: Role;
  env: Record<string, string>;
  /** For API nodes: the port, kept across restarts so clients can come back. */
  port?: number;
}

export class FacesignNode {
  private child: ChildProcess | undefined;
  private readyPromise: Promise<void> | undefined;
  /** The last lines this node wrote (stdout and stderr), for diagnosing a failure. */
  readonly logs: string[] = [];
  kills = 0;
  starts = 0;

  constructor(readonly spec: NodeSpec) {}

  get url(): string {
    return `http://127.0.0.1:${this.spec.port ?? 0}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawns the process; `ready` resolves once it listens (API) or runs its workers (worker). */
  start(): this {
    if (this.running) throw new Error(`${this.spec.name} is already running`);
    this.starts += 1;
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
      cwd: REPO,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_NO_WARNINGS: '1',
        NODE_ENV: 'test',
        LOG_LEVEL: 'info',
        HOST: '127.0.0.1',
        PORT: String(this.spec.port ?? 0),
        FACESIGN_ROLES: this.spec.role,
        ...this.spec.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const forget = onExit(() => child.kill('SIGKILL'));
    child.once('exit', () => forget());
    const marker = this.spec.role === 'api' ? '"facesign listening"' : '"facesign worker running"';
    this.readyPromise = new Promise<void>((resolve, reject) => {
      let buffered = '';
      const logFile = join(LEDGER_DIR, 'logs', `${process.pid}-${this.spec.name}.log`);
      mkdirSync(join(LEDGER_DIR, 'logs'), { recursive: true });
      const onLine = (line: string) => {
        this.logs.push(line);
        appendFileSync(logFile, `${line}\n`);
        if (this.logs.length > 3000) this.logs.splice(0, 1000);
        if (line.includes(marker)) resolve();
      };
      for (const stream of [child.stdout!, child.stderr!]) {
        stream.on('data', (chunk: Buffer) => {
          buffered += chunk.toString('utf8');
          const lines = buffered.split('\n');
          buffered = lines.pop() ?? '';
          lines.forEach(onLine);
        });
      }
      child.once('exit', (code, signal) => reject(new Error(`${this.spec.name} exited (${code ?? signal}) before it was ready:\n${this.logs.slice(-30).join('\n')}`)));
    });
    this.readyPromise.catch(() => undefined);
    return this;
  }

  ready(): Promise<void> {
    if (!this.readyPromise) throw new Error(`${this.spec.name} was never started`);
    return this.readyPromise;
  }

  /** SIGKILL: no shutdown hook runs, in-flight work is abandoned where it stands. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.kills += 1;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  /** A graceful stop (SIGTERM), for the end of a test. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }

  /** Log lines at warn level or above (pino levels 40+), for reports. */
  errors(): string[] {
    return this.logs.filter((l) => /"level":(40|50|60)/.test(l) || /"level":"(warn|error|fatal)"/.test(l));
  }
}
