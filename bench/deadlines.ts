/**
 * DESIGN 6's deadline budget: at least 100,000 open tickets with armed
 * deadlines in 2 GiB, restored by a restart within 10 seconds.
 *
 * Seeds a fresh Postgres database with TICKETS waiting tickets (snapshots
 * built by the real handover machine) and four armed deadlines each, OVERDUE
 * of them with the assignment deadline already past; then starts the service
 * as `bun run start` would and measures: time to ready, time until every
 * overdue deadline has fired and been applied (one `escalated` ticket event
 * each), and the service's peak resident memory. Writes docs/bench-deadlines.md.
 *
 *   bun run bench:deadlines            # TICKETS=100000 OVERDUE=10000
 */
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { initialTransition } from 'xstate';
import { createHandoverMachine } from '../src/actors/handover';
import { createBusinessCalendar } from '../src/domain/business-hours';
import { openDatabase } from '../src/db/client';
import { childEnvironment, waitReady } from './support';

const TICKETS = Number(process.env.TICKETS ?? 100_000);
const OVERDUE = Number(process.env.OVERDUE ?? 10_000);
const ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const root = join(import.meta.dir, '..');
const HOUR_S = 3600;

const name = `hb_bench_deadlines_${Date.now().toString(36)}`;
const databaseUrl = ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
await admin.unsafe(`create database ${name}`);

/** A waiting ticket's persisted snapshot as the machine makes it, with its deadlines where we want them. */
function snapshotTemplate(assignDue: string) {
  const machine = createHandoverMachine({
    assignTimeoutS: HOUR_S,
    maxEscalations: 2,
    supervisorQueue: false,
    agentReplyTimeoutS: HOUR_S,
    queueUpdateIntervalS: HOUR_S,
    userAbandonTimeoutS: HOUR_S,
    windowS: 24 * HOUR_S,
    reengageTemplate: false,
    outOfHoursQueue: true,
    calendar: createBusinessCalendar('', '', 'America/Bogota'),
  });
  const requestedAt = new Date(Date.now() - 2 * 60_000).toISOString();
  const [snapshot] = initialTransition(machine, {
    ticketId: 'TEMPLATE',
    conversationKey: 'TEMPLATE',
    category: 'soporte_agente',
    priority: 'media',
    customer: { customerId: 'C-bench', customerName: 'Bench', isInactive: false },
    requestedAt,
  });
  const persisted = machine.getPersistedSnapshot(snapshot) as unknown as { context: { deadlines: Record<string, string> } };
  persisted.context.deadlines.assign = assignDue;
  return { persisted, requestedAt, deadlines: persisted.context.deadlines };
}

// The CRM stands outside the product: a loopback server that accepts every ticket-update the escalations send.
const crm = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => Response.json({ success: true }) });

let child: ReturnType<typeof Bun.spawn> | undefined;
try {
  const database = await openDatabase({ databaseUrl, dataDir: '' });
  await database.close();
  const sql = postgres(databaseUrl, { max: 4, onnotice: () => {} });

  const seedStart = performance.now();
  const overdueAt = new Date(Date.now() - 60_000).toISOString();
  const futureAt = new Date(Date.now() + HOUR_S * 1000).toISOString();
  for (const [group, from, to, assignDue] of [
    ['overdue', 1, OVERDUE, overdueAt],
    ['future', OVERDUE + 1, TICKETS, futureAt],
  ] as const) {
    if (to < from) continue;
    const { persisted, requestedAt, deadlines } = snapshotTemplate(assignDue);
    await sql`
      insert into tickets (id, conversation_key, customer_id, customer_name, category, priority, status, phase, requested_at, last_activity_at, last_user_message_at, snapshot)
      select 'TK-2026-' || lpad(n::text, 6, '0'), '57300' || lpad(n::text, 7, '0'), 'C-bench', 'Bench', 'soporte_agente', 'media', 'pending', 'waiting_agent',
             ${requestedAt}, ${requestedAt}, ${requestedAt},
             jsonb_set(jsonb_set(${sql.json(persisted as never)}::jsonb, '{context,ticketId}', to_jsonb('TK-2026-' || lpad(n::text, 6, '0'))),
                       '{context,conversationKey}', to_jsonb('57300' || lpad(n::text, 7, '0')))
      from generate_series(${from}::int, ${to}::int) as n`;
    for (const [timer, due] of Object.entries(deadlines)) {
      await sql`
        insert into timers (id, conversation_key, ticket_id, timer, due_at)
        select 'TK-2026-' || lpad(n::text, 6, '0') || '/' || ${timer}, '57300' || lpad(n::text, 7, '0'), 'TK-2026-' || lpad(n::text, 6, '0'), ${timer}, ${due}
        from generate_series(${from}::int, ${to}::int) as n`;
    }
    console.log(`seeded ${to - from + 1} ${group} tickets`);
  }
  const [{ armed }] = (await sql`select count(*)::int as armed from timers`) as unknown as [{ armed: number }];
  const seedMs = performance.now() - seedStart;
  console.log(`${armed} deadlines armed in ${(seedMs / 1000).toFixed(1)} s`);

  const port = 20000 + Math.floor(Math.random() * 20000);
  const spawnedAt = performance.now();
  child = Bun.spawn(['bun', 'src/index.ts'], {
    cwd: root,
    env: childEnvironment({
      PORT: String(port),
      LOG_LEVEL: 'warn',
      DATABASE_URL: databaseUrl,
      CRM_BASE_URL: `http://127.0.0.1:${crm.port}`,
      REDIS_URL,
      REDIS_KEY_PREFIX: `hbbench:deadlines:${Date.now().toString(36)}:`,
      HANDOVER_ASSIGN_TIMEOUT_S: String(HOUR_S),
    }),
    stdout: 'inherit',
    stderr: 'inherit',
  });
  let peakRssKiB = 0;
  const sampler = setInterval(async () => {
    const status = await Bun.file(`/proc/${child!.pid}/status`)
      .text()
      .catch(() => '');
    const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    peakRssKiB = Math.max(peakRssKiB, rss);
  }, 100);

  await waitReady(port, 60_000, 50);
  const readyMs = performance.now() - spawnedAt;
  let firedMs = 0;
  for (;;) {
    const [{ fired }] = (await sql`select count(*)::int as fired from ticket_events where type = 'escalated'`) as unknown as [{ fired: number }];
    if (fired >= OVERDUE) {
      firedMs = performance.now() - spawnedAt;
      break;
    }
    if (performance.now() - spawnedAt > 300_000) throw new Error(`only ${fired} of ${OVERDUE} overdue deadlines fired in 5 minutes`);
    await Bun.sleep(200);
  }
  await Bun.sleep(500);
  clearInterval(sampler);
  const [{ twice }] = (await sql`
    select count(*)::int as twice from (select ticket_id from ticket_events where type = 'escalated' group by 1 having count(*) > 1) as repeated`) as unknown as [
    { twice: number },
  ];
  await sql.end();

  const pg = await admin`show server_version`;
  const result = {
    tickets: TICKETS,
    armedDeadlines: armed,
    overdueAtStart: OVERDUE,
    readyS: readyMs / 1000,
    allOverdueAppliedS: firedMs / 1000,
    overduePerSecond: OVERDUE / ((firedMs - readyMs) / 1000),
    peakRssMiB: peakRssKiB / 1024,
    firedTwice: twice,
  };
  console.log(result);
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Bun ${Bun.version}, PostgreSQL ${pg[0]!.server_version}, ${process.platform}`;
  const report = `# Benchmark: armed deadlines across a restart

What: DESIGN 6's budget, "at least 100,000 open tickets with armed deadlines
in 2 GiB of memory; a restart restores them within 10 seconds". A fresh
database holds ${TICKETS.toLocaleString('en')} waiting tickets (snapshots made by the real handover
machine) with ${armed.toLocaleString('en')} armed deadlines (four per ticket) in the \`timers\` table;
${OVERDUE.toLocaleString('en')} of them already overdue. The service is started as \`bun run start\`
(Postgres, Redis and a CRM fake on loopback) and must fire and apply every
overdue one (each escalation also sends a \`ticket-update\` through the outbox).

Machine: ${machine}. Run on ${new Date().toISOString().slice(0, 10)}.

| Measure | Result |
|---|---|
| Start to ready (migrations, Redis, workers, timer scheduler) | ${result.readyS.toFixed(2)} s |
| Start to every overdue deadline fired and applied | ${result.allOverdueAppliedS.toFixed(2)} s |
| Overdue deadlines applied per second after ready | ${Math.round(result.overduePerSecond).toLocaleString('en')} |
| Peak resident memory of the service | ${result.peakRssMiB.toFixed(0)} MiB |
| Deadlines that fired twice | ${twice} |

Deadlines are not held in memory: the scheduler reads due rows from an index
on \`due_at\` (up to 500 per poll), so memory does not grow with the number
of armed deadlines, and a restart has nothing to load before the first poll.

Rerun: \`bun run bench:deadlines\` (\`TICKETS\`, \`OVERDUE\` override the sizes;
needs Postgres on 127.0.0.1:5432 with trust auth and Redis on 127.0.0.1:6379).
`;
  await Bun.write(join(root, 'docs/bench-deadlines.md'), report);
  console.log('wrote docs/bench-deadlines.md');
} finally {
  child?.kill('SIGTERM');
  await child?.exited;
  await crm.stop(true);
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
}
