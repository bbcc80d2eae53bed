// Agents at their consoles, played by the test: signed in on an API node, present over the socket
// (presence re-announced on every reconnect, heartbeats), taking every offer they are given — from
// the socket, and from the offers list they poll, as a console does after a reconnect.
import { io, type Socket } from 'socket.io-client';
import type { ApiClient } from '../../support/api-client.js';
import type { Cluster } from './cluster.js';
import type { FacesignNode } from './node-process.js';

export class AgentBot {
  readonly accepted = new Set<string>();
  readonly events: { event: string; payload: Record<string, unknown>; at: number }[] = [];
  private socket: Socket | undefined;
  private timers: NodeJS.Timeout[] = [];
  private taking = new Set<string>();
  acceptErrors = 0;

  constructor(
    readonly client: ApiClient,
    readonly userId: string,
    private readonly autoAccept: boolean,
  ) {}

  static async online(cluster: Cluster, api: FacesignNode, skill: string, options: { autoAccept?: boolean } = {}): Promise<AgentBot> {
    const { client, userId } = await cluster.signIn(api, { roles: ['AGENT'], languages: ['zh-CN'], skills: [skill] });
    const bot = new AgentBot(client, userId, options.autoAccept ?? true);
    await bot.connect(api.url);
    return bot;
  }

  /** A supervisor's console: follows every session, takes no offers. */
  static async supervisor(cluster: Cluster, api: FacesignNode): Promise<AgentBot> {
    const { client, userId } = await cluster.signIn(api, { roles: ['SUPERVISOR'] });
    const bot = new AgentBot(client, userId, false);
    await bot.connect(api.url);
    return bot;
  }

  private async connect(baseUrl: string): Promise<void> {
    const socket = io(`${baseUrl}/agent`, {
      transports: ['websocket'],
      extraHeaders: { cookie: this.client.cookieHeader() },
      reconnection: true,
      reconnectionDelay: 200,
      reconnectionDelayMax: 1000,
      forceNew: true,
    });
    this.socket = socket;
    socket.onAny((event: string, payload: Record<string, unknown>) => {
      this.events.push({ event, payload, at: Date.now() });
      if (event === 'offer:new' && this.autoAccept) void this.take(String(payload.offerId));
    });
    if (this.autoAccept) socket.on('connect', () => socket.emit('presence:set', { presence: 'available' }, () => undefined));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', reject);
    });
    if (!this.autoAccept) return;
    await new Promise((resolve) => socket.emit('presence:set', { presence: 'available' }, resolve));
    this.timers.push(setInterval(() => socket.emit('heartbeat', {}, () => undefined), 5_000));
    this.timers.push(setInterval(() => void this.poll(), 1_000));
  }

  /** Re-announces presence (a console does this when it sees it was marked away). */
  async announce(): Promise<void> {
    await new Promise((resolve) => this.socket?.emit('presence:set', { presence: 'available' }, resolve));
  }

  async watch(sessionId: string): Promise<unknown> {
    return new Promise((resolve) => this.socket?.emit('session:watch', { sessionId }, resolve));
  }

  private async poll(): Promise<void> {
    try {
      const res = await this.client.get<{ items?: { id: string }[] }>('/api/agent/offers');
      for (const offer of res.body.items ?? []) void this.take(offer.id);
    } catch {
      // the node may be down; the next poll tries again
    }
  }

  private async take(offerId: string): Promise<void> {
    if (this.accepted.has(offerId) || this.taking.has(offerId)) return;
    this.taking.add(offerId);
    try {
      const res = await this.client.post(`/api/offers/${offerId}/accept`);
      if (res.status === 200) this.accepted.add(offerId);
      else this.acceptErrors += 1;
    } catch {
      this.acceptErrors += 1;
    } finally {
      this.taking.delete(offerId);
    }
  }

  close(): void {
    for (const t of this.timers) clearInterval(t);
    this.socket?.close();
  }
}

/** Runs `fn` over `items` with at most `limit` at a time. */
export async function inBatches<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]!, i);
      }
    }),
  );
  return results;
}

/** Polls until `check` returns a value, or fails after `timeoutMs` with `what`. */
export async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined | false | null>, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false && value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
