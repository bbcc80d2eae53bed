// The job registry: every catalog queue gets exactly one handler before a worker starts, and the
// session sweep runs the steps features handed in, in order.
import { describe, expect, it } from 'vitest';
import { jobCatalog, workerPolicy, type JobName } from '../../server/jobs/catalog.js';
import { JobRegistry } from '../../server/jobs/registry.js';

const NAMES = Object.keys(jobCatalog) as JobName[];

function registryWithAllBut(...left: JobName[]): JobRegistry {
  const registry = new JobRegistry();
  for (const name of NAMES) if (!left.includes(name) && name !== 'session-sweep') registry.handle(name, async () => undefined);
  return registry;
}

describe('JobRegistry', () => {
  it('refuses to start workers while a catalog queue has no handler', () => {
    const registry = registryWithAllBut('face-match', 'offer-timeout');
    registry.sweep('sessions', async () => undefined);
    expect(() => registry.handlers()).toThrow('Job queues without a handler: offer-timeout, face-match');
  });

  it('refuses a second handler for a queue', () => {
    const registry = new JobRegistry();
    registry.handle('session-due', async () => undefined);
    expect(() => registry.handle('session-due', async () => undefined)).toThrow('Two handlers for the job queue session-due');
  });

  it('builds the session sweep from the steps features registered, run in order', async () => {
    const registry = registryWithAllBut();
    const ran: string[] = [];
    registry.sweep('sessions', async () => void ran.push('sessions'));
    registry.sweep('recordings', async () => void ran.push('recordings'));
    const handlers = registry.handlers();
    expect(Object.keys(handlers).sort()).toEqual([...NAMES].sort());
    await handlers['session-sweep']({}, { attempt: 1, jobId: 'sweep' });
    expect(ran).toEqual(['sessions', 'recordings']);
  });

  it('has a concurrency for every queue, and paces dials in whole calls', () => {
    const policy = workerPolicy({ automatedCallConcurrency: 3, dialRatePerSecond: 2.5 });
    expect(Object.keys(policy.concurrency).sort()).toEqual([...NAMES].sort());
    expect(policy.concurrency['automated-call']).toBe(3);
    expect(policy.limiter['session-dial']).toEqual({ max: 2, duration: 800 });
    expect(workerPolicy({ automatedCallConcurrency: 1, dialRatePerSecond: 0.5 }).limiter['session-dial']).toEqual({ max: 1, duration: 2000 });
  });
});
