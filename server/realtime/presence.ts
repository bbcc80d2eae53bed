// Agent presence in Redis, shared by every node. A presence stays alive only while the agent's
// console sends heartbeats: when the key expires the agent is away, whatever they last chose.
import type { Redis } from 'ioredis';

export type Presence = 'available' | 'busy' | 'away';
/** What a supervisor sees: offline when no console of the agent's has kept its presence alive. */
export type BoardPresence = Presence | 'offline';

export class PresenceService {
  constructor(
    private readonly redis: Redis,
    private readonly ttlSeconds = 30,
  ) {}

  async set(userId: string, presence: Presence): Promise<void> {
    await this.redis.multi().hset('presence', userId, presence).set(`presence:alive:${userId}`, '1', 'EX', this.ttlSeconds).exec();
  }

  /**
   * Keeps the agent's presence alive. False when it had already lapsed (the console slept past the TTL, or
   * Redis lost it): the console must state its presence again, or the agent would stay away while online.
   */
  async heartbeat(userId: string): Promise<boolean> {
    const results = await this.redis.multi().expire(`presence:alive:${userId}`, this.ttlSeconds).hexists('presence', userId).exec();
    return results?.[0]?.[1] === 1 && results[1]?.[1] === 1;
  }

  async get(userId: string): Promise<Presence> {
    const [status, alive] = await Promise.all([this.redis.hget('presence', userId), this.redis.exists(`presence:alive:${userId}`)]);
    return alive && (status === 'available' || status === 'busy') ? status : 'away';
  }

  /** Everyone's effective presence (away when their heartbeat lapsed). */
  async all(): Promise<Map<string, Presence>> {
    const entries = await this.redis.hgetall('presence');
    const ids = Object.keys(entries);
    if (ids.length === 0) return new Map();
    const alive = await this.redis.mget(...ids.map((id) => `presence:alive:${id}`));
    return new Map(
      ids.map((id, i) => {
        const status = entries[id];
        return [id, alive[i] && (status === 'available' || status === 'busy') ? status : 'away'] as const;
      }),
    );
  }

  /** Presence as the supervisor board shows it: away (chosen or signalled) versus offline (no live console). */
  async board(userIds: string[]): Promise<Map<string, BoardPresence>> {
    if (userIds.length === 0) return new Map();
    const [statuses, alive] = await Promise.all([this.redis.hmget('presence', ...userIds), this.redis.mget(...userIds.map((id) => `presence:alive:${id}`))]);
    return new Map(
      userIds.map((id, i) => {
        const status = statuses[i];
        if (!alive[i]) return [id, 'offline'] as const;
        return [id, status === 'available' || status === 'busy' ? status : 'away'] as const;
      }),
    );
  }
}
