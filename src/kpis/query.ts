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

/**
 * The group key of each grouping. Days are buckets between the range's
 * local midnights, computed here (daylight saving included): a binary search
 * per row instead of a time-zone conversion per row.
 */
function groupKey(groupBy: KpiGroupBy, days: DateTime[]): { key: SQL; label: SQL; name(key: string): string } {
  switch (groupBy) {
    case 'day': {
      const boundaries = days.slice(1).map((day) => `"${day.toUTC().toISO()}"`);
      return {
        key: sql`width_bucket(requested_at, ${sql.raw(`'{${boundaries.join(',')}}'`)}::timestamptz[])`,
        label: sql`''`,
        name: (bucket) => days[Number(bucket)]!.toISODate()!,
      };
    }
    case 'agent':
      return { key: sql`coalesce(agent_id, '')`, label: sql`coalesce(max(agent_name), '')`, name: (key) => key };
    case 'category':
      return { key: sql`category::text`, label: sql`''`, name: (key) => key };
  }
}

/** The additive part of the KPIs of one group, plus its raw durations: groups merge into totals exactly. */
interface PartialKpis {
  tickets: number;
  categories: Record<string, number>;
  closed: number;
  closeReasons: Record<string, number>;
  csatSum: number;
  csatResponses: number;
  csatOffered: number;
  csatDistribution: Record<string, number>;
  escalations: number;
  escalatedTickets: number;
  wait: Float64Array;
  firstResponse: Float64Array;
  resolution: Float64Array;
}

/**
 * The seed's KPIs over tickets requested in a date range, from the
 * `ticket_kpis` rows the worker writes with each ticket. One statement, one
 * hash aggregation over an index range on `requested_at`: counts in SQL,
 * and each group's durations shipped as packed doubles (`float8send`, base64), so
 * the exact median and p90 are sorted here, per group and for the totals,
 * without Postgres sorting the year three times over.
 */
export async function queryKpis(database: Database, request: KpiRequest): Promise<KpiReport> {
  if (!isTimeZone(request.timeZone)) throw new Error(`not a time zone: ${request.timeZone}`);
  const fromInstant = DateTime.fromISO(request.from, { zone: request.timeZone }).startOf('day');
  const toInstant = DateTime.fromISO(request.to, { zone: request.timeZone }).plus({ days: 1 }).startOf('day');
  const days: DateTime[] = [];
  for (let day = fromInstant; day < toInstant; day = day.plus({ days: 1 })) days.push(day);
  const group = request.groupBy ? groupKey(request.groupBy, days) : { key: sql`''`, label: sql`''`, name: (key: string) => key };
  const rows = await database.rows<Record<string, unknown>>(
    database.db,
    sql`
      select ${group.key}::text as key, ${group.label} as label,
        count(*) as tickets,
        ${sql.join(
          ticketCategory.enumValues.map((category) => sql`count(*) filter (where category = ${category}) as ${sql.identifier(`category_${category}`)}`),
          sql`, `,
        )},
        count(*) filter (where status = 'closed') as closed,
        ${sql.join(
          closeReason.enumValues.map((reason) => sql`count(*) filter (where close_reason = ${reason}) as ${sql.identifier(`reason_${reason}`)}`),
          sql`, `,
        )},
        coalesce(sum(csat), 0) as csat_sum,
        count(csat) as csat_responses,
        count(*) filter (where survey_status is not null) as csat_offered,
        ${sql.join(
          [1, 2, 3, 4, 5].map((score) => sql`count(*) filter (where csat = ${score}) as ${sql.identifier(`csat_${score}`)}`),
          sql`, `,
        )},
        coalesce(sum(escalations), 0) as escalations,
        count(*) filter (where escalations > 0) as escalated_tickets,
        encode(string_agg(float8send(wait_seconds), ''::bytea), 'base64') as wait,
        encode(string_agg(float8send(first_response_seconds), ''::bytea), 'base64') as first_response,
        encode(string_agg(float8send(resolution_seconds), ''::bytea), 'base64') as resolution
      from ticket_kpis
      where requested_at >= ${fromInstant.toUTC().toISO()} and requested_at < ${toInstant.toUTC().toISO()}
      ${request.groupBy ? sql`group by 1` : sql``}`,
  );
  const partials = rows.map((row) => ({ key: group.name(String(row.key)), label: String(row.label), partial: toPartial(row) }));
  return {
    range: {
      from: request.from,
      to: request.to,
      timeZone: request.timeZone,
      fromInstant: fromInstant.toUTC().toISO()!,
      toInstant: toInstant.toUTC().toISO()!,
    },
    groupBy: request.groupBy ?? null,
    totals: toKpis(merge(partials.map((entry) => entry.partial))),
    groups: request.groupBy
      ? partials
          .map(({ key, label, partial }) => ({ key, label: label || key, kpis: toKpis(partial) }))
          .sort((a, b) => (request.groupBy === 'day' ? a.key.localeCompare(b.key) : b.kpis.tickets - a.kpis.tickets || a.key.localeCompare(b.key)))
      : [],
  };
}

const number = (value: unknown): number => Number(value ?? 0);
const ratio = (part: number, whole: number): number | null => (whole === 0 ? null : part / whole);
const counts = (row: Record<string, unknown>, prefix: string, names: readonly (string | number)[]) =>
  Object.fromEntries(names.map((name) => [String(name), number(row[`${prefix}_${name}`])]));

/** `float8send` values, concatenated (8 bytes each, big-endian), in base64: a third less to carry than bytea's hex. */
function doubles(base64: unknown): Float64Array {
  if (typeof base64 !== 'string') return new Float64Array(0);
  const bytes = Buffer.from(base64, 'base64');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values = new Float64Array(bytes.byteLength / 8);
  for (let i = 0; i < values.length; i++) values[i] = view.getFloat64(i * 8, false);
  return values;
}

function toPartial(row: Record<string, unknown>): PartialKpis {
  return {
    tickets: number(row.tickets),
    categories: counts(row, 'category', ticketCategory.enumValues),
    closed: number(row.closed),
    closeReasons: counts(row, 'reason', closeReason.enumValues),
    csatSum: number(row.csat_sum),
    csatResponses: number(row.csat_responses),
    csatOffered: number(row.csat_offered),
    csatDistribution: counts(row, 'csat', [1, 2, 3, 4, 5]),
    escalations: number(row.escalations),
    escalatedTickets: number(row.escalated_tickets),
    wait: doubles(row.wait),
    firstResponse: doubles(row.first_response),
    resolution: doubles(row.resolution),
  };
}

function concat(arrays: Float64Array[]): Float64Array {
  const all = new Float64Array(arrays.reduce((size, array) => size + array.length, 0));
  let offset = 0;
  for (const array of arrays) {
    all.set(array, offset);
    offset += array.length;
  }
  return all;
}

function sumRecords(records: Record<string, number>[], names: readonly (string | number)[]): Record<string, number> {
  return Object.fromEntries(names.map((name) => [String(name), records.reduce((sum, record) => sum + (record[String(name)] ?? 0), 0)]));
}

function merge(partials: PartialKpis[]): PartialKpis {
  const sum = (pick: (partial: PartialKpis) => number) => partials.reduce((total, partial) => total + pick(partial), 0);
  return {
    tickets: sum((p) => p.tickets),
    categories: sumRecords(
      partials.map((p) => p.categories),
      ticketCategory.enumValues,
    ),
    closed: sum((p) => p.closed),
    closeReasons: sumRecords(
      partials.map((p) => p.closeReasons),
      closeReason.enumValues,
    ),
    csatSum: sum((p) => p.csatSum),
    csatResponses: sum((p) => p.csatResponses),
    csatOffered: sum((p) => p.csatOffered),
    csatDistribution: sumRecords(
      partials.map((p) => p.csatDistribution),
      [1, 2, 3, 4, 5],
    ),
    escalations: sum((p) => p.escalations),
    escalatedTickets: sum((p) => p.escalatedTickets),
    wait: concat(partials.map((p) => p.wait)),
    firstResponse: concat(partials.map((p) => p.firstResponse)),
    resolution: concat(partials.map((p) => p.resolution)),
  };
}

/** Postgres's percentile_cont on sorted values: linear interpolation between the two closest ranks. */
function percentile(sorted: Float64Array, fraction: number): number | null {
  if (sorted.length === 0) return null;
  const rank = fraction * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

function durations(values: Float64Array): Durations {
  const sorted = values.slice().sort();
  return {
    count: sorted.length,
    averageSeconds: sorted.length === 0 ? null : sorted.reduce((sum, value) => sum + value, 0) / sorted.length,
    medianSeconds: percentile(sorted, 0.5),
    p90Seconds: percentile(sorted, 0.9),
  };
}

function toKpis(partial: PartialKpis): Kpis {
  const resolved = partial.closeReasons.resolved ?? 0;
  return {
    tickets: partial.tickets,
    categories: partial.categories as Kpis['categories'],
    handoverWait: durations(partial.wait),
    agentFirstResponse: durations(partial.firstResponse),
    resolutionTime: durations(partial.resolution),
    closed: partial.closed,
    resolved,
    resolutionRate: ratio(resolved, partial.closed),
    closeReasons: partial.closeReasons as Kpis['closeReasons'],
    csat: {
      average: partial.csatResponses === 0 ? null : partial.csatSum / partial.csatResponses,
      offered: partial.csatOffered,
      responses: partial.csatResponses,
      responseRate: ratio(partial.csatResponses, partial.csatOffered),
      distribution: partial.csatDistribution as Kpis['csat']['distribution'],
    },
    escalations: partial.escalations,
    escalatedTickets: partial.escalatedTickets,
    fallbacks: partial.closeReasons.fallback ?? 0,
  };
}
