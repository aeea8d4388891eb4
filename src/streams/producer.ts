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
      // One pipeline per partition: on Redis Cluster each partition's stream may live on another node.
      const byStream = Map.groupBy(keyed, (event) => keys.partition(partitionOf(event.key, partitions)));
      const results = await Promise.all(
        [...byStream].map(async ([stream, batch]) => {
          const pipeline = redis.pipeline();
          for (const event of batch) pipeline.xadd(stream, '*', ...encodeEvent(event));
          try {
            return await pipeline.exec();
          } catch (error) {
            throw unavailable('queue_unavailable', `event queue unreachable: ${(error as Error).message}`);
          }
        }),
      );
      for (const result of results) {
        const failed = result?.find(([error]) => error !== null);
        if (!result || failed) throw unavailable('queue_unavailable', `event queue rejected the write: ${failed?.[0]?.message ?? 'no reply'}`);
      }
    },
  };
}
