import { sql, type SQL } from 'drizzle-orm';
import { DateTime } from 'luxon';
import type { Database } from '../db/client';
import { closeReason, ticketCategory } from '../db/schema';
import type { Executor } from '../db/client';
import { isExact, merge, toKpis, toPartial, type GroupPartial, type KpiGroupBy, type Kpis, type Rates } from './aggregate';
import { billableByGroup } from './billing';
import { rolledUpDays, rollupPartials } from './rollup-rows';
import { RELATIVE_ACCURACY } from './sketch';

export type { Durations, KpiGroupBy, Kpis } from './aggregate';

/** Up to this many tickets in a range, its medians and p90s are sorted from every duration (exact); above, read from sketches. */
export const EXACT_PERCENTILES_UP_TO = 20_000;


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
  /** Whether the medians and p90s are exact, or within `relativeError` of the exact value (counts and averages are always exact). */
  percentiles: { exact: boolean; relativeError: number };
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
export interface GroupKey {
  key: SQL;
  label: SQL;
  name(key: string): string;
}

export function groupKey(groupBy: KpiGroupBy, days: DateTime[], primaryNumber = ''): GroupKey {
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

/** An instant range [from, to), ISO. */
export type InstantRange = [from: string, to: string];

/**
 * The KPIs of each group among the `ticket_kpis` rows requested in `ranges`:
 * one statement, one hash aggregation over index ranges on `requested_at`,
 * counts in SQL and each group's durations shipped as packed doubles
 * (`float8send`, base64), so the exact median and p90 are sorted here.
 */
export async function rawPartials(database: Database, executor: Executor, ranges: InstantRange[], group: GroupKey | null): Promise<GroupPartial[]> {
  if (ranges.length === 0) return [];
  const rows = await database.rows<Record<string, unknown>>(
    executor,
    sql`
      select ${group?.key ?? sql`''`}::text as key, ${group?.label ?? sql`''`} as label,
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
      where ${sql.join(
        ranges.map(([from, to]) => sql`(requested_at >= ${from} and requested_at < ${to})`),
        sql` or `,
      )}
      ${group ? sql`group by 1` : sql``}`,
  );
  return rows.map((row) => ({ key: group ? group.name(String(row.key)) : '', label: String(row.label), partial: toPartial(row) }));
}

/** Merges the partials that share a key (a group's rollup rows and its days read from `ticket_kpis`). */
export function mergeByKey(parts: GroupPartial[]): GroupPartial[] {
  const byKey = new Map<string, GroupPartial[]>();
  for (const part of parts) {
    const same = byKey.get(part.key);
    if (same) same.push(part);
    else byKey.set(part.key, [part]);
  }
  return [...byKey.values()].map((same) => ({
    key: same[0]!.key,
    label: same.find((part) => part.label)?.label ?? '',
    partial: merge(same.map((part) => part.partial)),
  }));
}

/** Contiguous runs of the days not in `rolledUp`, as instant ranges. */
function rangesOutside(days: DateTime[], rolledUp: Set<string>): InstantRange[] {
  const ranges: InstantRange[] = [];
  for (const day of days) {
    if (rolledUp.has(day.toISODate()!)) continue;
    const from = day.toUTC().toISO()!;
    const to = day.plus({ days: 1 }).startOf('day').toUTC().toISO()!;
    const last = ranges.at(-1);
    if (last && last[1] === from) last[1] = to;
    else ranges.push([from, to]);
  }
  return ranges;
}

/**
 * The seed's KPIs over tickets requested in a date range. Days of the
 * business time zone that the rollup loop has summed (src/kpis/rollups.ts)
 * are read from their day and month rollups, the rest (today, a day whose
 * tickets changed since) from `ticket_kpis`: a year reads some hundreds of
 * rollup rows. Counts and averages are exact either way; medians and p90s
 * come from the rollups' sketches (within 1 %) once a range holds more than
 * `exactUpTo` tickets, and are exact below that.
 */
export async function queryKpis(database: Database, request: KpiRequest, { exactUpTo = EXACT_PERCENTILES_UP_TO } = {}): Promise<KpiReport> {
  if (!isTimeZone(request.timeZone)) throw new Error(`not a time zone: ${request.timeZone}`);
  const fromInstant = DateTime.fromISO(request.from, { zone: request.timeZone }).startOf('day');
  const toInstant = DateTime.fromISO(request.to, { zone: request.timeZone }).plus({ days: 1 }).startOf('day');
  const days: DateTime[] = [];
  for (let day = fromInstant; day < toInstant; day = day.plus({ days: 1 })) days.push(day);
  const group = request.groupBy ? groupKey(request.groupBy, days, request.primaryNumber) : null;
  const whole: InstantRange[] = [[fromInstant.toUTC().toISO()!, toInstant.toUTC().toISO()!]];

  // Beside the KPI statements: the billable messages of the same tickets, by the same key (statuses change them apart
  // from the tickets, so they are never rolled up; they are few: templates, since replies inside the window are free).
  const billable = billableByGroup(database, group?.key ?? sql`''`, { from: whole[0]![0], to: whole[0]![1] });
  const rolledUp = await rolledUpDays(database, request.timeZone, request.from, request.to);
  let partials: GroupPartial[];
  if (rolledUp.size === 0) partials = await rawPartials(database, database.db, whole, group);
  else {
    const [fromRollups, fromRows] = await Promise.all([
      rollupPartials(database, request.groupBy ?? null, days.map((day) => day.toISODate()!), rolledUp, request.primaryNumber ?? ''),
      rawPartials(database, database.db, rangesOutside(days, rolledUp), group),
    ]);
    partials = mergeByKey([...fromRollups, ...fromRows]);
    const tickets = partials.reduce((sum, part) => sum + part.partial.tickets, 0);
    if (tickets <= exactUpTo) partials = await rawPartials(database, database.db, whole, group);
  }
  for (const [key, counts] of await billable) {
    const named = group ? group.name(key) : '';
    const target = partials.find((part) => part.key === named);
    if (target) target.partial.billable = counts;
  }
  const rates = request.rates;
  const totals = merge(partials.map((entry) => entry.partial));
  return {
    range: {
      from: request.from,
      to: request.to,
      timeZone: request.timeZone,
      fromInstant: whole[0]![0],
      toInstant: whole[0]![1],
    },
    groupBy: request.groupBy ?? null,
    percentiles: isExact(totals) ? { exact: true, relativeError: 0 } : { exact: false, relativeError: RELATIVE_ACCURACY },
    totals: toKpis(totals, rates),
    groups: request.groupBy
      ? partials
          .map(({ key, label, partial }) => ({ key, label: label || key, kpis: toKpis(partial, rates) }))
          .sort((a, b) => (request.groupBy === 'day' ? a.key.localeCompare(b.key) : b.kpis.tickets - a.kpis.tickets || a.key.localeCompare(b.key)))
      : [],
  };
}
