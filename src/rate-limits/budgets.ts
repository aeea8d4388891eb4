import type Redis from 'ioredis';
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { tooManyRequests } from '../errors';
import { reservedPoints } from './reserved-points';
import { localWindow, sharedWindow } from './windows';

/** A per-client request budget; `consume` throws the 429 AppError when the client has spent it. */
export interface RateLimit {
  consume(client: string): Promise<void>;
}

function limit(limiter: RateLimiterAbstract): RateLimit {
  return {
    async consume(client) {
      try {
        await limiter.consume(client);
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) throw tooManyRequests(Math.ceil(rejection.msBeforeNext / 1000));
        throw rejection;
      }
    },
  };
}

/** Counted by this instance alone: no Redis round trip, and it keeps counting while Redis is down. */
export const memoryRateLimit = (perMinute: number): RateLimit => limit(localWindow(perMinute, 60));

/**
 * Shared by every instance through Redis, reserved in blocks (see
 * reserved-points.ts): for budgets whose clients are known and few, the
 * token holders. If Redis itself fails, the window's insurance keeps
 * counting (rate-limits/windows.ts).
 */
export const reservedRedisRateLimit = (redis: Redis, keyPrefix: string, perMinute: number): RateLimit => {
  const take = reservedPoints(sharedWindow(redis, keyPrefix, perMinute, 60), perMinute);
  return {
    async consume(client) {
      const point = await take(client);
      if (!point.granted) throw tooManyRequests(Math.ceil(point.msBeforeNext / 1000));
    },
  };
};

/**
 * Shared by every instance through Redis, a round trip per request: for
 * budgets keyed by whoever calls (failed authentication), where a block
 * reserved per address would let each new address hold points.
 */
export const redisRateLimit = (redis: Redis, keyPrefix: string, perMinute: number): RateLimit => limit(sharedWindow(redis, keyPrefix, perMinute, 60));
