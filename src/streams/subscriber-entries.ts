import type Redis from 'ioredis';
import { CodecError, decodeEvent, partitionOf, splitDeadLetter, type StreamKeys } from './codec';

type RawEntry = [id: string, fields: string[]];

const PAGE = 1000;

/** The conversation key an entry's event is for; undefined when it does not decode (then it names no one we can tell). */
function keyOf(fields: string[]): string | undefined {
  try {
    return decodeEvent(fields).key;
  } catch (error) {
    if (error instanceof CodecError) return undefined;
    throw error;
  }
}

/** Deletes the entries of `stream` whose event `isTheirs`; returns their ids. */
async function deleteWhere(redis: Redis, stream: string, isTheirs: (fields: string[]) => boolean): Promise<string[]> {
  const deleted: string[] = [];
  let start = '-';
  for (;;) {
    const page = (await redis.xrange(stream, start, '+', 'COUNT', PAGE)) as RawEntry[];
    const theirs = page.filter(([, fields]) => isTheirs(fields)).map(([id]) => id);
    if (theirs.length > 0) {
      await redis.xdel(stream, ...theirs);
      deleted.push(...theirs);
    }
    if (page.length < PAGE) return deleted;
    start = `(${page.at(-1)![0]}`;
  }
}

/**
 * An erased subscriber's stream entries: those not applied yet (their
 * messages would otherwise be written again after the erasure), those kept
 * for forensics after they were applied (STREAM_RETENTION_S), and their dead
 * letters. Only their conversations' partitions are read. A deleted entry
 * still pending for the group is acknowledged too; a worker that reclaims
 * one anyway finds it empty and skips it (streams/worker.ts).
 */
export async function deleteSubscriberEntries(redis: Redis, keys: StreamKeys, partitions: number, conversationKeys: string[]): Promise<number> {
  if (conversationKeys.length === 0) return 0;
  const theirs = new Set(conversationKeys);
  let deleted = 0;
  for (const partition of new Set(conversationKeys.map((key) => partitionOf(key, partitions)))) {
    const stream = keys.partition(partition);
    const ids = await deleteWhere(redis, stream, (fields) => theirs.has(keyOf(fields) ?? ''));
    if (ids.length > 0) await redis.xack(stream, keys.group, ...ids);
    deleted += ids.length;
  }
  const deadLetters = await deleteWhere(redis, keys.deadLetter, (fields) => theirs.has(keyOf(splitDeadLetter(fields).original) ?? ''));
  return deleted + deadLetters.length;
}
