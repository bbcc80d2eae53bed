// Makes sure the local Postgres and Redis are up on a machine like the project's (Debian packages):
// starts them if installed but not running. Used by the demo launcher; .ci/run does the same in bash.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import net from 'node:net';

export function portOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function waitFor(host: string, port: number, what: string): Promise<void> {
  for (let i = 0; i < 60; i += 1) {
    if (await portOpen(host, port)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not come up on ${host}:${port}`);
}

function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export async function ensurePostgres(host: string, port: number, log: (s: string) => void): Promise<void> {
  if (await portOpen(host, port)) return;
  if (!hasCommand('pg_ctlcluster') || !existsSync('/etc/postgresql')) {
    throw new Error(`PostgreSQL is not reachable on ${host}:${port} and is not installed here; set DATABASE_URL`);
  }
  const version = readdirSync('/etc/postgresql')[0];
  if (!version) throw new Error('no PostgreSQL cluster configured under /etc/postgresql');
  log(`starting PostgreSQL ${version}`);
  execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { stdio: 'inherit' });
  await waitFor(host, port, 'PostgreSQL');
}

export async function ensureRedis(host: string, port: number, log: (s: string) => void): Promise<void> {
  if (await portOpen(host, port)) return;
  if (!hasCommand('redis-server')) throw new Error(`Redis is not reachable on ${host}:${port} and is not installed here; set REDIS_URL`);
  log('starting Redis');
  execFileSync('redis-server', ['--daemonize', 'yes', '--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'], { stdio: 'inherit' });
  await waitFor(host, port, 'Redis');
}
