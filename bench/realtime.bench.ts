// Realtime fan-out: 1,000 consoles connected to the /agent namespace (signed in with their session
// cookie), and session changes committed through the session engine; every supervisor console
// receives every `session:changed`. Latency runs from the moment the change is asked for (so it
// includes its transaction) to its arrival at each socket. Baseline: a bare socket.io server
// broadcasting the same event to the same number of clients, timed from the emit. Clients run in
// their own process. Then the same fan-out caused by LiveKit: signed `participant_joined` webhooks
// (a phone ringing) through the webhook route, the events queue and the session engine, timed from
// the webhook's send to its arrival at every console (the LiveKit event lag for socket fan-out).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Server } from 'socket.io';
import { serverErrors, startStack } from './support/stack.js';
import { startClients } from './support/clients.js';
import { bulkCallSessions } from './support/sessions.js';
import type { BenchResult } from './support/report.js';
import { loadContext, nowMs, percentile, round, sleep } from './support/stats.js';
import { watchEventLag } from './support/event-lag.js';
import { sipPartyIdentity } from '../server/livekit/identities.js';
import { signWebhook } from '../test/support/webhooks.js';

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

    // The same fan-out caused by LiveKit: a webhook says the borrower's phone is ringing, facesign
    // applies it (RINGING) and every console hears of it. Timed from the webhook's send.
    console.log(`  facesign: ${options.changes} LiveKit webhooks (phone ringing) fanned out to the consoles`);
    const calls = await bulkCallSessions(stack.facesign.db, { count: options.changes, state: 'DISPATCHING', notBefore: new Date(), phoneE164: '+8613805550100', product: 'bench-loan', withAttempt: true });
    const attempts = await stack.facesign.db.attempt.findMany({ where: { sessionId: { in: calls.sessionIds } }, select: { id: true, roomName: true, session: { select: { id: true, version: true } } } });
    const lagWatch = watchEventLag(stack.facesign);
    const webhookSent = new Map<string, number>();
    for (const [i, attempt] of attempts.entries()) {
      const identity = sipPartyIdentity(attempt.id);
      const body = JSON.stringify({
        event: 'participant_joined',
        id: `EV_bench_ringing_${i}_${randomUUID().slice(0, 8)}`,
        createdAt: String(Math.floor(Date.now() / 1000)),
        room: { name: attempt.roomName, sid: `RM_${i}` },
        participant: { sid: `PA_${i}`, identity, kind: 'SIP', state: 'ACTIVE', joinedAt: String(Math.floor(Date.now() / 1000)), attributes: { 'sip.callStatus': 'ringing' } },
      });
      const authorization = await signWebhook(body, stack.sim.apiKey, stack.sim.apiSecret);
      const t0 = nowMs();
      const res = await fetch(`${stack.url}/livekit/webhook`, { method: 'POST', headers: { 'content-type': 'application/webhook+json', authorization }, body });
      if (res.status !== 200) throw new Error(`the webhook was answered ${res.status}: ${await res.text()}`);
      webhookSent.set(`${attempt.session.id}:${attempt.session.version + 1}`, t0);
      await sleep(gapMs);
    }
    await sleep(1000);
    lagWatch.stop();
    const fromWebhook = latencies(webhookSent, (await clients.report()).received);
    const webhookP99 = percentile(fromWebhook.samples, 99);
    const serverLag = (stage: 'applied' | 'delivered') => lagWatch.samples.filter((x) => x.stage === stage).map((x) => x.at - x.receivedAt);
    return {
      name: 'realtime fan-out',
      setup: `${options.sockets} supervisor consoles on /agent (cookie handshake, Redis adapter), ${options.changes} session changes ${gapMs} ms apart, each delivered to every console; clients in their own process`,
      facesign: {
        p99Ms: round(p99, 2),
        p50Ms: round(percentile(samples, 50), 2),
        maxMs: round(Math.max(...samples), 2),
        delivered,
        expected,
        applyP50Ms: round(percentile(applyMs, 50), 2),
        webhookToSocketP50Ms: round(percentile(fromWebhook.samples, 50), 2),
        webhookToSocketP99Ms: round(webhookP99, 2),
        webhookDelivered: fromWebhook.delivered,
        eventLagAppliedP99Ms: round(percentile(serverLag('applied'), 99), 2),
        eventLagDeliveredP99Ms: round(percentile(serverLag('delivered'), 99), 2),
      },
      baseline: { what: 'bare socket.io server broadcasting to the same number of clients (from the emit)', p99Ms: raw.p99, p50Ms: raw.p50, maxMs: raw.max, delivered: raw.delivered },
      ratio: { value: round(p99 / Math.max(0.01, raw.p99), 2), of: 'facesign p99 (from the change request) ÷ bare broadcast p99 (lower is better)' },
      target: { text: 'p99 < 100 ms', met: p99 < 100 && delivered === expected },
      more: [
        {
          figure: `LiveKit webhook to every console p50/p99 ${round(percentile(fromWebhook.samples, 50), 1)}/${round(webhookP99, 1)} ms (${fromWebhook.delivered} of ${expected} delivered); in the server, arrival to applied p99 ${round(percentile(serverLag('applied'), 99), 1)} ms, to emitted p99 ${round(percentile(serverLag('delivered'), 99), 1)} ms`,
          target: { text: 'event lag p99 < 1000 ms, every console told', met: webhookP99 < 1000 && fromWebhook.delivered === expected },
        },
      ],
      load: { before, after: loadContext() },
      notes: serverErrors(stack.errors),
    };
  } finally {
    clients.close();
    await stack.stop();
  }
}
