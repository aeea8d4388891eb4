import { afterAll, afterEach, beforeAll, describe, expect, test } from 'bun:test';
import Redis from 'ioredis';
import { openDatabase, type Database } from '../../../src/db/client';
import { createQueries } from '../../../src/db/queries';
import { processedEvents } from '../../../src/db/schema';
import { pipelineEvent, type StreamEntry } from '../../../src/domain/events';
import { createLogger } from '../../../src/logger';
import { appliedChannel, createAppliedEvents, subscriberConnection, type AppliedEvents } from '../../../src/streams/applied';
import { createTestDatabase, eventually, REDIS_URL } from '../../support/harness';
import { redisFixture, timerEvent } from './redis-fixture';

/**
 * The CRM routes' wait for a commit (DESIGN 2.1) against the real Redis and
 * Postgres: two "instances" (two AppliedEvents on one key prefix, each with
 * its own subscriber connection), one waiting, one announcing as the
 * partition's owner does after its commit.
 */
const PARTITIONS = 4;
/** Longer than any test: a wait that ends before it ended for the reason the test gives. */
const NEVER_MS = 60_000;

let testDatabase: Awaited<ReturnType<typeof createTestDatabase>>;
let database: Database;
beforeAll(async () => {
  testDatabase = await createTestDatabase('unit_applied');
  database = await openDatabase({ databaseUrl: testDatabase.url, dataDir: '', poolSize: 2 });
});
afterAll(async () => {
  await database.close();
  await testDatabase.drop();
});

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function instances(count: number, sweepMs = 200) {
  const fixture = redisFixture('unit-applied');
  cleanups.push(() => fixture.drop());
  const started: AppliedEvents[] = [];
  const make = () => {
    const applied = createAppliedEvents({
      redis: fixture.redis,
      subscriber: () => subscriberConnection(fixture.redis),
      keys: fixture.keys,
      partitions: PARTITIONS,
      committedOf: createQueries(database.db).committedOf,
      logger: createLogger('silent'),
      sweepMs,
    });
    started.push(applied);
    cleanups.push(() => applied.close());
    return applied;
  };
  return { fixture, all: Array.from({ length: count }, make), started };
}

let sequence = 0;
const crmEntry = (): StreamEntry => {
  const id = `crm:send-message:key:${process.pid}-${++sequence}`;
  return { entryId: `${sequence}-0`, event: pipelineEvent('crm.message', '573001112233', id, { ticketId: 'TK-1', message: 'hola', messageType: 'text' }) };
};
const commit = (entry: StreamEntry) => database.db.insert(processedEvents).values({ id: entry.event.id, streamEntryId: entry.entryId });

describe('a CRM request waiting for its event', () => {
  test("wakes when the partition's owner, another instance, announces the commit", async () => {
    const { all } = instances(2);
    const [receiving, owner] = all as [AppliedEvents, AppliedEvents];
    await Promise.all(all.map((applied) => applied.start()));
    const entry = crmEntry();
    // Nothing in processed_events: only the announcement can end this wait as applied.
    const waiting = receiving.publishAndWait(entry.event.id, async () => owner.announce(2, [entry]), NEVER_MS);
    expect(await waiting).toBe(true);
  });

  test('wakes at once when this instance owns the partition and commits it', async () => {
    const { all } = instances(1);
    const [only] = all as [AppliedEvents];
    await only.start();
    const entry = crmEntry();
    expect(await only.publishAndWait(entry.event.id, async () => only.announce(0, [entry]), NEVER_MS)).toBe(true);
  });

  test('every wait for one event id is woken (the CRM retrying while its first call waits)', async () => {
    const { all } = instances(2);
    const [receiving, owner] = all as [AppliedEvents, AppliedEvents];
    await Promise.all(all.map((applied) => applied.start()));
    const entry = crmEntry();
    const first = receiving.publishAndWait(entry.event.id, async () => {}, NEVER_MS);
    const retry = receiving.publishAndWait(entry.event.id, async () => owner.announce(1, [entry]), NEVER_MS);
    expect(await Promise.all([first, retry])).toEqual([true, true]);
  });

  test('whose announcement was missed still finds the commit in processed_events', async () => {
    const { all } = instances(1);
    const [receiving] = all as [AppliedEvents];
    await receiving.start();
    const entry = crmEntry();
    // Committed, never announced: as when the announcement went out while the subscriber was reconnecting.
    expect(await receiving.publishAndWait(entry.event.id, () => commit(entry).then(() => {}), NEVER_MS)).toBe(true);
  });

  test('is told false past its timeout when nothing committed it, and the event id is no longer waited for', async () => {
    const { all } = instances(2);
    const [receiving, owner] = all as [AppliedEvents, AppliedEvents];
    await Promise.all(all.map((applied) => applied.start()));
    const entry = crmEntry();
    expect(await receiving.publishAndWait(entry.event.id, async () => {}, 50)).toBe(false);
    // A later announcement wakes nobody and breaks nothing; a new wait for the id is woken by it.
    owner.announce(0, [entry]);
    expect(await receiving.publishAndWait(entry.event.id, async () => owner.announce(0, [entry]), NEVER_MS)).toBe(true);
  });

  test('a timeout whose commit happened meanwhile is answered applied (the last look)', async () => {
    // The sweep never runs within the test: only the look before answering can find the commit.
    const { all } = instances(1, NEVER_MS);
    const [receiving] = all as [AppliedEvents];
    await receiving.start();
    const entry = crmEntry();
    expect(await receiving.publishAndWait(entry.event.id, () => commit(entry).then(() => {}), 0)).toBe(true);
  });

  test('a failed publish (the XADD) is thrown to the route', async () => {
    const { all } = instances(1);
    const [receiving] = all as [AppliedEvents];
    await receiving.start();
    const refused = receiving.publishAndWait(
      crmEntry().event.id,
      async () => {
        throw new Error('queue unreachable');
      },
      NEVER_MS,
    );
    await expect(refused).rejects.toThrow('queue unreachable');
  });
});

describe('the announcements', () => {
  test('name only CRM events, on the partition channel', async () => {
    const { fixture, all } = instances(1);
    const [owner] = all as [AppliedEvents];
    const listener = new Redis(REDIS_URL);
    cleanups.push(async () => listener.disconnect());
    const heard: [string, string][] = [];
    listener.on('message', (channel: string, message: string) => heard.push([channel, message]));
    await listener.subscribe(appliedChannel(fixture.keys, 3));
    const entry = crmEntry();
    owner.announce(3, [{ entryId: '1-0', event: timerEvent('573001112233', 'timer-1') }]);
    owner.announce(3, [{ entryId: '2-0', event: timerEvent('573001112233', 'timer-2') }, entry]);
    await eventually(() => heard.length > 0, 'an announcement');
    expect(heard).toEqual([[appliedChannel(fixture.keys, 3), JSON.stringify([entry.event.id])]]);
    expect(appliedChannel(fixture.keys, 3)).toBe(`${fixture.prefix}events:{3}:applied`);
  });

  test('reach a subscriber again after its connection dropped', async () => {
    const { fixture } = instances(0);
    let connection: Redis | undefined;
    const make = (subscriber?: () => Redis) =>
      createAppliedEvents({
        redis: fixture.redis,
        subscriber: subscriber ?? (() => subscriberConnection(fixture.redis)),
        keys: fixture.keys,
        partitions: PARTITIONS,
        // The sweep never runs within the test: only the announcements can wake the wait.
        committedOf: createQueries(database.db).committedOf,
        logger: createLogger('silent'),
        sweepMs: NEVER_MS,
      });
    const receiving = make(() => (connection = subscriberConnection(fixture.redis)));
    const owner = make();
    cleanups.push(
      () => receiving.close(),
      () => owner.close(),
    );
    await Promise.all([receiving.start(), owner.start()]);
    const reconnected = new Promise((resolve) => connection!.once('ready', resolve));
    connection!.stream.destroy();
    await reconnected;
    const entry = crmEntry();
    const waiting = receiving.publishAndWait(entry.event.id, async () => {}, NEVER_MS);
    // Announced until heard: ioredis subscribes again right after 'ready', and what goes out before is missed.
    let settled: boolean | undefined;
    while (settled === undefined) {
      owner.announce(1, [entry]);
      settled = await Promise.race([waiting, Bun.sleep(20).then(() => undefined)]);
    }
    expect(settled).toBe(true);
  });

  test('close ends the waits in hand and leaves no subscription behind', async () => {
    const { fixture, all } = instances(1);
    const [receiving] = all as [AppliedEvents];
    await receiving.start();
    const admin = new Redis(REDIS_URL);
    cleanups.push(() => admin.quit());
    const subscribers = async () => ((await admin.pubsub('NUMSUB', appliedChannel(fixture.keys, 0))) as [string, number])[1];
    expect(await subscribers()).toBe(1);
    const waiting = receiving.publishAndWait(crmEntry().event.id, async () => {}, NEVER_MS);
    await receiving.close();
    expect(await waiting).toBe(false);
    await eventually(async () => (await subscribers()) === 0, 'the subscription gone');
  });
});
