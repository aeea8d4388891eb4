import type Redis from 'ioredis';
import type { PipelineEvent } from '../events';
import { unavailable } from '../errors';
import { encodeEvent, partitionOf, type StreamKeys } from './codec';
import { createUserKeys } from './user-keys';

export interface Producer {
  /** Resolves once every event is in Redis (durable as Redis is configured); throws a 503 AppError otherwise. */
  publish(events: PipelineEvent[]): Promise<void>;
}

export function createProducer(redis: Redis, keys: StreamKeys, partitions: number): Producer {
  const userKeys = createUserKeys(redis, keys.users);
  return {
    async publish(events) {
      if (events.length === 0) return;
      let keyed: PipelineEvent[];
      try {
        keyed = await userKeys.resolve(events);
      } catch (error) {
        throw unavailable('queue_unavailable', `event queue unreachable: ${(error as Error).message}`);
      }
      const pipeline = redis.pipeline();
      for (const event of keyed) pipeline.xadd(keys.partition(partitionOf(event.key, partitions)), '*', ...encodeEvent(event));
      let results: [Error | null, unknown][] | null;
      try {
        results = await pipeline.exec();
      } catch (error) {
        throw unavailable('queue_unavailable', `event queue unreachable: ${(error as Error).message}`);
      }
      const failed = results?.find(([error]) => error !== null);
      if (!results || failed) throw unavailable('queue_unavailable', `event queue rejected the write: ${failed?.[0]?.message ?? 'no reply'}`);
    },
  };
}
