// Realtime fan-out: 1,000 consoles connected to the /agent namespace (signed in with their session
// cookie), and session changes committed through the session engine; every supervisor console
// receives every `session:changed`. Latency runs from the moment the change is asked for (so it
// includes its transaction) to its arrival at each socket. Baseline: a bare socket.io server
// broadcasting the same event to the same number of clients, timed from the emit. Clients run in
// their own process.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Server } from 'socket.io';
import { serverErrors, startStack } from './support/stack.js';
import { startClients } from './support/clients.js';
import { bulkCallSessions } from './support/sessions.js';
import type { BenchResult } from './support/report.js';
import { loadContext, nowMs, percentile, round, sleep } from './support/stats.js';

export interface RealtimeBenchOptions {
  sockets: number;
  changes: number;
}

function latencies(sent: Map<string, number>, received: Record<string, number[]>): { samples: number[]; delivered: number } {
  const samples: number[] = [];
  for (const [key, t0] of sent) for (const t of received[key] ?? []) samples.push(t - t0);
  return { samples, delivered: samples.length };
}

async function rawBroadcast(options: RealtimeBenchOptions, gapMs: number): Promise<{ p50: number; p99: number; max: number; delivered: number }> {
  const server = createServer();
  const io = new Server(server, { serveClient: false });
  const agents = io.of('/agent');
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clients = startClients();
  try {
    await clients.connect({ url, namespace: '/agent', count: options.sockets, event: 'session:changed' });
    const sent = new Map<string, number>();
    const sessionId = randomUUID();
    for (let i = 1; i <= options.changes; i += 1) {
      sent.set(`${sessionId}:${i}`, nowMs());
      agents.emit('session:changed', { v: 1, sessionId, state: 'SCHEDULED', version: i });
      await sleep(gapMs);
    }
    await sleep(1000);
    const { samples, delivered } = latencies(sent, (await clients.report()).received);
    return { p50: round(percentile(samples, 50), 2), p99: round(percentile(samples, 99), 2), max: round(Math.max(...samples), 2), delivered };
  } finally {
    clients.close();
    await new Promise<void>((resolve) => void io.close(() => resolve()));
  }
}

export async function realtimeBench(options: RealtimeBenchOptions): Promise<BenchResult> {
  const before = loadContext();
  const gapMs = 100;
  console.log(`  baseline: bare socket.io, ${options.sockets} clients, ${options.changes} broadcasts`);
  const raw = await rawBroadcast(options, gapMs);
  const stack = await startStack();
  const clients = startClients();
  try {
    const consoles = await stack.users(options.sockets, { roles: ['SUPERVISOR'] });
    const { sessionIds } = await bulkCallSessions(stack.facesign.db, { count: options.changes, state: 'SCHEDULED', notBefore: new Date(Date.now() + 86_400_000), phoneE164: '+8613805550100', product: 'bench-loan' });
    console.log(`  facesign: connecting ${options.sockets} consoles to /agent`);
    const connected = await clients.connect({ url: stack.url, namespace: '/agent', count: options.sockets, cookies: consoles.map((c) => c.cookie), event: 'session:changed' });
    if (connected !== options.sockets) throw new Error(`only ${connected} of ${options.sockets} sockets connected`);
    console.log(`  facesign: ${options.changes} session changes through the session engine`);
    const sent = new Map<string, number>();
    const applyMs: number[] = [];
    const engine = stack.facesign.verification.engine;
    for (const [i, sessionId] of sessionIds.entries()) {
      const t0 = nowMs();
      const applied = await engine.apply(sessionId, { type: 'RESCHEDULED', notBefore: new Date(Date.now() + 2 * 86_400_000 + i * 1000) }, { actor: { type: 'USER', id: consoles[0]!.id } });
      applyMs.push(nowMs() - t0);
      sent.set(`${sessionId}:${applied.session.version}`, t0);
      await sleep(gapMs);
    }
    await sleep(1000);
    const { samples, delivered } = latencies(sent, (await clients.report()).received);
    const p99 = percentile(samples, 99);
    const expected = options.sockets * options.changes;
    return {
      name: 'realtime fan-out',
      setup: `${options.sockets} supervisor consoles on /agent (cookie handshake, Redis adapter), ${options.changes} session changes ${gapMs} ms apart, each delivered to every console; clients in their own process`,
      facesign: { p99Ms: round(p99, 2), p50Ms: round(percentile(samples, 50), 2), maxMs: round(Math.max(...samples), 2), delivered, expected, applyP50Ms: round(percentile(applyMs, 50), 2) },
      baseline: { what: 'bare socket.io server broadcasting to the same number of clients (from the emit)', p99Ms: raw.p99, p50Ms: raw.p50, maxMs: raw.max, delivered: raw.delivered },
      ratio: { value: round(p99 / Math.max(0.01, raw.p99), 2), of: 'facesign p99 (from the change request) ÷ bare broadcast p99 (lower is better)' },
      target: { text: 'p99 < 100 ms', met: p99 < 100 && delivered === expected },
      load: { before, after: loadContext() },
      notes: serverErrors(stack.errors),
    };
  } finally {
    clients.close();
    await stack.stop();
  }
}
