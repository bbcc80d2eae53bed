// Login sessions as the HTTP layer resolves them, kept in this process so that a console's requests
// do not each read the database. A revocation (logout, a revoked session, a disabled user, a role
// change) is announced over Redis pub/sub after it commits, and every node drops what it holds of
// it when the message arrives and says so on an acknowledgement channel; the node that revoked answers
// once every node subscribed when it announced has acknowledged (or `ACK_TIMEOUT_MS` passed: a node
// that did not answer by then is logged, and lets go within the bounds below). Two bounds hold
// whatever happens to a message: an entry is served for at most `ttlMs` after it was read from the
// database, and only while this node's subscription is up — from a lost connection until it is
// subscribed again the cache is empty and every request reads the database. At most `maxEntries`
// sessions are held (the oldest read is dropped first). Expiry is checked on every request.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Role } from '../db/generated/prisma/enums.js';
import type { Logger } from '../logging.js';

export interface CachedLoginSession {
  id: string;
  userId: string;
  roles: Role[];
  csrfTokenHash: string;
  expiresAt: Date;
  lastSeenAt: Date;
}

/** What ended: login sessions by id, or everything a user's sessions carry (disabled, roles changed). */
export type LoginRevocation = { loginSessionIds: string[] } | { userId: string };

export interface LoginSessionCacheOptions {
  redisUrl: string;
  /** The deployment's Redis prefix: the channel is `<prefix>:auth:login-revocations`. */
  prefix: string;
  /** The shared command connection, which publishes. */
  publisher: Redis;
  maxEntries: number;
  ttlMs: number;
  log: Logger;
}

interface Entry {
  session: CachedLoginSession;
  /** When this entry is read from the database again (ms). */
  until: number;
}

/** How long a revocation waits for the nodes' acknowledgements before it answers anyway. */
export const ACK_TIMEOUT_MS = 2_000;

/** A revocation announced and waiting for its acknowledgements. */
interface Announced {
  acks: number;
  /** How many nodes were subscribed when it was published (PUBLISH's answer); unknown until then. */
  expected?: number;
  done(): void;
}

const isStrings = (value: unknown): value is string[] => Array.isArray(value) && value.every((v) => typeof v === 'string');

export class LoginSessionCache {
  /** By token hash, in the order read (Map keeps insertion order: the first is the oldest). */
  private readonly entries = new Map<string, Entry>();
  /** Moves on every revocation and every loss of the subscription: a read that started before a move is not kept. */
  private generation = 0;
  private subscribed = false;
  private subscriber: Redis | undefined;
  private readonly channel: string;
  private readonly ackChannel: string;
  private readonly announced = new Map<string, Announced>();

  constructor(private readonly options: LoginSessionCacheOptions) {
    this.channel = `${options.prefix}:auth:login-revocations`;
    this.ackChannel = `${this.channel}:acks`;
  }

  get enabled(): boolean {
    return this.options.maxEntries > 0 && this.options.ttlMs > 0;
  }

  /** Subscribes to revocations; until the subscription is confirmed nothing is served from the cache. */
  start(): void {
    if (!this.enabled || this.subscriber) return;
    // Its own connection (a subscribed connection takes no other commands), resubscribed by hand so
    // that serving resumes only once Redis confirmed the subscription.
    const subscriber = new Redis(this.options.redisUrl, { lazyConnect: true, autoResubscribe: false, maxRetriesPerRequest: null, connectionName: this.channel });
    this.subscriber = subscriber;
    subscriber.on('ready', () => {
      subscriber.subscribe(this.channel, this.ackChannel).then(
        () => {
          if (subscriber.status === 'ready') this.subscribed = true;
        },
        (err: unknown) => this.options.log.warn({ err }, 'login-session cache: could not subscribe to revocations; sessions are read from the database'),
      );
    });
    subscriber.on('close', () => this.unsubscribed());
    subscriber.on('end', () => this.unsubscribed());
    subscriber.on('error', (err) => this.options.log.warn({ err }, 'login-session cache: revocation channel error; sessions are read from the database until it is back'));
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel) {
        const { revocation, ack } = parseAnnouncement(message);
        this.drop(revocation);
        if (ack) {
          this.options.publisher.publish(this.ackChannel, ack).catch((err: unknown) => this.options.log.warn({ err }, 'login-session cache: could not acknowledge a revocation'));
        }
      } else if (channel === this.ackChannel) {
        const waiting = this.announced.get(message);
        if (waiting) {
          waiting.acks += 1;
          if (waiting.expected !== undefined && waiting.acks >= waiting.expected) waiting.done();
        }
      }
    });
    subscriber.connect().catch((err: unknown) => this.options.log.warn({ err }, 'login-session cache: Redis unreachable; sessions are read from the database'));
  }

  async close(): Promise<void> {
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    this.unsubscribed();
    if (subscriber) await subscriber.quit().catch(() => subscriber.disconnect());
  }

  /** The generation to hand back to `put` with what a database read found. */
  mark(): number {
    return this.generation;
  }

  /**
   * The session for this token hash, if held and fresh. Asked after the current turn of the event
   * loop: a revocation message that reached this process together with the request is applied first.
   */
  async get(tokenHash: string): Promise<CachedLoginSession | undefined> {
    if (!this.subscribed) return undefined;
    await new Promise<void>((resolve) => setImmediate(resolve));
    const entry = this.entries.get(tokenHash);
    if (!entry || !this.subscribed) return undefined;
    if (entry.until <= Date.now()) {
      this.entries.delete(tokenHash);
      return undefined;
    }
    return entry.session;
  }

  /** Keeps what the database said, unless a revocation arrived or the subscription lapsed since `mark()`. */
  put(tokenHash: string, session: CachedLoginSession, generation: number): void {
    if (!this.subscribed || generation !== this.generation) return;
    this.entries.delete(tokenHash);
    while (this.entries.size >= this.options.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(tokenHash, { session, until: Date.now() + this.options.ttlMs });
  }

  /**
   * After the revocation committed: drops it here at once, announces it to every node and waits until
   * every node subscribed at that moment (this one too) has acknowledged dropping it, at most
   * `ACK_TIMEOUT_MS`. An announcement that cannot be sent, or nodes that do not answer in time, are
   * logged; those nodes then let go within `ttlMs`.
   */
  async revoke(revocation: LoginRevocation): Promise<void> {
    this.drop(revocation);
    if (!this.enabled) return;
    const id = randomUUID();
    let timer: NodeJS.Timeout | undefined;
    const waiting: Announced = { acks: 0, done: () => undefined };
    const acknowledged = new Promise<boolean>((resolve) => {
      waiting.done = () => resolve(true);
      timer = setTimeout(() => resolve(false), ACK_TIMEOUT_MS);
    });
    this.announced.set(id, waiting);
    try {
      waiting.expected = await this.options.publisher.publish(this.channel, JSON.stringify({ ...revocation, ack: id }));
      if (waiting.acks >= waiting.expected) waiting.done();
      if (!(await acknowledged)) {
        this.options.log.warn(`login-session cache: ${waiting.expected - waiting.acks} of ${waiting.expected} nodes did not acknowledge a revocation within ${ACK_TIMEOUT_MS} ms; they let go within ${this.options.ttlMs / 1000} s`);
      }
    } catch (err) {
      this.options.log.error({ err }, `login-session cache: a revocation could not be announced to the other nodes; they let go within ${this.options.ttlMs / 1000} s`);
    } finally {
      clearTimeout(timer);
      this.announced.delete(id);
    }
  }

  private drop(revocation: LoginRevocation | undefined): void {
    this.generation += 1;
    if (!revocation) {
      this.entries.clear();
      return;
    }
    const ended: (session: CachedLoginSession) => boolean =
      'userId' in revocation ? (s) => s.userId === revocation.userId : ((ids) => (s: CachedLoginSession) => ids.has(s.id))(new Set(revocation.loginSessionIds));
    for (const [tokenHash, entry] of this.entries) if (ended(entry.session)) this.entries.delete(tokenHash);
  }

  private unsubscribed(): void {
    this.subscribed = false;
    this.generation += 1;
    this.entries.clear();
  }
}

/** A message on the channel: what ended (anything unreadable empties the whole cache: undefined), and the acknowledgement it asks for. */
function parseAnnouncement(message: string): { revocation: LoginRevocation | undefined; ack: string | undefined } {
  try {
    const value = JSON.parse(message) as Record<string, unknown>;
    const ack = typeof value.ack === 'string' && value.ack.length <= 64 ? value.ack : undefined;
    if (typeof value.userId === 'string') return { revocation: { userId: value.userId }, ack };
    if (isStrings(value.loginSessionIds)) return { revocation: { loginSessionIds: value.loginSessionIds }, ack };
    return { revocation: undefined, ack };
  } catch {
    return { revocation: undefined, ack: undefined };
  }
}
