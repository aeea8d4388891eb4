import { and, eq, sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import type { Database, Tx } from '../db/client';
import { kpiRollupDays, kpiRollups, kpiRollupZone } from '../db/schema';
import { errorDetail } from '../errors';
import { createPoller } from '../lib/poller';
import type { Logger } from '../logger';
import { mergeByKey, groupKey, rawPartials } from './query';
import { fromRollupRow, toRollupRow, type Dimension } from './rollup-rows';

/** Days created less than this long ago are not summed yet: a worker transaction begun before the day's row existed has committed by then. */
const SETTLE_SECONDS = 60;
/** Days summed per pass; the loop runs again at once while there are more (a first start on a year of tickets). */
const DAYS_PER_PASS = 8;
/** How often ended days and changed ones are looked for: the query is exact meanwhile, only slower for those days. */
export const KPI_ROLLUP_POLL_MS = 60_000;
const DIMENSIONS: Dimension[] = ['all', 'category', 'agent', 'number'];

/**
 * The KPI rollup loop: sums each ended business day of `ticket_kpis` into
 * day and month rows (src/db/schema/kpis.ts), once the day is over, and
 * again whenever a ticket of a summed day changes. Off the hot path: the
 * worker only inserts a row into `kpi_rollup_changes` (a trigger) for a
 * ticket of a past day. Any instance may run it: a month is summed under an
 * advisory lock, so two instances never write the same rows at once.
 */
export function createKpiRollups({
  database,
  timeZone,
  logger,
  pollMs,
  settleSeconds = SETTLE_SECONDS,
}: {
  database: Database;
  timeZone: string;
  logger: Logger;
  pollMs: number;
  settleSeconds?: number;
}) {
  let zoneChecked = false;

  async function pass(): Promise<number> {
    if (!zoneChecked) {
      await useZone(database, timeZone, logger);
      zoneChecked = true;
    }
    await addEndedDays(database, timeZone);
    const empty = await markEmptyDays(database, timeZone, settleSeconds);
    const due = await database.rows<{ day: string }>(
      database.db,
      sql`select day::text as day from kpi_rollup_days d
          where created_at < now() - make_interval(secs => ${settleSeconds})
            and (computed_at is null or exists (select 1 from kpi_rollup_changes c where c.day = d.day))
          order by day limit ${DAYS_PER_PASS}`,
    );
    const summed: string[] = [];
    // A day another instance is summing (its month's lock held) is left to it: counted as nothing done, so no busy loop.
    for (const { day } of due) if (await rollUpDay(database, timeZone, day)) summed.push(day);
    if (summed.length > 0 || empty > 0) logger.debug({ event: 'kpi.rolled_up', days: summed, empty }, 'KPI rollups summed');
    return summed.length + empty;
  }

  const poller = createPoller({
    pollMs,
    work: pass,
    onError: (error) => logger.warn({ event: 'kpi.rollup_failed', error: errorDetail(error) }, 'KPI rollup pass failed; the KPI query reads ticket_kpis for those days meanwhile'),
  });
  return { start: () => poller.start(), close: () => poller.close(), pass };
}

/** Records the rollups' time zone; when TZ_BUSINESS changed, every rollup is dropped and summed again in the new one. */
async function useZone(database: Database, timeZone: string, logger: Logger): Promise<void> {
  await database.db.transaction(async (tx) => {
    await tx.execute(sql`lock table kpi_rollup_zone in exclusive mode`);
    const [current] = await tx.select().from(kpiRollupZone);
    if (current?.zone === timeZone) return;
    if (current) logger.warn({ event: 'kpi.rollups_rebuilt', from: current.zone, to: timeZone }, 'TZ_BUSINESS changed: the KPI rollups are summed again in the new time zone');
    await tx.delete(kpiRollups);
    await tx.delete(kpiRollupDays);
    await tx.delete(kpiRollupZone);
    await tx.insert(kpiRollupZone).values({ zone: timeZone });
  });
}

/** A row for each business day from the first ticket's to yesterday (today is not over: the query reads it from ticket_kpis). */
async function addEndedDays(database: Database, timeZone: string): Promise<void> {
  await database.db.execute(sql`
    insert into kpi_rollup_days (day)
    select day::date from generate_series(
      coalesce((select max(day) + 1 from kpi_rollup_days), (select (min(requested_at) at time zone ${timeZone})::date from ticket_kpis)),
      (now() at time zone ${timeZone})::date - 1,
      interval '1 day') as day
    on conflict do nothing`);
}

/**
 * Days never summed that had no ticket (a new desk's first start, weekends
 * of a small one) are marked summed in one statement: they have no rows to
 * write, and their month is unchanged.
 */
async function markEmptyDays(database: Database, timeZone: string, settleSeconds: number): Promise<number> {
  const marked = await database.rows<{ day: string }>(
    database.db,
    sql`update kpi_rollup_days d set computed_at = now()
        where computed_at is null and created_at < now() - make_interval(secs => ${settleSeconds})
          and not exists (select 1 from ticket_kpis k
                          where k.requested_at >= (d.day::timestamp at time zone ${timeZone}) and k.requested_at < ((d.day + 1)::timestamp at time zone ${timeZone}))
        returning day::text as day`,
  );
  return marked.length;
}

/**
 * Sums one day into its rows, then its month from its days' rows; the day's pending changes are consumed in the same
 * transaction. False when another instance holds the month: nothing was done.
 */
export async function rollUpDay(database: Database, timeZone: string, day: string): Promise<boolean> {
  const start = DateTime.fromISO(day, { zone: timeZone }).startOf('day');
  const month = start.startOf('month');
  return database.db.transaction(async (tx) => {
    const [lock] = await database.rows<{ locked: boolean }>(tx, sql`select pg_try_advisory_xact_lock(hashtext('kpi_rollups'), hashtext(${month.toISODate()})) as locked`);
    if (!lock?.locked) return false;
    // Consumed first: a change committed from here on stays, and the day is summed again.
    await tx.execute(sql`delete from kpi_rollup_changes where day = ${day}::date`);
    const range: [string, string] = [start.toUTC().toISO()!, start.plus({ days: 1 }).startOf('day').toUTC().toISO()!];
    const dayRows = [];
    for (const dimension of DIMENSIONS) {
      // Numbers as stored: '' for a ticket from before they were kept (the query names it the first-listed number).
      const group = dimension === 'all' ? null : groupKey(dimension, [start], '');
      const partials = (await rawPartials(database, tx, [range], group)).filter((part) => part.partial.tickets > 0);
      // A day without tickets (most of a first start's days, on a new desk) costs one statement.
      if (dimension === 'all' && partials.length === 0) break;
      dayRows.push(...partials.map((part) => toRollupRow({ period: 'day', start: day, dimension }, part)));
    }
    const replaced = await replace(tx, 'day', day, dayRows);
    if (replaced) await rollUpMonth(database, tx, month);
    await tx.update(kpiRollupDays).set({ computedAt: new Date() }).where(eq(kpiRollupDays.day, day));
    return true;
  });
}

async function rollUpMonth(database: Database, tx: Tx, month: DateTime): Promise<void> {
  const first = month.toISODate()!;
  const last = month.endOf('month').toISODate()!;
  const rows = await database.rows<Record<string, unknown>>(
    tx,
    sql`select dimension, key, agent_name, counts, wait_sum, wait_count, wait_sketch, first_response_sum, first_response_count, first_response_sketch,
               resolution_sum, resolution_count, resolution_sketch
        from kpi_rollups where period = 'day' and start between ${first}::date and ${last}::date`,
  );
  const monthRows = DIMENSIONS.flatMap((dimension) =>
    mergeByKey(rows.filter((row) => row.dimension === dimension).map((row) => fromRollupRow(row, String(row.key)))).map((part) =>
      toRollupRow({ period: 'month', start: first, dimension }, part),
    ),
  );
  await replace(tx, 'month', first, monthRows);
}

/** Writes a period's rows in place of its old ones; false when there were none before and none now (its month is unchanged). */
async function replace(tx: Tx, period: 'day' | 'month', start: string, rows: (typeof kpiRollups.$inferInsert)[]): Promise<boolean> {
  const removed = await tx.delete(kpiRollups).where(and(eq(kpiRollups.period, period), eq(kpiRollups.start, start))).returning({ key: kpiRollups.key });
  if (rows.length > 0) await tx.insert(kpiRollups).values(rows);
  return removed.length > 0 || rows.length > 0;
}
