// Webhook ingest: signed LiveKit webhooks per second through POST /livekit/webhook (verify the JWT and
// body hash, store once in the inbox, enqueue the processing job), with latency percentiles, against an
// empty express route on the same machine. The load generator (autocannon) runs in its own process.
// The server under load is an API node (FACESIGN_ROLES=api), as ingest is deployed when it matters;
// afterwards a worker node drains the queue, and how fast it processes the events is reported too.
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { AccessToken, WebhookEvent } from 'livekit-server-sdk';
import { serverErrors, startStack } from './support/stack.js';
import { runJsonChild } from './support/child.js';
import type { LoadReport, LoadSpec } from './support/http-load.js';
import type { BenchResult } from './support/report.js';
import { loadContext, round } from './support/stats.js';

export interface WebhookBenchOptions {
  durationSeconds: number;
  connections: number;
}

export async function signedPool(count: number, apiKey: string, apiSecret: string, file: string): Promise<void> {
  const lines: string[] = [];
  const now = Math.floor(Date.now() / 1000);
  for (let i = 0; i < count; i += 1) {
    // Events for rooms facesign does not know: the processing job finds nothing to change.
    const event = WebhookEvent.fromJson({
      event: i % 2 === 0 ? 'participant_joined' : 'participant_left',
      id: `EV_bench_${i}_${Math.random().toString(36).slice(2, 10)}`,
      createdAt: String(now),
      room: { name: `fs-${crypto.randomUUID()}`, sid: `RM_bench${i}` },
      participant: { sid: `PA_bench${i}`, identity: `party-${i}`, state: i % 2 === 0 ? 'ACTIVE' : 'DISCONNECTED' },
    });
    const body = JSON.stringify(event.toJson());
    const token = new AccessToken(apiKey, apiSecret, { ttl: '10m' });
    token.sha256 = createHash('sha256').update(body).digest('base64');
    lines.push(JSON.stringify({ body, headers: { 'content-type': 'application/webhook+json', authorization: await token.toJwt() } }));
  }
  await writeFile(file, `${lines.join('\n')}\n`);
}

async function emptyExpressRoute(): Promise<{ url: string; stop(): Promise<void> }> {
  const app = express();
  app.post('/hook', express.text({ type: ['application/webhook+json', 'application/json'], limit: '1mb' }), (_req, res) => {
    res.status(200).type('application/json').send('{"received":true}');
  });
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, stop: () => new Promise((resolve) => server.close(() => resolve())) };
}

export async function webhookBench(options: WebhookBenchOptions): Promise<BenchResult> {
  const before = loadContext();
  const dir = await mkdtemp(join(tmpdir(), 'facesign-bench-webhooks-'));
  const stack = await startStack({ env: { FACESIGN_ROLES: 'api' } });
  const baseline = await emptyExpressRoute();
  try {
    // Enough distinct events for the whole run at 6,000/s; beyond that they repeat (the dedupe path).
    const poolFile = join(dir, 'webhooks.jsonl');
    const count = Math.max(5_000, options.durationSeconds * 6_000);
    console.log(`  signing ${count} webhooks`);
    await signedPool(count, stack.sim.apiKey, stack.sim.apiSecret, poolFile);
    const load = (spec: Omit<LoadSpec, 'connections' | 'durationSeconds'>) =>
      runJsonChild<LoadReport>('bench/support/http-load.ts', [JSON.stringify({ ...spec, connections: options.connections, durationSeconds: options.durationSeconds })]);

    console.log(`  baseline: empty express route, ${options.connections} connections, ${options.durationSeconds} s`);
    const one = JSON.parse(readFileSync(poolFile, 'utf8').split('\n')[0]!) as { body: string; headers: Record<string, string> };
    const raw = await load({ url: baseline.url, path: '/hook', body: one.body, headers: one.headers });
    console.log(`  facesign: POST /livekit/webhook, ${options.connections} connections, ${options.durationSeconds} s`);
    const cpuBefore = process.cpuUsage();
    const fs = await load({ url: stack.url, path: '/livekit/webhook', requestsFile: poolFile });
    const cpu = process.cpuUsage(cpuBefore);
    const stored = await stack.facesign.db.liveKitEvent.count();
    console.log(`  draining: a worker node processes the ${stored} stored events`);
    const drainStart = performance.now();
    await stack.workerNode();
    for (;;) {
      const open = await stack.facesign.db.liveKitEvent.count({ where: { processedAt: null } });
      if (open === 0 || performance.now() - drainStart > 600_000) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const drainSeconds = (performance.now() - drainStart) / 1000;
    const unprocessed = await stack.facesign.db.liveKitEvent.count({ where: { processedAt: null } });
    const target = fs.perSecond >= 2000 && fs.latencyMs.p99 < 20 && fs.non2xx === 0 && fs.errors === 0;
    return {
      name: 'webhook ingest',
      setup: `autocannon (own process), ${options.connections} connections for ${options.durationSeconds} s; distinct signed events, verify + store + enqueue on an API node; then a worker node drains the queue`,
      facesign: {
        perSecond: round(fs.perSecond, 0),
        p50Ms: fs.latencyMs.p50,
        p99Ms: fs.latencyMs.p99,
        maxMs: fs.latencyMs.max,
        requests: fs.requests,
        non2xx: fs.non2xx,
        errors: fs.errors + fs.timeouts,
        eventsStored: stored,
        serverCpuMsPerWebhook: round((cpu.user + cpu.system) / 1000 / Math.max(1, fs.requests), 2),
        drainedPerSecond: round(stored / drainSeconds, 0),
        leftUnprocessed: unprocessed,
      },
      baseline: { what: 'empty express route (express.text body parser) on the same machine', perSecond: round(raw.perSecond, 0), p50Ms: raw.latencyMs.p50, p99Ms: raw.latencyMs.p99, requests: raw.requests },
      ratio: { value: round(fs.perSecond / raw.perSecond, 3), of: 'facesign webhooks/s ÷ empty route requests/s' },
      target: { text: '≥ 2,000/s with p99 < 20 ms', met: target },
      load: { before, after: loadContext() },
      notes: ['server CPU per webhook is the API node\'s (ingest only); processing is drainedPerSecond, measured after the load on a worker node', ...serverErrors(stack.errors)],
    };
  } finally {
    await baseline.stop();
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
