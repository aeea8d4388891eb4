import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test';
import { eventually } from '../../support/harness';
import { startFleet, type Fleet } from './fleet';
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
