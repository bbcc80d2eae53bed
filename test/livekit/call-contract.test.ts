// Confirmation calls through the real livekit-server and livekit-sip, calling a SIPp phone, and the
// same scenarios through the simulator: facesign's dial outcome, whether it saw the phone ring, the
// retry time and the attempt accounting must be what the contract says, and identical on both.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../support/api-client.js';
import { CALL_SCENARIOS, CONTRACT_RINGING_TIMEOUT_SECONDS, runCallScenario, TRUNK_FAULT_SCENARIOS, trunkFaults, type CallOutcome, type TrunkFault } from '../support/call-contract.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { ALWAYS_OPEN, losClient } from '../support/verification.js';

const ENV = { ...ALWAYS_OPEN, SIP_RINGING_TIMEOUT_SECONDS: String(CONTRACT_RINGING_TIMEOUT_SECONDS) };

interface Backend {
  name: 'livekit' | 'simulator';
  t: TestApp;
  los: ApiClient;
  setTrunkFault(fault: TrunkFault | undefined): Promise<void>;
  outcomes: Map<string, CallOutcome>;
}

const backends: Backend[] = [];

beforeAll(async () => {
  const real = await startTestApp(ENV, { livekit: 'real' });
  // A tenth of real time: ringing lasts long enough, relative to how often facesign asks, to be seen
  // on a busy machine (at a hundredth, a 5 s ring is 50 ms of HTTP polling).
  const sim = await startTestApp(ENV, { livekit: true, simTimeScale: 0.1 });
  backends.push(
    {
      name: 'livekit',
      t: real,
      los: await losClient(real),
      setTrunkFault: trunkFaults(real, { down: () => real.real!.stopSip(), up: () => real.real!.startSip() }),
      outcomes: new Map(),
    },
    {
      name: 'simulator',
      t: sim,
      los: await losClient(sim),
      setTrunkFault: trunkFaults(sim, {
        down: async () => sim.sim!.control.setSipServiceConnected(false),
        up: async () => sim.sim!.control.setSipServiceConnected(true),
      }),
      outcomes: new Map(),
    },
  );
  console.log(`[call contract] real servers: ${JSON.stringify(real.real!.versions)}`);
});

afterAll(async () => {
  for (const b of backends) await b.t.stop();
});

describe.each(['livekit', 'simulator'] as const)('calls through %s', (name) => {
  const backend = () => backends.find((b) => b.name === name)!;

  it('gives each phone scenario its contracted outcome', async () => {
    const b = backend();
    // All at once, as a floor of agents would dial: one agent and one product per scenario.
    const results = await Promise.all(CALL_SCENARIOS.map((scenario, i) => runCallScenario(b.t, b.los, scenario, `contract-${i}`)));
    CALL_SCENARIOS.forEach((scenario, i) => b.outcomes.set(scenario.name, results[i]!));
    expect(Object.fromEntries(b.outcomes)).toEqual(Object.fromEntries(CALL_SCENARIOS.map((s) => [s.name, s.expected])));
  });

  it('never counts a fault of our own call path against the party', async () => {
    const b = backend();
    for (const [i, scenario] of TRUNK_FAULT_SCENARIOS.entries()) {
      await b.setTrunkFault(scenario.trunk);
      try {
        b.outcomes.set(scenario.name, await runCallScenario(b.t, b.los, scenario, `trunk-${i}`));
      } finally {
        await b.setTrunkFault(undefined);
      }
    }
    const faults = TRUNK_FAULT_SCENARIOS.map((s) => [s.name, b.outcomes.get(s.name)]);
    expect(Object.fromEntries(faults)).toEqual(Object.fromEntries(TRUNK_FAULT_SCENARIOS.map((s) => [s.name, s.expected])));
  });
});

describe('the contract', () => {
  it('holds identically on the real servers and on the simulator', () => {
    const [real, sim] = backends;
    const table = [...CALL_SCENARIOS, ...TRUNK_FAULT_SCENARIOS].map((s) => ({ scenario: s.name, livekit: real!.outcomes.get(s.name), simulator: sim!.outcomes.get(s.name) }));
    console.table(table.map((row) => ({ scenario: row.scenario, livekit: JSON.stringify(row.livekit), simulator: JSON.stringify(row.simulator) })));
    expect(table.every((row) => row.livekit !== undefined)).toBe(true);
    for (const row of table) expect(row.simulator, row.scenario).toEqual(row.livekit);
  });
});
