import type Redis from 'ioredis';
import type { PipelineEvent } from '../domain/events';
import { unavailable } from '../errors';
import { inSpan, SpanKind, traceparentOf, tracingOn } from '../observability/tracing';
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
      if (!tracingOn()) return append(keyed);
      // One span for the append, child of what publishes (the webhook, a CRM request, a delivery's answer) or a
      // trace of its own (a deadline): each entry carries it, and whoever applies the entry continues that trace.
      const attributes = {
        'messaging.system': 'redis',
        'messaging.operation.type': 'send',
        'messaging.batch.message_count': keyed.length,
        'handover.event.types': [...new Set(keyed.map((event) => event.type))],
      };
      return inSpan('stream append', { kind: SpanKind.PRODUCER, attributes }, (span) => append(keyed, traceparentOf(span)));
    },
  };

  async function append(events: PipelineEvent[], traceparent?: string): Promise<void> {
    // Plain XADDs: the connection's auto-pipelining writes every command issued in the same tick (this
    // webhook's and the concurrent ones') in one socket write, per node on Redis Cluster. Order on a stream
    // is the order of issue.
    const results = await Promise.allSettled(
      events.map((event) => redis.xadd(keys.partition(partitionOf(event.key, partitions)), '*', ...encodeEvent(event, codecVersion, traceparent))),
    );
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw unavailable('queue_unavailable', `event queue unreachable: ${(failed.reason as Error).message}`);
  }
}
