// Where features hand in their job handlers, the steps of the session sweep and their repeating
// jobs, while main.ts composes them. The worker starts from `handlers()`, which refuses a catalog
// queue with no handler (a feature forgot to register) as loudly as one registered twice.
import type { Logger } from '../logging.js';
import { jobCatalog, type JobHandlers, type JobName, type JobPayload } from './catalog.js';
import type { JobQueues } from './queues.js';

export type JobHandler<N extends JobName> = (payload: JobPayload<N>, meta: { attempt: number; jobId: string }) => Promise<void>;

/** One feature's part of the periodic session sweep: re-queue the work whose job was lost. */
export type SweepStep = (now: Date) => Promise<void>;

/** The queues whose payload is empty: those a scheduler can queue on its own. */
export type RepeatingJobName = { [N in JobName]: Record<string, never> extends JobPayload<N> ? N : never }[JobName];

interface Repeating {
  name: RepeatingJobName;
  everyMs: number;
}

export class JobRegistry {
  private readonly registered = new Map<JobName, JobHandler<JobName>>();
  private readonly sweepSteps: { name: string; step: SweepStep }[] = [];
  private readonly repeating: Repeating[] = [];

  handle<N extends JobName>(name: N, handler: JobHandler<N>): void {
    if (this.registered.has(name)) throw new Error(`Two handlers for the job queue ${name}`);
    this.registered.set(name, handler as unknown as JobHandler<JobName>);
  }

  /** Adds a step to the 'session-sweep' job; steps run in registration order. */
  sweep(name: string, step: SweepStep): void {
    this.sweepSteps.push({ name, step });
  }

  /** A job queued every `everyMs` by the scheduler (once per cluster, whatever the number of nodes). */
  repeat(name: RepeatingJobName, everyMs: number): void {
    this.repeating.push({ name, everyMs });
  }

  /** The handler of every catalog queue; throws naming the queues that have none. */
  handlers(): JobHandlers {
    if (!this.registered.has('session-sweep') && this.sweepSteps.length > 0) {
      const steps = [...this.sweepSteps];
      this.handle('session-sweep', async () => {
        const now = new Date();
        for (const { step } of steps) await step(now);
      });
    }
    const missing = (Object.keys(jobCatalog) as JobName[]).filter((name) => !this.registered.has(name));
    if (missing.length > 0) throw new Error(`Job queues without a handler: ${missing.join(', ')}`);
    return Object.fromEntries(this.registered) as unknown as JobHandlers;
  }

  /**
   * Schedules the repeating jobs, and keeps them scheduled: Redis may come back empty (no
   * persistence, failover), and the sweeps that repair lost jobs must not be lost with them. Checked
   * as often as the sweep runs, within 5 s to 1 min.
   */
  async keepScheduled(queues: JobQueues, log: Logger, sweepIntervalMs: number): Promise<NodeJS.Timeout> {
    const recheckMs = Math.min(60_000, Math.max(5_000, sweepIntervalMs));
    const ensure = async (initial: boolean) => {
      const outcomes = await Promise.allSettled(this.repeating.map(({ name, everyMs }) => (initial ? queues.schedule(name, everyMs, {}) : queues.ensureScheduled(name, everyMs, {}))));
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') log.error({ err: outcome.reason }, 'could not schedule a repeating job');
        else if (outcome.value === true) log.warn('a repeating job was missing from Redis and was scheduled again');
      }
    };
    await ensure(true);
    const timer = setInterval(() => void ensure(false), recheckMs);
    timer.unref();
    return timer;
  }
}
