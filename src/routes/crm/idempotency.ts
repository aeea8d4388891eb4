import { createHash } from 'node:crypto';
import type Redis from 'ioredis';
import { conflict, unavailable } from '../../errors';

/**
 * Stripe's rule for an Idempotency-Key: the first request that uses it fixes
 * what it means; the same key with another request is the client's mistake,
 * answered 409 `idempotency_key_reused`, never silently taken for a retry.
 *
 * Kept in Redis (`SET NX` of key → request fingerprint, expiring) rather than
 * in Postgres: the route already writes to Redis on every request (the
 * stream), a key is a retry window rather than a permanent identity (Stripe
 * keeps it 24 hours), and it needs no migration. Past the window, or should
 * Redis lose the key, nothing is dropped: the key's event id includes the
 * fingerprint, so a different request is a different event.
 */
export interface IdempotencyKeys {
  /** Records `fingerprint` for the key in `scope`, or throws 409 when the key already stands for another. */
  claim(scope: string, key: string, fingerprint: string): Promise<void>;
}

const sha256 = (...parts: (string | Uint8Array)[]) => {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\u0000');
  return hash.digest('hex');
};

/** What a request is, for its key: the route and the exact bytes of its body. */
export const requestFingerprint = (route: string, raw: Uint8Array) => sha256(route, raw);

/** `ttlS`: CRM_IDEMPOTENCY_TTL_S, how long a key is remembered (Stripe keeps one 24 hours). */
export function redisIdempotencyKeys(redis: Redis, keyPrefix: string, ttlS: number): IdempotencyKeys {
  return {
    async claim(scope, key, fingerprint) {
      const redisKey = `${keyPrefix}idempotency:${sha256(scope, key)}`;
      let first: string | null;
      try {
        const set = await redis.set(redisKey, fingerprint, 'EX', ttlS, 'NX');
        first = set === 'OK' ? fingerprint : await redis.get(redisKey);
      } catch (error) {
        throw unavailable('queue_unavailable', `event queue unreachable: ${(error as Error).message}`);
      }
      if (first !== null && first !== fingerprint) {
        throw conflict('idempotency_key_reused', 'this Idempotency-Key was already used for a different request on this ticket; use a new key');
      }
    },
  };
}
