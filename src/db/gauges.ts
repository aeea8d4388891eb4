import { sql } from 'drizzle-orm';
import type { Database } from './client';
import { isOpenOutboxRow } from './schema';

/**
 * What the gauges that mirror stored state read at scrape time
 * (observability/metrics.ts), so that every instance reports the same truth.
 */

/** Outbox rows not yet delivered, by kind and status (pending, in_flight). */
export async function outboxBacklog(database: Database): Promise<{ kind: string; status: string; count: number }[]> {
  const rows = await database.rows<{ kind: string; status: string; n: number | string }>(
    database.db,
    sql`select kind, status, count(*) as n from outbox where ${isOpenOutboxRow(sql.raw('status'))} group by 1, 2`,
  );
  return rows.map((row) => ({ kind: row.kind, status: row.status, count: Number(row.n) }));
}

/** Tickets not closed, by phase. */
export async function openTicketsByPhase(database: Database): Promise<{ phase: string; count: number }[]> {
  const rows = await database.rows<{ phase: string; n: number | string }>(
    database.db,
    sql`select phase, count(*) as n from tickets where status <> 'closed' group by phase`,
  );
  return rows.map((row) => ({ phase: row.phase, count: Number(row.n) }));
}
