import type Redis from 'ioredis';
import type { Database } from '../db/client';
import { openTicketsByPhase, outboxBacklog } from '../db/gauges';
import { createMetrics, type Metrics } from '../observability/metrics';
import type { StreamKeys } from '../streams/codec';
import type { DeadLetters } from '../streams/dead-letters';
import { partitionBacklogs } from '../streams/groups';
import { createTemplateStatus } from '../redis/template-status';

export interface MetricsSources {
  database: Database;
  deadLetters: DeadLetters;
  redis: Redis;
  keys: StreamKeys;
  partitions: number;
}

/** The service's metrics, their stored-state gauges reading the database and the streams. */
export function createServiceMetrics(sources: MetricsSources): Metrics {
  return createMetrics({
    deadLetters: () => sources.deadLetters.count(),
    outboxBacklog: () => outboxBacklog(sources.database),
    partitionBacklogs: () => partitionBacklogs(sources.redis, sources.keys, sources.partitions),
    openTickets: () => openTicketsByPhase(sources.database),
    templates: async () =>
      Object.entries(await createTemplateStatus(sources.redis, sources.keys.templates).all()).map(([template, status]) => ({ template, status: status.event })),
  });
}
