import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test';
import { eventually } from '../../support/harness';
import { startFleet, type Fleet } from './fleet';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts): this file's, through the whole service.
setDefaultTimeout(30_000);

/**
 * An instance frozen (SIGSTOP, as a long GC pause or a stalled VM would)
 * past its leases, under traffic: the other takes its partitions; when the
 * frozen one runs again (SIGCONT) it finds them lost, and neither commits nor
 * sends anything for them: every message arrives once and in order.
 */
let fleet: Fleet;

beforeAll(async () => {
  fleet = await startFleet('frozen');
}, 30_000);
afterAll(() => fleet?.close(), 30_000);

test('an instance frozen past its lease and resumed cannot commit or send for the partitions it lost', async () => {
  const [frozen, other] = ['fz-a', 'fz-b'].map((name) => fleet.start(name));
  try {
    await Promise.all([fleet.ready(frozen!), fleet.ready(other!)]);
    await eventually(() => fleet.exclusivelyOwned(), 'every partition owned');
    const conversations = await fleet.openConversations(10);
    const fencesBefore = await fleet.sql`select partition, token from partition_owners order by partition`;

    const flow = fleet.traffic(conversations);
    await flow.rounds(2);
    const lost = (await fleet.health(frozen!))!.partitions.owned;
    frozen!.child.kill('SIGSTOP');
    // The other instance takes everything while this one sleeps, and keeps the traffic flowing: the CRM hears from it.
    await eventually(async () => ((await fleet.health(other!))?.partitions.owned.length ?? 0) === 8, 'the other instance owning every partition', 10_000);
    const takenAt = Date.now();
    await eventually(() => fleet.crm.to('/api/bot/user-message').some((request) => request.receivedAt > takenAt), 'a message delivered by the other instance');
    frozen!.child.kill('SIGCONT');
    await eventually(
      () => fleet.events(frozen!, 'partition.lost').length + fleet.events(frozen!, 'partition.fenced').length >= lost.length,
      'the resumed instance noticing',
      10_000,
    );
    // Traffic goes on after it woke: whatever it still held in hand must not reach the fakes.
    await flow.rounds(2);
    const rounds = await flow.stop();

    expect(lost.length).toBeGreaterThan(0);
    const outcome = await fleet.delivered(rounds);
    expect(outcome.filter((conversation) => !conversation.crmInOrder || !conversation.graphInOrder || conversation.duplicates > 0)).toEqual([]);
    // Every partition it lost went to a newer token than it held (every message applied by now), and the fence only ever rose.
    const fencesAfter = new Map((await fleet.sql`select partition, token from partition_owners`).map((row) => [row.partition as number, Number(row.token)]));
    const lostFences = fencesBefore.filter((row) => lost.includes(row.partition as number));
    expect(lostFences.length).toBeGreaterThan(0);
    for (const row of lostFences) expect(fencesAfter.get(row.partition as number)!).toBeGreaterThan(Number(row.token));
    // Woken up, it learnt of each loss (from the lease or from a refused batch) before doing anything more there.
    const lostLines = [...fleet.events(frozen!, 'partition.lost'), ...fleet.events(frozen!, 'partition.fenced')].map((line) => Number(line.partition));
    expect(new Set(lostLines)).toEqual(new Set(lost));
  } catch (error) {
    fleet.dumpLogs([frozen!, other!]);
    throw error;
  }
}, 120_000);
