// Confirmation calls through the real livekit-server and livekit-sip, calling a SIPp phone, and the
// same scenarios through the simulator: facesign's dial outcome, whether it saw the phone ring, the
// retry time and the attempt accounting must be what the contract says, and identical on both.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '../support/api-client.js';
import { botIdentity } from '../../server/automated-calls/call-room.js';
import { listenToBot } from '../support/bot-listener.js';
import {
  AUTOMATED_SCENARIOS,
  CALL_SCENARIOS,
  CONTRACT_RINGING_TIMEOUT_SECONDS,
  runAutomatedScenario,
  runCallScenario,
  TRUNK_FAULT_SCENARIOS,
  trunkFaults,
  type AutomatedOutcome,
  type CallOutcome,
  type TrunkFault,
} from '../support/call-contract.js';
import { eventually } from '../support/fixtures.js';
import { startTestApp, type TestApp } from '../support/harness.js';
import { ALWAYS_OPEN, losClient } from '../support/verification.js';

const ENV = { ...ALWAYS_OPEN, SIP_RINGING_TIMEOUT_SECONDS: String(CONTRACT_RINGING_TIMEOUT_SECONDS) };

interface Backend {
  name: 'livekit' | 'simulator';
  t: TestApp;
  los: ApiClient;
  setTrunkFault(fault: TrunkFault | undefined): Promise<void>;
  outcomes: Map<string, CallOutcome>;
  automated: Map<string, AutomatedOutcome>;
  /** Where the automated scenarios run: the same app, or (simulator) one in real time, see below. */
  automatedT: TestApp;
  automatedLos: ApiClient;
  /** Whether the automated call's participant played sound into the room (the real room is listened to). */
  botSpoke(roomName: string, attemptId: string, answered: () => Promise<boolean>): Promise<boolean>;
}

const BOT_HEARD_WITHIN_MS = 90_000;

const backends: Backend[] = [];

beforeAll(async () => {
  const real = await startTestApp(ENV, { livekit: 'real' });
  // A tenth of real time: ringing lasts long enough, relative to how often facesign asks, to be seen
  // on a busy machine (at a hundredth, a 5 s ring is 50 ms of HTTP polling).
  const sim = await startTestApp(ENV, { livekit: true, simTimeScale: 0.1 });
  // Automated calls run in real time on the simulator: the bot's own work (text to speech, database
  // writes) takes real seconds that a scaled clock would stretch, and the party's keys and hang-up would
  // come early relative to it.
  const simRealTime = await startTestApp(ENV, { livekit: true, simTimeScale: 1 });
  backends.push(
    {
      name: 'livekit',
      t: real,
      los: await losClient(real),
      setTrunkFault: trunkFaults(real, { down: () => real.real!.stopSip(), up: () => real.real!.startSip() }),
      outcomes: new Map(),
      automated: new Map(),
      automatedT: real,
      automatedLos: await losClient(real),
      async botSpoke(roomName, attemptId, answered) {
        // Join once the call is up (a join token for a room that does not exist yet would create it).
        await eventually(async () => (await answered()) || undefined, 100);
        const listener = await listenToBot(real.real!, roomName, attemptId);
        try {
          const until = Date.now() + BOT_HEARD_WITHIN_MS;
          while (Date.now() < until && !(listener.heard.frames > 50 && listener.heard.maxRms > 0.02)) await new Promise((r) => setTimeout(r, 200));
          return listener.heard.frames > 50 && listener.heard.maxRms > 0.02;
        } finally {
          await listener.leave();
        }
      },
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
      automated: new Map(),
      automatedT: simRealTime,
      automatedLos: await losClient(simRealTime),
      async botSpoke(roomName, attemptId) {
        const until = Date.now() + BOT_HEARD_WITHIN_MS;
        const played = () => simRealTime.sim!.control.audioPlayed(roomName)[botIdentity(attemptId)];
        while (Date.now() < until && !((played()?.seconds ?? 0) > 1 && (played()?.maxRms ?? 0) > 0.02)) await new Promise((r) => setTimeout(r, 50));
        return (played()?.seconds ?? 0) > 1 && (played()?.maxRms ?? 0) > 0.02;
      },
    },
  );
  console.log(`[call contract] real servers: ${JSON.stringify(real.real!.versions)}`);
});

afterAll(async () => {
  for (const b of backends) {
    await b.t.stop();
    if (b.automatedT !== b.t) await b.automatedT.stop();
  }
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

describe.each(['livekit', 'simulator'] as const)('automated calls through %s', (name) => {
  // The full pass speaks every item in real time: about two minutes on a quiet machine.
  it('run the script on the keypad and hand every other ending to a person', { timeout: 300_000 }, async () => {
    const b = backends.find((x) => x.name === name)!;
    try {
      const results = await Promise.all(AUTOMATED_SCENARIOS.map((scenario, i) => runAutomatedScenario(b.automatedT, b.automatedLos, scenario, `automated-${i}`, (room, attemptId, answered) => b.botSpoke(room, attemptId, answered))));
      AUTOMATED_SCENARIOS.forEach((scenario, i) => b.automated.set(scenario.name, results[i]!));
    } finally {
      // What the automated calls' worker did, for a run that did not finish.
      if (b.automated.size < AUTOMATED_SCENARIOS.length) console.log(b.automatedT.logs.filter((line) => /automated call|"level":(40|50)|"level":"(warn|error)"/.test(line)).join('\n'));
    }
    expect(Object.fromEntries(b.automated)).toEqual(Object.fromEntries(AUTOMATED_SCENARIOS.map((s) => [s.name, s.expected])));
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

  it('holds identically for automated calls', () => {
    const [real, sim] = backends;
    for (const s of AUTOMATED_SCENARIOS) {
      expect(real!.automated.get(s.name), s.name).toBeDefined();
      expect(sim!.automated.get(s.name), s.name).toEqual(real!.automated.get(s.name));
    }
  });
});
