import { afterAll, beforeAll, expect, test } from 'bun:test';
import { eventually } from '../../support/harness';
import { LEASE_TTL_MS, startFleet, type Fleet } from './fleet';

/**
 * An instance dies (SIGKILL) under traffic in both directions: the survivors
 * take its partitions once its leases lapse, replay what it left pending,
 * and every message reaches the CRM or WhatsApp once, in the order it was
 * sent, with the tickets' counts exact.
 */
let fleet: Fleet;

beforeAll(async () => {
  fleet = await startFleet('failover');
}, 30_000);
afterAll(() => fleet?.close(), 30_000);

test('SIGKILL of one of three instances: its partitions are taken within the lease TTL plus one second, nothing lost, nothing twice, order kept', async () => {
  const all = ['fo-a', 'fo-b', 'fo-c'].map((name) => fleet.start(name));
  try {
    await Promise.all(all.map((instance) => fleet.ready(instance)));
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
