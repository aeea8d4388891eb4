import type Redis from 'ioredis';
import { sharedWindow } from './windows';
import { reservedPoints } from './reserved-points';

/**
 * WhatsApp's per-number throughput (80 messages a second by default) across
 * every instance and for each number: a fixed one-second window in Redis, keyed by the sending
 * number, reserved in blocks (reserved-points.ts). A send over the limit
 * waits for its turn; nothing is dropped. If Redis fails the window's
 * insurance keeps this instance under the same rate (rate-limits/windows.ts).
 */
export function createSendRate(redis: Redis, options: { keyPrefix: string; perSecond: number; phoneNumberId: string }) {
  const take = reservedPoints(sharedWindow(redis, `${options.keyPrefix}ratelimit:whatsapp-send`, options.perSecond, 1), options.perSecond);
  /** `phoneNumberId`: the number sending (each has its own budget); empty: the configured one. */
  return async function sendPermit(phoneNumberId = ''): Promise<void> {
    for (;;) {
      const permit = await take(phoneNumberId || options.phoneNumberId || 'unset');
      if (permit.granted) return;
      // Waiters spread over the next window instead of all waking at its first millisecond.
      await Bun.sleep(permit.msBeforeNext + Math.floor(Math.random() * 50));
    }
  };
}
