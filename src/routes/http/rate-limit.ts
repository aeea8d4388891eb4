import { isIP } from 'node:net';
import type Redis from 'ioredis';
import { RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { tooManyRequests } from '../../errors';
import { localWindow, sharedWindow } from '../../rate-limits/windows';
import { reservedPoints } from '../../reserved-points';

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

/** The part of Bun's server a route sees; absent when the app is driven by `app.handle()`. */
export interface SocketInfo {
  requestIP(request: Request): { address: string } | null;
}

/** Who a request comes from, for rate limits: see `clientAddress`. */
export type ClientAddress = (request: Request, server: SocketInfo | null | undefined) => string;

/** Bun reports IPv4 peers of a dual-stack socket as `::ffff:a.b.c.d`; proxies are listed as plain IPv4. */
const normalise = (address: string) => (address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address);

/**
 * The client is the socket's peer. `X-Forwarded-For` is believed only when
 * that peer is one of our own proxies (TRUSTED_PROXIES): anyone else can
 * write the header, and would pick a fresh budget per request. Each proxy
 * appends the address it saw, so the right-most address that is not one of
 * ours is the first one a trusted hop vouches for.
 */
export function clientAddress(socketAddress: string | undefined, forwardedFor: string | null, trustedProxies: readonly string[]): string {
  const peer = socketAddress ? normalise(socketAddress) : 'unknown';
  if (!forwardedFor || !trustedProxies.includes(peer)) return peer;
  const hops = forwardedFor
    .split(',')
    .map((hop) => normalise(hop.trim()))
    .filter((hop) => hop !== '');
  for (let index = hops.length - 1; index >= 0; index--) if (!trustedProxies.includes(hops[index]!)) return hops[index]!;
  return hops[0] ?? peer;
}

export const clientAddressOf =
  (trustedProxies: readonly string[]): ClientAddress =>
  (request, server) =>
    clientAddress(server?.requestIP(request)?.address, request.headers.get('x-forwarded-for'), trustedProxies);
