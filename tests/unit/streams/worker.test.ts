import { afterEach, describe, expect, test } from 'bun:test';
import Redis from 'ioredis';
import type { StreamEntry } from '../../../src/domain/events';
import { createLogger } from '../../../src/logger';
import { createProducer } from '../../../src/streams/producer';
import { createStreamWorker, type StreamWorkerOptions } from '../../../src/streams/worker';
import { decodeEvent, splitDeadLetter, streamKeys } from '../../../src/streams/codec';
import { eventually, REDIS_URL } from '../../support/harness';
import { startPrivateRedis } from '../../support/private-redis';
import { deferred, redisFixture, timerEvent } from './redis-fixture';

const PHONE = '573001112233';
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A worker on its own keys with one partition (so every entry is in order)
 * and the test's own `handle`: `applied` lists the event ids of every batch
 * `handle` resolved, in order.
 */
function workerFixture(options: Partial<StreamWorkerOptions> = {}) {
  const fixture = redisFixture('unit-worker');
  const applied: string[] = [];
  const calls: StreamEntry[][] = [];
  const partitions = options.partitions ?? 1;
  const settings: StreamWorkerOptions = {
    redis: fixture.redis,
    blockingConnection: () => new Redis(REDIS_URL, { maxRetriesPerRequest: null }),
    keys: fixture.keys,
    partitions,
    consumer: 'worker-1',
    batchSize: 50,
    maxDeliveries: 3,
    claimIdleMs: 60_000,
    retentionMs: 3_600_000,
    blockMs: 100,
    leaseTtlMs: 1500,
    fenceOf: async () => 0,
    // A failed batch's partition retries after 1 s in production; the tests' failures retry at once.
    partitionRetryMs: 50,
    logger: createLogger('silent'),
    handle: async (entries) => {
      applied.push(...entries.map((entry) => entry.event.id));
    },
    isOutage: async () => false,
    ...options,
  };
  const recordingHandle = settings.handle;
  settings.handle = async (entries, lease) => {
    calls.push(entries);
    await recordingHandle(entries, lease);
  };
  const worker = createStreamWorker(settings);
  const stream = fixture.keys.partition(0);
  cleanups.push(fixture.drop, () => worker.close());
  return {
    ...fixture,
    worker,
    stream,
    applied,
    calls,
    producer: createProducer(fixture.redis, fixture.keys, partitions),
    pendingCount: async () => ((await fixture.redis.xpending(stream, fixture.keys.group)) as [number])[0],
    deadLetterIds: async () =>
      ((await fixture.redis.xrange(fixture.keys.deadLetter, '-', '+')) as [string, string[]][]).map(([, fields]) => splitDeadLetter(fields)),
  };
}

/** What `handle` does when it applies a batch: records it, or fails as a transaction would. */
const applyUnless = (applied: string[], fails: (id: string) => boolean) => async (entries: StreamEntry[]) => {
  if (entries.some((entry) => fails(entry.event.id))) throw new Error('constraint violated');
  applied.push(...entries.map((entry) => entry.event.id));
};

/** Reads entries as a consumer that then dies: they stay pending under its name. */
async function readAndDie(redis: Redis, stream: string, group: string, consumer: string, count = 100) {
  await redis.xreadgroup('GROUP', group, consumer, 'COUNT', count, 'STREAMS', stream, '>');
}

describe('acknowledgement', () => {
  test('a batch is acknowledged only once handle has resolved', async () => {
    const transaction = deferred();
    const started = deferred();
    const { worker, producer, pendingCount, applied } = workerFixture({
      handle: async (entries) => {
        started.resolve();
        await transaction.promise;
        applied.push(...entries.map((entry) => entry.event.id));
      },
    });
    await worker.start();
    await producer.publish([timerEvent(PHONE, 'a'), timerEvent(PHONE, 'b')]);
    await started.promise;
    expect(await pendingCount()).toBe(2);

    transaction.resolve();
    await eventually(async () => (await pendingCount()) === 0, 'acknowledgement');
    expect(applied).toEqual(['a', 'b']);
  });
});

describe('failures', () => {
  test('a failing batch is retried entry by entry: the bad entry is dead-lettered after maxDeliveries, the ones after it flow', async () => {
    const applied: string[] = [];
    const { worker, producer, deadLetterIds, pendingCount } = workerFixture({ maxDeliveries: 2, handle: applyUnless(applied, (id) => id === 'bad') });
    await worker.start();
    await producer.publish([timerEvent(PHONE, 'before'), timerEvent(PHONE, 'bad'), timerEvent(PHONE, 'after')]);

    await eventually(() => applied.includes('after'), 'the entry after the bad one', 15_000);
    expect(applied).toEqual(['before', 'after']);
    const [dead, ...others] = await deadLetterIds();
    expect(others).toEqual([]);
    expect(dead!.info.deliveries).toBe(2);
    expect(dead!.info.error).toContain('constraint violated');
    expect(decodeEvent(dead!.original).id).toBe('bad');
    expect(await pendingCount()).toBe(0);
  });

  test('an entry the database refuses for its data is dead-lettered at first failure, with its reason; the ones after it flow', async () => {
    const applied: string[] = [];
    const refused = Object.assign(new Error('invalid byte sequence for encoding "UTF8": 0x00'), { code: '22021' });
    const { worker, producer, deadLetterIds, calls, pendingCount } = workerFixture({
      maxDeliveries: 5,
      handle: async (entries) => {
        if (entries.some((entry) => entry.event.id === 'nul')) throw new Error('Failed query', { cause: refused });
        applied.push(...entries.map((entry) => entry.event.id));
      },
    });
    await worker.start();
    await producer.publish([timerEvent(PHONE, 'nul'), timerEvent(PHONE, 'after')]);

    await eventually(() => applied.includes('after'), 'the entry after the refused one');
    const [dead, ...others] = await deadLetterIds();
    expect(others).toEqual([]);
    expect(dead!.info.deliveries).toBe(1);
    expect(dead!.info.error).toStartWith('permanent: ');
    expect(dead!.info.error).toContain('0x00');
    // Once in the batch, once alone: never retried.
    expect(calls.filter((batch) => batch.some((entry) => entry.event.id === 'nul'))).toHaveLength(2);
    expect(await pendingCount()).toBe(0);
  });

  test('while the database is down, failures never count against an entry', async () => {
    let databaseDown = true;
    const applied: string[] = [];
    const { worker, producer, deadLetterIds, calls } = workerFixture({
      maxDeliveries: 2,
      handle: applyUnless(applied, () => databaseDown),
      isOutage: async () => databaseDown,
    });
    await worker.start();
    await producer.publish([timerEvent(PHONE, 'waits')]);
    // Twice as many attempts as maxDeliveries allows for a faulty entry.
    await eventually(() => calls.length >= 4, 'retries during the outage', 15_000);

    databaseDown = false;
    await eventually(() => applied.includes('waits'), 'the entry applied after the outage', 15_000);
    expect(await deadLetterIds()).toEqual([]);
  });

  test('when the database goes down while a failed batch is retried entry by entry, the outage is not counted against the entry', async () => {
    // The batch fails for a reason of its own (the database is up); the database then goes away for one call.
    let outageCalls = 0;
    let lastFailure = '';
    const { worker, producer, applied, deadLetterIds } = workerFixture({
      maxDeliveries: 1,
      handle: async (entries) => {
        if (outageCalls > 0) {
          outageCalls--;
          lastFailure = 'outage';
          throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
        }
        if (entries.length > 1 && lastFailure === '') {
          lastFailure = 'deadlock';
          outageCalls = 1;
          throw new Error('deadlock detected');
        }
        applied.push(...entries.map((entry) => entry.event.id));
      },
      isOutage: async () => lastFailure === 'outage',
    });
    await producer.publish([timerEvent(PHONE, 'first'), timerEvent(PHONE, 'second')]);
    await worker.start();

    await eventually(() => applied.includes('second'), 'the second entry');
    expect(applied).toEqual(['first', 'second']);
    expect(await deadLetterIds()).toEqual([]);
  });

  test('an entry that does not decode is dead-lettered at once and never reaches handle', async () => {
    const { worker, producer, redis, stream, applied, calls, deadLetterIds } = workerFixture();
    await redis.xadd(stream, '*', 't', 'user.message', 'v', '1');
    await worker.start();
    await producer.publish([timerEvent(PHONE, 'next')]);

    await eventually(() => applied.includes('next'), 'the entry after the undecodable one');
    const [dead] = await deadLetterIds();
    expect(dead!.info.deliveries).toBe(1);
    expect(dead!.info.error).toStartWith('undecodable:');
    expect(calls.flat().map((entry) => entry.event.id)).toEqual(['next']);
  });
});

describe('restarts and other consumers', () => {
  test('after a restart, entries read before the crash are applied before new ones', async () => {
    const { worker, producer, redis, keys, stream, applied } = workerFixture();
    await redis.xgroup('CREATE', stream, keys.group, '0', 'MKSTREAM');
    await producer.publish([timerEvent(PHONE, 'read-1'), timerEvent(PHONE, 'read-2')]);
    await readAndDie(redis, stream, keys.group, 'worker-1');
    await producer.publish([timerEvent(PHONE, 'new')]);

    await worker.start();
    await eventually(() => applied.length === 3, 'every entry');
    expect(applied).toEqual(['read-1', 'read-2', 'new']);
  });

  test('on taking a partition over, the entries the previous owner left unacknowledged are applied before new ones', async () => {
    const { worker, producer, redis, keys, stream, applied, pendingCount } = workerFixture();
    await redis.xgroup('CREATE', stream, keys.group, '0', 'MKSTREAM');
    await producer.publish([timerEvent(PHONE, 'orphan-1'), timerEvent(PHONE, 'orphan-2')]);
    await readAndDie(redis, stream, keys.group, 'crashed-instance');
    await producer.publish([timerEvent(PHONE, 'new')]);

    await worker.start();
    await eventually(() => applied.length === 3, 'the orphaned entries and the new one');
    expect(applied).toEqual(['orphan-1', 'orphan-2', 'new']);
    expect(await pendingCount()).toBe(0);
  });

  test('when the stream and its group are deleted under a running worker, new entries are still handled', async () => {
    const { worker, producer, redis, keys, stream, applied } = workerFixture();
    await worker.start();
    await producer.publish([timerEvent(PHONE, 'first')]);
    await eventually(() => applied.includes('first'), 'the first entry');

    await redis.del(stream);
    await producer.publish([timerEvent(PHONE, 'after-delete')]);
    await eventually(() => applied.includes('after-delete'), 'the entry written after the stream was deleted');

    await redis.xgroup('DESTROY', stream, keys.group);
    await producer.publish([timerEvent(PHONE, 'after-destroy')]);
    await eventually(() => applied.includes('after-destroy'), 'the entry written after the group was destroyed');
  });
});

describe('close()', () => {
  test('is idempotent and lets the batch in hand finish and be acknowledged', async () => {
    const transaction = deferred();
    const started = deferred();
    const { worker, producer, pendingCount } = workerFixture({
      handle: async () => {
        started.resolve();
        await transaction.promise;
      },
    });
    await worker.start();
    await producer.publish([timerEvent(PHONE, 'in-hand')]);
    await started.promise;

    const closing = worker.close();
    expect(worker.close()).toBe(closing);
    expect(await pendingCount()).toBe(1);
    transaction.resolve();
    await closing;
    expect(await pendingCount()).toBe(0);
  });
});

describe('retention', () => {
  test('taking a partition trims its acknowledged entries older than the retention', async () => {
    const { worker, redis, keys, stream } = workerFixture({ retentionMs: 60_000 });
    const twoHoursAgo = Date.now() - 2 * 3600_000;
    for (let i = 0; i < 250; i++) await redis.xadd(stream, `${twoHoursAgo}-${i}`, 'old', String(i));
    await redis.xgroup('CREATE', stream, keys.group, '0');
    await readAndDie(redis, stream, keys.group, 'earlier', 250);
    const pending = (await redis.xpending(stream, keys.group, '-', '+', 250)) as [id: string][];
    await redis.xack(stream, keys.group, ...pending.map(([id]) => id));

    await worker.start();
    await eventually(async () => (await redis.xlen(stream)) < 250, 'the trim');
  });
});

describe('stopping', () => {
  test('a worker whose Redis went away mid-read stops: the read queued while reconnecting is not waited for', async () => {
    const server = await startPrivateRedis('off');
    const keys = streamKeys(`hbtest:worker-stop:${process.pid}:`);
    // As the service configures them: commands fail fast on the main connection; blocking reads wait for Redis.
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
    redis.on('error', () => {});
    const worker = createStreamWorker({
      redis,
      blockingConnection: () => new Redis(server.url, { maxRetriesPerRequest: null }).on('error', () => {}),
      keys,
      partitions: 2,
      consumer: 'worker-stop',
      batchSize: 10,
      maxDeliveries: 3,
      claimIdleMs: 60_000,
      retentionMs: 3_600_000,
      blockMs: 100,
      leaseTtlMs: 5000,
      fenceOf: async () => 0,
      logger: createLogger('silent'),
      handle: async () => {},
      isOutage: async () => false,
    });
    try {
      await worker.start();
      await eventually(() => worker.status().owned.length === 2, 'both partitions read');
      await server.kill();
      // The readers' connections are reconnecting now, their next read queued until Redis is back (it is not).
      await Bun.sleep(300);
      await worker.close();
      expect(worker.status().owned).toEqual([]);
    } finally {
      redis.disconnect();
      await server.stop();
    }
  });
});
