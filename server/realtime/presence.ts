// Agent presence in Redis, shared by every node. The status the agent chose (available, busy, away)
// belongs to the agent, not to a socket: a reload or a reconnect finds it where it was. It counts for
// routing only while a console of the agent's is connected and its heartbeats keep it alive. When the
// agent's last console goes, a "gone" mark records when; the agent is off routing at once, and if no
// console is back when the grace period ends, the status becomes away (see AgentDepartures).
import type { Redis } from 'ioredis';

export type Presence = 'available' | 'busy' | 'away';

/** What the board needs of one agent's presence in Redis. */
export interface PresenceRecord {
  /** What the agent last chose (away when nothing is held). */
  chosen: Presence;
  /** Heartbeats have kept it alive. */
  alive: boolean;
  /** When the agent's last console went, if it has not come back since (epoch ms). */
  goneSince: number | undefined;
}

const aliveKey = (userId: string) => `presence:alive:${userId}`;
const goneKey = (userId: string) => `presence:gone:${userId}`;
const asPresence = (value: string | null | undefined): Presence => (value === 'available' || value === 'busy' ? value : 'away');

// Becomes away only if the agent has not come back since the mark being acted on was set.
const EXPIRE_IF_STILL_GONE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], 'away')
redis.call('DEL', KEYS[1], KEYS[3])
return 1`;

export class PresenceService {
  constructor(
    private readonly redis: Redis,
    private readonly ttlSeconds = 30,
  ) {}

  async set(userId: string, presence: Presence): Promise<void> {
    await this.redis.multi().hset('presence', userId, presence).set(aliveKey(userId), '1', 'EX', this.ttlSeconds).exec();
  }

  /**
   * Keeps the agent's presence alive. False when it had already lapsed (the console slept past the TTL, or
   * Redis lost it): the console must state its presence again, or the agent would stay away while online.
   */
  async heartbeat(userId: string): Promise<boolean> {
    const results = await this.redis.multi().expire(aliveKey(userId), this.ttlSeconds).hexists('presence', userId).exec();
    return results?.[0]?.[1] === 1 && results[1]?.[1] === 1;
  }

  /** The status the agent chose, as a console shows it after a reload. */
  async chosen(userId: string): Promise<Presence> {
    return asPresence(await this.redis.hget('presence', userId));
  }

  /** The presence routing goes by: away when the heartbeat lapsed or no console of the agent's is connected. */
  async get(userId: string): Promise<Presence> {
    const [status, alive, gone] = await Promise.all([this.redis.hget('presence', userId), this.redis.exists(aliveKey(userId)), this.redis.exists(goneKey(userId))]);
    return alive && !gone ? asPresence(status) : 'away';
  }

  /** Everyone's presence as routing goes by it. */
  async all(): Promise<Map<string, Presence>> {
    const entries = await this.redis.hgetall('presence');
    const ids = Object.keys(entries);
    if (ids.length === 0) return new Map();
    const [alive, gone] = await Promise.all([this.redis.mget(...ids.map(aliveKey)), this.redis.mget(...ids.map(goneKey))]);
    return new Map(ids.map((id, i) => [id, alive[i] && !gone[i] ? asPresence(entries[id]) : 'away'] as const));
  }

  /** The raw records, for the supervisor board. */
  async records(userIds: string[]): Promise<Map<string, PresenceRecord>> {
    if (userIds.length === 0) return new Map();
    const [statuses, alive, gone] = await Promise.all([this.redis.hmget('presence', ...userIds), this.redis.mget(...userIds.map(aliveKey)), this.redis.mget(...userIds.map(goneKey))]);
    return new Map(
      userIds.map((id, i) => {
        const since = Number(gone[i]);
        return [id, { chosen: asPresence(statuses[i]), alive: Boolean(alive[i]), goneSince: gone[i] && Number.isFinite(since) ? since : undefined }] as const;
      }),
    );
  }

  /** The agent's last console went at `at`; the mark outlives the grace period so the check can find it. */
  async markGone(userId: string, at: number, graceMs: number): Promise<void> {
    await this.redis.set(goneKey(userId), String(at), 'PX', graceMs + 3_600_000);
  }

  /**
   * A console of the agent's is connected: the gone mark goes, and the chosen status is alive again.
   * True when there was a mark (the agent came back within the grace period).
   */
  async markBack(userId: string): Promise<boolean> {
    const results = await this.redis.multi().del(goneKey(userId)).hexists('presence', userId).exec();
    const wasGone = results?.[0]?.[1] === 1;
    if (results?.[1]?.[1] === 1) await this.redis.set(aliveKey(userId), '1', 'EX', this.ttlSeconds);
    return wasGone;
  }

  /** The grace period ended with no console back: away. False when the agent came back (or left again) since `at`. */
  async expireGone(userId: string, at: number): Promise<boolean> {
    const done = await this.redis.eval(EXPIRE_IF_STILL_GONE, 3, goneKey(userId), 'presence', aliveKey(userId), String(at), userId);
    return done === 1;
  }
}
