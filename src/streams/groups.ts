import type Redis from 'ioredis';
import type { StreamKeys } from './codec';

/** The consumer group's state in each partition: entries handed out and not yet acknowledged, and entries not yet read. */
export interface PartitionBacklog {
  partition: string;
  pending: number;
  lag: number;
}

/** XINFO GROUPS of every partition (one command each: on Redis Cluster the partitions live on different nodes). */
export async function partitionBacklogs(redis: Redis, keys: StreamKeys, partitions: number): Promise<PartitionBacklog[]> {
  return Promise.all(
    Array.from({ length: partitions }, async (_, partition) => {
      const reply = await redis.xinfo('GROUPS', keys.partition(partition)).catch(() => undefined);
      const group = ((reply as unknown[][] | undefined) ?? []).map(toRecord).find((candidate) => candidate.name === keys.group);
      return { partition: String(partition), pending: Number(group?.pending ?? 0), lag: Number(group?.lag ?? 0) };
    }),
  );
}

function toRecord(flat: unknown[]): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) record[String(flat[i])] = flat[i + 1];
  return record;
}
