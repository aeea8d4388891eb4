import type Redis from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

/**
 * WhatsApp's per-number throughput (80 messages a second by default) across
 * every instance: a token bucket in Redis, keyed by the sending number. A
 * send over the limit waits for its turn; nothing is dropped. If Redis fails
 * the in-memory insurance limiter keeps this instance under the same rate.
 */
export function createSendRate(redis: Redis, options: { keyPrefix: string; perSecond: number; phoneNumberId: string }) {
  const limiter = new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: `${options.keyPrefix}ratelimit:whatsapp-send`,
    points: options.perSecond,
    duration: 1,
    insuranceLimiter: new RateLimiterMemory({ points: options.perSecond, duration: 1 }),
  });
  return async function sendPermit(): Promise<void> {
    for (;;) {
      try {
        await limiter.consume(options.phoneNumberId || 'unset');
        return;
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        // Waiters spread over the next window instead of all waking at its first millisecond.
        await Bun.sleep(rejection.msBeforeNext + Math.floor(Math.random() * 50));
      }
    }
  };
}
