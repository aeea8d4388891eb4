import type Redis from 'ioredis';
import type { PipelineEvent } from '../events';
import { unavailable } from '../errors';
import { encodeEvent, partitionOf, type StreamKeys } from './codec';

export interface Producer {
  /** Resolves once every event is in Redis (durable as Redis is configured); throws a 503 AppError otherwise. */
  publish(events: PipelineEvent[]): Promise<void>;
}

export function createProducer(redis: Redis, keys: StreamKeys, partitions: number): Producer {
  return {
    async publish(events) {
      if (events.length === 0) return;
      const pipeline = redis.pipeline();
      for (const event of events) pipeline.xadd(keys.partition(partitionOf(event.key, partitions)), '*', ...encodeEvent(event));
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
