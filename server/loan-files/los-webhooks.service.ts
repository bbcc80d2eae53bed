// Signed outbound webhooks to the lender's LOS, delivered at least once through an outbox.
//
// A domain change records its event in the same transaction (record), then dispatches it after
// commit. Postgres holds every delivery and its schedule; BullMQ only carries the next attempt, and
// sweep() re-enqueues whatever Redis lost. Each attempt claims the row with a conditional update
// before it sends, so duplicate jobs never post twice for the same attempt.
//
// Delivery rules, for LOS developers:
// - The body is the event envelope below. Its `id` is stable across retries and manual redeliveries
//   and is sent again as `FaceSign-Event-Id` and `Idempotency-Key`: store it and ignore repeats.
// - Answer 2xx once the event is stored. Any other answer, a timeout or a connection error is retried
//   on DEFAULT_LOS_RETRY_SCHEDULE_MS (about 30 hours), except 410 Gone, which stops retrying at once.
//   Events may arrive out of order; order them by `createdAt`.
// - Verify `FaceSign-Signature` over the raw body before parsing it: see verifyLosWebhook.
//
// Without LOS_WEBHOOK_URL/LOS_WEBHOOK_SECRET events are still recorded (the log is the record of what
// the LOS should have been told), and are delivered by the sweep once a URL is configured.
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Db, Prisma, Sql } from '../db/client.js';
import { build, rows } from '../db/typed-sql.js';
import type { LosWebhookDelivery } from '../db/generated/prisma/client.js';
import { AppError } from '../shared/errors.js';
import { appendAudit, type AuditEntry } from '../audit/audit.service.js';
import type { JobQueues } from '../jobs/queues.js';
import type { Logger } from '../logging.js';

// ---------------------------------------------------------------------------------------------
// Signature
// ---------------------------------------------------------------------------------------------

export const LOS_SIGNATURE_HEADER = 'FaceSign-Signature';

function hmacHex(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** The `FaceSign-Signature` value: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export function signLosWebhook(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${hmacHex(secret, timestamp, body)}`;
}

/**
 * How an LOS verifies a facesign webhook (this function and hmacHex need only node:crypto):
 * 1. take the raw request body as received, before any JSON parsing;
 * 2. split the header on "," into key=value pairs; `t` is the signing time in unix seconds, and
 *    each `v1` is a hex HMAC-SHA256 of `${t}.${body}` keyed with the shared secret (more than one
 *    `v1` may be present while a secret is rotated);
 * 3. accept if any `v1` matches in constant time and `t` is within `toleranceSeconds` of now, which
 *    bounds replays. `now` is in unix seconds (`Math.floor(Date.now() / 1000)`), not milliseconds.
 */
export function verifyLosWebhook(secret: string, header: string | undefined, body: string, now: number, toleranceSeconds = 300): boolean {
  if (!header) return false;
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return false;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (!/^\d{1,12}$/.test(value)) return false;
      timestamp = Number(value);
    } else if (key === 'v1' && /^[0-9a-f]{64}$/.test(value)) {
      signatures.push(Buffer.from(value, 'hex'));
    }
  }
  if (timestamp === undefined || signatures.length === 0) return false;
  if (Math.abs(now - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(hmacHex(secret, timestamp, body), 'hex');
  // Compare against every candidate, so timing does not reveal which one matched.
  return signatures.map((s) => timingSafeEqual(s, expected)).includes(true);
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/** Event types the LOS may receive. Add new ones at the end; never rename or remove one. */
export const LOS_EVENT_TYPES = [
  'verification.completed',
  'verification.escalated',
  'verification.exhausted',
  'verification.expired',
  'verification.cancelled',
  'loan_file.verified',
  'loan_file.failed',
] as const;
export const losEventTypeSchema = z.enum(LOS_EVENT_TYPES);
export type LosEventType = z.infer<typeof losEventTypeSchema>;

/** The body of every webhook. `data` holds references and outcomes, never personal data. */
export const losEventSchema = z
  .object({
    id: z.uuid().meta({ description: 'The delivery id: stable across retries, the idempotency key' }),
    type: losEventTypeSchema,
    createdAt: z.iso.datetime({ offset: true }),
    loanFileId: z.uuid(),
    externalRef: z.string(),
    data: z.record(z.string(), z.unknown()).meta({ description: 'Depends on the type; JSON, without personal data' }),
  })
  .meta({ id: 'LosWebhookEvent' });
export type LosEvent = z.infer<typeof losEventSchema>;

export interface LosEventInput {
  type: LosEventType;
  loanFileId: string;
  externalRef: string;
  data: Prisma.InputJsonObject;
}

// ---------------------------------------------------------------------------------------------
// Retry policy
// ---------------------------------------------------------------------------------------------

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** Waits after the 1st, 2nd, … failed attempt: 12 attempts over about 30 hours. */
export const DEFAULT_LOS_RETRY_SCHEDULE_MS: readonly number[] = [
  10 * SECOND,
  1 * MINUTE,
  5 * MINUTE,
  15 * MINUTE,
  30 * MINUTE,
  1 * HOUR,
  2 * HOUR,
  4 * HOUR,
  6 * HOUR,
  8 * HOUR,
  8 * HOUR,
];

/**
 * The wait before the next attempt after attempt number `attempt` (1-based) failed, or null to give
 * up. A bank's LOS answers 4xx during deployments and misconfigurations as often as for real
 * rejections, so everything is retried except 410 Gone, the receiver's explicit "stop sending".
 */
export function retryDelayAfter(attempt: number, statusCode: number | null, schedule: readonly number[]): number | null {
  if (statusCode === 410) return null;
  return schedule[attempt - 1] ?? null;
}

// ---------------------------------------------------------------------------------------------
// Service
// ---------------------------------------------------------------------------------------------

export interface LosWebhookSettings {
  url: string;
  secret: string;
}

export interface LosWebhookOptions {
  /** Waits between attempts; the schedule's length is the number of retries. */
  schedule?: readonly number[];
  /** Per attempt: connecting, sending and receiving the status line. */
  timeoutMs?: number;
  fetchImpl?: typeof fetch;
}

export type DeliveryOutcome = 'delivered' | 'retry-scheduled' | 'failed' | 'skipped';

/** A job that is late by more than this is presumed lost (e.g. Redis restarted without persistence). */
export const LOS_SWEEP_GRACE_MS = MINUTE;
const SWEEP_BATCH = 500;
/** Jobs may fire a little early when node clocks disagree; treat those as due. */
const CLOCK_SKEW_MS = 5 * SECOND;
/** A claimed attempt holds the row for its timeout plus this margin for the database writes. */
const CLAIM_MARGIN_MS = 5 * SECOND;
/** The delivery log keeps at most this much of a failed response's body. */
const RESPONSE_SNIPPET_CHARS = 500;

interface AttemptResult {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
}

export class LosWebhookService {
  private readonly schedule: readonly number[];
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  private readonly db: Db;
  private readonly queues: JobQueues;
  private readonly settings: LosWebhookSettings | undefined;
  private readonly log: Logger;

  constructor(options: { db: Db; queues: JobQueues; settings: LosWebhookSettings | undefined; log: Logger } & LosWebhookOptions) {
    this.db = options.db;
    this.queues = options.queues;
    this.settings = options.settings;
    this.log = options.log;
    this.schedule = options.schedule ?? DEFAULT_LOS_RETRY_SCHEDULE_MS;
    this.timeoutMs = options.timeoutMs ?? 10 * SECOND;
    this.fetchImpl = options.fetchImpl ?? fetch;
  }

  /** Records an event inside the caller's transaction (the outbox); call dispatch(id) after commit. */
  async record(sql: Sql, event: LosEventInput): Promise<string> {
    const id = randomUUID();
    const createdAt = new Date().toISOString();
    const payload = { id, type: event.type, createdAt, loanFileId: event.loanFileId, externalRef: event.externalRef, data: event.data };
    losEventSchema.parse(payload);
    // Due at once: if dispatch never runs (crash after commit, Redis down), the sweep delivers it.
    await rows(
      sql,
      build
        .insertInto('LosWebhookDelivery')
        .values({ id, eventType: event.type, loanFileId: event.loanFileId, payload: JSON.stringify(payload), nextAttemptAt: createdAt, createdAt }),
      'los-delivery-insert',
    );
    return id;
  }

  /** Enqueues the first attempt. Never throws: the row is already safe in Postgres. */
  async dispatch(deliveryId: string): Promise<void> {
    if (!this.settings) return;
    await this.enqueue(deliveryId, `los-${deliveryId}`, 0);
  }

  /** One delivery attempt: the 'los-webhook' job handler. Safe to run twice, also concurrently. */
  async deliver(deliveryId: string): Promise<DeliveryOutcome> {
    const settings = this.settings;
    if (!settings) return 'skipped';
    const row = await this.db.losWebhookDelivery.findUnique({ where: { id: deliveryId } });
    if (!row || row.status !== 'PENDING') return 'skipped';
    // A duplicate job (from the sweep, or a retry enqueued twice) finds the row claimed or waiting.
    if (row.nextAttemptAt && row.nextAttemptAt.getTime() > Date.now() + CLOCK_SKEW_MS) return 'skipped';

    const attempt = row.attempts + 1;
    const claim = await this.db.losWebhookDelivery.updateMany({
      where: { id: deliveryId, status: 'PENDING', attempts: row.attempts },
      data: { attempts: attempt, nextAttemptAt: new Date(Date.now() + this.timeoutMs + CLAIM_MARGIN_MS) },
    });
    if (claim.count === 0) return 'skipped';

    const result = await this.post(settings, row, attempt);
    const now = new Date();
    if (result.ok) {
      // Not conditional on the attempt: once the LOS has the event, it is delivered, whoever sent it.
      await this.db.losWebhookDelivery.updateMany({
        where: { id: deliveryId, status: 'PENDING' },
        data: { status: 'DELIVERED', deliveredAt: now, nextAttemptAt: null, lastStatusCode: result.statusCode, lastError: null },
      });
      this.log.info({ deliveryId, eventType: row.eventType, attempt }, 'LOS webhook delivered');
      return 'delivered';
    }

    const delayMs = retryDelayAfter(attempt, result.statusCode, this.schedule);
    const nextAttemptAt = delayMs === null ? null : new Date(now.getTime() + delayMs);
    const update = await this.db.losWebhookDelivery.updateMany({
      where: { id: deliveryId, status: 'PENDING', attempts: attempt },
      data: { status: nextAttemptAt ? 'PENDING' : 'FAILED', nextAttemptAt, lastStatusCode: result.statusCode, lastError: result.error },
    });
    if (update.count === 0) return 'skipped';
    const context = { deliveryId, eventType: row.eventType, attempt, statusCode: result.statusCode, error: result.error };
    if (!nextAttemptAt) {
      this.log.warn(context, 'LOS webhook failed permanently; an admin can redeliver it');
      return 'failed';
    }
    this.log.info({ ...context, nextAttemptAt }, 'LOS webhook attempt failed; retry scheduled');
    await this.enqueue(deliveryId, retryJobId(deliveryId, attempt, nextAttemptAt), delayMs ?? 0);
    return 'retry-scheduled';
  }

  /** Re-enqueues pending deliveries whose job is overdue, i.e. was lost. Returns how many. */
  async sweep(now: Date = new Date()): Promise<number> {
    if (!this.settings) return 0;
    const overdue = await this.db.losWebhookDelivery.findMany({
      where: { status: 'PENDING', nextAttemptAt: { lt: new Date(now.getTime() - LOS_SWEEP_GRACE_MS) } },
      orderBy: { nextAttemptAt: 'asc' },
      take: SWEEP_BATCH,
      select: { id: true },
    });
    // A fresh job id: the lost job's id may still exist in Redis as completed or failed, which would
    // make a re-add a no-op. A job that was merely late finds the row claimed and skips.
    for (const { id } of overdue) await this.enqueue(id, `los-${id}-sweep-${now.getTime()}`, 0);
    if (overdue.length > 0) this.log.info({ count: overdue.length }, 're-enqueued overdue LOS webhooks');
    return overdue.length;
  }

  /**
   * Manual redelivery by an admin: a FAILED or DELIVERED delivery starts a fresh retry schedule
   * (attempts back to 0) with the same event id, so the LOS still dedupes it. A PENDING one is
   * already on its way and is returned unchanged, which makes double clicks harmless.
   */
  async redeliver(deliveryId: string, caller: { actor: AuditEntry['actor']; requestId?: string | undefined } = { actor: { type: 'SYSTEM' } }): Promise<LosWebhookDelivery> {
    const now = new Date();
    const { row, reset } = await this.db.$transaction(async (tx) => {
      const before = await tx.losWebhookDelivery.findUnique({ where: { id: deliveryId } });
      const { count } = await tx.losWebhookDelivery.updateMany({
        where: { id: deliveryId, status: { in: ['FAILED', 'DELIVERED'] } },
        data: { status: 'PENDING', attempts: 0, nextAttemptAt: now, deliveredAt: null },
      });
      if (count > 0 && before && before.status !== 'PENDING') {
        await appendAudit(tx, {
          actor: caller.actor,
          entity: { type: 'los_webhook_delivery', id: deliveryId },
          event: { action: 'los_webhook.redelivery_requested', v: 1, data: { eventType: before.eventType, previousStatus: before.status, previousAttempts: before.attempts } },
          requestId: caller.requestId,
        });
      }
      return { row: await tx.losWebhookDelivery.findUnique({ where: { id: deliveryId } }), reset: count > 0 };
    });
    if (!row) throw new AppError('NOT_FOUND', `No webhook delivery ${deliveryId}`);
    if (reset && this.settings) await this.enqueue(deliveryId, retryJobId(deliveryId, 0, now), 0);
    return row;
  }

  /** The delivery log of a loan file, newest first. */
  async list(loanFileId: string, options: { limit: number }): Promise<LosWebhookDelivery[]> {
    const loanFile = await this.db.loanFile.findUnique({ where: { id: loanFileId }, select: { id: true } });
    if (!loanFile) throw new AppError('NOT_FOUND', `No loan file ${loanFileId}`);
    return this.db.losWebhookDelivery.findMany({
      where: { loanFileId },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: options.limit,
    });
  }

  private async post(settings: LosWebhookSettings, row: LosWebhookDelivery, attempt: number): Promise<AttemptResult> {
    const body = JSON.stringify(row.payload);
    // Signed per attempt, so a retry hours later still passes the receiver's freshness check.
    const signature = signLosWebhook(settings.secret, Math.floor(Date.now() / 1000), body);
    try {
      const res = await this.fetchImpl(settings.url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'facesign-webhooks/1',
          [LOS_SIGNATURE_HEADER]: signature,
          'FaceSign-Event-Id': row.id,
          'FaceSign-Event-Type': row.eventType,
          'FaceSign-Delivery-Attempt': String(attempt),
          'Idempotency-Key': row.id,
        },
        body,
        // A redirect is a misconfiguration to fix, not something to follow with a signed body.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const snippet = await readPrefix(res, res.ok ? 0 : RESPONSE_SNIPPET_CHARS);
      if (res.ok) return { ok: true, statusCode: res.status, error: null };
      return { ok: false, statusCode: res.status || null, error: `HTTP ${res.status}${snippet ? `: ${snippet}` : ''}` };
    } catch (error) {
      return { ok: false, statusCode: null, error: describeFailure(error, this.timeoutMs) };
    }
  }

  private async enqueue(deliveryId: string, jobId: string, delayMs: number): Promise<void> {
    await this.queues.enqueue('los-webhook', { deliveryId }, { jobId, delayMs }).catch((err: Error) => {
      this.log.warn({ deliveryId, err }, 'could not enqueue an LOS webhook; the sweep will deliver it');
    });
  }
}

/** Unique per scheduled attempt: a manual redelivery restarts the attempt count, the due time differs. */
function retryJobId(deliveryId: string, attempt: number, due: Date): string {
  return `los-${deliveryId}-${attempt}-${due.getTime()}`;
}

/** At most `maxChars` of a response body, for the delivery log; always releases the connection. */
async function readPrefix(res: Response, maxChars: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (text.length < maxChars) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    await reader.cancel();
  } catch {
    // A body that breaks off still leaves the status code, which is what decides the outcome.
  }
  return text.slice(0, maxChars);
}

function describeFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return `timed out after ${timeoutMs} ms`;
  // undici reports "fetch failed" and puts the useful part (ECONNREFUSED, a TLS error) in the cause.
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : undefined;
  const code = cause && 'code' in cause && typeof cause.code === 'string' ? cause.code : undefined;
  const message = code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
  return `request failed: ${message}`.slice(0, 1000);
}
