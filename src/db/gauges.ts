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
    sql`select kind, status, count(*) as n from outbox where ${isOpenOutboxRow(sql.raw('completed_at'))} group by 1, 2`,
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

/** A ticket as the live view shows it: no phone, BSUID, username or customer name is read. */
export interface LiveTicketRow {
  id: string;
  category: string;
  priority: string;
  status: string;
  phase: string;
  agentId: string | null;
  agentName: string | null;
  escalations: number;
  requestedAt: Date;
  assignedAt: Date | null;
  lastActivityAt: Date;
  closedAt: Date | null;
}

/**
 * What the live view shows: every ticket not closed (the rows `openTicketsByPhase` counts, so the live view and the
 * `handover_open_tickets` gauge agree), and those closed as `fallback` since `fallbacksSince`. Each half has its
 * index: the open tickets' partial one (one per user), and tickets_close_reason_closed_at_idx.
 */
export async function liveTickets(database: Database, fallbacksSince: Date): Promise<LiveTicketRow[]> {
  const rows = await database.rows<Record<string, unknown>>(
    database.db,
    sql`select id, category, priority, status, phase, agent_id, agent_name, escalations, requested_at, assigned_at, last_activity_at, closed_at
      from tickets where status <> 'closed'
      union all
      select id, category, priority, status, phase, agent_id, agent_name, escalations, requested_at, assigned_at, last_activity_at, closed_at
      from tickets where close_reason = 'fallback' and closed_at >= ${fallbacksSince.toISOString()}`,
  );
  const date = (value: unknown) => (value === null || value === undefined ? null : new Date(value as string));
  return rows.map((row) => ({
    id: row.id as string,
    category: row.category as string,
    priority: row.priority as string,
    status: row.status as string,
    phase: row.phase as string,
    agentId: (row.agent_id as string | null) ?? null,
    agentName: (row.agent_name as string | null) ?? null,
    escalations: Number(row.escalations),
    requestedAt: date(row.requested_at)!,
    assignedAt: date(row.assigned_at),
    lastActivityAt: date(row.last_activity_at)!,
    closedAt: date(row.closed_at),
  }));
}
