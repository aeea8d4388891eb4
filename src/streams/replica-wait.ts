import type Redis from 'ioredis';
import { unavailable } from '../errors';
import type { Producer } from './producer';

/**
 * REDIS_WAIT_REPLICAS: a publish resolves only once that many replicas have
 * every write this connection made before it (Redis WAIT), so an
 * acknowledged event survives the loss of the primary. Fewer in time is a
 * 503: Meta and the CRM retry, and the dedupe drops the copy.
 *
 * WAIT covers the writes the connection sent before it, and blocks the
 * connection while it waits: one WAIT at a time, shared by every publish
 * whose XADDs were answered before it was sent (a group commit), so a burst
 * costs one round trip to the replicas, not one per webhook.
 */
export function waitingForReplicas(producer: Producer, redis: Redis, replicas: number, timeoutMs: number): Producer {
  let inFlight: Promise<number> | null = null;
  let next: Promise<number> | null = null;

  const send = (): Promise<number> => {
    const waiting = (redis.call('WAIT', replicas, timeoutMs) as Promise<number>).finally(() => {
      if (inFlight === waiting) inFlight = null;
    });
    inFlight = waiting;
    return waiting;
  };

  /** A WAIT sent after this call: one in flight now may have been sent before this caller's XADDs. */
  const afterWrites = (): Promise<number> => {
    if (!inFlight) return send();
    next ??= inFlight
      .catch(() => 0)
      .then(() => {
        next = null;
        return send();
      });
    return next;
  };

  return {
    async publish(events) {
      await producer.publish(events);
      if (events.length === 0) return;
      let confirmed: number;
      try {
        confirmed = Number(await afterWrites());
      } catch (error) {
        throw unavailable('queue_unavailable', `event queue unreachable: ${(error as Error).message}`);
      }
      if (confirmed < replicas) {
        throw unavailable('queue_unavailable', `${confirmed} of ${replicas} Redis replicas confirmed the event within ${timeoutMs} ms; retry`);
      }
    },
  };
}
