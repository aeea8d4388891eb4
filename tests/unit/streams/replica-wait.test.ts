import { afterAll, beforeAll, expect, test } from 'bun:test';
import Redis from 'ioredis';
import { AppError } from '../../../src/errors';
import { parseInfo } from '../../../src/redis/persistence';
import { streamKeys } from '../../../src/streams/codec';
import { createProducer } from '../../../src/streams/producer';
import { waitingForReplicas } from '../../../src/streams/replica-wait';
import { eventually } from '../../support/harness';
import { startPrivateRedis, type PrivateRedis } from '../../support/private-redis';
import { timerEvent } from './redis-fixture';

/** REDIS_WAIT_REPLICAS: an event is acknowledged only once a replica has it. A primary and a replica of this file's own. */
let primary: PrivateRedis;
let replica: PrivateRedis;
let redis: Redis;
const keys = streamKeys('hbtest:replica-wait:');

beforeAll(async () => {
  primary = await startPrivateRedis('off');
  replica = await startPrivateRedis('off');
  const admin = new Redis(replica.url);
  await admin.replicaof('127.0.0.1', primary.port);
  admin.disconnect();
  redis = new Redis(primary.url, { enableAutoPipelining: true });
  // Connected is not enough: a replica acknowledges writes once its first sync is done.
  await eventually(
    async () =>
      parseInfo(await redis.info('replication'))
        .get('slave0')
        ?.includes('state=online'),
    'the replica in sync',
    20_000,
  );
  // Two servers to start and a first sync: more than the hook's default 5 s on a loaded machine.
}, 30_000);
afterAll(async () => {
  redis?.disconnect();
  await replica?.stop();
  await primary?.stop();
});

const waitCalls = async () => Number(/cmdstat_wait:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);

test('with the replica up, publishes resolve, and a burst of them shares one WAIT', async () => {
  const producer = waitingForReplicas(createProducer(redis, keys, 4), redis, 1, 2000);
  const before = await waitCalls();
  await Promise.all(Array.from({ length: 50 }, (_, n) => producer.publish([timerEvent(`57300000${n}`, `burst-${n}`)])));
  // The first publish answered sends a WAIT; every other one of the burst waits for the one after it.
  expect((await waitCalls()) - before).toBeLessThanOrEqual(2);
  const replicaClient = new Redis(replica.url);
  try {
    const lengths = await Promise.all([0, 1, 2, 3].map((partition) => replicaClient.xlen(keys.partition(partition))));
    expect(lengths.reduce((sum, length) => sum + length, 0)).toBe(50);
  } finally {
    replicaClient.disconnect();
  }
});

test('with the replica gone, the publish is refused with a 503 that names the shortfall (the sender retries)', async () => {
  await replica.kill();
  await eventually(async () => parseInfo(await redis.info('replication')).get('connected_slaves') === '0', 'the replica gone');
  const producer = waitingForReplicas(createProducer(redis, keys, 4), redis, 1, 100);
  const refusal = await producer.publish([timerEvent('573000000999', 'lonely')]).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(refusal).toBeInstanceOf(AppError);
  expect(refusal).toMatchObject({ status: 503, code: 'queue_unavailable' });
  expect((refusal as Error).message).toBe('0 of 1 Redis replicas confirmed the event within 100 ms; retry');
});
