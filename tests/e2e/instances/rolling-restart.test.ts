import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test';
import { eventually } from '../../support/harness';
import { startFleet, type Fleet } from './fleet';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts): this file's, through the whole service.
setDefaultTimeout(30_000);

/**
 * A deploy: each of two instances in turn gets SIGTERM (it finishes and
 * acknowledges the batch in hand, then frees its leases at once) and is
 * started again. Messages keep arriving throughout, none is lost, and the
 * CRM never waits more than 2 s for the next one.
 */
let fleet: Fleet;

beforeAll(async () => {
  fleet = await startFleet('rolling');
}, 30_000);
afterAll(() => fleet?.close(), 30_000);

test('a rolling restart loses nothing, keeps order, and leaves no gap over 2 s in processing', async () => {
  const names = ['rr-a', 'rr-b'];
  const running = names.map((name) => fleet.start(name));
  const everyInstance = [...running];
  try {
    await Promise.all(running.map((instance) => fleet.ready(instance)));
    await eventually(() => fleet.exclusivelyOwned(), 'every partition owned');
    const conversations = await fleet.openConversations(10);

    const flow = fleet.traffic(conversations);
    await flow.rounds(2);
    const restartedAt = Date.now();
    for (const [index, name] of names.entries()) {
      expect(await fleet.stop(running[index]!, 'SIGTERM')).toBe(0);
      running[index] = fleet.start(name);
      everyInstance.push(running[index]!);
      await fleet.ready(running[index]!);
      await eventually(() => fleet.exclusivelyOwned(), 'every partition owned again');
      // The restarted instance takes its share back while traffic flows.
      await flow.rounds(2);
    }
    const rounds = await flow.stop();
    const finishedAt = Date.now();

    const outcome = await fleet.delivered(rounds);
    expect(outcome.filter((conversation) => !conversation.crmInOrder || !conversation.graphInOrder || conversation.duplicates > 0)).toEqual([]);
    // The handover freed every lease on the way out: the partitions moved at once, not after a TTL.
    const released = everyInstance.slice(0, 2).flatMap((instance) => fleet.events(instance, 'partition.released'));
    expect(released.filter((line) => line.reason === 'stopping').length).toBeGreaterThan(0);
    const arrivals = fleet.crm
      .to('/api/bot/user-message')
      .map((request) => request.receivedAt)
      .filter((at) => at >= restartedAt && at <= finishedAt)
      .sort((a, b) => a - b);
    const gaps = arrivals.slice(1).map((at, index) => at - arrivals[index]!);
    expect(arrivals.length).toBeGreaterThan(20);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(2000);
  } catch (error) {
    fleet.dumpLogs(everyInstance);
    throw error;
  }
}, 120_000);
