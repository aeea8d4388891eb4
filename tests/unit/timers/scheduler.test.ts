import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test';
import { eq, sql } from 'drizzle-orm';
import Redis from 'ioredis';
import { openDatabase, type Database } from '../../../src/db/client';
import { timers } from '../../../src/db/schema';
import { createLogger } from '../../../src/logger';
import { decodeEvent, partitionOf, streamKeys } from '../../../src/streams/codec';
import { createProducer } from '../../../src/streams/producer';
import { createTimerScheduler } from '../../../src/timers/scheduler';
import { createTestDatabase } from '../../support/harness';
import { redisFixture } from '../streams/redis-fixture';

const PARTITIONS = 4;
const PHONE = '573001112233';
let database: Database;
let dropDatabase: () => Promise<void>;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  const created = await createTestDatabase('timers');
  dropDatabase = created.drop;
  database = await openDatabase({ databaseUrl: created.url, dataDir: '' });
});

afterAll(async () => {
  await database.close();
  await dropDatabase();
});

afterEach(async () => {
  await database.db.delete(timers);
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A scheduler publishing to streams of this test's own; `fired` reads back what reached the user's partition. */
function schedulerFixture() {
  const fixture = redisFixture('unit-timers');
  cleanups.push(fixture.drop);
  const scheduler = createTimerScheduler({
    database,
    producer: createProducer(fixture.redis, fixture.keys, PARTITIONS),
    logger: createLogger('silent'),
    pollMs: 60_000,
  });
  const fired = async (phone = PHONE) =>
    (await fixture.redis.xrange(fixture.keys.partition(partitionOf(phone, PARTITIONS)), '-', '+')).map(([, fields]) => decodeEvent(fields));
  return { scheduler, fired };
}

const secondsFromNow = (seconds: number) => new Date(Date.now() + seconds * 1000);

async function arm(id: string, dueAt: Date, fields: Partial<typeof timers.$inferInsert> = {}) {
  await database.db.insert(timers).values({ id, conversationKey: PHONE, timer: 'assign', ticketId: 'TK-2026-000042', dueAt, ...fields });
}

const row = async (id: string) => (await database.db.select().from(timers).where(eq(timers.id, id)))[0]!;

describe('firing due deadlines', () => {
  test("a due deadline becomes one timer.fired event on its owner's partition, named by the deadline and its due time", async () => {
    const { scheduler, fired } = schedulerFixture();
    const dueAt = secondsFromNow(-5);
    await arm('ticket:TK-2026-000042:assign', dueAt);

    expect(await scheduler.fireDue()).toBe(1);
    const events = await fired();
    expect(events).toEqual([
      {
        type: 'timer.fired',
        key: PHONE,
        id: `timer:ticket:TK-2026-000042:assign@${dueAt.toISOString()}`,
        at: expect.any(String),
        data: { timer: 'assign', dueAt: dueAt.toISOString(), ticketId: 'TK-2026-000042' },
      },
    ]);
    expect((await row('ticket:TK-2026-000042:assign')).enqueueCount).toBe(1);
  });

  test('a deadline is sent once, not on every poll', async () => {
    const { scheduler, fired } = schedulerFixture();
    await arm('t1', secondsFromNow(-5));
    await scheduler.fireDue();

    expect(await scheduler.fireDue()).toBe(0);
    expect(await fired()).toHaveLength(1);
  });

  test('a deadline not yet due is left armed', async () => {
    const { scheduler, fired } = schedulerFixture();
    await arm('later', secondsFromNow(3600));

    expect(await scheduler.fireDue()).toBe(0);
    expect(await fired()).toEqual([]);
    expect((await row('later')).enqueuedAt).toBeNull();
  });

  test("a conversation's deadline (the survey) carries no ticket", async () => {
    const { scheduler, fired } = schedulerFixture();
    await arm('conversation:survey', secondsFromNow(-1), { timer: 'survey', ticketId: null });
    await scheduler.fireDue();
    expect((await fired())[0]!.data).toEqual({ timer: 'survey', dueAt: expect.any(String) });
  });

  test('when the stream cannot take the event, the deadline stays unsent for the next poll', async () => {
    const unreachable = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    unreachable.on('error', () => {});
    const scheduler = createTimerScheduler({
      database,
      producer: createProducer(unreachable, streamKeys('hbtest:timers-down:'), PARTITIONS),
      logger: createLogger('silent'),
      pollMs: 60_000,
    });
    await arm('t1', secondsFromNow(-5));

    await expect(scheduler.fireDue()).rejects.toThrow(/event queue/);
    expect(await row('t1')).toMatchObject({ enqueuedAt: null, enqueueCount: 0 });
    unreachable.disconnect();
  });
});

describe('re-sending a firing that was never applied', () => {
  test('a deadline sent long ago and still armed is sent again, then left alone after four sends', async () => {
    const { scheduler, fired } = schedulerFixture();
    await arm('stuck', secondsFromNow(-3600), { enqueuedAt: secondsFromNow(-3600), enqueueCount: 3 });

    // The first poll of a scheduler is a re-send poll.
    expect(await scheduler.fireDue()).toBe(1);
    expect((await row('stuck')).enqueueCount).toBe(4);
    await database.db.update(timers).set({ enqueuedAt: sql`now() - interval '1 day'` });

    for (let poll = 0; poll < 20; poll++) await scheduler.fireDue();
    expect(await fired()).toHaveLength(1);
  });
});
