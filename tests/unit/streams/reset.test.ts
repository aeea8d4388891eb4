import { afterAll, expect, test } from 'bun:test';
import type { AppliedMark } from '../../../src/db/partition-owners';
import { createLogger } from '../../../src/logger';
import { compareEntryIds, createResetDetector, type ResetReport } from '../../../src/streams/reset';
import type { LogLine } from '../../support/harness';
import { redisFixture } from './redis-fixture';

/** The check the worker runs before reading a partition: is Redis's stream behind what Postgres applied from it? */
const { redis, keys, drop } = redisFixture('reset');
afterAll(drop);

function detector(marks: Record<number, AppliedMark>) {
  const logs: LogLine[] = [];
  const reports: ResetReport[] = [];
  const check = createResetDetector({
    redis,
    keys,
    logger: createLogger('warn', { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) }),
    markOf: async (partition) => marks[partition] ?? null,
    onReset: (report) => reports.push(report),
  });
  return { check, logs, reports };
}

const lastGenerated = async (stream: string) => {
  const info = (await redis.xinfo('STREAM', stream)) as unknown[];
  return String(info[info.indexOf('last-generated-id') + 1]);
};

test('entry ids compare in stream order, numerically, part by part', () => {
  expect(compareEntryIds('999999999999-0', '1700000000000-0')).toBe(-1);
  expect(compareEntryIds('1700000000000-10', '1700000000000-9')).toBe(1);
  expect(compareEntryIds('1700000000000-3', '1700000000000-3')).toBe(0);
});

test('a partition Postgres never applied, or whose stream (with its group) reaches what Postgres applied, is no reset', async () => {
  const stream = keys.partition(0);
  await redis.xgroup('CREATE', stream, keys.group, '0', 'MKSTREAM');
  const id = await redis.xadd(stream, '*', 'f', 'v');
  const { check, logs, reports } = detector({ 0: { entryId: id!, at: new Date() } });
  expect(await check.checkPartition(0)).toBe(false);
  expect(await check.checkPartition(1)).toBe(false);
  // Trimmed away, the entries are gone but the stream still knows the last id it gave.
  await redis.xtrim(stream, 'MAXLEN', 0);
  expect(await check.checkPartition(0)).toBe(false);
  expect(logs).toEqual([]);
  expect(reports).toEqual([]);
});

test('a stream gone while Postgres applied entries from it is reported with what is known, as an error line', async () => {
  const at = new Date('2026-12-01T10:00:00.000Z');
  const { check, logs, reports } = detector({ 2: { entryId: '1790000000000-4', at } });
  expect(await check.checkPartition(2)).toBe(true);
  expect(reports).toEqual([
    {
      partition: 2,
      stream: keys.partition(2),
      lastAppliedEntryId: '1790000000000-4',
      lastAppliedAt: at.toISOString(),
      found: 'stream gone',
      redisLastEntryId: null,
      detectedAt: expect.any(String),
    },
  ]);
  expect(logs).toHaveLength(1);
  expect(logs[0]).toMatchObject({ level: 50, event: 'redis.reset_detected', partition: 2, lastAppliedEntryId: '1790000000000-4', found: 'stream gone' });
  expect(logs[0]!.msg).toStartWith(
    'Redis lost acknowledged events of partition 2: its stream is gone, while Postgres applied its stream up to 1790000000000-4',
  );
  expect(logs[0]!.msg).toContain('Meta does not resend them');
});

test('a stream that ends below what Postgres applied is a reset; afterwards every new id is above the watermark, even one in the future', async () => {
  const stream = keys.partition(3);
  await redis.xgroup('CREATE', stream, keys.group, '0', 'MKSTREAM');
  const behind = await redis.xadd(stream, '*', 'f', 'v');
  // Postgres applied an entry an hour ahead of this Redis's clock: a server whose clock is behind the lost one's.
  const watermark = `${Date.now() + 3_600_000}-7`;
  const { check, reports } = detector({ 3: { entryId: watermark, at: new Date() } });
  expect(await check.checkPartition(3)).toBe(true);
  expect(reports[0]).toMatchObject({ found: 'stream behind', redisLastEntryId: behind! });
  expect(await lastGenerated(stream)).toBe(watermark);
  const next = await redis.xadd(stream, '*', 'f', 'v');
  expect(compareEntryIds(next!, watermark)).toBe(1);
  // The group the worker reads with is there, from the start: entries still in the stream are delivered.
  const groups = (await redis.xinfo('GROUPS', stream)) as unknown[][];
  expect(groups.map((group) => group[1])).toEqual([keys.group]);
  // Once raised, the stream is no longer behind: the reset is reported once, not at every check.
  expect(await check.checkPartition(3)).toBe(false);
  expect(reports).toHaveLength(1);
});

test('a stream made anew by a producer after the loss is a reset even when its ids are past what was applied: its group is gone', async () => {
  const stream = keys.partition(4);
  const applied = await redis.xadd(stream, '*', 'f', 'old');
  // Redis lost it; webhooks XADD again before the worker looks: the new stream has no group, its ids are higher.
  await redis.del(stream);
  const fresh = await redis.xadd(stream, '*', 'f', 'new');
  const { check, reports } = detector({ 4: { entryId: applied!, at: new Date() } });
  expect(await check.checkPartition(4)).toBe(true);
  expect(reports[0]).toMatchObject({ found: 'group gone', redisLastEntryId: fresh! });
  // The group is made from the start: the entry written after the loss is still delivered.
  const read = (await redis.xreadgroup('GROUP', keys.group, 'c', 'COUNT', 10, 'STREAMS', stream, '>')) as [string, [string, string[]][]][];
  expect(read[0]![1].map(([id]) => id)).toEqual([fresh!]);
  expect(await check.checkPartition(4)).toBe(false);
});
