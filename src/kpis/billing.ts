import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../db/client';

/**
 * The billable messages of the tickets requested in a range, counted by the
 * KPI grouping (its key is an expression over `ticket_kpis`) and pricing
 * category. Billable messages are few (templates: service replies inside the
 * window are free), so the partial index on `messages.ticket_id where
 * billable` keeps this second statement small beside the KPI scan.
 */
export async function billableByGroup(database: Database, groupKey: SQL, range: { from: string; to: string }): Promise<Map<string, Record<string, number>>> {
  const rows = await database.rows<{ key: string; category: string; count: number | string }>(
    database.db,
    sql`
      select ${groupKey}::text as key, coalesce(m.pricing_category, 'unknown') as category, count(*) as count
      from messages m join ticket_kpis k on k.ticket_id = m.ticket_id
      where m.billable and k.requested_at >= ${range.from} and k.requested_at < ${range.to}
      group by 1, 2`,
  );
  const groups = new Map<string, Record<string, number>>();
  for (const row of rows) {
    const counts = groups.get(row.key) ?? {};
    counts[row.category] = Number(row.count);
    groups.set(row.key, counts);
  }
  return groups;
}
