// Counters in Redis, shared by every API node: fixed-window request limits, and failure counters
// with backoff (backoff.ts) for sign-in guessing.
import type { Redis } from 'ioredis';

/** One failure counter: a field prefix inside a Redis hash, so one hash can hold several (an account's, and per client of it). */
export interface ThrottleBucket {
  key: string;
  field: string;
}

export type Reservation =
  | { held: true; bucket: number; retryAfterSeconds: number }
  | { held: false; failures: number; delayMs: number };

// Both scripts read Redis's clock, not the calling node's, so nodes with skewed clocks agree on waits.
// A bucket's fields: <field>failures (consecutive failures) and <field>until (ms; no attempt before).
const NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;
const COUNT = `
local failures = redis.call('HINCRBY', key, field .. 'failures', 1)
local delay = tonumber(schedule[math.min(failures, #schedule)])
if delay > 0 then redis.call('HSET', key, field .. 'until', now + delay) end`;

/** KEYS: the buckets' hashes, the last one counted. ARGV: forgetMs, one field prefix per key, then the schedule. */
const RESERVE = `${NOW}
local n = #KEYS
for i = 1, n do
  local waitUntil = tonumber(redis.call('HGET', KEYS[i], ARGV[1 + i] .. 'until') or '0')
  if waitUntil > now then return {i, waitUntil - now} end
end
local key, field = KEYS[n], ARGV[1 + n]
local schedule = {unpack(ARGV, 2 + n)}
${COUNT}
redis.call('PEXPIRE', key, math.max(tonumber(ARGV[1]), delay))
return {0, failures, delay}`;

/** KEYS[1]: the bucket's hash. ARGV: windowMs, the field prefix, then the schedule. */
const FAIL = `${NOW}
local key, field = KEYS[1], ARGV[2]
local schedule = {unpack(ARGV, 3)}
${COUNT}
local ttl = redis.call('PTTL', key)
if ttl < 0 then redis.call('PEXPIRE', key, math.max(tonumber(ARGV[1]), delay)) elseif ttl < delay then redis.call('PEXPIRE', key, delay) end
return {failures, delay}`;

export class RateLimiter {
  constructor(private readonly redis: Redis) {}

  /** Counts one hit; returns how long to wait (seconds) when the limit is exceeded, else 0. */
  async hit(bucket: string, limit: number, windowSeconds: number): Promise<number> {
    const key = `rl:${bucket}`;
    const [[, count], [, ttl]] = (await this.redis.multi().incr(key).ttl(key).exec()) as [[null, number], [null, number]];
    if (ttl < 0) await this.redis.expire(key, windowSeconds);
    return count > limit ? Math.max(ttl, 1) : 0;
  }

  // Failure counters with backoff: `schedule` is backoffSchedule(policy), the wait after the 1st, 2nd, … failure.

  /**
   * One attempt: refused while any of `buckets` is waiting. Otherwise it is counted as a failure of the
   * last bucket before it is judged, so parallel attempts cannot all slip in between a check and their
   * counts; `forgive` takes it back after a success. The last bucket is forgotten `forgetMs` after its
   * latest failure.
   */
  async reserveAttempt(buckets: ThrottleBucket[], schedule: number[], forgetMs: number): Promise<Reservation> {
    const [blocked, value, delayMs] = (await this.redis.eval(RESERVE, buckets.length, ...buckets.map((b) => b.key), forgetMs, ...buckets.map((b) => b.field), ...schedule)) as number[];
    if (blocked) return { held: true, bucket: blocked - 1, retryAfterSeconds: Math.ceil(value! / 1000) };
    return { held: false, failures: value!, delayMs: delayMs! };
  }

  /** Counts a failure after the fact. The count is forgotten `windowMs` after the first (or when its wait ends, if later). */
  async countFailure(bucket: ThrottleBucket, schedule: number[], windowMs: number): Promise<{ failures: number; delayMs: number }> {
    const [failures, delayMs] = (await this.redis.eval(FAIL, 1, bucket.key, windowMs, bucket.field, ...schedule)) as number[];
    return { failures: failures!, delayMs: delayMs! };
  }

  /** A success: the bucket starts from zero again. */
  async forgive(bucket: ThrottleBucket): Promise<void> {
    await this.redis.hdel(bucket.key, `${bucket.field}failures`, `${bucket.field}until`);
  }

  /** Forgets every counter in a hash (an administrator lifting a hold). */
  async forget(key: string): Promise<void> {
    await this.redis.del(key);
  }
}
