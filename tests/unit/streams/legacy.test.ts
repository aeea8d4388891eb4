import { afterEach, expect, test } from 'bun:test';
import { decodeEvent, encodeEvent } from '../../../src/streams/codec';
import { drainLegacyStreams } from '../../../src/streams/legacy';
import { createLogger } from '../../../src/logger';
import { redisFixture, timerEvent } from './redis-fixture';

const PHONE = '573001112233';
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

test('an old-named partition stream hands what it still owes (read but unacknowledged, then unread) to its new key, in order, and goes', async () => {
  const { redis, keys, drop } = redisFixture('unit-legacy');
  cleanups.push(drop);
  const old = keys.legacyPartition(2);
  for (const id of ['acked', 'pending', 'unread-1', 'unread-2']) await redis.xadd(old, '*', ...encodeEvent(timerEvent(PHONE, id)));
  await redis.xgroup('CREATE', old, keys.group, '0');
  const reply = (await redis.xreadgroup('GROUP', keys.group, 'old-worker', 'COUNT', 2, 'STREAMS', old, '>')) as [string, [string, string[]][]][];
  await redis.xack(old, keys.group, reply[0]![1][0]![0]);

  await drainLegacyStreams(redis, keys, 4, createLogger('silent'));

  const moved = (await redis.xrange(keys.partition(2), '-', '+')).map(([, fields]) => decodeEvent(fields).id);
  expect(moved).toEqual(['pending', 'unread-1', 'unread-2']);
  expect(await redis.exists(old)).toBe(0);
});

test('with no old streams, nothing happens', async () => {
  const { redis, keys, drop } = redisFixture('unit-legacy');
  cleanups.push(drop);
  await drainLegacyStreams(redis, keys, 4, createLogger('silent'));
  expect(await redis.keys(`${keys.instances}*`)).toEqual([]);
});
