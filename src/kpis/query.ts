import { sql, type SQL } from 'drizzle-orm';
import { DateTime } from 'luxon';
import type { Database } from '../db/client';
import { closeReason, ticketCategory } from '../db/schema';

export type KpiGroupBy = 'day' | 'agent' | 'category';

export interface KpiRequest {
  /** First and last day of the range (inclusive), read in `timeZone`. */
  from: string;
  to: string;
  timeZone: string;
  groupBy?: KpiGroupBy;
}

export interface Durations {
  /** Tickets the measure applies to (e.g. those that got an agent, for the handover wait). */
  count: number;
  averageSeconds: number | null;
  medianSeconds: number | null;
  p90Seconds: number | null;
}

export interface Kpis {
  tickets: number;
  /** The seed's reactivation against general support. */
  categories: Record<(typeof ticketCategory.enumValues)[number], number>;
  /** Request → an agent took the ticket (`bot_to_human`): the handover time. */
  handoverWait: Durations;
  /** Assignment → the agent's first message. */
  agentFirstResponse: Durations;
  /** Request → close, for resolved tickets. */
  resolutionTime: Durations;
  closed: number;
  resolved: number;
  /** Resolved over all closed tickets; the other reasons are counted in `closeReasons`. */
  resolutionRate: number | null;
  closeReasons: Record<(typeof closeReason.enumValues)[number], number>;
  csat: {
    average: number | null;
    /** Surveys offered (tickets resolved by an agent) and ratings received. */
    offered: number;
    responses: number;
    responseRate: number | null;
    distribution: Record<'1' | '2' | '3' | '4' | '5', number>;
  };
  escalations: number;
  escalatedTickets: number;
  fallbacks: number;
}

export interface KpiGroup {
  key: string;
  /** The agent's name for groupBy=agent; otherwise the key. */
  label: string;
  kpis: Kpis;
}

export interface KpiReport {
  range: { from: string; to: string; timeZone: string; fromInstant: string; toInstant: string };
  groupBy: KpiGroupBy | null;
  totals: Kpis;
  groups: KpiGroup[];
}

/** An IANA zone name, checked by the runtime's time-zone database. */
export function isTimeZone(name: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(name)) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

function quoteLiteral(timeZone: string): string {
  if (!isTimeZone(timeZone)) throw new Error(`not a time zone: ${timeZone}`);
  return `'${timeZone}'`;
}

/** avg, median and p90 of one duration, over the rows where it is not null. */
function durationColumns(name: string, duration: SQL): SQL {
  return sql.join(
    [
      sql`count(${duration}) as ${sql.identifier(`${name}_count`)}`,
      sql`avg(${duration}) as ${sql.identifier(`${name}_avg`)}`,
      // One sort for both percentiles.
      sql`percentile_cont(array[0.5, 0.9]) within group (order by ${duration}) as ${sql.identifier(`${name}_percentiles`)}`,
    ],
    sql`, `,
  );
}

const GROUP_KEYS: Record<KpiGroupBy, (timeZone: string) => { key: SQL; label: SQL }> = {
  day: (timeZone) => {
    // A literal, not a parameter: the same expression must appear in the select list and in GROUP BY.
    const day = sql`to_char(requested_at at time zone ${sql.raw(quoteLiteral(timeZone))}, 'YYYY-MM-DD')`;
    return { key: day, label: day };
  },
  agent: () => ({ key: sql`coalesce(agent_id, '')`, label: sql`coalesce(max(agent_name), '')` }),
  category: () => ({ key: sql`category::text`, label: sql`category::text` }),
};

/**
 * The seed's KPIs over tickets requested in a date range, from the
 * `ticket_kpis` rows the worker writes with each ticket. The totals and the
 * groups are two statements run side by side (percentiles do not merge, and
 * Postgres does not parallelise ordered-set aggregates); each reads an index
 * range on `requested_at` and sorts stored durations in memory.
 */
export async function queryKpis(database: Database, request: KpiRequest): Promise<KpiReport> {
  const fromInstant = DateTime.fromISO(request.from, { zone: request.timeZone }).startOf('day');
  const toInstant = DateTime.fromISO(request.to, { zone: request.timeZone }).plus({ days: 1 }).startOf('day');
  const range = sql`requested_at >= ${fromInstant.toUTC().toISO()} and requested_at < ${toInstant.toUTC().toISO()}`;
  const group = request.groupBy ? GROUP_KEYS[request.groupBy](request.timeZone) : null;
  const [totals, groups] = await Promise.all([
    aggregate(database, sql`'' as key, '' as label`, range, sql``),
    group ? aggregate(database, sql`${group.key} as key, ${group.label} as label`, range, sql`group by ${group.key}`) : Promise.resolve([]),
  ]);
  return {
    range: {
      from: request.from,
      to: request.to,
      timeZone: request.timeZone,
      fromInstant: fromInstant.toUTC().toISO()!,
      toInstant: toInstant.toUTC().toISO()!,
    },
    groupBy: request.groupBy ?? null,
    totals: toKpis(totals[0] ?? {}),
    groups: groups
      .map((row) => ({ key: String(row.key), label: String(row.label), kpis: toKpis(row) }))
      .sort((a, b) => (request.groupBy === 'day' ? a.key.localeCompare(b.key) : b.kpis.tickets - a.kpis.tickets || a.key.localeCompare(b.key))),
  };
}

function aggregate(database: Database, keyColumns: SQL, range: SQL, grouping: SQL): Promise<Record<string, unknown>[]> {
  return database.db.transaction(async (tx) => {
    // A year of durations sorts in memory rather than in temporary files.
    await tx.execute(sql`set local work_mem = '64MB'`);
    return database.rows<Record<string, unknown>>(
      tx,
      sql`
        select ${keyColumns},
          count(*) as tickets,
          ${sql.join(
            ticketCategory.enumValues.map((category) => sql`count(*) filter (where category = ${category}) as ${sql.identifier(`category_${category}`)}`),
            sql`, `,
          )},
          ${durationColumns('wait', sql`wait_seconds`)},
          ${durationColumns('first_response', sql`first_response_seconds`)},
          ${durationColumns('resolution', sql`resolution_seconds`)},
          count(*) filter (where status = 'closed') as closed,
          ${sql.join(
            closeReason.enumValues.map((reason) => sql`count(*) filter (where close_reason = ${reason}) as ${sql.identifier(`reason_${reason}`)}`),
            sql`, `,
          )},
          avg(csat) as csat_avg,
          count(csat) as csat_responses,
          count(*) filter (where survey_status is not null) as csat_offered,
          ${sql.join(
            [1, 2, 3, 4, 5].map((score) => sql`count(*) filter (where csat = ${score}) as ${sql.identifier(`csat_${score}`)}`),
            sql`, `,
          )},
          coalesce(sum(escalations), 0) as escalations,
          count(*) filter (where escalations > 0) as escalated_tickets
        from ticket_kpis
        where ${range}
        ${grouping}`,
    );
  });
}

const number = (value: unknown): number => Number(value ?? 0);
const nullable = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));
const ratio = (part: number, whole: number): number | null => (whole === 0 ? null : part / whole);

function durations(row: Record<string, unknown>, name: string): Durations {
  const [median, p90] = (row[`${name}_percentiles`] as (number | string | null)[] | null | undefined) ?? [null, null];
  return {
    count: number(row[`${name}_count`]),
    averageSeconds: nullable(row[`${name}_avg`]),
    medianSeconds: nullable(median),
    p90Seconds: nullable(p90),
  };
}

function toKpis(row: Record<string, unknown>): Kpis {
  const closed = number(row.closed);
  const resolved = number(row.reason_resolved);
  const offered = number(row.csat_offered);
  const responses = number(row.csat_responses);
  return {
    tickets: number(row.tickets),
    categories: Object.fromEntries(ticketCategory.enumValues.map((category) => [category, number(row[`category_${category}`])])) as Kpis['categories'],
    handoverWait: durations(row, 'wait'),
    agentFirstResponse: durations(row, 'first_response'),
    resolutionTime: durations(row, 'resolution'),
    closed,
    resolved,
    resolutionRate: ratio(resolved, closed),
    closeReasons: Object.fromEntries(closeReason.enumValues.map((reason) => [reason, number(row[`reason_${reason}`])])) as Kpis['closeReasons'],
    csat: {
      average: nullable(row.csat_avg),
      offered,
      responses,
      responseRate: ratio(responses, offered),
      distribution: Object.fromEntries([1, 2, 3, 4, 5].map((score) => [String(score), number(row[`csat_${score}`])])) as Kpis['csat']['distribution'],
    },
    escalations: number(row.escalations),
    escalatedTickets: number(row.escalated_tickets),
    fallbacks: number(row.reason_fallback),
  };
}
