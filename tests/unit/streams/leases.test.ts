import { afterEach, expect, test } from 'bun:test';
import { createLogger } from '../../../src/logger';
import { createPartitionLeases, roundMsFor, type Lease } from '../../../src/streams/leases';
import { eventually } from '../../support/harness';
import { redisFixture } from './redis-fixture';

const PARTITIONS = 6;
const TTL_MS = 600;
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Instances sharing one set of keys; each records the leases it holds. */
function instances(options: { fence?: number } = {}) {
  const fixture = redisFixture('unit-leases');
  cleanups.push(fixture.drop);
  return {
    ...fixture,
    join(consumer: string) {
      const held = new Map<number, Lease>();
      const leases = createPartitionLeases({
        redis: fixture.redis,
        keys: fixture.keys,
        partitions: PARTITIONS,
        consumer,
        ttlMs: TTL_MS,
        logger: createLogger('silent'),
        fenceOf: async () => options.fence ?? 0,
        onAcquired: (lease) => held.set(lease.partition, lease),
        onReleased: async (partition) => {
          held.delete(partition);
        },
      });
      let closed = false;
      const close = async () => {
        if (closed) return;
        closed = true;
        await leases.close();
      };
      cleanups.push(close);
      return { leases, held, close };
    },
  };
}

const owners = (...members: { held: Map<number, Lease> }[]) => members.flatMap((member) => [...member.held.keys()]).sort();

test('leases are renewed every third of the TTL, and at least every half second: 500 ms at the default 5 s', () => {
  expect(roundMsFor(5000)).toBe(500);
  expect(roundMsFor(60_000)).toBe(500);
  expect(roundMsFor(1500)).toBe(500);
  expect(roundMsFor(TTL_MS)).toBe(200);
});

test('alone, an instance owns every partition', async () => {
  const a = instances().join('a');
  await a.leases.start();
  expect([...a.held.keys()].sort()).toEqual([0, 1, 2, 3, 4, 5]);
});

test('a second instance joining gets half, and no partition is ever held by both', async () => {
  const group = instances();
  const a = group.join('a');
  const b = group.join('b');
  await a.leases.start();
  await b.leases.start();
  await eventually(() => a.held.size === 3 && b.held.size === 3, 'an even split', 5000);
  expect(owners(a, b)).toEqual([0, 1, 2, 3, 4, 5]);
});

test('when an instance stops, it frees its leases at once and the other takes them', async () => {
  const group = instances();
  const a = group.join('a');
  const b = group.join('b');
  await a.leases.start();
  await b.leases.start();
  await eventually(() => b.held.size === 3, 'an even split', 5000);
  const given = [...a.held.keys()];
  await a.close();
  // Freed, not left to lapse: each is free now or already the other's.
  for (const partition of given) expect(((await group.redis.get(group.keys.lease(partition))) ?? 'b#').startsWith('b#')).toBe(true);
  await eventually(() => b.held.size === PARTITIONS, 'the whole share', 5000);
});

test('a lease taken over while its holder stalled is dropped by that holder, which no longer counts it valid', async () => {
  const group = instances();
  const a = group.join('a');
  await a.leases.start();
  const before = a.held.get(0)!;
  // Another instance takes partition 0 as if a's lease had lapsed.
  await group.redis.set(group.keys.lease(0), `intruder#1|${before.token + 1}`, 'PX', 10_000);
  await eventually(() => !a.held.has(0), 'the lost lease dropped', 5000);
  expect(before.valid()).toBe(false);
});

test('a new token exceeds the fence Postgres holds, even when Redis lost its counters', async () => {
  const a = instances({ fence: 41 }).join('a');
  await a.leases.start();
  expect(Math.min(...[...a.held.values()].map((lease) => lease.token))).toBe(42);
});
