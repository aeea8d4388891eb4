import { sql } from 'drizzle-orm';
import type { Database } from '../db/client';
import type { kpiRollups } from '../db/schema';
import { sketchedSample, type DurationSample, type GroupPartial, type KpiCounts, type KpiGroupBy, type PartialKpis } from './aggregate';
import { decodeSketchInto, emptySketch, encodeSketch, sketchOf } from './sketch';

export type RollupRow = typeof kpiRollups.$inferInsert;
export type Dimension = RollupRow['dimension'];

/** The rollup family a grouping reads: every ticket together (by day, or none), per category, per agent. */
const dimensionOf = (groupBy: KpiGroupBy | null): Dimension => (groupBy === null || groupBy === 'day' ? 'all' : groupBy);

const pgArray = (values: string[]) => `{${values.join(',')}}`;

function countsOf(partial: PartialKpis): KpiCounts {
  const { wait: _wait, firstResponse: _firstResponse, resolution: _resolution, billable: _billable, ...counts } = partial;
  return counts;
}

function sketchBytes(sample: DurationSample): Buffer {
  return encodeSketch(sample.sketch ?? sketchOf(sample.values!));
}

/** One group's KPIs as a rollup row: its counts as they are, each duration as count, sum and sketch. */
export function toRollupRow(base: Pick<RollupRow, 'period' | 'start' | 'dimension'>, group: GroupPartial): RollupRow {
  const { partial } = group;
  return {
    ...base,
    key: group.key,
    agentName: base.dimension === 'agent' && group.label ? group.label : null,
    counts: countsOf(partial),
    waitSum: partial.wait.sum,
    waitCount: partial.wait.count,
    waitSketch: sketchBytes(partial.wait),
    firstResponseSum: partial.firstResponse.sum,
    firstResponseCount: partial.firstResponse.count,
    firstResponseSketch: sketchBytes(partial.firstResponse),
    resolutionSum: partial.resolution.sum,
    resolutionCount: partial.resolution.count,
    resolutionSketch: sketchBytes(partial.resolution),
  };
}

/** A rollup row as Postgres returns it (snake_case), back to a group's partial KPIs. */
export function fromRollupRow(row: Record<string, unknown>, key: string): GroupPartial {
  const sample = (prefix: string) =>
    sketchedSample(Number(row[`${prefix}_count`]), Number(row[`${prefix}_sum`]), decodeSketchInto(emptySketch(), row[`${prefix}_sketch`] as Uint8Array));
  const counts = (typeof row.counts === 'string' ? JSON.parse(row.counts) : row.counts) as KpiCounts;
  return {
    key,
    label: typeof row.agent_name === 'string' ? row.agent_name : '',
    partial: { ...counts, wait: sample('wait'), firstResponse: sample('first_response'), resolution: sample('resolution'), billable: {} },
  };
}

/**
 * The days of [from, to] (business dates) the KPI query may read from their
 * rollups: summed by the loop, in this time zone, and unchanged since.
 */
export async function rolledUpDays(database: Database, timeZone: string, from: string, to: string): Promise<Set<string>> {
  const rows = await database.rows<{ day: string }>(
    database.db,
    sql`select d.day::text as day from kpi_rollup_days d join kpi_rollup_zone z on z.zone = ${timeZone}
        where d.day between ${from}::date and ${to}::date and d.computed_at is not null
          and not exists (select 1 from kpi_rollup_changes c where c.day = d.day)`,
  );
  return new Set(rows.map((row) => row.day));
}

/**
 * The rolled-up days' KPIs per group: a whole month whose every day is
 * rolled up from its month row, the other days from their day rows (by day:
 * day rows only, each its own group).
 */
export async function rollupPartials(
  database: Database,
  groupBy: KpiGroupBy | null,
  days: string[],
  rolledUp: Set<string>,
  primaryNumber: string,
): Promise<GroupPartial[]> {
  const months: string[] = [];
  const singleDays: string[] = [];
  const byMonth = Map.groupBy(
    days.filter((day) => rolledUp.has(day)),
    (day) => day.slice(0, 7),
  );
  for (const [month, monthDays] of byMonth) {
    const [year, monthNumber] = month.split('-').map(Number);
    const length = new Date(Date.UTC(year!, monthNumber!, 0)).getUTCDate();
    if (groupBy !== 'day' && monthDays.length === length) months.push(`${month}-01`);
    else singleDays.push(...monthDays);
  }
  const dimension = dimensionOf(groupBy);
  const rows = await database.rows<Record<string, unknown>>(
    database.db,
    sql`select start::text as start, key, agent_name, counts, wait_sum, wait_count, wait_sketch, first_response_sum, first_response_count,
               first_response_sketch, resolution_sum, resolution_count, resolution_sketch
        from kpi_rollups
        where dimension = ${dimension}
          and ((period = 'month' and start = any(${pgArray(months)}::date[])) or (period = 'day' and start = any(${pgArray(singleDays)}::date[])))`,
  );
  // Rolled up without the setting: a ticket from before numbers were kept has key '', the first-listed number's.
  const keyOf = (row: Record<string, unknown>) => (groupBy === 'day' ? String(row.start) : groupBy === 'number' && row.key === '' ? primaryNumber : String(row.key));
  return rows.map((row) => fromRollupRow(row, keyOf(row)));
}

