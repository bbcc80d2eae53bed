// Every background job: its queue, payload schema and retry policy. Job data carries ids only,
// never personal data. Job ids are deterministic (no ':'), so enqueueing twice is harmless.
import { z } from 'zod';

export const jobCatalog = {
  'livekit-event': {
    payload: z.object({ eventId: z.string().min(1).max(64) }),
    attempts: 10,
    backoff: { type: 'exponential', delay: 1_000 },
  },
  'livekit-reconcile': {
    payload: z.object({}),
    attempts: 1,
    backoff: undefined,
  },
} as const satisfies Record<string, { payload: z.ZodType; attempts: number; backoff: { type: 'exponential' | 'fixed'; delay: number } | undefined }>;

export type JobName = keyof typeof jobCatalog;
export type JobPayload<N extends JobName> = z.infer<(typeof jobCatalog)[N]['payload']>;
export type JobHandlers = { [N in JobName]: (payload: JobPayload<N>, meta: { attempt: number; jobId: string }) => Promise<void> };
