// Fixed-window counters in Redis, shared by every API node.
import type { Redis } from 'ioredis';

export class RateLimiter {
  constructor(private readonly redis: Redis) {}

  /** Counts one hit; returns how long to wait (seconds) when the limit is exceeded, else 0. */
  async hit(bucket: string, limit: number, windowSeconds: number): Promise<number> {
    const key = `rl:${bucket}`;
    const [[, count], [, ttl]] = (await this.redis.multi().incr(key).ttl(key).exec()) as [[null, number], [null, number]];
    if (ttl < 0) await this.redis.expire(key, windowSeconds);
    return count > limit ? Math.max(ttl, 1) : 0;
  }
}
