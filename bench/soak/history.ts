/**
 * A year of a busy desk's history, seeded into a migrated database before the
 * service starts on it: HISTORY_TICKETS closed tickets (500,000) over the
 * year ending now, from USERS (two fifths as many) users, each ticket with
 * MESSAGES_PER_TICKET messages (the user and the bot or an agent in turn, the
 * ones sent all `read`), its events and its KPI row, and what the pipeline
 * keeps of them under the default retention (docs/DATA.md): one dedupe row per
 * event applied (each message, and three statuses per message sent) of the
 * last RETENTION_DEDUPE_DAYS (8), and one done outbox row per call made of the
 * last RETENTION_OUTBOX_DAYS (7); the purge has taken the older ones.
 *
 * Every table and column the seed writes is named here and only here: before
 * writing, it compares them with information_schema and stops, naming the
 * columns, if the schema has moved (a column renamed, a required one added).
 * Closed tickets' and the seeded users' snapshots are `{}`: the soak's live
 * users are new ones, so no seeded snapshot is ever restored.
 */
import postgres from 'postgres';

export interface HistorySize {
  tickets: number;
  messagesPerTicket: number;
  /** Seed processed_events and done outbox rows as the default retention leaves them after a year. */
  pipeline: boolean;
}

/** The default retention of the dedupe records and of delivered outbox rows (src/config.ts, docs/DATA.md). */
const DEDUPE_DAYS = 8;
const OUTBOX_DAYS = 7;

interface TableSeed {
  table: string;
  /** The rows: a FROM clause giving `n` (ticket), and `k` (its message) where there are several per ticket. */
  from: string;
  columns: Record<string, string>;
}

function seeds(size: HistorySize, now: string): TableSeed[] {
  const tickets = size.tickets;
  const users = Math.max(1, Math.floor(tickets * 0.4));
  const per = size.messagesPerTicket;
  // Everything is derived from n (and k), so each table is generated on its own, without reading another's columns.
  const requested = `(timestamptz '${now}' - interval '365 days' + (n::float8 / ${tickets} * 365) * interval '1 day')`;
  const ticketId = `('TK-' || extract(year from ${requested} at time zone 'UTC')::int || '-' || lpad(n::text, greatest(6, length(n::text)), '0'))`;
  // Each user's conversation key: the phone they first wrote from.
  const key = `('5730' || lpad((n % ${users})::text, 8, '0'))`;
  const at = `(${requested} + k * interval '20 seconds')`;
  const outbound = `(k % 2 = 0)`;
  const messages = `generate_series(1, ${tickets}) as n cross join generate_series(1, ${per}) as k`;
  const shaped = `(select n, r1, r2, ${requested} as requested, wait, reply, work,
                          case when r2 < 0.05 then 'cancelled' when r2 < 0.08 then 'abandoned' when r2 < 0.1 then 'fallback' else 'resolved' end as reason,
                          r2 >= 0.1 as assigned
                   from (select n, random() as r1, random() as r2, (30 + random() * 600) * interval '1 second' as wait,
                                (5 + random() * 120) * interval '1 second' as reply, (60 + random() * 1800) * interval '1 second' as work
                         from generate_series(1, ${tickets}) as n) raw) shaped`;
  const seeded: TableSeed[] = [
    {
      table: 'conversations',
      from: `generate_series(0, ${users - 1}) as n`,
      columns: {
        conversation_key: `'5730' || lpad(n::text, 8, '0')`,
        user_phone: `'5730' || lpad(n::text, 8, '0')`,
        state: `'idle'`,
        snapshot: `'{}'::jsonb`,
        created_at: `timestamptz '${now}' - interval '365 days'`,
        updated_at: `timestamptz '${now}' - interval '1 day'`,
      },
    },
    {
      table: 'tickets',
      from: shaped,
      columns: {
        id: ticketId,
        conversation_key: key,
        customer_id: `'C-' || (n % ${users})`,
        customer_name: `'Cliente'`,
        category: `(case when r1 < 0.2 then 'reactivacion_servicio' else 'soporte_agente' end)::ticket_category`,
        priority: `(case when r1 < 0.2 then 'alta' else 'media' end)::ticket_priority`,
        status: `'closed'`,
        phase: `'closed'`,
        close_reason: `reason::close_reason`,
        agent_id: `case when assigned then 'agent_' || (n % 30) end`,
        agent_name: `case when assigned then 'Agente ' || (n % 30) end`,
        requested_at: 'requested',
        assigned_at: 'case when assigned then requested + wait end',
        first_agent_reply_at: 'case when assigned then requested + wait + reply end',
        closed_at: 'requested + wait + reply + work',
        last_activity_at: 'requested + wait + reply + work',
        last_user_message_at: 'requested',
        escalations: 'case when r2 < 0.1 then 1 + (n % 2) else 0 end',
        message_count: String(per),
        csat: `case when reason = 'resolved' and r2 > 0.5 then 1 + (n % 5) end`,
        survey_status: `(case when reason = 'resolved' then (case when r2 > 0.5 then 'answered' else 'expired' end) end)::survey_status`,
        snapshot: `'{}'::jsonb`,
      },
    },
    {
      table: 'ticket_kpis',
      from: 'tickets',
      columns: Object.fromEntries(
        ['requested_at', 'assigned_at', 'first_agent_reply_at', 'closed_at', 'status', 'close_reason', 'category', 'priority', 'agent_id', 'agent_name']
          .concat(['escalations', 'csat', 'survey_status'])
          .map((column) => [column, column])
          .concat([['ticket_id', 'id']]),
      ),
    },
    {
      table: 'ticket_events',
      from: `generate_series(1, ${tickets}) as n cross join unnest(array['opened', 'agent_connected', 'closed', 'csat']) with ordinality as e(type, k)`,
      columns: { ticket_id: ticketId, type: 'e.type', data: `'{}'::jsonb`, at: `${requested} + k * interval '5 minutes'` },
    },
    {
      table: 'messages',
      from: messages,
      columns: {
        conversation_key: key,
        ticket_id: ticketId,
        direction: `(case when ${outbound} then 'outbound' else 'inbound' end)::message_direction`,
        author: `(case when not ${outbound} then 'user' when k <= 2 then 'bot' else 'agent' end)::message_author`,
        author_id: `case when ${outbound} and k > 2 then 'agent_' || (n % 30) end`,
        type: `'text'`,
        body: `'Mensaje de la conversación número ' || k || ' del ticket'`,
        wa_message_id: `'wamid.history.' || n || '.' || k`,
        status: `(case when ${outbound} then 'read' else 'received' end)::delivery_status`,
        status_at: `${at} + interval '30 seconds'`,
        outbox_key: `case when ${outbound} then 'history:' || n || ':' || k end`,
        created_at: at,
      },
    },
  ];
  if (!size.pipeline) return seeded;
  return seeded.concat([
    {
      table: 'processed_events',
      from: `${messages} cross join generate_series(0, 3) as s where (s = 0 or k % 2 = 0) and ${at} > timestamptz '${now}' - interval '${DEDUPE_DAYS} days'`,
      columns: { id: `'history:' || n || ':' || k || ':' || s`, stream_entry_id: `'0-' || n`, processed_at: `${at} + s * interval '10 seconds'` },
    },
    {
      table: 'outbox',
      from: `${messages} where ${at} > timestamptz '${now}' - interval '${OUTBOX_DAYS} days'`,
      columns: {
        kind: `(case when ${outbound} then 'whatsapp.send' else 'crm.user_message' end)::outbox_kind`,
        lane: `(case when ${outbound} then 'wa:' else 'crm:' end) || ${key}`,
        payload: `jsonb_build_object('to', ${key}, 'type', 'text', 'text', jsonb_build_object('body', 'Mensaje de la conversación número ' || k || ' del ticket'))`,
        idempotency_key: `'history:' || n || ':' || k`,
        ticket_id: ticketId,
        status: `'done'`,
        attempts: '1',
        next_attempt_at: at,
        created_at: at,
        completed_at: `${at} + interval '50 milliseconds'`,
      },
    },
  ]);
}

/** Stops, naming every column, when the seed and the schema disagree. */
async function checkSchema(sql: postgres.Sql, tables: TableSeed[]): Promise<void> {
  const columns = await sql`select table_name, column_name, is_nullable, column_default, is_generated, identity_generation
                            from information_schema.columns where table_schema = current_schema() and table_name in ${sql(tables.map((t) => t.table))}`;
  const problems: string[] = [];
  for (const seed of tables) {
    const actual = columns.filter((column) => column.table_name === seed.table);
    if (actual.length === 0) problems.push(`table ${seed.table} does not exist`);
    for (const name of Object.keys(seed.columns)) {
      if (actual.length > 0 && !actual.some((column) => column.column_name === name)) problems.push(`${seed.table}.${name} is seeded but not in the schema`);
    }
    for (const column of actual) {
      const required = column.is_nullable === 'NO' && column.column_default === null && column.is_generated === 'NEVER' && !column.identity_generation;
      if (required && !(column.column_name in seed.columns)) problems.push(`${seed.table}.${column.column_name} is required and the seed does not fill it`);
    }
  }
  if (problems.length > 0) throw new Error(`the history seed no longer matches the schema (edit bench/soak/history.ts): ${problems.join('; ')}`);
}

/** Seeds the year; returns the seconds each table took. */
export async function seedHistory(databaseUrl: string, size: HistorySize, log: (line: string) => void): Promise<Record<string, number>> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  const took: Record<string, number> = {};
  try {
    const [{ now }] = (await sql`select now()::text as now`) as unknown as [{ now: string }];
    const tables = seeds(size, now);
    await checkSchema(sql, tables);
    await sql`set synchronous_commit = off`;
    await sql`set maintenance_work_mem = '256MB'`;
    for (const seed of tables) {
      const startedAt = performance.now();
      const names = Object.keys(seed.columns);
      await sql.unsafe(`insert into ${seed.table} (${names.join(', ')}) select ${names.map((name) => seed.columns[name]).join(', ')} from ${seed.from}`);
      took[seed.table] = (performance.now() - startedAt) / 1000;
      log(`history: ${seed.table} seeded in ${took[seed.table]!.toFixed(1)} s`);
    }
    // The service numbers its tickets on from the year's last.
    await sql`select setval('ticket_number_seq', ${size.tickets})`;
    const startedAt = performance.now();
    // A year-old database has been vacuumed and analysed; without this autovacuum would spend the soak on the seed.
    await sql`vacuum analyze`;
    took.vacuum = (performance.now() - startedAt) / 1000;
    log(`history: vacuum analyze in ${took.vacuum.toFixed(1)} s`);
    return took;
  } finally {
    await sql.end();
  }
}

/**
 * Waits until the service has summed every ended day of the year into its KPI rollups (src/kpis/rollups.ts) and
 * returns how long that took. A desk that ran for the year has them; a first start on the seed sums them once, from
 * some 60 s after it starts (a day is left to settle for a minute), on the instance's event loop: the measured
 * traffic would take that one-time catch-up for the cost of what is stored (the first minute's p99 of 141 ms).
 */
export async function awaitRollups(databaseUrl: string, log: (line: string) => void, timeoutMs = 600_000): Promise<number> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  const startedAt = performance.now();
  try {
    for (;;) {
      const [days] = await sql<{ all: number; pending: number }[]>`
        select count(*)::int as all, (count(*) filter (where computed_at is null))::int as pending from kpi_rollup_days`;
      if (days!.all > 0 && days!.pending === 0) {
        const seconds = (performance.now() - startedAt) / 1000;
        log(`history: the service summed ${days!.all} days into its KPI rollups in ${seconds.toFixed(0)} s`);
        return seconds;
      }
      if (performance.now() - startedAt > timeoutMs)
        throw new Error(`the KPI rollups of the year were not summed within ${timeoutMs / 1000} s (${days!.pending} of ${days!.all} days left)`);
      await Bun.sleep(1000);
    }
  } finally {
    await sql.end();
  }
}
