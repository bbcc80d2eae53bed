// LiveKit webhooks misbehave the ways LiveKit documents: dropped, duplicated, reordered, delayed, and
// one arrives after its signature expired. Calls, rooms and recordings still converge, through the
// reconciler polling LiveKit, to what really happened.
import { createHash, createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentBot, until } from './support/agents.js';
import { startCluster, type Cluster } from './support/cluster.js';
import { record } from './support/ledger.js';
import { PRODUCT, scheduleCalls } from './support/sessions.js';

const CALLS = 4;
let cluster: Cluster;
const agents: AgentBot[] = [];

beforeAll(async () => {
  cluster = await startCluster({ apis: 1, workers: 1 });
  // One agent per call: each stays in wrap-up once their call has ended.
  for (let i = 0; i < CALLS; i += 1) agents.push(await AgentBot.online(cluster, cluster.apis[0]!, PRODUCT));
});
afterAll(async () => {
  agents.forEach((a) => a.close());
  await cluster?.stop();
});

/** A LiveKit-style webhook signature whose token expired `agoSeconds` ago. */
function expiredSignature(apiKey: string, apiSecret: string, body: string, agoSeconds: number): string {
  const b64 = (v: string | Buffer) => Buffer.from(v).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const header = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const claims = b64(JSON.stringify({ iss: apiKey, nbf: now - agoSeconds - 300, exp: now - agoSeconds, sha256: createHash('sha256').update(body).digest('base64') }));
  const signature = createHmac('sha256', apiSecret).update(`${header}.${claims}`).digest('base64url');
  return `${header}.${claims}.${signature}`;
}

describe('webhook faults', () => {
  it('converges calls, rooms and recordings through the reconciler', async () => {
    const control = cluster.sim.control;
    control.injectWebhookFault({ action: 'drop', event: 'participant_left', count: 2 });
    control.injectWebhookFault({ action: 'drop', event: 'room_finished', count: 2 });
    control.injectWebhookFault({ action: 'drop', event: 'egress_ended', count: 2 });
    control.injectWebhookFault({ action: 'duplicate', event: '*', count: 8 });
    control.injectWebhookFault({ action: 'reorder', event: 'egress_updated', count: 2 });
    control.injectWebhookFault({ action: 'reorder', event: 'participant_joined', count: 1 });
    control.injectWebhookFault({ action: 'delay', event: 'track_published', count: 2, delaySeconds: 300 });

    // Each party answers at once; calls end at SIP_MAX_CALL_SECONDS (18 real seconds at the simulator's pace).
    const los = await cluster.los(cluster.apis[0]!);
    const calls = await scheduleCalls(los, CALLS, { row: '00' });
    const ids = calls.map((c) => c.sessionId);

    // One more webhook, replayed long after its token expired: refused, and not stored.
    const body = JSON.stringify({ event: 'room_finished', room: { name: 'fs-00000000-0000-4000-8000-000000000000' }, id: 'EV_expired_replay', createdAt: String(Math.floor(Date.now() / 1000) - 900) });
    const late = await fetch(`${cluster.apis[0]!.url}/livekit/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/webhook+json', authorization: expiredSignature(cluster.sim.apiKey, cluster.sim.apiSecret, body, 600) },
      body,
    });

    await until('every conversation to end and every recording to be verified', 240_000, async () => {
      // storage: after lost, duplicated and replayed webhooks, what was stored for every call at once is what this fault test checks
      const sessions = await cluster.db.verificationSession.count({ where: { id: { in: ids }, state: 'WRAP_UP' } });
      const recordings = await cluster.db.recording.count({ where: { attempt: { sessionId: { in: ids } }, state: { in: ['VERIFIED', 'RETAINED'] } } });
      return sessions === CALLS && recordings === CALLS;
    }, 1_000);
    // storage: every attempt's room finished, across all the calls at once
    await until('every attempt room to be finished', 60_000, async () => (await cluster.db.attempt.count({ where: { sessionId: { in: ids }, endedAt: null } })) === 0, 500);

    const deliveries = control.webhookDeliveries();
    const injected = {
      dropped: deliveries.filter((d) => d.status === 'dropped' && d.reason === 'fault').length,
      duplicated: deliveries.filter((d) => d.copy === 2).length,
    };
    // storage: the inbox and the participant rows are what the webhook faults could have corrupted
    const participants = await cluster.db.attemptParticipant.findMany({ where: { attempt: { sessionId: { in: ids } }, kind: 'PARTY' } });
    const stillPresent = participants.filter((p) => p.leftAt === null || (p.joinedAt !== null && p.joinedAt > p.leftAt)).length;
    const unprocessed = await cluster.db.liveKitEvent.count({ where: { processedAt: null } });
    // storage: nothing left unprocessed in the inbox, and the expired replay never stored
    const expiredStored = await cluster.db.liveKitEvent.count({ where: { id: 'EV_expired_replay' } });
    const losses = stillPresent + unprocessed + expiredStored + (late.status === 401 ? 0 : 1);
    console.log(`[reliability] webhook-faults: ${injected.dropped} dropped, ${injected.duplicated} duplicated, 3 reordered, 2 delayed, 1 expired; ${CALLS} calls converged; ${stillPresent} parties still shown present, ${unprocessed} events unprocessed`);
    record('webhook-faults', { scenario: 'LiveKit webhooks', fault: 'dropped', injected: injected.dropped, checked: `${CALLS} calls: conversation ended, room finished, recording verified`, losses: 0 });
    record('webhook-faults', { scenario: 'LiveKit webhooks', fault: 'duplicated', injected: injected.duplicated, checked: 'events applied once', losses: unprocessed });
    record('webhook-faults', { scenario: 'LiveKit webhooks', fault: 'reordered / delayed', injected: 5, checked: 'parties shown as left', losses: stillPresent });
    record('webhook-faults', { scenario: 'LiveKit webhooks', fault: 'delivered after its signature expired', injected: 1, checked: 'refused (401), not stored', losses: expiredStored + (late.status === 401 ? 0 : 1) });

    expect(injected.dropped).toBeGreaterThan(0);
    expect(injected.duplicated).toBeGreaterThan(0);
    expect(late.status).toBe(401);
    expect(losses).toBe(0);
  });
});
