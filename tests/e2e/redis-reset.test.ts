import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import Redis from 'ioredis';
import { compareEntryIds } from '../../src/streams/reset';
import { sendAs, type WhatsAppUser } from '../support/bsuid';
import { eventually, sentTo, startStack, text, type LogLine, type TestStack } from '../support/harness';
import { startPrivateRedis, type PrivateRedis } from '../support/private-redis';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts): this file's, through the whole service.
setDefaultTimeout(30_000);

/**
 * A Redis that comes back without what it acknowledged (emptied, or
 * restarted with no persistence) while Postgres holds entries applied from
 * it: the service says so (an error line and a metric per partition), puts
 * the user-id map back from Postgres, and keeps stream ids above what was
 * applied. A Redis restarted with AOF `always` lost nothing and is not
 * reported. Each runs on a redis-server of its own: the shared one is never
 * flushed or killed.
 */
let counter = 0;
const freshUser = (): Required<Pick<WhatsAppUser, 'phone' | 'bsuid'>> => {
  const n = `${process.pid % 10000}`.padStart(4, '0') + String(++counter).padStart(3, '0');
  return { phone: `57320${n}`, bsuid: `CO.77${n}` };
};

const resets = (stack: TestStack) => stack.logs.filter((line) => line.event === 'redis.reset_detected');
const restarts = (stack: TestStack) => stack.logs.filter((line) => line.event === 'redis.restarted');

async function metric(stack: TestStack, name: string): Promise<string[]> {
  const body = await (await fetch(`${stack.service.url}/metrics`)).text();
  return body.split('\n').filter((line) => line.startsWith(name));
}

/** The partition a user's conversation is applied in, and the watermark Postgres holds for it, once their message is applied. */
async function appliedFor(stack: TestStack, redis: Redis, phone: string): Promise<{ partition: number; mark: string }> {
  const partition = await eventually(async () => {
    for (let p = 0; p < stack.config.STREAM_PARTITIONS; p++) {
      const entries = await redis.xrange(`${stack.config.REDIS_KEY_PREFIX}events:{${p}}`, '-', '+');
      if (entries.some(([, fields]) => fields.join(' ').includes(phone))) return p;
    }
    return undefined;
  }, 'the entry in a partition');
  const mark = await eventually(async () => {
    const [row] = await stack.sql<{ last_entry_id: string | null }[]>`select last_entry_id from partition_owners where partition = ${partition}`;
    return row?.last_entry_id ?? undefined;
  }, 'the watermark');
  return { partition, mark };
}

async function lastGeneratedId(redis: Redis, stream: string): Promise<string> {
  const info = (await redis.xinfo('STREAM', stream)) as unknown[];
  return String(info[info.indexOf('last-generated-id') + 1]);
}

describe('a Redis without persistence', () => {
  let server: PrivateRedis;
  let stack: TestStack;
  let redis: Redis;
  beforeAll(async () => {
    server = await startPrivateRedis('off');
    stack = await startStack('redis_reset', { REDIS_URL: server.url, PARTITION_LEASE_TTL_MS: '1500' });
    redis = new Redis(server.url);
  }, 30_000);
  // A service just back from a Redis restart may take longer to stop than the hook's default 5 s on a loaded machine.
  afterAll(async () => {
    redis?.disconnect();
    await stack?.stop();
    await server?.stop();
  }, 30_000);

  test('emptied under the service (FLUSHALL): reported per partition with what is known, the user-id map rebuilt, ids kept above what was applied', async () => {
    // First seen with phone and BSUID: keyed by the phone, found by the BSUID alone later (a username hides the phone).
    const user = freshUser();
    await sendAs(stack, user, text('Hola'));
    await eventually(() => sentTo(stack, user.phone).length >= 1, 'the menu');
    const { partition, mark } = await appliedFor(stack, redis, user.phone);

    await redis.flushall();

    const report = await eventually(() => resets(stack).find((line) => line.partition === partition), 'the reset reported', 15_000);
    expect(report).toMatchObject({
      level: 50,
      stream: `${stack.config.REDIS_KEY_PREFIX}events:{${partition}}`,
      lastAppliedEntryId: mark,
      redisLastEntryId: null,
    });
    expect(Date.parse(report.lastAppliedAt as string)).toBeLessThanOrEqual(Date.parse(report.detectedAt as string));
    await eventually(
      async () => (await metric(stack, 'handover_redis_resets_total')).includes(`handover_redis_resets_total{partition="${partition}"} 1`),
      'the metric',
    );

    const usersKey = `${stack.config.REDIS_KEY_PREFIX}users`;
    await eventually(async () => (await redis.hget(usersKey, `id:${user.bsuid}`)) === user.phone, 'the user-id map rebuilt');
    const stream = `${stack.config.REDIS_KEY_PREFIX}events:{${partition}}`;
    expect(compareEntryIds(await lastGeneratedId(redis, stream), mark)).toBeGreaterThanOrEqual(0);

    // The user writes again by BSUID alone: the same conversation (answered at the phone it knows), not a new one keyed by the BSUID.
    await sendAs(stack, { bsuid: user.bsuid }, text('Hola'));
    await eventually(() => sentTo(stack, user.phone).length >= 2, 'the answer in the same conversation');
    expect(await stack.sql`select conversation_key from conversations where conversation_key = ${user.bsuid}`).toHaveLength(0);
    const newEntries = await redis.xrange(stream, '-', '+');
    expect(newEntries.every(([id]) => compareEntryIds(id, mark) > 0)).toBe(true);
  }, 30_000);

  test('restarted empty (SIGKILL, no AOF): the restart is said, and every partition Postgres applied is reported again', async () => {
    const user = freshUser();
    await sendAs(stack, user, text('Hola'));
    await eventually(() => sentTo(stack, user.phone).length >= 1, 'the menu');
    const { partition, mark } = await appliedFor(stack, redis, user.phone);
    const before = resets(stack).length;

    await server.kill();
    await server.restart();

    const restart = await eventually(() => restarts(stack)[0], 'the restart noticed', 20_000);
    expect(restart.level).toBe(40);
    expect(restart.msg).toContain('AOF off');
    const report = await eventually(
      () =>
        resets(stack)
          .slice(before)
          .find((line: LogLine) => line.partition === partition),
      'the reset reported after the restart',
      20_000,
    );
    expect(report).toMatchObject({ level: 50, lastAppliedEntryId: mark, redisLastEntryId: null });
    expect(await metric(stack, 'handover_redis_restarts_total')).toContain('handover_redis_restarts_total 1');
    await eventually(async () => (await redis.hget(`${stack.config.REDIS_KEY_PREFIX}users`, `id:${user.bsuid}`)) === user.phone, 'the map rebuilt');
  }, 45_000);
});

describe('a Redis with AOF always', () => {
  test('SIGKILLed and restarted, it kept everything: the restart is said, no reset is reported', async () => {
    const server = await startPrivateRedis('always');
    let stack: TestStack | undefined;
    try {
      const started = (stack = await startStack('redis_aof_restart', { REDIS_URL: server.url, PARTITION_LEASE_TTL_MS: '1500' }));
      const user = freshUser();
      await sendAs(started, user, text('Hola'));
      await eventually(() => sentTo(started, user.phone).length >= 1, 'the menu');
      await server.kill();
      await server.restart();
      // The restart line is written once the partitions held were checked against Postgres.
      const restart = await eventually(() => restarts(started)[0], 'the restart noticed', 20_000);
      expect(restart.msg).toContain('its streams reach what Postgres applied');
      expect(restart.msg).toContain('AOF on, appendfsync always');
      await sendAs(started, user, text('Hola'));
      await eventually(() => sentTo(started, user.phone).length >= 2, 'the next message applied');
      expect(resets(started)).toEqual([]);
      expect(await metric(started, 'handover_redis_resets_total')).toEqual([]);
    } finally {
      await stack?.stop();
      await server.stop();
    }
  }, 45_000);
});
