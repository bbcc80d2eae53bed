// What the face match and the liveness check have in common: each is a row about a pair of captures,
// written PENDING in the capture's transaction and checked by a job on a worker. Postgres holds the
// request: a job Redis lost is queued again by the session sweep under a fresh id, and a check that
// keeps failing is recorded as FAILED on its job's last try instead of retried for ever.
import type { Capture } from '../server/db/generated/prisma/client.js';
import type { Logger } from '../server/logging.js';
import type { RecordingStore } from './object-store.js';

/** How long a PENDING row may wait before the sweep queues it again (its job may have been lost). */
const STALE_PENDING_MS = 2 * 60_000;

export interface CaptureAssistOptions {
  /** What it is called in the logs, e.g. "face match". */
  name: string;
  /** The job id of a row's first job; a sweep's job id adds a suffix to it. */
  jobIdOf: (id: string) => string;
  store: RecordingStore;
  enqueue: (id: string, jobId: string) => Promise<void>;
  log: Logger;
}

export abstract class CaptureAssistJob<Row extends { id: string; status: string }> {
  protected readonly store: RecordingStore;
  protected readonly log: Logger;
  private readonly assist: CaptureAssistOptions;

  protected constructor(options: CaptureAssistOptions) {
    this.assist = options;
    this.store = options.store;
    this.log = options.log;
  }

  /** The row with what the check reads, or null. */
  protected abstract load(id: string): Promise<Row | null>;
  /** Runs the check and completes the row (DONE); throws when it cannot. */
  protected abstract check(row: Row): Promise<void>;
  /** Completes the row as FAILED, with why. */
  protected abstract fail(row: Row, failure: string): Promise<void>;
  /** Ids of rows still PENDING that were written before `before`. */
  protected abstract pendingSince(before: Date): Promise<string[]>;

  /** After commit. If Redis refuses, the row stays PENDING and the sweep queues it later. */
  async queue(id: string): Promise<void> {
    try {
      await this.assist.enqueue(id, this.assist.jobIdOf(id));
    } catch (error) {
      this.log.error({ id, err: error }, `could not queue the ${this.assist.name}; the session sweep will`);
    }
  }

  /** PENDING rows whose job may have been lost. */
  async sweep(now = new Date()): Promise<string[]> {
    return this.pendingSince(new Date(now.getTime() - STALE_PENDING_MS));
  }

  /** The session sweep's step: each row whose job may have been lost is queued again, under an id of `bucket`. */
  async requeueStale(now: Date, bucket: number): Promise<void> {
    for (const id of await this.sweep(now)) await this.assist.enqueue(id, `${this.assist.jobIdOf(id)}-sweep-${bucket}`);
  }

  /**
   * The job. Idempotent: a row that is no longer PENDING is left alone, and completion is a
   * conditional update. On the job's final try a failure is recorded as FAILED instead of thrown.
   */
  async run(id: string, options: { finalTry: boolean }): Promise<void> {
    const row = await this.load(id);
    if (!row || row.status !== 'PENDING') return;
    try {
      await this.check(row);
    } catch (error) {
      if (!options.finalTry) throw error;
      this.log.error({ id, err: error }, `${this.assist.name} failed on its last try`);
      await this.fail(row, (error instanceof Error ? error.message : String(error)).slice(0, 500));
    }
  }

  protected async image(capture: Capture): Promise<Buffer> {
    const bytes = await this.store.getBytes(capture.objectKey);
    if (!bytes) throw new Error(`capture ${capture.id}: its object is missing from the store`);
    return bytes;
  }
}
