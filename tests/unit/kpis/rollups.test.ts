import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { openDatabase, type Database } from '../../../src/db/client';
import type { Durations, Kpis } from '../../../src/kpis/aggregate';
import { queryKpis, type KpiGroupBy, type KpiReport } from '../../../src/kpis/query';
import { createKpiRollups } from '../../../src/kpis/rollups';
import { createRetentionStore } from '../../../src/db/retention-store';
import { createLogger } from '../../../src/logger';
import { createTestDatabase } from '../../support/harness';

const ZONE = 'America/Bogota';
const logger = createLogger('silent');
let testDatabase: Awaited<ReturnType<typeof createTestDatabase>>;
let database: Database;
let rollups: ReturnType<typeof createKpiRollups>;

beforeAll(async () => {
  testDatabase = await createTestDatabase('unit_kpi_rollups');
  database = await openDatabase({ databaseUrl: testDatabase.url, dataDir: '', poolSize: 3 });
  rollups = createKpiRollups({ database, timeZone: ZONE, logger, pollMs: 60_000, settleSeconds: 0 });
  // 3,000 tickets from 1 January to 10 March 2026, shaped as the KPI benchmark's: 7 agents, a fifth reactivation,
  // most resolved and assigned, half of those rated, a few escalated. Seeded, so every run sees the same values.
  await database.db.execute(sql`select setseed(0.42)`);
  await database.db.execute(sql`
    insert into tickets (id, conversation_key, category, priority, status, phase, requested_at, last_activity_at, snapshot)
    select 'TK-R-' || n, '5730' || n, 'soporte_agente', 'media', 'closed', 'closed', now(), now(), '{}'::jsonb from generate_series(1, 3000) n`);
  await database.db.execute(sql`
    insert into ticket_kpis (ticket_id, requested_at, assigned_at, first_agent_reply_at, closed_at, status, close_reason, category, priority,
                             agent_id, agent_name, escalations, csat, survey_status)
    select 'TK-R-' || n, requested, case when assigned then requested + wait end, case when assigned then requested + wait + reply end,
           requested + wait + reply + work, 'closed', reason::close_reason,
           case when r1 < 0.2 then 'reactivacion_servicio' else 'soporte_agente' end::ticket_category, 'media',
           case when assigned then 'agent_' || (n % 7) end, case when assigned then 'Agente ' || (n % 7) end,
           case when r2 < 0.1 then 1 else 0 end,
           case when reason = 'resolved' and r2 > 0.5 then 1 + (n % 5) end,
           case when reason = 'resolved' then 'answered'::survey_status end
    from (
      select n, r1, r2, requested, wait, reply, work, r2 >= 0.1 as assigned,
             case when r2 < 0.05 then 'cancelled' when r2 < 0.1 then 'fallback' else 'resolved' end as reason
      from (
        select n, random() as r1, random() as r2,
               timestamptz '2026-01-01 05:00:00+00' + (n::double precision / 3000 * 69) * interval '1 day' as requested,
               (30 + random() * 600) * interval '1 second' as wait, (5 + random() * 120) * interval '1 second' as reply,
               (60 + random() * 1800) * interval '1 second' as work
        from generate_series(1, 3000) n
      ) raw
    ) shaped`);
  while ((await rollups.pass()) > 0);
}, 60_000);
afterAll(async () => {
  await rollups.close();
  await database.close();
  await testDatabase.drop();
});

const exactly = (groupBy?: KpiGroupBy, from = '2026-01-01', to = '2026-03-10') =>
  queryKpis(database, { from, to, timeZone: ZONE, groupBy }, { exactUpTo: Number.POSITIVE_INFINITY });
const fromRollups = (groupBy?: KpiGroupBy, from = '2026-01-01', to = '2026-03-10') => queryKpis(database, { from, to, timeZone: ZONE, groupBy }, { exactUpTo: 0 });

/** The sketch's median and p90 are within its 1 % of the exact ones (a hair over, for the floating point). */
function expectClose(sketched: Durations, exact: Durations): void {
  expect(sketched.count).toBe(exact.count);
  if (exact.averageSeconds === null) return expect(sketched.averageSeconds).toBeNull();
  expect(sketched.averageSeconds!).toBeCloseTo(exact.averageSeconds, 6);
  expect(Math.abs(sketched.medianSeconds! - exact.medianSeconds!) / exact.medianSeconds!).toBeLessThan(0.0101);
  expect(Math.abs(sketched.p90Seconds! - exact.p90Seconds!) / exact.p90Seconds!).toBeLessThan(0.0101);
}

function expectSameKpis(sketched: Kpis, exact: Kpis): void {
  const { handoverWait, agentFirstResponse, resolutionTime, csat, ...counts } = exact;
  expect(sketched).toMatchObject(counts);
  expect(sketched.csat.distribution).toEqual(csat.distribution);
  if (csat.average === null) expect(sketched.csat.average).toBeNull();
  else expect(sketched.csat.average!).toBeCloseTo(csat.average, 9);
  expectClose(sketched.handoverWait, handoverWait);
  expectClose(sketched.agentFirstResponse, agentFirstResponse);
  expectClose(sketched.resolutionTime, resolutionTime);
}

function expectSameReport(sketched: KpiReport, exact: KpiReport): void {
  expect(sketched.percentiles).toEqual({ exact: false, relativeError: 0.01 });
  expect(exact.percentiles).toEqual({ exact: true, relativeError: 0 });
  expectSameKpis(sketched.totals, exact.totals);
  expect(sketched.groups.map((group) => [group.key, group.label])).toEqual(exact.groups.map((group) => [group.key, group.label]));
  sketched.groups.forEach((group, index) => expectSameKpis(group.kpis, exact.groups[index]!.kpis));
}

describe('KPI rollups', () => {
  test('every ended day since the first ticket is summed, in the business time zone', async () => {
    const [days] = await database.rows<{ count: string; first: string }>(database.db, sql`select count(*)::text as count, min(day)::text as first from kpi_rollup_days where computed_at is not null`);
    expect(days!.first).toBe('2026-01-01');
    expect(Number(days!.count)).toBeGreaterThan(300); // up to yesterday, empty days included
    const months = await database.rows<{ start: string }>(database.db, sql`select distinct start::text as start from kpi_rollups where period = 'month' order by 1`);
    expect(months.map((row) => row.start)).toEqual(['2026-01-01', '2026-02-01', '2026-03-01']);
  });

  for (const groupBy of [undefined, 'day', 'agent', 'category'] as const) {
    test(`the report ${groupBy ? `by ${groupBy}` : 'in totals'} from rollups: counts and averages exact, percentiles within 1 %`, async () => {
      expectSameReport(await fromRollups(groupBy), await exactly(groupBy));
    });
  }

  test('a range that cuts months reads whole months from month rows and the edges from day rows, with the same result', async () => {
    expectSameReport(await fromRollups('agent', '2026-01-15', '2026-03-03'), await exactly('agent', '2026-01-15', '2026-03-03'));
  });

  test('a small range stays exact: its percentiles are sorted from every duration', async () => {
    const report = await queryKpis(database, { from: '2026-02-01', to: '2026-02-07', timeZone: ZONE });
    expect(report.percentiles.exact).toBe(true);
    expect(report.totals).toEqual((await exactly(undefined, '2026-02-01', '2026-02-07')).totals);
  });

  test('a ticket of a summed day that changes is counted at once, and its day summed again by the next pass', async () => {
    const before = await fromRollups(undefined, '2026-02-10', '2026-02-10');
    const [target] = await database.rows<{ ticket_id: string }>(
      database.db,
      sql`select ticket_id from ticket_kpis where requested_at >= '2026-02-10T05:00:00Z' and requested_at < '2026-02-11T05:00:00Z' and csat is null and close_reason = 'resolved' limit 1`,
    );
    await database.db.execute(sql`update ticket_kpis set csat = 5 where ticket_id = ${target!.ticket_id}`);
    const [changes] = await database.rows<{ days: string[] }>(database.db, sql`select array_agg(distinct day::text) as days from kpi_rollup_changes`);
    expect(changes!.days).toEqual(['2026-02-10']);

    const meanwhile = await fromRollups(undefined, '2026-02-10', '2026-02-10');
    expect(meanwhile.totals.csat.responses).toBe(before.totals.csat.responses + 1);
    expect(await rollups.pass()).toBe(1);
    const [left] = await database.rows<{ count: number }>(database.db, sql`select count(*)::int as count from kpi_rollup_changes`);
    expect(left!.count).toBe(0);
    const after = await fromRollups(undefined, '2026-02-10', '2026-02-10');
    expect(after.totals.csat.responses).toBe(before.totals.csat.responses + 1);
    expect(after.percentiles.exact).toBe(false);
  });

  test('a month another instance is summing is left to it: the pass counts nothing done (no busy loop), and sums it once free', async () => {
    await database.db.execute(sql`update ticket_kpis set escalations = escalations + 1 where ticket_id = 'TK-R-1500'`);
    const other = await database.db.transaction(async (tx) => {
      // The other instance's hold on the month, as rollUpDay takes it.
      const [month] = await database.rows<{ month: string }>(
        tx,
        sql`select to_char(date_trunc('month', requested_at at time zone ${ZONE}), 'YYYY-MM-DD') as month from ticket_kpis where ticket_id = 'TK-R-1500'`,
      );
      await tx.execute(sql`select pg_advisory_xact_lock(hashtext('kpi_rollups'), hashtext(${month!.month}))`);
      return rollups.pass();
    });
    expect(other).toBe(0);
    expect(await rollups.pass()).toBe(1);
  });

  test('another time zone is answered from ticket_kpis, exactly', async () => {
    const report = await queryKpis(database, { from: '2026-01-01', to: '2026-03-10', timeZone: 'Europe/Madrid' }, { exactUpTo: 0 });
    expect(report.percentiles.exact).toBe(true);
  });

  test('a new TZ_BUSINESS drops the rollups and sums them again in the new zone', async () => {
    const madrid = createKpiRollups({ database, timeZone: 'Europe/Madrid', logger, pollMs: 60_000, settleSeconds: 0 });
    while ((await madrid.pass()) > 0);
    const [zone] = await database.rows<{ zone: string }>(database.db, sql`select zone from kpi_rollup_zone`);
    expect(zone!.zone).toBe('Europe/Madrid');
    expectSameReport(
      await queryKpis(database, { from: '2026-01-01', to: '2026-03-10', timeZone: 'Europe/Madrid', groupBy: 'day' }, { exactUpTo: 0 }),
      await queryKpis(database, { from: '2026-01-01', to: '2026-03-10', timeZone: 'Europe/Madrid', groupBy: 'day' }, { exactUpTo: Number.POSITIVE_INFINITY }),
    );
    const bogota = createKpiRollups({ database, timeZone: ZONE, logger, pollMs: 60_000, settleSeconds: 0 });
    while ((await bogota.pass()) > 0);
  }, 60_000);

  test('retention takes the rollups of the days past RETENTION_KPI_DAYS with their rows, a month with its last day', async () => {
    const store = createRetentionStore(database);
    while ((await store.kpis(new Date('2026-02-15T05:00:00Z'), 500)) > 0);
    const [left] = await database.rows<{ first_day: string; months: string[] }>(
      database.db,
      sql`select (select min(day)::text from kpi_rollup_days) as first_day,
                 (select array_agg(start::text order by start) from kpi_rollups where period = 'month' and dimension = 'all') as months`,
    );
    expect(left!.first_day).toBe('2026-02-15');
    expect(left!.months).toEqual(['2026-02-01', '2026-03-01']);
    // What is left answers as ticket_kpis does: the purged days count nothing either way.
    expectSameReport(await fromRollups('agent', '2026-02-01', '2026-03-10'), await exactly('agent', '2026-02-01', '2026-03-10'));
  });
});
