// The answers benchmark's load generator (bench/support/closed-loop.ts) speaks HTTP/1.1 on raw sockets
// to stay cheap, so its reading of responses is checked here against Node's own server: sizes given by
// Content-Length and by chunks, a server that closes the connection after each answer, and a slow one.
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClosedLoopReport } from '../../bench/support/closed-loop.js';

// Far above a loopback answer even on a busy machine, so fast and slow answers cannot be confused.
const SLOW_MS = 250;
const received: { path: string; body: unknown; header: string | undefined; socket: number }[] = [];
const sockets = new Map<unknown, number>();

function answer(req: IncomingMessage, res: ServerResponse, body: string): void {
  if (!sockets.has(req.socket)) sockets.set(req.socket, sockets.size);
  received.push({ path: req.url ?? '', body: JSON.parse(body), header: req.headers['x-agent'] as string | undefined, socket: sockets.get(req.socket)! });
  if (req.url === '/chunked') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"part":');
    setTimeout(() => res.end('1}'), 5);
  } else if (req.url === '/close') {
    res.writeHead(409, { connection: 'close', 'content-type': 'application/problem+json', 'content-length': 2 });
    res.end('{}');
  } else if (req.url === '/slow') {
    setTimeout(() => res.writeHead(200, { 'content-length': 0 }).end(), SLOW_MS);
  } else {
    // Larger than one read: the size comes from Content-Length.
    const payload = JSON.stringify({ stored: true, padding: 'x'.repeat(200_000) });
    res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }).end(payload);
  }
}

const server = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => answer(req, res, body));
});
let dir: string;
let url: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'facesign-closed-loop-'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

function runLoad(spec: object): Promise<ClosedLoopReport> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/support/closed-loop.ts', JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!) as ClosedLoopReport) : reject(new Error(`exit ${code}`))));
  });
}

describe('closed-loop load generator', () => {
  it('reads every kind of response, counts statuses, times requests and keeps one connection per client', async () => {
    const paths = ['/ok', '/chunked', '/close', '/slow'];
    const lines = paths.map((path, group) => JSON.stringify({ group, method: 'PUT', path, body: JSON.stringify({ group, note: '确认 — confirmed' }), headers: { 'content-type': 'application/json', 'x-agent': `agent-${group}` } }));
    const file = join(dir, 'requests.jsonl');
    await writeFile(file, `${lines.join('\n')}\n`);

    const report = await runLoad({ url, requestsFile: file, perClient: 5, warmup: 1 });

    expect(report.clients).toBe(4);
    expect(report.requests).toBe(20);
    expect(report.errors).toBe(0);
    expect(report.statuses).toEqual({ 200: 10, 201: 5, 409: 5 });
    expect(report.latencyMs.max).toBeGreaterThanOrEqual(SLOW_MS);
    expect(report.latencyMs.p50).toBeLessThan(SLOW_MS);
    expect(report.cpuMsPerRequest).toBeGreaterThan(0);
    // Warm-up requests reach the server too; each arrived whole, with its client's headers.
    expect(received).toHaveLength(24);
    for (const r of received) {
      const group = paths.indexOf(r.path);
      expect(r.body).toEqual({ group, note: '确认 — confirmed' });
      expect(r.header).toBe(`agent-${group}`);
    }
    // Keep-alive: one connection per client, except the one the server closes every time.
    const socketsOf = (path: string) => new Set(received.filter((r) => r.path === path).map((r) => r.socket)).size;
    expect(socketsOf('/ok')).toBe(1);
    expect(socketsOf('/chunked')).toBe(1);
    expect(socketsOf('/slow')).toBe(1);
    expect(socketsOf('/close')).toBe(6);
  });
});
