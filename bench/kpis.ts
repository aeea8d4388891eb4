/**
 * KPI query benchmark: a year of tickets for a mid-size ISP (500,000 by
 * default, the year up to now) and the queries /api/metrics/kpis runs, timed
 * on Postgres after the rollup loop has summed the ended days (its first
 * pass over the year is timed too). Writes docs/bench-kpis.md.
 *
 *   bun run bench:kpis          # TICKETS=500000
 */
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { openDatabase } from '../src/db/client';
import { DateTime } from 'luxon';
import { queryKpis, type KpiGroupBy } from '../src/kpis/query';
import { createKpiRollups } from '../src/kpis/rollups';
import { createLogger } from '../src/logger';

const TICKETS = Number(process.env.TICKETS ?? 500_000);
const RUNS = Number(process.env.RUNS ?? 7);
const ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ZONE = 'America/Bogota';
const root = join(import.meta.dir, '..');

const name = `hb_bench_kpis_${Date.now().toString(36)}`;
const databaseUrl = ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
await admin.unsafe(`create database ${name}`);

try {
  const database = await openDatabase({ databaseUrl, dataDir: '' });
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  const seedStart = performance.now();
  // A year of closed tickets, the 365 days up to now, with the shapes the KPIs read:
  // 30 agents, a fifth reactivation, most resolved, some cancelled, abandoned or fallen back, half rated.
  await sql.unsafe(`
    insert into tickets (id, conversation_key, customer_id, customer_name, category, priority, status, phase, close_reason, agent_id, agent_name,
                         requested_at, assigned_at, first_agent_reply_at, closed_at, last_activity_at, last_user_message_at,
                         escalations, message_count, csat, survey_status, snapshot)
    select 'TK-2026-' || lpad(n::text, 7, '0'), '5730' || lpad((n % 200000)::text, 8, '0'), 'C-' || (n % 200000), 'Cliente',
           case when r1 < 0.2 then 'reactivacion_servicio' else 'soporte_agente' end::ticket_category,
           case when r1 < 0.2 then 'alta' else 'media' end::ticket_priority,
           'closed', 'closed', reason::close_reason,
           case when assigned then 'agent_' || (n % 30) end, case when assigned then 'Agente ' || (n % 30) end,
           requested, case when assigned then requested + wait end, case when assigned then requested + wait + reply end,
           requested + wait + reply + work, requested + wait + reply + work, requested,
           case when r2 < 0.1 then 1 + (n % 2) else 0 end, 6,
           case when reason = 'resolved' and r2 > 0.5 then 1 + (n % 5) end,
           case when reason = 'resolved' then (case when r2 > 0.5 then 'answered' else 'expired' end)::survey_status end,
           '{}'::jsonb
    from (
      select n, r1, r2, requested, wait, reply, work,
             case when r2 < 0.05 then 'cancelled' when r2 < 0.08 then 'abandoned' when r2 < 0.1 then 'fallback' else 'resolved' end as reason,
             r2 >= 0.1 as assigned
      from (
        select n, random() as r1, random() as r2,
               now() - interval '365 days' + (n::double precision / ${TICKETS} * 365) * interval '1 day' as requested,
               (30 + random() * 600) * interval '1 second' as wait,
               (5 + random() * 120) * interval '1 second' as reply,
               (60 + random() * 1800) * interval '1 second' as work
        from generate_series(1, ${TICKETS}) as n
      ) raw
    ) shaped`);
  // Their KPI rows, as the worker writes them with each ticket.
  await sql`
    insert into ticket_kpis (ticket_id, requested_at, assigned_at, first_agent_reply_at, closed_at, status, close_reason, category, priority,
                             agent_id, agent_name, escalations, csat, survey_status)
    select id, requested_at, assigned_at, first_agent_reply_at, closed_at, status, close_reason, category, priority,
           agent_id, agent_name, escalations, csat, survey_status
    from tickets`;
  await sql`vacuum analyze ticket_kpis`;
  const seedMs = performance.now() - seedStart;
  console.log(`seeded ${TICKETS} tickets in ${(seedMs / 1000).toFixed(1)} s`);
  // The rollup loop's first start on a year of tickets: every ended day summed (settled at once here).
  const rollups = createKpiRollups({ database, timeZone: ZONE, logger: createLogger('silent'), pollMs: 60_000, settleSeconds: 0 });
  const rollupStart = performance.now();
  while ((await rollups.pass()) > 0);
  const rollupMs = performance.now() - rollupStart;
  console.log(`rolled up a year in ${(rollupMs / 1000).toFixed(1)} s`);
  await sql`vacuum analyze`;
  const today = DateTime.now().setZone(ZONE).startOf('day');
  const daysBack = (days: number) => today.minus({ days }).toISODate()!;

  const cases: { label: string; from: string; to: string; groupBy?: KpiGroupBy }[] = [
    { label: 'a year to today, totals', from: daysBack(364), to: daysBack(0) },
    { label: 'a year to today, by day', from: daysBack(364), to: daysBack(0), groupBy: 'day' },
    { label: 'a year to today, by agent', from: daysBack(364), to: daysBack(0), groupBy: 'agent' },
    { label: 'a year to today, by category', from: daysBack(364), to: daysBack(0), groupBy: 'category' },
    { label: 'a month to today, by day', from: daysBack(29), to: daysBack(0), groupBy: 'day' },
    { label: 'a week to today, by agent', from: daysBack(6), to: daysBack(0), groupBy: 'agent' },
    { label: 'today, by agent', from: daysBack(0), to: daysBack(0), groupBy: 'agent' },
  ];
  const results: { label: string; tickets: number; groups: number; exact: boolean; medianMs: number; maxMs: number }[] = [];
  for (const kpiCase of cases) {
    const times: number[] = [];
    let report: Awaited<ReturnType<typeof queryKpis>> | undefined;
    for (let run = 0; run < RUNS; run++) {
      const start = performance.now();
      report = await queryKpis(database, { from: kpiCase.from, to: kpiCase.to, timeZone: ZONE, groupBy: kpiCase.groupBy });
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    const result = {
      label: kpiCase.label,
      tickets: report!.totals.tickets,
      groups: report!.groups.length,
      exact: report!.percentiles.exact,
      medianMs: times[Math.floor(RUNS / 2)]!,
      maxMs: times.at(-1)!,
    };
    results.push(result);
    console.log(result);
  }
  const [{ server_version }] = (await sql`show server_version`) as unknown as [{ server_version: string }];
  await rollups.close();
  await sql.end();
  await database.close();

  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Bun ${Bun.version}, PostgreSQL ${server_version}`;
  const rows = results.map(
    (r) =>
      `| ${r.label} | ${r.tickets.toLocaleString('en')} | ${r.groups} | ${r.exact ? 'exact' : 'within 1 %'} | ${r.medianMs.toFixed(0)} ms | ${r.maxMs.toFixed(0)} ms | ${r.medianMs <= 100 ? 'yes' : '**no**'} |`,
  );
  const over = results.filter((r) => r.medianMs > 100).map((r) => r.label);
  await Bun.write(
    join(root, 'docs/bench-kpis.md'),
    `# Benchmark: KPI queries on a year of tickets

What: \`GET /api/metrics/kpis\` (src/kpis/query.ts) through the same function
the route calls, on ${TICKETS.toLocaleString('en')} tickets requested over the 365 days up
to the run (a mid-size ISP's year): 30 agents, a fifth reactivation, 90 %
resolved, the rest cancelled, abandoned or fallen back, half the resolved ones
rated. The ended days are read from the daily and monthly rollups
(src/kpis/rollups.ts), today from \`ticket_kpis\`; a range of more than
20,000 tickets takes its medians and p90s from the rollups' sketches (within
1 %), a smaller one sorts every duration (exact). Each query ran ${RUNS} times on
a warm cache; median and slowest are shown. The budget (issue 25) is 100 ms
for a year, for every grouping.

Machine: ${machine}. Run on ${new Date().toISOString().slice(0, 10)}. Seeding took ${(seedMs / 1000).toFixed(0)} s; the rollup loop's
first pass over the year (what a first start on an existing database does, in the background) took ${(rollupMs / 1000).toFixed(0)} s.

| Query | Tickets in range | Groups | Percentiles | Median | Slowest | Median within 100 ms |
|---|---|---|---|---|---|---|
${rows.join('\n')}

${over.length === 0 ? 'Every query answers within the budget.' : `Over the budget: ${over.join(', ')}.`}

Rerun: \`bun run bench:kpis\` (\`TICKETS\` overrides the size; needs Postgres on
127.0.0.1:5432 with trust auth). It creates and drops its own database.
`,
  );
  console.log('wrote docs/bench-kpis.md');
} finally {
  // KEEP_DATABASE=1 leaves it for EXPLAIN ANALYZE.
  if (process.env.KEEP_DATABASE) console.log(`kept database ${name}`);
  else await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
}
