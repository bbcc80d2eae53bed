// 100 SIGKILLs of dispatch workers while two of them work through due confirmation calls: every
// session must be dialled, and no number twice. The LiveKit simulator runs in this process, so it
// survives the kills and counts every call that really went out.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentBot, until } from './support/agents.js';
import { startCluster, type Cluster } from './support/cluster.js';
import { record } from './support/ledger.js';
import type { FacesignNode } from './support/node-process.js';
import { seededRng } from './support/rng.js';
import { PRODUCT, scheduleCalls, type ScheduledCall } from './support/sessions.js';

const KILLS = Number(process.env.RELIABILITY_KILLS ?? 100);
const SESSIONS = 60;
const AGENTS = 6;
let cluster: Cluster;
const agents: AgentBot[] = [];

beforeAll(async () => {
  cluster = await startCluster({ apis: 1, workers: 2 });
  for (let i = 0; i < AGENTS; i += 1) agents.push(await AgentBot.online(cluster, cluster.apis[0]!, PRODUCT));
});
afterAll(async () => {
  agents.forEach((a) => a.close());
  await cluster?.stop();
});

describe('dispatch workers killed at random', () => {
  it(`dials every due session exactly once through ${KILLS} SIGKILLs`, { timeout: 900_000 }, async () => {
    const rng = seededRng('dispatch-kills');
    const los = await cluster.los(cluster.apis[0]!);
    // Busy numbers: each session gets one dial now and a retry ten minutes later, well after the test.
    // The LOS keeps sending work while the workers are being killed.
    const start = Date.now();
    const scheduling = scheduleCalls(los, SESSIONS, { row: '20' });
    let kills = 0;
    let killedDuringBoot = 0;
    const killer = async (worker: FacesignNode) => {
      while (kills < KILLS) {
        // A random point: a quarter of the kills hit a worker still starting up, the rest one that
        // is working through jobs (claiming, dialling, recording outcomes, sweeping).
        const duringStartUp = rng.next() < 0.25;
        const delayMs = duringStartUp ? rng.between(300, 2_000) : rng.between(200, 1_500);
        if (duringStartUp) {
          const booted = await Promise.race([worker.ready().then(() => true, () => false), new Promise<boolean>((r) => setTimeout(() => r(false), delayMs))]);
          if (!booted) killedDuringBoot += 1;
        } else {
          await worker.ready().catch(() => undefined);
          await new Promise((r) => setTimeout(r, delayMs));
        }
        if (kills >= KILLS) break;
        kills += 1;
        await worker.kill();
        worker.start();
      }
    };
    await Promise.all(cluster.workers.map(killer));
    const killPhaseMs = Date.now() - start;
    const calls: ScheduledCall[] = await scheduling;

    // Every scheduled session ends this phase dialled and waiting for its retry.
    await until('every session to be dialled and concluded', 120_000, async () => {
      // storage: every session's stored state after the killed dispatchers, counted at once
      const open = await cluster.db.verificationSession.count({ where: { id: { in: calls.map((c) => c.sessionId) }, state: { not: 'RETRY_PENDING' } } });
      return open === 0;
    }, 1_000).catch(() => undefined);

    const dialled = new Map<string, number>();
    for (const call of cluster.sim.control.state().calls) dialled.set(call.phoneNumber, (dialled.get(call.phoneNumber) ?? 0) + 1);
    const duplicates = calls.reduce((n, c) => n + Math.max(0, (dialled.get(c.phone) ?? 0) - 1), 0);
    const missed = calls.filter((c) => !dialled.has(c.phone)).length;
    // storage: every session's stored state after the kills, read at once
    const sessions = await cluster.db.verificationSession.findMany({ where: { id: { in: calls.map((c) => c.sessionId) } }, select: { id: true, state: true, attemptCount: true } });
    const unresolved = sessions.filter((s) => s.state !== 'RETRY_PENDING');
    const recovered = cluster.workers.flatMap((w) => w.logs).filter((l) => l.includes('interrupted')).length;
    console.log(
      `[reliability] dispatch-kills: ${kills} kills (${killedDuringBoot} during start-up) in ${Math.round(killPhaseMs / 1000)} s, ` +
        `${SESSIONS} sessions, ${[...dialled.values()].reduce((a, b) => a + b, 0)} calls placed, ${duplicates} duplicates, ${missed} missed, ` +
        `${unresolved.length} unresolved, ${recovered} interrupted dials recovered`,
    );
    record('dispatch-kills', { scenario: 'dispatch workers', fault: 'SIGKILL of a dispatch worker (2 running)', injected: kills, checked: `${SESSIONS} due calls: duplicate dials`, losses: duplicates, seed: rng.seed });
    record('dispatch-kills', { scenario: 'dispatch workers', fault: '(same run)', injected: 0, checked: `${SESSIONS} due calls: missed dials`, losses: missed + unresolved.length, seed: rng.seed, note: `${recovered} interrupted dials recovered` });

    if (unresolved.length > 0 || missed > 0) {
      // storage: the stored rows of what went wrong, for the failure message
      const detail = await cluster.db.verificationSession.findMany({
        where: { id: { in: [...unresolved.map((u) => u.id), ...calls.filter((c) => !dialled.has(c.phone)).map((c) => c.sessionId)] } },
        include: { attempts: true, offers: true },
      });
      console.log(JSON.stringify(detail, null, 1));
      console.log(cluster.workers.flatMap((w) => w.errors()).slice(-40).join('\n'));
    }
    expect(kills).toBe(KILLS);
    expect(duplicates).toBe(0);
    expect(missed).toBe(0);
    expect(unresolved).toEqual([]);
    expect(sessions.every((s) => s.attemptCount === 1)).toBe(true);
  });
});
