// Two API nodes and two worker nodes on one PostgreSQL and one Redis: a change made through one node
// reaches sockets connected to the other (socket.io Redis adapter), offers raised by workers reach
// agents on both API nodes, LiveKit webhooks posted to both nodes are applied once, and every due
// call is dialled exactly once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentBot, inBatches, until } from './support/agents.js';
import { startCluster, type Cluster } from './support/cluster.js';
import { record } from './support/ledger.js';
import { PRODUCT, scheduleCalls } from './support/sessions.js';

const CALLS = 40;
let cluster: Cluster;
const agents: AgentBot[] = [];
let supervisor: AgentBot;

beforeAll(async () => {
  cluster = await startCluster({ apis: 2, workers: 2 });
  const [api1, api2] = cluster.apis as [typeof cluster.apis[number], typeof cluster.apis[number]];
  for (let i = 0; i < 6; i += 1) agents.push(await AgentBot.online(cluster, i % 2 === 0 ? api1 : api2, PRODUCT));
  supervisor = await AgentBot.supervisor(cluster, api2);
});
afterAll(async () => {
  agents.forEach((a) => a.close());
  supervisor?.close();
  await cluster?.stop();
});

/** Waits until the simulator has finished posting every webhook emitted so far, failing after `ms`. */
async function settledWithin(c: Cluster, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`LiveKit webhooks still queued after ${ms} ms`)), ms);
  });
  try {
    await Promise.race([c.sim.control.settled(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};

describe('two API nodes and two workers', () => {
  it('delivers a change made on one node to a socket on the other', async () => {
    const [api1] = cluster.apis;
    const los = await cluster.los(api1!);
    const later = new Date(Date.now() + 24 * 3600_000);
    const sessions = await scheduleCalls(los, 20, { row: '00', notBefore: () => later, offset: 5000 });
    const latencies: number[] = [];
    await inBatches(sessions, 1, async ({ sessionId }) => {
      const sent = Date.now();
      const res = await los.post(`/api/sessions/${sessionId}/cancel`, { reason: 'multi-node test' });
      expect(res.status).toBe(200);
      await until(`session:changed for ${sessionId} on the other node`, 10_000, async () =>
        supervisor.events.find((e) => e.event === 'session:changed' && e.payload.sessionId === sessionId && e.payload.state === 'CANCELLED'), 5);
      const seen = supervisor.events.find((e) => e.event === 'session:changed' && e.payload.sessionId === sessionId && e.payload.state === 'CANCELLED')!;
      latencies.push(seen.at - sent);
    });
    console.log(`[reliability] multi-node: cancel on api-1 -> supervisor socket on api-2, ${latencies.length} events, p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms (HTTP round trip included)`);
    expect(latencies).toHaveLength(sessions.length);
  });

  it('dials every due call exactly once with offers, accepts and webhooks spread over all nodes', async () => {
    const [api1, api2] = cluster.apis;
    const los1 = await cluster.los(api1!);
    const los2 = await cluster.los(api2!);
    const half = CALLS / 2;
    const calls = [...(await scheduleCalls(los1, half, { row: '20' })), ...(await scheduleCalls(los2, half, { row: '20', offset: half }))];
    await until('every call to be dialled and concluded', 180_000, async () =>
      // storage: every call across the nodes, counted at once
      (await cluster.db.verificationSession.count({ where: { id: { in: calls.map((c) => c.sessionId) }, state: { not: 'RETRY_PENDING' } } })) === 0, 500);

    const dialled = new Map<string, number>();
    for (const call of cluster.sim.control.state().calls) dialled.set(call.phoneNumber, (dialled.get(call.phoneNumber) ?? 0) + 1);
    const duplicates = calls.reduce((n, c) => n + Math.max(0, (dialled.get(c.phone) ?? 0) - 1), 0);
    const missed = calls.filter((c) => !dialled.has(c.phone)).length;
    // storage: one dial per attempt across the nodes, and each event stored once, are what this test checks
    const attempts = await cluster.db.attempt.findMany({ where: { sessionId: { in: calls.map((c) => c.sessionId) } }, select: { dialClaimedAt: true } });
    const claims = attempts.map((a) => a.dialClaimedAt!.getTime()).sort((a, b) => a - b);
    const spanS = (claims[claims.length - 1]! - claims[0]!) / 1000;
    // Offers went out from the workers to agents on both API nodes, and each accept went through the agent's own node.
    const acceptsByNode = [0, 1].map((node) => agents.filter((_, i) => i % 2 === node).reduce((n, a) => n + a.accepted.size, 0));
    // LiveKit posted every webhook to both API nodes; each event was stored once. Each node has its own
    // delivery queue, and the slower node's may still be behind when the last call ends: wait for both.
    await settledWithin(cluster, 60_000);
    const all = cluster.sim.control.webhookDeliveries();
    const deliveries = all.filter((d) => d.status === 'delivered');
    const deliveredIds = new Set(deliveries.map((d) => d.id));
    // storage: each delivered webhook stored once in the inbox, whichever node received it
    const storedIds = new Set((await cluster.db.liveKitEvent.findMany({ select: { id: true } })).map((e) => e.id));
    const stored = storedIds.size;
    console.log(
      `[reliability] multi-node: ${CALLS} calls, ${duplicates} duplicate and ${missed} missed dials; accepts via api-1/api-2 ${acceptsByNode.join('/')}; ` +
        `${claims.length} dials in ${spanS.toFixed(1)} s with 6 agents; ${deliveries.length} webhook deliveries -> ${stored} stored events`,
    );
    record('multi-node', { scenario: 'multi-node (2 API + 2 workers)', fault: 'none: work spread over nodes', injected: 0, checked: `${CALLS} due calls: duplicate or missed dials`, losses: duplicates + missed });

    expect(duplicates).toBe(0);
    expect(missed).toBe(0);
    expect(acceptsByNode.every((n) => n > 0)).toBe(true);
    expect([...deliveredIds].filter((id) => !storedIds.has(id))).toEqual([]);
    // Every node took every webhook the first time: nothing refused, nothing answered with an error
    // that made LiveKit retry (two nodes storing the same events at once must not trip over each other).
    expect(all.filter((d) => d.status === 'failed' || d.status === 'rejected' || d.attempts > 1 || (d.httpStatus ?? 200) >= 300)).toEqual([]);
    // Every event reached both nodes, and each was kept once. (The log was read as the queues settled,
    // before any further post could finish, so an event delivered to one node was delivered to both.)
    const oneNodeOnly = [...deliveredIds].filter((id) => new Set(deliveries.filter((d) => d.id === id).map((d) => d.url)).size !== 2);
    expect(oneNodeOnly).toEqual([]);
  });
});
