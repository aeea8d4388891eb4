import type Redis from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';

/** A fixed window counted by this instance alone: no Redis round trip, and it keeps counting while Redis is down. */
export const localWindow = (points: number, durationS: number): RateLimiterMemory => new RateLimiterMemory({ points, duration: durationS });

/**
 * A fixed window shared by every instance through Redis
 * (rate-limiter-flexible). If Redis fails, an in-memory window of the same
 * size (the insurance limiter) keeps this instance counting: a limit still
 * holds per instance instead of failing every call or letting all through.
 */
export const sharedWindow = (redis: Redis, keyPrefix: string, points: number, durationS: number): RateLimiterRedis =>
  new RateLimiterRedis({ storeClient: redis, keyPrefix, points, duration: durationS, insuranceLimiter: localWindow(points, durationS) });
