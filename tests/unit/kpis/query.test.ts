import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { openDatabase, type Database } from '../../../src/db/client';
import { ticketKpis, tickets, type NewTicketKpis } from '../../../src/db/schema';
import { isTimeZone, queryKpis } from '../../../src/kpis/query';
import { createTestDatabase } from '../../support/harness';

let testDatabase: Awaited<ReturnType<typeof createTestDatabase>>;
let database: Database;
let counter = 0;

beforeAll(async () => {
  testDatabase = await createTestDatabase('unit_kpi_query');
  database = await openDatabase({ databaseUrl: testDatabase.url, dataDir: '', poolSize: 2 });
});
afterAll(async () => {
  await database.close();
  await testDatabase.drop();
});

/** One ticket and its KPI row, requested at `requestedAt` (ISO), durations in seconds from it. */
async function ticket(requestedAt: string, values: Partial<NewTicketKpis> & { waitS?: number } = {}): Promise<void> {
  const id = `TK-2026-${String(++counter).padStart(6, '0')}`;
  const requested = new Date(requestedAt);
  const { waitS, ...rest } = values;
  await database.db.insert(tickets).values({
    id,
    conversationKey: `5730011${String(counter).padStart(5, '0')}`,
    category: rest.category ?? 'soporte_agente',
    priority: 'media',
    status: rest.status ?? 'pending',
    phase: 'waiting_agent',
    requestedAt: requested,
    lastActivityAt: requested,
    snapshot: {},
  });
  await database.db.insert(ticketKpis).values({
    ticketId: id,
    requestedAt: requested,
    status: 'pending',
    category: 'soporte_agente',
    priority: 'media',
    ...(waitS !== undefined ? { assignedAt: new Date(requested.getTime() + waitS * 1000) } : {}),
    ...rest,
  });
}

describe('the KPI query over ticket_kpis', () => {
  beforeAll(async () => {
    await database.db.execute(sql`delete from ticket_kpis; delete from tickets`);
    // New York: clocks went forward on 8 March 2026, so that day has 23 hours.
    await ticket('2026-03-07T04:59:00Z', { agentId: 'ag-0', agentName: 'Antes' }); // 6 March, 23:59 local: outside
    await ticket('2026-03-07T05:00:00Z', { waitS: 60, agentId: 'ag-1', agentName: 'Laura' }); // 7 March, 00:00 local
    await ticket('2026-03-08T04:30:00Z', { waitS: 120, agentId: 'ag-1', agentName: 'Laura', category: 'reactivacion_servicio' }); // 7 March, 23:30
    await ticket('2026-03-09T03:30:00Z', { waitS: 30, agentId: 'ag-2', agentName: 'Pedro' }); // 8 March, 23:30 EDT
    await ticket('2026-03-09T04:00:00Z', { status: 'closed', closeReason: 'resolved', closedAt: new Date('2026-03-09T05:00:00Z') }); // 9 March, 00:00 EDT
    await ticket('2026-03-10T04:00:00Z'); // 10 March, 00:00 EDT: outside
  });

  const range = { from: '2026-03-07', to: '2026-03-09', timeZone: 'America/New_York' };

  test('counts the tickets requested from the first local midnight up to the end of the last day, inclusive', async () => {
    const report = await queryKpis(database, range);
    expect(report.totals.tickets).toBe(4);
    expect(report.range).toMatchObject({ fromInstant: '2026-03-07T05:00:00.000Z', toInstant: '2026-03-10T04:00:00.000Z' });
    expect(report.totals.categories).toEqual({ reactivacion_servicio: 1, soporte_agente: 3 });
    expect(report.totals.handoverWait).toMatchObject({ count: 3, medianSeconds: 60 });
    expect(report.totals.resolutionTime).toMatchObject({ count: 1, medianSeconds: 3600 });
    expect(report.groups).toEqual([]);
  });

  test('by day: local days, the short daylight-saving day included, in date order', async () => {
    const report = await queryKpis(database, { ...range, groupBy: 'day' });
    expect(report.groups.map((group) => [group.key, group.kpis.tickets])).toEqual([
      ['2026-03-07', 2],
      ['2026-03-08', 1],
      ['2026-03-09', 1],
    ]);
  });

  test("by agent: the agent's name as label, the busiest first, tickets without an agent under an empty key", async () => {
    const report = await queryKpis(database, { ...range, groupBy: 'agent' });
    expect(report.groups.map((group) => [group.key, group.label, group.kpis.tickets])).toEqual([
      ['ag-1', 'Laura', 2],
      ['', '', 1],
      ['ag-2', 'Pedro', 1],
    ]);
    expect(report.groups[0]!.kpis.handoverWait.averageSeconds).toBe(90);
  });

  test('by category', async () => {
    const report = await queryKpis(database, { ...range, groupBy: 'category' });
    expect(report.groups.map((group) => [group.key, group.kpis.tickets])).toEqual([
      ['soporte_agente', 3],
      ['reactivacion_servicio', 1],
    ]);
  });

  test('refuses a name that is not a time zone', async () => {
    expect(isTimeZone('America/Bogota')).toBe(true);
    expect(isTimeZone('Mars/Olympus')).toBe(false);
    expect(isTimeZone("x'; drop table tickets")).toBe(false);
    await expect(queryKpis(database, { ...range, timeZone: 'Mars/Olympus' })).rejects.toThrow('not a time zone');
  });
});
