import { sql, type SQL } from 'drizzle-orm';
import { DateTime } from 'luxon';
import type { Database } from '../db/client';
import { closeReason, ticketCategory } from '../db/schema';
import { merge, toKpis, toPartial, type Kpis, type Rates } from './aggregate';
import { billableByGroup } from './billing';

export type { Durations, Kpis } from './aggregate';

export type KpiGroupBy = 'day' | 'agent' | 'category' | 'number';

export interface KpiRequest {
  /** First and last day of the range (inclusive), read in `timeZone`. */
  from: string;
  to: string;
  timeZone: string;
  groupBy?: KpiGroupBy;
  /** The first-listed WhatsApp number: tickets from before the number was kept are its. */
  primaryNumber?: string;
  /** The rate card the billable messages' cost is estimated with. */
  rates?: Rates;
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
function groupKey(groupBy: KpiGroupBy, days: DateTime[], primaryNumber: string): { key: SQL; label: SQL; name(key: string): string } {
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
    case 'number':
      return { key: sql`coalesce(business_phone_number_id, ${primaryNumber})`, label: sql`''`, name: (key) => key };
  }
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
  const group = request.groupBy ? groupKey(request.groupBy, days, request.primaryNumber ?? '') : { key: sql`''`, label: sql`''`, name: (key: string) => key };
  const range = { from: fromInstant.toUTC().toISO()!, to: toInstant.toUTC().toISO()! };
  const [rows, billable] = await Promise.all([
    database.rows<Record<string, unknown>>(
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
      where requested_at >= ${range.from} and requested_at < ${range.to}
      ${request.groupBy ? sql`group by 1` : sql``}`,
    ),
    // A second statement beside the scan: the billable messages of the same tickets, by the same key.
    billableByGroup(database, group.key, range),
  ]);
  const partials = rows.map((row) => ({
    key: group.name(String(row.key)),
    label: String(row.label),
    partial: { ...toPartial(row), billable: billable.get(String(row.key)) ?? {} },
  }));
  const rates = request.rates;
  return {
    range: {
      from: request.from,
      to: request.to,
      timeZone: request.timeZone,
      fromInstant: fromInstant.toUTC().toISO()!,
      toInstant: toInstant.toUTC().toISO()!,
    },
    groupBy: request.groupBy ?? null,
    totals: toKpis(merge(partials.map((entry) => entry.partial)), rates),
    groups: request.groupBy
      ? partials
          .map(({ key, label, partial }) => ({ key, label: label || key, kpis: toKpis(partial, rates) }))
          .sort((a, b) => (request.groupBy === 'day' ? a.key.localeCompare(b.key) : b.kpis.tickets - a.kpis.tickets || a.key.localeCompare(b.key)))
      : [],
  };
}
