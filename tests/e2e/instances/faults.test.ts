import { describe, expect, test } from 'bun:test';
import { eventually, openTicketFor } from '../../support/harness';
import { startFleet, type Fleet } from './fleet';
import { startRedisCluster } from './redis-cluster';

/**
 * Three fleets at once, each with its own database, key prefix, fakes and
 * instances: none of these scenarios asserts a duration (only bounds on how
 * long to wait), so they share the machine, and their waits overlap. The
 * lease TTL and the takeover time are measured alone, in failover.test.ts
 * and rolling-restart.test.ts.
 */

/** Runs `scenario` on a fleet of its own, closed whatever happens. */
async function withFleet(starting: Promise<Fleet>, scenario: (fleet: Fleet) => Promise<void>) {
  const fleet = await starting;
  try {
    await scenario(fleet);
  } finally {
    await fleet.close();
  }
}

describe.concurrent('instances that die or freeze', () => {
  /**
   * Deadlines with several instances: the timers table is the schedule, each
   * due row is claimed by one scheduler (FOR UPDATE SKIP LOCKED), and its
   * firing is deduplicated by id, so a deadline acts once however many
   * instances poll, even when one of them is killed while deadlines are armed.
   */
  test('armed deadlines fire exactly once with three instances, across a SIGKILL of one', async () => {
    const ASSIGN_TIMEOUT_S = 2;
    const TICKETS = 6;
    await withFleet(startFleet('deadlines', { env: { HANDOVER_ASSIGN_TIMEOUT_S: String(ASSIGN_TIMEOUT_S), HANDOVER_MAX_ESCALATIONS: '1' } }), async (fleet) => {
      const updates = (reason: string) =>
        fleet.crm
          .to('/api/bot/ticket-update')
          .map((request) => request.body as { ticketId: string; reason: string })
          .filter((body) => body.reason === reason);
      const all = ['dl-a', 'dl-b', 'dl-c'].map((name) => fleet.start(name));
      try {
        await Promise.all(all.map((instance) => fleet.ready(instance)));
        await eventually(() => fleet.exclusivelyOwned(), 'every partition owned', 30_000);
        const ticketIds = await Promise.all(
          Array.from({ length: TICKETS }, (_, n) => openTicketFor(fleet.stack, `573200000${String(n).padStart(3, '0')}`, '2020202020')),
        );
        expect((await fleet.sql`select count(*)::int as n from timers where timer = 'assign'`)[0]!.n).toBe(TICKETS);

        await fleet.stop(all[0]!, 'SIGKILL');
        // Escalation after the first deadline, the fallback after the second: both fire while one instance is gone.
        await eventually(() => new Set(updates('fallback').map((update) => update.ticketId)).size === TICKETS, 'every fallback', 30_000);
        // Nothing armed, unapplied or undelivered is left: a second firing could come from nowhere now.
        await fleet.quiescent();
        expect(
          updates('escalated')
            .map((update) => update.ticketId)
            .sort(),
        ).toEqual([...ticketIds].sort());
        expect(
          updates('fallback')
            .map((update) => update.ticketId)
            .sort(),
        ).toEqual([...ticketIds].sort());
        const history = await fleet.sql`select type, count(*)::int as n from ticket_events where type in ('escalated', 'closed') group by ticket_id, type`;
        expect(history).toHaveLength(TICKETS * 2);
        expect(history.every((row) => row.n === 1)).toBe(true);
      } catch (error) {
        fleet.dumpLogs(all);
        throw error;
      }
    });
  }, 90_000);

  /**
   * An instance frozen (SIGSTOP, as a long GC pause or a stalled VM would)
   * past its leases, under traffic: the other takes its partitions; when the
   * frozen one runs again (SIGCONT) it finds them lost, and neither commits nor
   * sends anything for them: every message arrives once and in order.
   */
  test('an instance frozen past its lease and resumed cannot commit or send for the partitions it lost', async () => {
    await withFleet(startFleet('frozen'), async (fleet) => {
      const [frozen, other] = ['fz-a', 'fz-b'].map((name) => fleet.start(name));
      try {
        await Promise.all([fleet.ready(frozen!), fleet.ready(other!)]);
        await eventually(() => fleet.exclusivelyOwned(), 'every partition owned', 30_000);
        const conversations = await fleet.openConversations(10);
        const fencesBefore = await fleet.sql`select partition, token from partition_owners order by partition`;

        const flow = fleet.traffic(conversations);
        await flow.rounds(2);
        const lost = (await fleet.health(frozen!))!.partitions.owned;
        frozen!.child.kill('SIGSTOP');
        // The other instance takes everything while this one sleeps, and keeps the traffic flowing: the CRM hears from it.
        await eventually(async () => ((await fleet.health(other!))?.partitions.owned.length ?? 0) === 8, 'the other instance owning every partition', 10_000);
        const takenAt = Date.now();
        await eventually(
          () => fleet.crm.to('/api/bot/user-message').some((request) => request.receivedAt > takenAt),
          'a message delivered by the other instance',
        );
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
        const fencesAfter = new Map(
          (await fleet.sql`select partition, token from partition_owners`).map((row) => [row.partition as number, Number(row.token)]),
        );
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
    });
  }, 120_000);

  /**
   * The whole flow on a three-node Redis Cluster: no command, MULTI or script
   * spans two slots (Cluster would refuse it with CROSSSLOT), and a SIGKILLed
   * instance's partitions are taken over with nothing lost, nothing twice,
   * order kept.
   */
  test('on a Redis Cluster, conversations flow both ways and a killed instance is taken over without loss, duplicate or reordering', async () => {
    const cluster = await startRedisCluster();
    try {
      await withFleet(startFleet('cluster', { redisUrl: cluster.url }), async (fleet) => {
        const all = ['rc-a', 'rc-b'].map((name) => fleet.start(name));
        try {
          await Promise.all(all.map((instance) => fleet.ready(instance)));
          await eventually(() => fleet.exclusivelyOwned(), 'every partition owned', 30_000);
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
      });
    } finally {
      await cluster.stop();
    }
  }, 120_000);
});
