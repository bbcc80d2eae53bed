// Agent presence in Redis, shared by every node. A presence stays alive only while the agent's
// console sends heartbeats: when the key expires the agent is away, whatever they last chose.
import type { Redis } from 'ioredis';

export type Presence = 'available' | 'busy' | 'away';

export class PresenceService {
  constructor(
    private readonly redis: Redis,
    private readonly ttlSeconds = 30,
  ) {}

  async set(userId: string, presence: Presence): Promise<void> {
    await this.redis.multi().hset('presence', userId, presence).set(`presence:alive:${userId}`, '1', 'EX', this.ttlSeconds).exec();
  }

  async heartbeat(userId: string): Promise<void> {
    await this.redis.expire(`presence:alive:${userId}`, this.ttlSeconds);
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
}
