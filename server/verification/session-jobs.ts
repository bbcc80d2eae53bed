// What the background jobs do to sessions: one file per job under jobs/. This facade binds them to
// their context, registers them in the job catalog and is what tests drive a job through.
import type { JobRegistry } from '../jobs/registry.js';
import { jobCatalog } from '../jobs/catalog.js';
import type { LiveKitSignal } from '../livekit/livekit-events.service.js';
import type { SessionJobContext } from './jobs/context.js';
import { deadline } from './jobs/deadline.js';
import { dial } from './jobs/dial.js';
import { recoverInterruptedDials } from './jobs/dial-recovery.js';
import { due } from './jobs/due.js';
import { onLiveKitSignals } from './jobs/livekit-signals.js';
import { noShow } from './jobs/no-show.js';
import { reconnectGrace } from './jobs/reconnect-grace.js';
import { sweep } from './jobs/sweep.js';

export type { SessionJobSettings } from './jobs/context.js';

export class SessionJobs {
  constructor(private readonly ctx: SessionJobContext) {}

  due(sessionId: string, now = new Date()): Promise<void> {
    return due(this.ctx, sessionId, now);
  }

  /** Places the call of an accepted session, exactly once per attempt. */
  dial(sessionId: string, attemptId: string, now = new Date(), opts: { finalTry?: boolean } = {}): Promise<void> {
    return dial(this.ctx, sessionId, attemptId, now, opts);
  }

  noShow(sessionId: string, version: number, now = new Date()): Promise<void> {
    return noShow(this.ctx, sessionId, version, now);
  }

  deadline(sessionId: string): Promise<void> {
    return deadline(this.ctx, sessionId);
  }

  reconnectGrace(sessionId: string, attemptId: string): Promise<void> {
    return reconnectGrace(this.ctx, sessionId, attemptId);
  }

  recoverInterruptedDials(now = new Date()): Promise<number> {
    return recoverInterruptedDials(this.ctx, now);
  }

  onLiveKitSignals(signals: LiveKitSignal[]): Promise<void> {
    return onLiveKitSignals(this.ctx, signals);
  }

  /** Re-queues work whose job was lost (see jobs/sweep.ts). */
  sweep(now = new Date()): Promise<{ requeued: number }> {
    return sweep(this.ctx, now);
  }

  /** The session jobs' handlers, and their step of the session sweep. */
  register(jobs: JobRegistry): void {
    jobs.handle('session-due', ({ sessionId }) => this.due(sessionId));
    jobs.handle('session-dial', ({ sessionId, attemptId }, { attempt }) => this.dial(sessionId, attemptId, new Date(), { finalTry: attempt >= jobCatalog['session-dial'].attempts }));
    jobs.handle('session-no-show', ({ sessionId, version }) => this.noShow(sessionId, version));
    jobs.handle('session-reconnect-grace', ({ sessionId, attemptId }) => this.reconnectGrace(sessionId, attemptId));
    jobs.handle('session-deadline', ({ sessionId }) => this.deadline(sessionId));
    jobs.sweep('sessions', async (now) => void (await this.sweep(now)));
  }
}
