// What every session job needs, and the one way they apply an event. Every handler re-reads the
// session and acts only if it is still in the state the job was meant for, so duplicated, late or
// re-delivered jobs are harmless.
import type { Db } from '../../db/client.js';
import type { Logger } from '../../logging.js';
import { AppError } from '../../shared/errors.js';
import type { DomainEvents } from '../../events/domain-events.js';
import type { JobQueues } from '../../jobs/queues.js';
import type { VideoPlatform } from '../../livekit/video-platform.js';
import type { CallingHours } from '../calling-hours.js';
import type { Dispatcher } from '../dispatcher.js';
import type { ApplyContext, SessionEngine } from '../session-engine.js';
import type { SessionEvent } from '../session-state.js';

export const SYSTEM = { type: 'SYSTEM', id: 'scheduler' } as const;

export interface SessionJobSettings {
  callingHours: CallingHours;
  reconnectGraceMs: number;
  /** How long a job stays with a dead worker before another takes it (WORKER_LOCK_SECONDS). */
  workerLockMs: number;
  /** The longest a live dial can take (LiveKit's ringing timeout); a claim older than this plus the lock is orphaned. */
  ringingTimeoutMs: number;
}

export interface SessionJobContext {
  db: Db;
  engine: SessionEngine;
  dispatcher: Dispatcher;
  queues: JobQueues;
  platform: VideoPlatform | undefined;
  events: DomainEvents;
  settings: SessionJobSettings;
  log: Logger;
  /** Sends a video party a fresh link after a missed appointment. */
  inviter: { invite(sessionId: string, template: 'missed'): Promise<void> };
}

/** Applies an event if the session still allows it; a conflict means someone else already moved it on. */
export async function tryApply(ctx: Pick<SessionJobContext, 'engine'>, sessionId: string, event: SessionEvent, expectVersion?: number, data?: ApplyContext['data']): Promise<boolean> {
  try {
    await ctx.engine.apply(sessionId, event, { actor: SYSTEM, ...(expectVersion !== undefined ? { expectVersion } : {}), ...(data ? { data } : {}) });
    return true;
  } catch (error) {
    if (error instanceof AppError && (error.code === 'SESSION_STATE_CONFLICT' || error.code === 'NOT_FOUND')) return false;
    throw error;
  }
}

/** How long after its claim a dial with no outcome is the sweep's: its worker must be gone by then. */
export function orphanedAfterMs(settings: SessionJobSettings): number {
  return settings.ringingTimeoutMs + 2 * settings.workerLockMs;
}
