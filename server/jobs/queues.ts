// BullMQ queues and workers over the catalog. Producers use a fail-fast connection (an enqueue
// fails rather than hangs when Redis is down; callers keep Postgres as the record and retry), and
// workers use a patient one, as BullMQ recommends.
import { Queue, Worker, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { Logger } from '../logging.js';
import { jobCatalog, type JobHandlers, type JobName, type JobPayload } from './catalog.js';

export interface QueueSettings {
  redisUrl: string;
  prefix: string;
}

function connection(redisUrl: string, patient: boolean): ConnectionOptions {
  const url = new URL(redisUrl);
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(url.pathname.length > 1 ? { db: Number(url.pathname.slice(1)) } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
    ...(patient ? { maxRetriesPerRequest: null } : { maxRetriesPerRequest: 1, enableOfflineQueue: false }),
  };
}

export class JobQueues {
  private readonly queues = new Map<JobName, Queue>();

  constructor(private readonly settings: QueueSettings) {}

  queue(name: JobName): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: connection(this.settings.redisUrl, false), prefix: `${this.settings.prefix}:bull` });
      q.on('error', () => undefined); // surfaced to the caller of add(); avoid unhandled 'error' events
      this.queues.set(name, q);
    }
    return q;
  }

  async enqueue<N extends JobName>(name: N, payload: JobPayload<N>, options: { jobId: string; delayMs?: number }): Promise<void> {
    await this.queue(name).add(name, ...this.jobOf(name, payload, options));
  }

  /** Several jobs of one kind in one round trip (each still deduplicated by its job id). */
  async enqueueMany<N extends JobName>(name: N, jobs: { payload: JobPayload<N>; jobId: string; delayMs?: number }[]): Promise<void> {
    if (jobs.length === 0) return;
    await this.queue(name).addBulk(
      jobs.map((job) => {
        const [data, opts] = this.jobOf(name, job.payload, job);
        return { name, data, opts };
      }),
    );
  }

  private jobOf<N extends JobName>(name: N, payload: JobPayload<N>, options: { jobId: string; delayMs?: number }): [JobPayload<N>, JobsOptions] {
    const spec = jobCatalog[name];
    const data = spec.payload.parse(payload) as JobPayload<N>;
    const opts: JobsOptions = {
      jobId: options.jobId,
      attempts: spec.attempts,
      ...(spec.backoff ? { backoff: spec.backoff } : {}),
      ...(options.delayMs ? { delay: options.delayMs } : {}),
      removeOnComplete: { age: 24 * 3600, count: 10_000 },
      removeOnFail: { age: 7 * 24 * 3600 },
    };
    return [data, opts];
  }

  /** Removes a waiting or delayed job that has become pointless; one being processed is left alone. */
  async cancel(name: JobName, jobId: string): Promise<void> {
    await this.queue(name)
      .remove(jobId)
      .catch(() => undefined);
  }

  /** Whether a job is waiting, delayed or being processed (false once it finished, failed or is gone). */
  async isPending(name: JobName, jobId: string): Promise<boolean> {
    const state = await this.queue(name).getJobState(jobId);
    return state === 'active' || state === 'waiting' || state === 'delayed' || state === 'prioritized' || state === 'waiting-children';
  }

  /** A repeating job; the scheduler id makes it idempotent across nodes and restarts. */
  async schedule<N extends JobName>(name: N, everyMs: number, payload: JobPayload<N>): Promise<void> {
    await this.queue(name).upsertJobScheduler(`${name}-every`, { every: everyMs }, { name, data: payload });
  }

  /**
   * Schedules a repeating job only if Redis has lost it (a restart without persistence, a failover
   * to an empty replica): the sweeps that repair everything else must themselves come back.
   */
  async ensureScheduled<N extends JobName>(name: N, everyMs: number, payload: JobPayload<N>): Promise<boolean> {
    if (await this.queue(name).getJobScheduler(`${name}-every`)) return false;
    await this.schedule(name, everyMs, payload);
    return true;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
  }
}

export interface WorkerSettings extends QueueSettings {
  concurrency: Partial<Record<JobName, number>>;
  /** Rate limits shared by every worker of a queue (e.g. calls per second through a trunk). */
  limiter?: Partial<Record<JobName, { max: number; duration: number }>>;
  /**
   * How long a job stays locked to a worker that stopped renewing it (a running worker renews it
   * every half of this, however long the job takes); also how often stalled jobs are looked for.
   */
  lockMs: number;
}

/**
 * A job is taken over from a dead worker up to this many times before BullMQ gives up on it. Every
 * handler is idempotent, so a high number costs nothing, and a job must not be abandoned because
 * the nodes that picked it up crashed a few times in a row.
 */
const MAX_STALLED_COUNT = 25;

/**
 * How long an idle worker's blocking wait lasts before it asks Redis again. A job added (or a delayed
 * job coming due) wakes the wait at once through BullMQ's marker, so this only bounds the wait on a
 * broken connection (BullMQ's watchdog reconnects it after this + 1 s). BullMQ's default of 5 s
 * made an idle worker node run a job-fetching script 4 times a second, one per queue every 5 s.
 */
export const IDLE_WAIT_SECONDS = 30;

export function startWorkers(settings: WorkerSettings, handlers: JobHandlers, log: Logger): { close(): Promise<void> } {
  const missing = (Object.keys(jobCatalog) as JobName[]).filter((name) => typeof handlers[name] !== 'function');
  if (missing.length > 0) throw new Error(`Job queues without a handler: ${missing.join(', ')}`);
  const workers = (Object.keys(jobCatalog) as JobName[]).map((name) => {
    const worker = new Worker(
      name,
      async (job) => {
        const payload = jobCatalog[name].payload.parse(job.data);
        await (handlers[name] as (p: unknown, m: { attempt: number; jobId: string }) => Promise<void>)(payload, {
          attempt: job.attemptsMade + 1,
          jobId: job.id ?? '',
        });
      },
      {
        connection: connection(settings.redisUrl, true),
        prefix: `${settings.prefix}:bull`,
        concurrency: settings.concurrency[name] ?? 4,
        ...(settings.limiter?.[name] ? { limiter: settings.limiter[name] } : {}),
        lockDuration: settings.lockMs,
        stalledInterval: settings.lockMs,
        maxStalledCount: MAX_STALLED_COUNT,
        drainDelay: IDLE_WAIT_SECONDS,
      },
    );
    worker.on('failed', (job, err) => log.warn({ job: name, jobId: job?.id, attempt: job?.attemptsMade, err }, 'job failed'));
    worker.on('error', (err) => log.warn({ job: name, err }, 'worker error'));
    return worker;
  });
  return {
    close: async () => {
      await Promise.allSettled(workers.map((w) => w.close()));
    },
  };
}
