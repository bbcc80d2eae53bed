// Webhook delivery as livekit/protocol's ResourceURLNotifier does it (webhook/resource_url_notifier.go,
// resource_queue.go). Per URL, every resource has its own queue — LiveKit's EventKey: the egress for
// egress events, else the room, else the participant, else the track — which delivers its events in
// order, one at a time, independently of the other queues: events of different rooms, and of a room and
// its egress, interleave, and a slow receiver for one room holds up only that room. An event that has
// waited more than MaxAge (30 s) when its turn comes is dropped, and so is one that finds MaxDepth (200)
// events already waiting. Posting retries like go-retryablehttp's default client (v0.7.8): up to 5
// tries, 1, 2, 4, 8 s apart, on connection errors, 5xx (but 501) and 429, waiting what `Retry-After` asks
// instead when a 429 or 503 carries one. Each POST is the protojson WebhookEvent
// (camelCase, defaults omitted) with `Content-Type: application/webhook+json` and `Authorization: <JWT>`
// whose `sha256` claim is the base64 SHA-256 of the exact body, valid for 5 minutes. LiveKit never
// fills in `numDropped` (it stays 0, so it is absent from the JSON), and neither does this.
import { createHash } from 'node:crypto';
import type { WebhookEvent } from '@livekit/protocol';
import { AccessToken } from 'livekit-server-sdk';
import type { ApiKeyPair } from './auth.js';
import type { SimClock } from './clock.js';
import { wallClock } from './clock.js';
import type { FaultPlan, WebhookFault } from './faults.js';
import { newId } from './ids.js';

/** Why an event was never sent: an injected `drop` fault, LiveKit's MaxAge, or its MaxDepth. */
export type WebhookDropReason = 'fault' | 'age' | 'depth';

export interface WebhookDelivery {
  id: string;
  event: string;
  room: string | undefined;
  /** The queue the event went through (LiveKit's EventKey): the egress id for egress events, else the room name, … */
  resource: string;
  url: string;
  /** 1 for the original, 2 for an injected duplicate. */
  copy: number;
  /**
   * pending: waiting in its queue or being sent; delivered: answered 2xx; rejected: answered with a
   * status that is not retried (4xx but 429); failed: every try failed (LiveKit logs "failed to send
   * webhook"); dropped: never sent, see `reason` (LiveKit logs "dropped webhook").
   */
  status: 'pending' | 'delivered' | 'rejected' | 'failed' | 'dropped';
  reason?: WebhookDropReason;
  attempts: number;
  httpStatus?: number;
  error?: string;
}

interface QueuedEvent {
  event: WebhookEvent;
  resource: string;
  copy: number;
  /** The exact bytes sent, shared by an injected duplicate (same id, same hash). */
  body: string;
}

interface Waiting {
  item: QueuedEvent;
  entry: WebhookDelivery;
  queuedAtMs: number;
  waitSkewAtQueueMs: number;
}

interface ResourceQueue {
  resource: string;
  waiting: Waiting[];
  sending: boolean;
  /**
   * Simulated minus real milliseconds of the retry waits this queue has slept. An event's age is its
   * real time in the queue plus this skew: the simulator's own waits count at their simulated length,
   * while the receiver's response times count as they really are. Otherwise a timeScale of 0.01 would
   * make every receiver look a hundred times slower and drop events LiveKit would have delivered.
   */
  waitSkewMs: number;
}

interface UrlNotifier {
  url: string;
  queues: Map<string, ResourceQueue>;
}

// go-retryablehttp's defaults: RetryMax 4, waits from RetryWaitMin 1 s doubling up to RetryWaitMax 30 s.
const RETRY_WAITS_SECONDS = [1, 2, 4, 8];
// webhook.DefaultResourceURLNotifierConfig
const MAX_AGE_SECONDS = 30;
const MAX_DEPTH = 200;
const REQUEST_TIMEOUT_MS = 10_000;
const REORDER_MAX_HOLD_SECONDS = 30;
const MAX_LOG_ENTRIES = 10_000;

export class WebhookDispatcher {
  private notifiers = new Map<string, UrlNotifier>();
  private readonly log: WebhookDelivery[] = [];
  private held: QueuedEvent[] = [];
  private outstanding = 0;
  private settledWaiters: (() => void)[] = [];
  private stopped = false;

  constructor(
    private readonly keys: ApiKeyPair,
    private readonly clock: SimClock,
    private readonly faults: FaultPlan,
    urls: readonly string[],
  ) {
    this.setUrls(urls);
  }

  setUrls(urls: readonly string[]): void {
    const next = new Map<string, UrlNotifier>();
    for (const url of urls) next.set(url, this.notifiers.get(url) ?? { url, queues: new Map() });
    this.notifiers = next;
  }

  urls(): string[] {
    return [...this.notifiers.keys()];
  }

  /** Stamps the event with a fresh id and creation time (Unix seconds, as LiveKit does) and sends it. */
  emit(event: WebhookEvent): WebhookEvent {
    event.id = newId('EV_');
    event.createdAt = wallClock.unixSeconds();
    if (this.stopped) return event;
    const fault = this.faults.takeWebhookFault(event.event, event.room?.name);
    this.route({ event, resource: eventKey(event), copy: 1, body: JSON.stringify(event.toJson()) }, fault);
    return event;
  }

  deliveries(): WebhookDelivery[] {
    return this.log.map((entry) => ({ ...entry }));
  }

  /** Resolves once every event emitted so far has been delivered, rejected, failed or dropped. */
  settled(): Promise<void> {
    if (this.outstanding === 0) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  stop(): void {
    this.stopped = true;
    for (const notifier of this.notifiers.values()) for (const queue of notifier.queues.values()) queue.waiting = [];
    this.held = [];
    this.outstanding = 0;
    this.notifySettled();
  }

  private route(item: QueuedEvent, fault: WebhookFault | undefined): void {
    switch (fault?.action) {
      case 'drop':
        for (const notifier of this.notifiers.values()) {
          this.record(item, notifier.url, { status: 'dropped', reason: 'fault', attempts: 0 });
        }
        return;
      case 'duplicate':
        this.enqueueEverywhere(item);
        this.enqueueEverywhere({ ...item, copy: 2 });
        this.releaseHeld(item.resource);
        return;
      case 'delay': {
        this.outstanding += 1;
        this.clock.after(fault.delaySeconds ?? 5, () => {
          this.outstanding -= 1;
          if (!this.stopped) {
            this.enqueueEverywhere(item);
            this.releaseHeld(item.resource);
          }
          this.notifySettled();
        });
        return;
      }
      case 'reorder': {
        this.held.push(item);
        this.outstanding += 1;
        // Nothing may follow; do not hold it forever (LiveKit drops events older than 30 s anyway).
        this.clock.after(REORDER_MAX_HOLD_SECONDS, () => this.releaseHeld(item.resource, item));
        return;
      }
      case undefined:
        this.enqueueEverywhere(item);
        this.releaseHeld(item.resource);
        return;
    }
  }

  /** Queues held-back events of `resource` behind the event just queued, so they arrive right after it. */
  private releaseHeld(resource: string, only?: QueuedEvent): void {
    const release = this.held.filter((item) => item.resource === resource && (only === undefined || item === only));
    if (release.length === 0) return;
    this.held = this.held.filter((item) => !release.includes(item));
    for (const item of release) {
      this.outstanding -= 1;
      if (!this.stopped) this.enqueueEverywhere(item);
    }
    this.notifySettled();
  }

  private enqueueEverywhere(item: QueuedEvent): void {
    for (const notifier of this.notifiers.values()) {
      let queue = notifier.queues.get(item.resource);
      if (queue === undefined) {
        queue = { resource: item.resource, waiting: [], sending: false, waitSkewMs: 0 };
        notifier.queues.set(item.resource, queue);
      }
      // The event being sent has left the queue already; only waiting ones count toward MaxDepth.
      if (queue.waiting.length >= MAX_DEPTH) {
        this.record(item, notifier.url, { status: 'dropped', reason: 'depth', attempts: 0 });
        continue;
      }
      const entry = this.record(item, notifier.url, { status: 'pending', attempts: 0 });
      queue.waiting.push({ item, entry, queuedAtMs: performance.now(), waitSkewAtQueueMs: queue.waitSkewMs });
      this.outstanding += 1;
      void this.pump(notifier, queue);
    }
  }

  private async pump(notifier: UrlNotifier, queue: ResourceQueue): Promise<void> {
    if (queue.sending) return;
    queue.sending = true;
    try {
      for (let next = queue.waiting.shift(); next !== undefined; next = queue.waiting.shift()) {
        if (ageSeconds(queue, next) > MAX_AGE_SECONDS) {
          next.entry.status = 'dropped';
          next.entry.reason = 'age';
        } else {
          await this.deliver(notifier.url, queue, next);
        }
        this.outstanding -= 1;
        this.notifySettled();
      }
    } finally {
      queue.sending = false;
      // An idle queue is forgotten; the resource's next event starts a new one.
      if (queue.waiting.length === 0 && notifier.queues.get(queue.resource) === queue) notifier.queues.delete(queue.resource);
    }
  }

  private async deliver(url: string, queue: ResourceQueue, { item, entry }: Waiting): Promise<void> {
    // Signed once: LiveKit builds one request and go-retryablehttp sends it again as it is.
    const token = new AccessToken(this.keys.apiKey, this.keys.apiSecret, { ttl: '5m' });
    token.sha256 = createHash('sha256').update(item.body, 'utf8').digest('base64');
    const authorization = await token.toJwt();
    for (let attempt = 0; ; attempt += 1) {
      if (this.stopped) return;
      entry.attempts = attempt + 1;
      const outcome = await this.post(url, item.body, authorization);
      if (outcome.httpStatus !== undefined) entry.httpStatus = outcome.httpStatus;
      if (outcome.error !== undefined) entry.error = outcome.error;
      if (outcome.kind === 'ok') {
        entry.status = 'delivered';
        return;
      }
      if (outcome.kind === 'rejected') {
        entry.status = 'rejected';
        return;
      }
      const backOff = RETRY_WAITS_SECONDS[attempt];
      if (backOff === undefined) {
        entry.status = 'failed';
        return;
      }
      const wait = outcome.retryAfterSeconds ?? backOff;
      const sleptFrom = performance.now();
      await this.clock.sleep(wait);
      queue.waitSkewMs += wait * 1000 - (performance.now() - sleptFrom);
    }
  }

  private async post(
    url: string,
    body: string,
    authorization: string,
  ): Promise<{ kind: 'ok' | 'rejected' | 'retry'; httpStatus?: number; error?: string; retryAfterSeconds?: number }> {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/webhook+json', Authorization: authorization, 'User-Agent': 'LiveKit' },
        body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      await response.arrayBuffer();
      if (response.ok) return { kind: 'ok', httpStatus: response.status };
      // go-retryablehttp's default policy: retry 5xx (except 501) and 429, give up on other 4xx.
      const retryable = (response.status >= 500 && response.status !== 501) || response.status === 429;
      if (!retryable) return { kind: 'rejected', httpStatus: response.status };
      const retryAfterSeconds =
        response.status === 429 || response.status === 503 ? parseRetryAfter(response.headers.get('retry-after')) : undefined;
      return { kind: 'retry', httpStatus: response.status, ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) };
    } catch (error) {
      return { kind: 'retry', error: error instanceof Error ? error.message : String(error) };
    }
  }

  private record(
    item: QueuedEvent,
    url: string,
    state: Pick<WebhookDelivery, 'status' | 'attempts' | 'reason'>,
  ): WebhookDelivery {
    const entry: WebhookDelivery = {
      id: item.event.id,
      event: item.event.event,
      room: item.event.room?.name,
      resource: item.resource,
      url,
      copy: item.copy,
      ...state,
    };
    if (entry.reason === undefined) delete entry.reason;
    this.log.push(entry);
    if (this.log.length > MAX_LOG_ENTRIES) this.log.shift();
    return entry;
  }

  private notifySettled(): void {
    if (this.outstanding > 0) return;
    const waiters = this.settledWaiters;
    this.settledWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** livekit/protocol webhook.EventKey: which queue an event goes through. */
function eventKey(event: WebhookEvent): string {
  if (event.egressInfo !== undefined) return event.egressInfo.egressId;
  if (event.ingressInfo !== undefined) return event.ingressInfo.ingressId;
  if (event.room !== undefined) return event.room.name;
  if (event.participant !== undefined) return event.participant.identity;
  if (event.track !== undefined) return event.track.sid;
  return 'default';
}

/**
 * go-retryablehttp's parseRetryAfterHeader: whole seconds, or an HTTP date (a past one means at once).
 * The wait is then slept like the back-off, in simulated seconds.
 */
function parseRetryAfter(header: string | null): number | undefined {
  if (header === null || header === '') return undefined;
  if (/^[+-]?\d+$/.test(header)) {
    const seconds = Number(header);
    return seconds < 0 ? undefined : seconds;
  }
  const at = Date.parse(header);
  if (!/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [A-Z]{3,4}$/.test(header) || Number.isNaN(at)) return undefined;
  return Math.max(0, (at - Date.now()) / 1000);
}

function ageSeconds(queue: ResourceQueue, waiting: Waiting): number {
  return (performance.now() - waiting.queuedAtMs + queue.waitSkewMs - waiting.waitSkewAtQueueMs) / 1000;
}
