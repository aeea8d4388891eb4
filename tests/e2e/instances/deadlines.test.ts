import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test';
import { eventually, openTicketFor } from '../../support/harness';
import { startFleet, type Fleet } from './fleet';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts): this file's, through the whole service.
setDefaultTimeout(30_000);

/**
 * Deadlines with several instances: the timers table is the schedule, each
 * due row is claimed by one scheduler (FOR UPDATE SKIP LOCKED), and its
 * firing is deduplicated by id, so a deadline acts once however many
 * instances poll, even when one of them is killed while deadlines are armed.
 */
const ASSIGN_TIMEOUT_S = 2;
const TICKETS = 6;
let fleet: Fleet;

beforeAll(async () => {
  fleet = await startFleet('deadlines', { env: { HANDOVER_ASSIGN_TIMEOUT_S: String(ASSIGN_TIMEOUT_S), HANDOVER_MAX_ESCALATIONS: '1' } });
}, 30_000);
afterAll(() => fleet?.close(), 30_000);

const updates = (reason: string) =>
  fleet.crm
    .to('/api/bot/ticket-update')
    .map((request) => request.body as { ticketId: string; reason: string })
    .filter((body) => body.reason === reason);

test('armed deadlines fire exactly once with three instances, across a SIGKILL of one', async () => {
  const all = ['dl-a', 'dl-b', 'dl-c'].map((name) => fleet.start(name));
  try {
    await Promise.all(all.map((instance) => fleet.ready(instance)));
    await eventually(() => fleet.exclusivelyOwned(), 'every partition owned');
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
}, 90_000);
