import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';

/**
 * A limiter shared by every instance (rate-limiter-flexible's fixed window in
 * Redis) spent in blocks: one round trip reserves a block of the current
 * window's points for this instance, handed out here one at a time until the
 * window ends. Per call, RateLimiterRedis is a MULTI of three commands: at a
 * thousand sends or requests a second that was a large part of the process's
 * CPU (docs/bench-e2e.md), for a budget that moves once a second or minute.
 *
 * Every block is the same size and divides the window's points, so blocks
 * fill a window exactly: a single instance gets every point, and a shaped
 * rate is met to the point. The cost is fairness at the edge: points another
 * instance reserved and has not spent yet are not available to this one until
 * the window ends, at most one block (5 % of the window, at most 100 points)
 * per instance. Points reserved and left unspent when the window ends are
 * lost, so a shaped rate can only come out lower than set, never higher.
 */

/** Reservations above this make the Redis calls rarer than one in a hundred: no longer worth the stranded points. */
const MAX_BLOCK = 100;
const MAX_SHARE_OF_WINDOW = 0.05;

/** The largest divisor of `points` within 5 % of it and at most 100: the blocks then add up to the window exactly. */
export function blockSizeFor(points: number): number {
  const cap = Math.max(1, Math.min(MAX_BLOCK, Math.floor(points * MAX_SHARE_OF_WINDOW)));
  for (let size = cap; size > 1; size--) if (points % size === 0) return size;
  return 1;
}

export type Reservation = { granted: true } | { granted: false; msBeforeNext: number };

const GRANTED: Reservation = { granted: true };

interface Held {
  left: number;
  /** When the window the points were reserved in ends (this process's clock). */
  until: number;
  /** The reservation in flight, shared by every caller that found the block spent. */
  refill?: Promise<Reservation>;
}

/** Entries of keys not seen for a window are dropped once there are this many (keys are client addresses). */
const SWEEP_ABOVE = 1024;

/** One point per call, for `key`, out of blocks reserved from `limiter`. */
export function reservedPoints(limiter: RateLimiterAbstract, points: number) {
  const block = blockSizeFor(points);
  const held = new Map<string, Held>();

  const sweep = (now: number) => {
    for (const [key, entry] of held) if (entry.until <= now && !entry.refill) held.delete(key);
  };

  async function reserve(key: string, entry: Held): Promise<Reservation> {
    // The window's end is counted from before the request: Redis measured msBeforeNext later than that, so the block
    // is never spent after its window ended (it may end a round trip early, unspent).
    const sentAt = Date.now();
    try {
      const result = await limiter.consume(key, block);
      entry.left = block;
      entry.until = sentAt + result.msBeforeNext;
      return GRANTED;
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return { granted: false, msBeforeNext: rejection.msBeforeNext };
      throw rejection;
    }
  }

  return async function take(key: string): Promise<Reservation> {
    for (;;) {
      const known = held.get(key);
      if (known && known.left > 0 && Date.now() < known.until) {
        known.left--;
        return GRANTED;
      }
      if (!known && held.size >= SWEEP_ABOVE) sweep(Date.now());
      const entry: Held = known ?? { left: 0, until: 0 };
      held.set(key, entry);
      const pending = (entry.refill ??= reserve(key, entry).finally(() => {
        entry.refill = undefined;
      }));
      const result = await pending;
      // Granted: take a point of the new block (callers that shared the refill may have spent it: then reserve again).
      if (!result.granted) return result;
    }
  };
}
