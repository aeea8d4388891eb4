import { afterAll, beforeAll, expect, test } from 'bun:test';
import { eventually } from '../../support/harness';
import { PARTITIONS, startFleet, type Fleet } from './fleet';

/**
 * Start-up and ownership with several instances: two started at the same
 * moment on a fresh database both come up (migrations run under a lock), the
 * partitions are split between them with each owned by exactly one, and a
 * third instance joining gets its share.
 */
let fleet: Fleet;

beforeAll(async () => {
  fleet = await startFleet('own', { freshDatabase: true });
}, 30_000);
afterAll(() => fleet?.close(), 30_000);

test('two instances started together on a fresh database both become ready and split the partitions; a third joining gets its share', async () => {
  const first = fleet.start('own-a');
  const second = fleet.start('own-b');
  try {
    await Promise.all([fleet.ready(first), fleet.ready(second)]);
    const halves = await eventually(async () => {
      const owners = await fleet.exclusivelyOwned();
      const shares = owners && [...owners.values()].filter((name) => name === 'own-a').length;
      return shares === PARTITIONS / 2 && owners;
    }, 'an even split between two instances');
    expect(new Set(halves.values())).toEqual(new Set(['own-a', 'own-b']));

    const third = fleet.start('own-c');
    await fleet.ready(third);
    const thirds = await eventually(async () => {
      const owners = await fleet.exclusivelyOwned();
      if (!owners) return false;
      const shares = ['own-a', 'own-b', 'own-c'].map((name) => [...owners.values()].filter((owner) => owner === name).length).sort();
      // ⌈8/3⌉ = 3 at most each, and nobody left out.
      return JSON.stringify(shares) === JSON.stringify([2, 3, 3]) && owners;
    }, 'an even split between three instances');
    expect(thirds.size).toBe(PARTITIONS);
    // Health reports a lease as soon as it is held; the takeover (claiming the pending entries, then the log line) follows.
    await eventually(() => fleet.events(third, 'partition.takeover').length >= 2, 'the third instance took over its partitions');
  } catch (error) {
    fleet.dumpLogs([first, second]);
    throw error;
  }
}, 90_000);
