import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test';
import { openDatabase } from '../../../src/db/client';
import { createQueries } from '../../../src/db/queries';
import { pipelineEvent } from '../../../src/domain/events';
import { createLogger } from '../../../src/logger';
import { createRedisClient } from '../../../src/redis/client';
import { appliedChannel, createAppliedEvents, subscriberConnection, type AppliedEvents } from '../../../src/streams/applied';
import { streamKeys } from '../../../src/streams/codec';
import { eventually } from '../../support/harness';
import { PARTITIONS, startFleet, type Fleet } from './fleet';
import { startRedisCluster } from './redis-cluster';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts): this file's, through the whole service.
setDefaultTimeout(30_000);

/**
 * The whole flow on a three-node Redis Cluster: no command, MULTI or script
 * spans two slots (Cluster would refuse it with CROSSSLOT), and a SIGKILLed
 * instance's partitions are taken over with nothing lost, nothing twice,
 * order kept.
 */
let cluster: Awaited<ReturnType<typeof startRedisCluster>>;
let fleet: Fleet;

beforeAll(async () => {
  cluster = await startRedisCluster();
  fleet = await startFleet('cluster', { redisUrl: cluster.url });
}, 60_000);
afterAll(async () => {
  await fleet?.close();
  await cluster?.stop();
}, 30_000);

test('on a Redis Cluster, conversations flow both ways and a killed instance is taken over without loss, duplicate or reordering', async () => {
  const all = ['rc-a', 'rc-b'].map((name) => fleet.start(name));
  try {
    await Promise.all(all.map((instance) => fleet.ready(instance)));
    await eventually(() => fleet.exclusivelyOwned(), 'every partition owned');
    const conversations = await fleet.openConversations(8);

    const victim = all[0]!;
    const flow = fleet.traffic(conversations);
    await flow.rounds(2);
    await fleet.stop(victim, 'SIGKILL');
    const owners = await eventually(() => fleet.exclusivelyOwned(), "the dead instance's partitions taken over", 10_000);
    await flow.rounds(2);
    const rounds = await flow.stop();

    expect(new Set(owners.values())).toEqual(new Set(['rc-b']));
    const outcome = await fleet.delivered(rounds);
    expect(outcome.filter((conversation) => !conversation.crmInOrder || !conversation.graphInOrder || conversation.duplicates > 0)).toEqual([]);
    expect(all.flatMap((instance) => instance.logs).filter((line) => line.includes('CROSSSLOT'))).toEqual([]);
    // The partitions really are spread over the nodes.
    const keysPerNode = await Promise.all(cluster.ports.map(async (port) => Number((await Bun.$`redis-cli -p ${port} dbsize`.quiet().text()).trim())));
    expect(keysPerNode.every((count) => count > 0)).toBe(true);
  } catch (error) {
    fleet.dumpLogs(all);
    throw error;
  }
}, 120_000);

test("on a Redis Cluster, a commit announced on its partition's sharded channel wakes a CRM request waiting on another instance", async () => {
  const database = await openDatabase({ databaseUrl: fleet.database.url, dataDir: '', poolSize: 1 });
  const keys = streamKeys(`${fleet.prefix}applied-probe:`);
  const instances = Array.from({ length: 2 }, () => {
    const redis = createRedisClient(cluster.url, { maxRetriesPerRequest: 1 });
    const applied = createAppliedEvents({
      redis,
      subscriber: () => subscriberConnection(redis),
      keys,
      partitions: PARTITIONS,
      // Nothing is ever in processed_events for these ids: only the announcement can end a wait as applied.
      committedOf: createQueries(database.db).committedOf,
      logger: createLogger('silent'),
    });
    return { redis, applied };
  });
  try {
    await Promise.all(instances.map(({ redis }) => redis.connect()));
    await Promise.all(instances.map(({ applied }) => applied.start()));
    // Each channel is subscribed on the node that holds its slot, once per instance.
    const subscribers = async (channel: string) => {
      let total = 0;
      for (const port of cluster.ports) total += Number((await Bun.$`redis-cli -p ${port} pubsub shardnumsub ${channel}`.quiet().text()).split('\n')[1]);
      return total;
    };
    for (let partition = 0; partition < PARTITIONS; partition++) expect(await subscribers(appliedChannel(keys, partition))).toBe(2);

    const [receiving, owner] = instances.map(({ applied }) => applied) as [AppliedEvents, AppliedEvents];
    const woken = await Promise.all(
      Array.from({ length: PARTITIONS }, (_, partition) => {
        const event = pipelineEvent('crm.message', `57310000000${partition}`, `crm:probe:${partition}`, {
          ticketId: 'TK-1',
          message: 'hola',
          messageType: 'text',
        });
        return receiving.publishAndWait(event.id, async () => owner.announce(partition, [{ entryId: '1-0', event }]), 30_000);
      }),
    );
    expect(woken).toEqual(Array(PARTITIONS).fill(true));
  } finally {
    await Promise.all(instances.map(({ applied }) => applied.close()));
    for (const { redis } of instances) redis.disconnect();
    await database.close();
  }
}, 60_000);
