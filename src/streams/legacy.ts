import type Redis from 'ioredis';
import type { Logger } from '../logger';
import type { StreamKeys } from './codec';

type RawEntry = [id: string, fields: string[]];

const PAGE = 1000;

const idValue = (id: string) => {
  const [ms, seq] = id.split('-');
  return (BigInt(ms ?? '0') << 64n) + BigInt(seq ?? '0');
};

/**
 * Until the Redis Cluster layout, partition streams were named without a
 * hash tag (`hb:events:3`, now `hb:events:{3}`). At start, whatever an old
 * stream still owes (entries read but not acknowledged, and entries never
 * read) is appended, in order, to the new stream of the same partition, and
 * the old stream is deleted. Acknowledged history is not carried over.
 * Copies are not atomic with the delete (two keys, two slots): a crash in
 * between copies some entries twice on the next start, which the event-id
 * dedupe drops. A lock keeps instances starting together from both doing it.
 */
export async function drainLegacyStreams(redis: Redis, keys: StreamKeys, partitions: number, logger: Logger): Promise<void> {
  const lock = `${keys.instances}:legacy-drain`;
  const candidates = Array.from({ length: partitions }, (_, index) => index);
  const present = (await Promise.all(candidates.map(async (index) => ((await redis.type(keys.legacyPartition(index))) === 'stream' ? index : -1)))).filter(
    (index) => index >= 0,
  );
  if (present.length === 0) return;
  if ((await redis.set(lock, '1', 'PX', 60_000, 'NX')) !== 'OK') {
    logger.warn({ event: 'stream.legacy_drain_skipped' }, 'another instance is moving the old partition streams; continuing');
    return;
  }
  try {
    for (const index of present) {
      const moved = await drainOne(redis, keys.legacyPartition(index), keys.partition(index), keys.group);
      logger.warn(
        { event: 'stream.legacy_drained', partition: index, moved },
        `moved ${moved} unacknowledged entries of the old stream of partition ${index} to its new key`,
      );
    }
  } finally {
    await redis.del(lock);
  }
}

async function drainOne(redis: Redis, from: string, to: string, group: string): Promise<number> {
  const groups = ((await redis.xinfo('GROUPS', from).catch(() => [])) as unknown[][]).map((flat) => {
    const record: Record<string, unknown> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) record[String(flat[i])] = flat[i + 1];
    return record;
  });
  const state = groups.find((candidate) => candidate.name === group);
  const lastDelivered = idValue(String(state?.['last-delivered-id'] ?? '0-0'));
  const pending = new Set(state ? ((await redis.xpending(from, group, '-', '+', 1_000_000)) as [id: string][]).map(([id]) => id) : []);
  let moved = 0;
  let start = '-';
  for (;;) {
    const page = (await redis.xrange(from, start, '+', 'COUNT', PAGE)) as RawEntry[];
    for (const [id, fields] of page) {
      if (!pending.has(id) && idValue(id) <= lastDelivered) continue;
      await redis.xadd(to, '*', ...fields);
      moved++;
    }
    if (page.length < PAGE) break;
    start = `(${page.at(-1)![0]}`;
  }
  await redis.del(from);
  return moved;
}
