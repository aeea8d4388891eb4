import type Redis from 'ioredis';
import type { PipelineEvent } from '../domain/events';
import { unavailable } from '../errors';
import { CODEC_VERSION, encodeEvent, partitionOf, type CodecVersion, type StreamKeys } from './codec';
import { createUserKeys } from './user-keys';
import type { BusinessNumbers } from '../domain/business-numbers';

export interface Producer {
  /** Resolves once every event is in Redis (durable as Redis is configured); throws a 503 AppError otherwise. */
  publish(events: PipelineEvent[]): Promise<void>;
}

export function createProducer(
  redis: Redis,
  keys: StreamKeys,
  partitions: number,
  codecVersion: CodecVersion = CODEC_VERSION,
  numbers?: BusinessNumbers,
): Producer {
  const userKeys = createUserKeys(redis, keys.users, numbers);
  return {
    async publish(events) {
      if (events.length === 0) return;
      let keyed: PipelineEvent[];
      try {
        keyed = await userKeys.resolve(events);
      } catch (error) {
        throw unavailable('queue_unavailable', `event queue unreachable: ${(error as Error).message}`);
      }
      // Plain XADDs: the connection's auto-pipelining writes every command issued in the same tick (this
      // webhook's and the concurrent ones') in one socket write, per node on Redis Cluster. Order on a stream
      // is the order of issue.
      const results = await Promise.allSettled(
        keyed.map((event) => redis.xadd(keys.partition(partitionOf(event.key, partitions)), '*', ...encodeEvent(event, codecVersion))),
      );
      const failed = results.find((result) => result.status === 'rejected');
      if (failed) throw unavailable('queue_unavailable', `event queue unreachable: ${(failed.reason as Error).message}`);
    },
  };
}
