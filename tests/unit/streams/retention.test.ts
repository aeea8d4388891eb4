import { afterEach, describe, expect, test } from 'bun:test';
import type Redis from 'ioredis';
import { trimAcknowledged } from '../../../src/streams/retention';
import { redisFixture } from './redis-fixture';

const HOUR_MS = 3600_000;
const GROUP = 'workers';
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A partition stream with `count` entries written `ageMs` ago, its group created from the start. */
async function partition(count: number, ageMs: number) {
  const fixture = redisFixture('unit-retention');
  cleanups.push(fixture.drop);
  const stream = fixture.keys.partition(0);
  const writtenAt = Date.now() - ageMs;
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push((await fixture.redis.xadd(stream, `${writtenAt}-${i}`, 'n', String(i))) as string);
  await fixture.redis.xgroup('CREATE', stream, GROUP, '0');
  return { redis: fixture.redis, stream, ids };
}

/** The worker's side: read `count` entries (pending from then on) and acknowledge those `acknowledged` lists. */
async function consume(redis: Redis, stream: string, count: number, acknowledged: string[]) {
  await redis.xreadgroup('GROUP', GROUP, 'worker-1', 'COUNT', count, 'STREAMS', stream, '>');
  if (acknowledged.length > 0) await redis.xack(stream, GROUP, ...acknowledged);
}

async function remaining(redis: Redis, stream: string): Promise<Set<string>> {
  return new Set((await redis.xrange(stream, '-', '+')).map(([id]) => id));
}

// Redis trims whole nodes of 100 entries (stream-node-max-entries) under `~`: the tests use several nodes' worth.
describe('trimming acknowledged history', () => {
  test('acknowledged entries older than the retention are trimmed; pending and unread ones are kept', async () => {
    const { redis, stream, ids } = await partition(400, 2 * HOUR_MS);
    // 0-99 and 200-299 acknowledged, 100-199 read but not acknowledged (a batch still failing), 300-399 never read.
    await consume(redis, stream, 300, [...ids.slice(0, 100), ...ids.slice(200, 300)]);

    expect(await trimAcknowledged(redis, stream, GROUP, HOUR_MS)).toBeGreaterThan(0);

    const kept = await remaining(redis, stream);
    expect(kept.has(ids[0]!)).toBe(false);
    for (const id of ids.slice(100)) expect(kept.has(id)).toBe(true);
  });

  test('the floor is the oldest pending entry: a failing batch spanning several nodes is kept whole, while later entries are acknowledged', async () => {
    const { redis, stream, ids } = await partition(400, 2 * HOUR_MS);
    // 0-299 read and never acknowledged (three nodes' worth), 300-399 read and acknowledged after them.
    await consume(redis, stream, 400, ids.slice(300));

    await trimAcknowledged(redis, stream, GROUP, HOUR_MS);

    const kept = await remaining(redis, stream);
    expect(ids.slice(0, 300).filter((id) => !kept.has(id))).toEqual([]);
  });

  test('entries never read are kept even when nothing is pending', async () => {
    const { redis, stream, ids } = await partition(300, 2 * HOUR_MS);
    await consume(redis, stream, 100, ids.slice(0, 100));

    await trimAcknowledged(redis, stream, GROUP, HOUR_MS);

    const kept = await remaining(redis, stream);
    for (const id of ids.slice(100)) expect(kept.has(id)).toBe(true);
  });

  test('acknowledged entries younger than the retention are kept', async () => {
    const { redis, stream, ids } = await partition(300, 60_000);
    await consume(redis, stream, 300, ids);

    expect(await trimAcknowledged(redis, stream, GROUP, HOUR_MS)).toBe(0);
    expect(await redis.xlen(stream)).toBe(300);
  });

  test('a backlog nobody has read yet is never trimmed, however old', async () => {
    const { redis, stream } = await partition(300, 24 * HOUR_MS);

    expect(await trimAcknowledged(redis, stream, GROUP, 0)).toBe(0);
    expect(await redis.xlen(stream)).toBe(300);
  });

  test('a stream without the group, or no stream at all, is left alone', async () => {
    const { redis, stream } = await partition(300, 2 * HOUR_MS);
    await redis.xgroup('DESTROY', stream, GROUP);

    expect(await trimAcknowledged(redis, stream, GROUP, 0)).toBe(0);
    expect(await trimAcknowledged(redis, `${stream}:absent`, GROUP, 0)).toBe(0);
    expect(await redis.xlen(stream)).toBe(300);
  });
});
