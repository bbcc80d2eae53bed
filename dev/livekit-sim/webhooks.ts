// Webhook delivery as livekit/protocol's URLNotifier does it: POST the protojson WebhookEvent (camelCase,
// defaults omitted) with `Content-Type: application/webhook+json` and `Authorization: <JWT>` whose `sha256`
// claim is the base64 SHA-256 of the exact body, valid for 5 minutes. Failed posts are retried, and an
// event that is finally lost is counted in `numDropped` of the next event sent to that URL.
import { createHash } from 'node:crypto';
import type { WebhookEvent } from '@livekit/protocol';
import { AccessToken } from 'livekit-server-sdk';
import type { ApiKeyPair } from './auth.js';
import type { SimClock } from './clock.js';
import { wallClock } from './clock.js';
import type { FaultPlan, WebhookFault } from './faults.js';
import { newId } from './ids.js';

export interface WebhookDelivery {
  id: string;
  event: string;
  room: string | undefined;
  url: string;
  /** 1 for the original, 2 for an injected duplicate. */
  copy: number;
  status: 'pending' | 'delivered' | 'rejected' | 'failed' | 'dropped';
  attempts: number;
  httpStatus?: number;
  error?: string;
}

interface QueuedEvent {
  event: WebhookEvent;
  copy: number;
  /** The exact bytes sent to each URL, kept so a duplicate is byte-identical (same id, same hash). */
  bodies: Map<string, string>;
}

interface UrlQueue {
  url: string;
  items: QueuedEvent[];
  sending: boolean;
  lostSinceLastSend: number;
}

const RETRY_DELAYS_SECONDS = [1, 2, 4];
const REQUEST_TIMEOUT_MS = 10_000;
const REORDER_MAX_HOLD_SECONDS = 30;
const MAX_LOG_ENTRIES = 10_000;

export class WebhookDispatcher {
  private queues = new Map<string, UrlQueue>();
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
    const next = new Map<string, UrlQueue>();
    for (const url of urls) {
      next.set(url, this.queues.get(url) ?? { url, items: [], sending: false, lostSinceLastSend: 0 });
    }
    this.queues = next;
  }

  urls(): string[] {
    return [...this.queues.keys()];
  }

  /** Stamps the event with a fresh id and creation time (Unix seconds, as LiveKit does) and sends it. */
  emit(event: WebhookEvent): WebhookEvent {
    event.id = newId('EV_');
    event.createdAt = wallClock.unixSeconds();
    if (this.stopped) return event;
    const fault = this.faults.takeWebhookFault(event.event, event.room?.name);
    this.route({ event, copy: 1, bodies: new Map() }, fault);
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
    for (const queue of this.queues.values()) queue.items = [];
    this.held = [];
    this.outstanding = 0;
    this.notifySettled();
  }

  private route(item: QueuedEvent, fault: WebhookFault | undefined): void {
    switch (fault?.action) {
      case 'drop':
        for (const queue of this.queues.values()) {
          queue.lostSinceLastSend += 1;
          this.record(item, queue.url, { status: 'dropped', attempts: 0 });
        }
        return;
      case 'duplicate':
        this.enqueueEverywhere(item);
        this.enqueueEverywhere({ ...item, copy: 2 });
        this.releaseHeld();
        return;
      case 'delay': {
        this.outstanding += 1;
        this.clock.after(fault.delaySeconds ?? 5, () => {
          this.outstanding -= 1;
          if (!this.stopped) {
            this.enqueueEverywhere(item);
            this.releaseHeld();
          }
          this.notifySettled();
        });
        return;
      }
      case 'reorder': {
        this.held.push(item);
        this.outstanding += 1;
        // Nothing may follow; do not hold it forever (LiveKit drops events older than 30 s anyway).
        this.clock.after(REORDER_MAX_HOLD_SECONDS, () => this.releaseHeld(item));
        return;
      }
      case undefined:
        this.enqueueEverywhere(item);
        this.releaseHeld();
        return;
    }
  }

  private releaseHeld(only?: QueuedEvent): void {
    const release = only === undefined ? this.held : this.held.filter((item) => item === only);
    if (release.length === 0) return;
    this.held = this.held.filter((item) => !release.includes(item));
    for (const item of release) {
      this.outstanding -= 1;
      if (!this.stopped) this.enqueueEverywhere(item);
    }
    this.notifySettled();
  }

  private enqueueEverywhere(item: QueuedEvent): void {
    for (const queue of this.queues.values()) {
      queue.items.push(item);
      this.outstanding += 1;
      void this.pump(queue);
    }
  }

  private async pump(queue: UrlQueue): Promise<void> {
    if (queue.sending) return;
    queue.sending = true;
    try {
      for (let item = queue.items.shift(); item !== undefined; item = queue.items.shift()) {
        await this.deliver(queue, item);
        this.outstanding -= 1;
        this.notifySettled();
      }
    } finally {
      queue.sending = false;
    }
  }

  private async deliver(queue: UrlQueue, item: QueuedEvent): Promise<void> {
    let body = item.bodies.get(queue.url);
    if (body === undefined) {
      const perUrl = item.event.clone();
      perUrl.numDropped = queue.lostSinceLastSend;
      queue.lostSinceLastSend = 0;
      body = JSON.stringify(perUrl.toJson());
      item.bodies.set(queue.url, body);
    }
    const entry = this.record(item, queue.url, { status: 'pending', attempts: 0 });
    for (let attempt = 0; ; attempt += 1) {
      if (this.stopped) return;
      entry.attempts = attempt + 1;
      const outcome = await this.post(queue.url, body);
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
      const wait = RETRY_DELAYS_SECONDS[attempt];
      if (wait === undefined) {
        entry.status = 'failed';
        queue.lostSinceLastSend += 1;
        return;
      }
      await this.clock.sleep(wait);
    }
  }

  private async post(
    url: string,
    body: string,
  ): Promise<{ kind: 'ok' | 'rejected' | 'retry'; httpStatus?: number; error?: string }> {
    try {
      const token = new AccessToken(this.keys.apiKey, this.keys.apiSecret, { ttl: '5m' });
      token.sha256 = createHash('sha256').update(body, 'utf8').digest('base64');
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/webhook+json',
          Authorization: await token.toJwt(),
          'User-Agent': 'LiveKit',
        },
        body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      await response.arrayBuffer();
      if (response.ok) return { kind: 'ok', httpStatus: response.status };
      // go-retryablehttp's default policy: retry 5xx (except 501) and 429, give up on other 4xx.
      const retryable = (response.status >= 500 && response.status !== 501) || response.status === 429;
      return { kind: retryable ? 'retry' : 'rejected', httpStatus: response.status };
    } catch (error) {
      return { kind: 'retry', error: error instanceof Error ? error.message : String(error) };
    }
  }

  private record(item: QueuedEvent, url: string, state: Pick<WebhookDelivery, 'status' | 'attempts'>): WebhookDelivery {
    const entry: WebhookDelivery = {
      id: item.event.id,
      event: item.event.event,
      room: item.event.room?.name,
      url,
      copy: item.copy,
      ...state,
    };
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
