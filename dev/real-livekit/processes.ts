// Child processes of the real stack: started with their output in a log file, waited on until ready,
// stopped with SIGTERM (then SIGKILL). Free loopback ports for them.
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';

export interface Supervised {
  name: string;
  logFile: string;
  /** The operating-system process id (undefined if it failed to start), for CPU accounting. */
  pid: number | undefined;
  /** Set once the process has exited, with its exit code or signal. */
  exited: string | undefined;
  stop(): Promise<void>;
  /** The last lines the process wrote, for error messages. */
  tail(lines?: number): Promise<string>;
}

export function startProcess(name: string, command: string, args: string[], options: { logFile: string; cwd?: string; env?: NodeJS.ProcessEnv }): Supervised {
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const child: ChildProcess = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const handle: Supervised = {
    name,
    logFile: options.logFile,
    pid: child.pid,
    exited: undefined,
    async stop() {
      if (handle.exited !== undefined) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await gone;
      clearTimeout(killer);
    },
    async tail(lines = 30) {
      const text = await readFile(options.logFile, 'utf8').catch(() => '');
      return text.trimEnd().split('\n').slice(-lines).join('\n');
    },
  };
  // 'exit' can come before the last output is read; the log ends only once both pipes have closed.
  const endLog = () => {
    if (!log.writableEnded) log.end();
  };
  child.once('exit', (code, signal) => {
    handle.exited = signal ?? String(code);
  });
  child.once('close', endLog);
  child.once('error', (error) => {
    handle.exited = `failed to start: ${error.message}`;
    endLog();
  });
  return handle;
}

/** Polls `ready` until it says yes; fails with the process's last output if it exits or times out. */
export async function waitUntilReady(proc: Supervised, ready: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exited !== undefined) throw new Error(`${proc.name} exited (${proc.exited}) before it was ready:\n${await proc.tail()}`);
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${proc.name} was not ready after ${timeoutMs} ms:\n${await proc.tail()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
  return res.ok;
}

async function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}

/**
 * A block of `count` consecutive ports free for TCP and UDP on loopback, below Linux's ephemeral
 * range (32768+) so nothing listening on port 0 takes one meanwhile.
 */
export async function freePortBlock(count: number): Promise<number> {
  for (let tries = 0; tries < 100; tries += 1) {
    const base = 10_000 + Math.floor(Math.random() * (22_000 - count));
    let free = true;
    for (let port = base; port < base + count && free; port += 1) free = (await tcpFree(port)) && (await udpFree(port));
    if (free) return base;
  }
  throw new Error(`no block of ${count} free loopback ports between 10000 and 32000`);
}
