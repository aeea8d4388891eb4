/**
 * KPI query benchmark: a year of tickets for a mid-size ISP (500,000 by
 * default) and the queries /api/metrics/kpis runs, timed on Postgres.
 * Writes docs/bench-kpis.md.
 *
 *   bun run bench:kpis          # TICKETS=500000
 */
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { openDatabase } from '../src/db/client';
import { queryKpis, type KpiGroupBy } from '../src/kpis/query';

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
  // A year of closed tickets, spread over 2026, with the shapes the KPIs read:
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
               timestamptz '2026-01-01 05:00:00+00' + (n::double precision / ${TICKETS} * 365) * interval '1 day' as requested,
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

  const cases: { label: string; from: string; to: string; groupBy?: KpiGroupBy }[] = [
    { label: 'a year, totals', from: '2026-01-01', to: '2026-12-31' },
    { label: 'a year, by day', from: '2026-01-01', to: '2026-12-31', groupBy: 'day' },
    { label: 'a year, by agent', from: '2026-01-01', to: '2026-12-31', groupBy: 'agent' },
    { label: 'a year, by category', from: '2026-01-01', to: '2026-12-31', groupBy: 'category' },
    { label: 'a month, by day', from: '2026-11-01', to: '2026-11-30', groupBy: 'day' },
    { label: 'a week, by agent', from: '2026-11-23', to: '2026-11-29', groupBy: 'agent' },
  ];
  const results: { label: string; tickets: number; groups: number; medianMs: number; maxMs: number }[] = [];
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
      medianMs: times[Math.floor(RUNS / 2)]!,
      maxMs: times.at(-1)!,
    };
    results.push(result);
    console.log(result);
  }
  const [{ server_version }] = (await sql`show server_version`) as unknown as [{ server_version: string }];
  await sql.end();
  await database.close();

  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Bun ${Bun.version}, PostgreSQL ${server_version}`;
  const rows = results.map(
    (r) =>
      `| ${r.label} | ${r.tickets.toLocaleString('en')} | ${r.groups} | ${r.medianMs.toFixed(0)} ms | ${r.maxMs.toFixed(0)} ms | ${r.medianMs < 1000 ? 'yes' : '**no**'} |`,
  );
  const over = results.filter((r) => r.medianMs >= 1000).map((r) => r.label);
  await Bun.write(
    join(root, 'docs/bench-kpis.md'),
    `# Benchmark: KPI queries on a year of tickets

What: \`GET /api/metrics/kpis\` (src/kpis/query.ts) through the same function
the route calls: one hash aggregation over \`ticket_kpis\` for the range, the
exact medians and p90s sorted in the service from the durations it returns, on ${TICKETS.toLocaleString('en')} tickets requested
over 2026 (a mid-size ISP's year): 30 agents, a fifth reactivation, 90 %
resolved, the rest cancelled, abandoned or fallen back, half the resolved ones
rated. Each query ran ${RUNS} times on a warm cache; median and slowest are shown.
The budget (issue 5) is one second.

Machine: ${machine}. Run on ${new Date().toISOString().slice(0, 10)}. Seeding took ${(seedMs / 1000).toFixed(0)} s.

| Query | Tickets in range | Groups | Median | Slowest | Median within 1 s |
|---|---|---|---|---|---|
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
