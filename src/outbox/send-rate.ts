import type Redis from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import { reservedPoints } from '../reserved-points';

/**
 * WhatsApp's per-number throughput (80 messages a second by default) across
 * every instance: a fixed one-second window in Redis, keyed by the sending
 * number, reserved in blocks (reserved-points.ts). A send over the limit
 * waits for its turn; nothing is dropped. If Redis fails the in-memory
 * insurance limiter keeps this instance under the same rate.
 */
export function createSendRate(redis: Redis, options: { keyPrefix: string; perSecond: number; phoneNumberId: string }) {
  const take = reservedPoints(
    new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${options.keyPrefix}ratelimit:whatsapp-send`,
      points: options.perSecond,
      duration: 1,
      insuranceLimiter: new RateLimiterMemory({ points: options.perSecond, duration: 1 }),
    }),
    options.perSecond,
  );
  return async function sendPermit(): Promise<void> {
    for (;;) {
      const permit = await take(options.phoneNumberId || 'unset');
      if (permit.granted) return;
      // Waiters spread over the next window instead of all waking at its first millisecond.
      await Bun.sleep(permit.msBeforeNext + Math.floor(Math.random() * 50));
    }
  };
}
