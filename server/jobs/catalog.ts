// Every background job: its queue, payload schema and retry policy. Job data carries ids only,
// never personal data. Job ids are deterministic (no ':'), so enqueueing twice is harmless.
import { z } from 'zod';

export const jobCatalog = {
  /** One stored LiveKit event; also where an event of a batch goes when it failed there. */
  'livekit-event': {
    payload: z.object({ eventId: z.string().min(1).max(64) }),
    attempts: 10,
    backoff: { type: 'exponential', delay: 1_000 },
  },
  /** The events one webhook intake batch stored (one job instead of one per event). */
  'livekit-events': {
    payload: z.object({ eventIds: z.array(z.string().min(1).max(64)).min(1).max(500) }),
    attempts: 10,
    backoff: { type: 'exponential', delay: 1_000 },
  },
  'livekit-reconcile': {
    payload: z.object({}),
    attempts: 1,
    backoff: undefined,
  },
  /** A session reached its not-before (or retry) time: route it to an agent or invite the party. */
  'session-due': {
    payload: z.object({ sessionId: z.uuid() }),
    attempts: 5,
    backoff: { type: 'exponential', delay: 2_000 },
  },
  /** Messages to a video party: reminders before the appointment, and invitations held for calling hours. */
  'session-reminder': {
    payload: z.object({ sessionId: z.uuid(), reminder: z.enum(['24h', '15m', 'invitation', 'missed']) }),
    attempts: 5,
    backoff: { type: 'exponential', delay: 10_000 },
  },
  /** An invited video party did not show up in time (only if nothing happened since `version`). */
  'session-no-show': {
    payload: z.object({ sessionId: z.uuid(), version: z.number().int() }),
    attempts: 5,
    backoff: { type: 'exponential', delay: 2_000 },
  },
  /** A disconnected video party did not come back within the grace period. */
  'session-reconnect-grace': {
    payload: z.object({ sessionId: z.uuid(), attemptId: z.uuid() }),
    attempts: 5,
    backoff: { type: 'exponential', delay: 2_000 },
  },
  /** Every console of an agent's went at `leftAt` (epoch ms): if none is back, the agent is offline. */
  'agent-disconnect-grace': {
    payload: z.object({ agentId: z.uuid(), leftAt: z.number().int() }),
    attempts: 5,
    backoff: { type: 'exponential', delay: 2_000 },
  },
  /** The session's deadline passed. */
  'session-deadline': {
    payload: z.object({ sessionId: z.uuid() }),
    attempts: 5,
    backoff: { type: 'exponential', delay: 10_000 },
  },
  /** An agent did not accept an offer in time. */
  'offer-timeout': {
    payload: z.object({ offerId: z.uuid() }),
    attempts: 5,
    backoff: { type: 'exponential', delay: 1_000 },
  },
  /** Places the call of a session whose agent accepted. */
  'session-dial': {
    payload: z.object({ sessionId: z.uuid(), attemptId: z.uuid() }),
    attempts: 3,
    backoff: { type: 'exponential', delay: 2_000 },
  },
  /**
   * Asks LiveKit to record an attempt whose call was answered or whose video began. A job of its own,
   * not part of the dial: an egress slow to start (the SDK waits up to 10 s) must not hold a dial
   * slot. Tried twice; after the second failure supervisors are alerted.
   */
  'recording-start': {
    payload: z.object({ sessionId: z.uuid(), attemptId: z.uuid() }),
    attempts: 2,
    backoff: { type: 'fixed', delay: 1_000 },
  },
  /**
   * Runs an answered automated confirmation call's script (server/automated-calls). Never retried: a
   * script cannot resume halfway through a call, so a failure hands the party to a person instead.
   */
  'automated-call': {
    payload: z.object({ sessionId: z.uuid(), attemptId: z.uuid() }),
    attempts: 1,
    backoff: undefined,
  },
  /** Finds work whose job was lost (Redis restarted) and queues it again: Postgres is the record. */
  /** Publishes a signed tree head over the sealed audit events (skipped when nothing new was sealed). */
  'audit-checkpoint': {
    payload: z.object({}),
    attempts: 1,
    backoff: undefined,
  },
  'session-sweep': {
    payload: z.object({}),
    attempts: 1,
    backoff: undefined,
  },
  /**
   * Checks an uploaded recording (size, streaming SHA-256). Retried every 30 s for an hour while the
   * store is unreachable; after that the session sweep queues it again: nothing is dropped, and a long
   * outage never leaves the next try hours away.
   */
  'recording-finalize': {
    payload: z.object({ recordingId: z.uuid() }),
    attempts: 120,
    backoff: { type: 'fixed', delay: 30_000 },
  },
  /** Re-hashes one stored recording and compares it with the hash taken at finalize. */
  'recording-integrity': {
    payload: z.object({ recordingId: z.uuid() }),
    attempts: 10,
    backoff: { type: 'exponential', delay: 10_000 },
  },
  /** Picks a random sample of stored recordings to re-hash (periodic). */
  'recording-integrity-sample': {
    payload: z.object({}),
    attempts: 1,
    backoff: undefined,
  },
  /** Deletes recordings whose retention is over and that are not on legal hold (periodic). */
  'retention-sweep': {
    payload: z.object({}),
    attempts: 1,
    backoff: undefined,
  },
  /**
   * Recomputes the retain-until dates of a loan file's retained recordings after its maturity date
   * changed, extending Object Lock where the date moved later. Retried while the store is down.
   */
  'retention-recompute': {
    payload: z.object({ loanFileId: z.uuid() }),
    attempts: 50,
    backoff: { type: 'exponential', delay: 10_000 },
  },
  /**
   * Compares the faces of an ID_FRONT and a FACE capture (the model runs in a worker thread). On
   * the last try a failure is recorded on the match instead of thrown.
   */
  'face-match': {
    payload: z.object({ faceMatchId: z.uuid() }),
    attempts: 5,
    backoff: { type: 'exponential', delay: 5_000 },
  },
  /**
   * Checks the landmarks of a LIVENESS_BEFORE and a LIVENESS_ACTION capture against the session's
   * liveness prompt (the model runs in a worker thread). On the last try a failure is recorded.
   */
  'liveness-check': {
    payload: z.object({ livenessCheckId: z.uuid() }),
    attempts: 5,
    backoff: { type: 'exponential', delay: 5_000 },
  },
  /** One delivery attempt of an outbound webhook to the LOS; the handler reschedules itself. */
  'los-webhook': {
    payload: z.object({ deliveryId: z.uuid() }),
    attempts: 1,
    backoff: undefined,
  },
} as const satisfies Record<string, { payload: z.ZodType; attempts: number; backoff: { type: 'exponential' | 'fixed'; delay: number } | undefined }>;

export type JobName = keyof typeof jobCatalog;
export type JobPayload<N extends JobName> = z.infer<(typeof jobCatalog)[N]['payload']>;
export type JobHandlers = { [N in JobName]: (payload: JobPayload<N>, meta: { attempt: number; jobId: string }) => Promise<void> };

/** How many jobs of each queue one worker node runs at once. */
const JOB_CONCURRENCY = {
  'livekit-event': 8,
  'livekit-events': 8,
  'livekit-reconcile': 1,
  'session-due': 4,
  'session-reminder': 4,
  'session-no-show': 4,
  'session-reconnect-grace': 4,
  'agent-disconnect-grace': 4,
  'session-deadline': 4,
  'offer-timeout': 4,
  'session-dial': 8,
  // Each start mostly waits on LiveKit (up to the SDK's 10 s when no egress answers).
  'recording-start': 16,
  // Replaced by AUTOMATED_CALL_CONCURRENCY (see workerPolicy).
  'automated-call': 1,
  'audit-checkpoint': 1,
  'session-sweep': 1,
  'recording-finalize': 2,
  'recording-integrity': 2,
  'recording-integrity-sample': 1,
  'retention-sweep': 1,
  'retention-recompute': 1,
  'face-match': 1,
  'liveness-check': 1,
  'los-webhook': 8,
} as const satisfies Record<JobName, number>;

export interface WorkerTuning {
  /** Automated calls one node runs at once (each holds a call room and a speech pipeline). */
  automatedCallConcurrency: number;
  /** Calls placed per second across every node (the trunk's pace). */
  dialRatePerSecond: number;
}

/** Per-queue concurrency and the rate limits shared by every worker of a queue. */
export function workerPolicy(tuning: WorkerTuning): { concurrency: Record<JobName, number>; limiter: Partial<Record<JobName, { max: number; duration: number }>> } {
  const dialsPerWindow = Math.max(1, Math.floor(tuning.dialRatePerSecond));
  return {
    concurrency: { ...JOB_CONCURRENCY, 'automated-call': tuning.automatedCallConcurrency },
    // Whole calls per window: a rate of 2.5/s is 2 calls every 800 ms.
    limiter: { 'session-dial': { max: dialsPerWindow, duration: Math.round((1000 * dialsPerWindow) / tuning.dialRatePerSecond) } },
  };
}
