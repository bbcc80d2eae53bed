// The API server is SIGKILLed again and again while an agent walks the checklist: every answer and
// risk flag the server acknowledged must be there afterwards (acknowledged only once stored).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentBot, until } from './support/agents.js';
import { startCluster, type Cluster } from './support/cluster.js';
import { record } from './support/ledger.js';
import { seededRng } from './support/rng.js';
import { PRODUCT, scheduleCalls } from './support/sessions.js';

const KILLS = 10;
let cluster: Cluster;
let agent: AgentBot;

beforeAll(async () => {
  // Long calls: the conversation must outlast the test.
  cluster = await startCluster({ apis: 1, workers: 1, env: { SIP_MAX_CALL_SECONDS: '14400' } });
  agent = await AgentBot.online(cluster, cluster.apis[0]!, PRODUCT);
});
afterAll(async () => {
  agent?.close();
  await cluster?.stop();
});

describe('API server killed mid-checklist', () => {
  it('loses no acknowledged answer or risk flag', async () => {
    const rng = seededRng('server-kills');
    const api = cluster.apis[0]!;
    const los = await cluster.los(api);
    const [call] = await scheduleCalls(los, 1, { row: '00' });
    const sessionId = call!.sessionId;
    // storage: read from the database while the api nodes are being killed
    await until('the call to be answered', 90_000, async () => (await cluster.db.verificationSession.findUniqueOrThrow({ where: { id: sessionId } })).state === 'IN_PROGRESS');
    const checklist = await agent.client.get<{ items: { id: string }[] }>(`/api/sessions/${sessionId}/checklist`);
    const items = checklist.body.items.map((i) => i.id);
    expect(items.length).toBeGreaterThan(5);

    // The agent keeps writing; each write carries a sequence number in its note.
    const ackedAnswer = new Map<string, number>();
    const ackedFlags: number[] = [];
    let seq = 0;
    let refused = 0;
    let writing = true;
    const writer = (async () => {
      while (writing) {
        seq += 1;
        const n = seq;
        try {
          if (n % 5 === 0) {
            const res = await agent.client.post(`/api/sessions/${sessionId}/risk-flags`, { code: 'EVASIVE', severity: 'LOW', note: `seq-${n}` });
            if (res.status === 201) ackedFlags.push(n);
          } else {
            const item = rng.pick(items);
            const res = await agent.client.request('PUT', `/api/sessions/${sessionId}/answers/${item}`, { value: rng.pick(['CONFIRMED', 'UNCLEAR', 'NOT_ASKED']), note: `seq-${n}` });
            if (res.status === 200) ackedAnswer.set(item, n);
          }
        } catch {
          refused += 1; // the server is down: not acknowledged, nothing is owed
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    })();

    for (let k = 0; k < KILLS; k += 1) {
      await new Promise((r) => setTimeout(r, rng.between(300, 2_000)));
      await api.kill();
      api.start();
      await api.ready();
    }
    await new Promise((r) => setTimeout(r, 500));
    writing = false;
    await writer;

    // storage: no acknowledged answer or flag lost across the kills, row for row
    const answers = await cluster.db.checklistAnswer.findMany({ where: { sessionId } });
    const flags = await cluster.db.riskFlag.findMany({ where: { sessionId } });
    const seqOf = (note: string | null) => Number(/^seq-(\d+)$/.exec(note ?? '')?.[1] ?? -1);
    let lost = 0;
    for (const [item, n] of ackedAnswer) {
      const stored = answers.find((a) => a.itemId === item);
      // A later write may have landed without its acknowledgement; an earlier one must not show.
      if (!stored || seqOf(stored.note) < n) lost += 1;
    }
    const storedFlags = new Set(flags.map((f) => seqOf(f.note)));
    lost += ackedFlags.filter((n) => !storedFlags.has(n)).length;
    const acked = ackedAnswer.size + ackedFlags.length;
    console.log(`[reliability] server-kills: ${KILLS} kills, ${seq} writes sent, ${refused} refused while down, ${acked} acknowledged (last per item + flags), ${lost} lost`);
    record('server-kills', { scenario: 'checklist', fault: 'SIGKILL of the API server mid-checklist', injected: api.kills, checked: `${seq} answer/flag writes: acknowledged ones lost`, losses: lost, seed: rng.seed });

    expect(api.kills).toBe(KILLS);
    expect(refused).toBeGreaterThan(0); // the kills really hit the writes
    expect(ackedFlags.length).toBeGreaterThan(0);
    expect(lost).toBe(0);
  });
});
