import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test';
import { eventually } from '../../support/harness';
import { LEASE_TTL_MS, PARTITIONS, startFleet, type Fleet, type Instance } from './fleet';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts): this file's, through the whole service.
setDefaultTimeout(30_000);

/**
 * Three instances come and one goes. Start-up and ownership: two started at
 * the same moment on a fresh database both come up (migrations run under a
 * lock), the partitions are split between them with each owned by exactly
 * one, and a third joining gets its share. Then one of the three dies
 * (SIGKILL) under traffic in both directions: the survivors take its
 * partitions once its leases lapse, replay what it left pending, and every
 * message reaches the CRM or WhatsApp once, in the order it was sent, with
 * the tickets' counts exact. The second test goes on with the first one's
 * instances.
 */
let fleet: Fleet;
const all: Instance[] = [];

beforeAll(async () => {
  fleet = await startFleet('failover', { freshDatabase: true });
}, 30_000);
afterAll(() => fleet?.close(), 30_000);

test('two instances started together on a fresh database both become ready and split the partitions; a third joining gets its share', async () => {
  all.push(fleet.start('fo-a'), fleet.start('fo-b'));
  try {
    await Promise.all(all.map((instance) => fleet.ready(instance)));
    const halves = await eventually(async () => {
      const owners = await fleet.exclusivelyOwned();
      const shares = owners && [...owners.values()].filter((name) => name === 'fo-a').length;
      return shares === PARTITIONS / 2 && owners;
    }, 'an even split between two instances');
    expect(new Set(halves.values())).toEqual(new Set(['fo-a', 'fo-b']));

    const third = fleet.start('fo-c');
    all.push(third);
    await fleet.ready(third);
    const thirds = await eventually(async () => {
      const owners = await fleet.exclusivelyOwned();
      if (!owners) return false;
      const shares = ['fo-a', 'fo-b', 'fo-c'].map((name) => [...owners.values()].filter((owner) => owner === name).length).sort();
      // ⌈8/3⌉ = 3 at most each, and nobody left out.
      return JSON.stringify(shares) === JSON.stringify([2, 3, 3]) && owners;
    }, 'an even split between three instances');
    expect(thirds.size).toBe(PARTITIONS);
    // Health reports a lease as soon as it is held; the takeover (claiming the pending entries, then the log line) follows.
    await eventually(() => fleet.events(third, 'partition.takeover').length >= 2, 'the third instance took over its partitions');
  } catch (error) {
    fleet.dumpLogs(all);
    throw error;
  }
}, 90_000);

test('SIGKILL of one of three instances: its partitions are taken within the lease TTL plus one second, nothing lost, nothing twice, order kept', async () => {
  expect(all).toHaveLength(3);
  try {
    await eventually(() => fleet.exclusivelyOwned(), 'every partition owned');
    const conversations = await fleet.openConversations(12);
    const before = await fleet.sql`select id, message_count from tickets`;

    const victim = all[0]!;
    const flow = fleet.traffic(conversations);
    // Traffic flows, then the victim dies under it, and traffic keeps flowing through the survivors.
    await flow.rounds(2);
    const owned = (await fleet.health(victim))!.partitions.owned;
    expect(owned.length).toBeGreaterThan(0);
    await fleet.stop(victim, 'SIGKILL');
    const killedAt = performance.now();
    const killedAtWall = Date.now();
    const owners = await eventually(() => fleet.exclusivelyOwned(), "the dead instance's partitions taken over", 10_000);
    const takenInMs = performance.now() - killedAt;
    await flow.rounds(2);
    const rounds = await flow.stop();

    expect(takenInMs).toBeLessThanOrEqual(LEASE_TTL_MS + 1000);
    expect(owned.every((partition) => owners.get(partition) !== victim.name)).toBe(true);
    const survivors = all.slice(1);
    const takeovers = survivors
      .flatMap((instance) => fleet.events(instance, 'partition.takeover'))
      .filter((line) => Date.parse(String(line.time)) >= killedAtWall && owned.includes(Number(line.partition)));
    expect([...new Set(takeovers.map((line) => Number(line.partition)))].sort()).toEqual([...owned].sort());

    const outcome = await fleet.delivered(rounds);
    expect(outcome.filter((conversation) => !conversation.crmInOrder || !conversation.graphInOrder || conversation.duplicates > 0)).toEqual([]);
    expect([...rounds.values()].every((count) => count >= 3)).toBe(true);

    const after = await fleet.sql`select id, message_count from tickets`;
    const counted = new Map(before.map((row) => [row.id as string, Number(row.message_count)]));
    const sent = new Map(conversations.map(({ ticketId, phone }) => [ticketId, 2 * rounds.get(phone)!]));
    expect(after.map((row) => [row.id, Number(row.message_count) - counted.get(row.id)!]).sort()).toEqual([...sent].sort());
    const kpis = await fleet.sql`select count(*)::int as n, count(first_agent_reply_at)::int as replied from ticket_kpis`;
    expect(kpis[0]).toEqual({ n: conversations.length, replied: conversations.length });
  } catch (error) {
    fleet.dumpLogs(all);
    throw error;
  }
}, 120_000);
