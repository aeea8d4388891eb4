import { afterAll, expect, test } from 'bun:test';
import { deadLetterFields, encodeEvent, partitionOf } from '../../../src/streams/codec';
import { deleteSubscriberEntries } from '../../../src/streams/subscriber-entries';
import { redisFixture, timerEvent } from './redis-fixture';

const fixture = redisFixture('subscriber-entries');
afterAll(() => fixture.drop());

test('an erased subscriber’s entries go, unread, pending or dead-lettered; everyone else’s stay, and a pending one is acknowledged', async () => {
  const { redis, keys } = fixture;
  const partitions = 1;
  const erased = '573001112233';
  const stream = keys.partition(partitionOf(erased, partitions));
  await redis.xgroup('CREATE', stream, keys.group, '0', 'MKSTREAM');
  const pending = await redis.xadd(stream, '*', ...encodeEvent(timerEvent(erased, 'pending')));
  await redis.xreadgroup('GROUP', keys.group, 'worker', 'COUNT', 1, 'STREAMS', stream, '>');
  const unread = await redis.xadd(stream, '*', ...encodeEvent(timerEvent(erased, 'unread')));
  const others = await redis.xadd(stream, '*', ...encodeEvent(timerEvent('573009998877', 'other')));
  const info = { stream, entry: '1-0', error: 'boom', failedAt: new Date().toISOString(), deliveries: 5 };
  await redis.xadd(keys.deadLetter, '*', ...deadLetterFields(info), ...encodeEvent(timerEvent(erased, 'dead')));
  const othersDead = await redis.xadd(keys.deadLetter, '*', ...deadLetterFields(info), ...encodeEvent(timerEvent('573009998877', 'dead')));

  expect(await deleteSubscriberEntries(redis, keys, partitions, [erased])).toBe(3);

  expect((await redis.xrange(stream, '-', '+')).map(([id]) => id)).toEqual([others!]);
  expect((await redis.xrange(keys.deadLetter, '-', '+')).map(([id]) => id)).toEqual([othersDead!]);
  expect(await redis.xpending(stream, keys.group)).toEqual([0, null, null, null]);
  expect([pending, unread]).not.toContain(others);
});
