import { sql } from 'drizzle-orm';
import { customType, date, doublePrecision, index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { closeReason, surveyStatus, ticketCategory, ticketPriority, ticketStatus } from './enums';

const secondsBetween = (from: string, to: string) => sql.raw(`extract(epoch from ${to} - ${from})::float8`);

/**
 * One narrow row per ticket for the KPIs (the seed's agent response time,
 * resolution rate, CSAT, handover time, reactivation vs general support),
 * written with the ticket in the same transaction. Narrow on purpose: a
 * year of tickets is scanned without the snapshots, and the durations are
 * stored, computed by Postgres, so the percentiles sort plain doubles.
 * No personal data: they outlive the tickets (RETENTION_KPI_DAYS) and an erasure.
 */
export const ticketKpis = pgTable(
  'ticket_kpis',
  {
    /** No foreign key: a ticket's row goes with the history (RETENTION_HISTORY_DAYS), its KPIs stay longer. */
    ticketId: text('ticket_id').primaryKey(),
    requestedAt: timestamp('requested_at', { withTimezone: true }).notNull(),
    assignedAt: timestamp('assigned_at', { withTimezone: true }),
    firstAgentReplyAt: timestamp('first_agent_reply_at', { withTimezone: true }),
    closedAt: timestamp('closed_at', { withTimezone: true }),
    status: ticketStatus('status').notNull(),
    closeReason: closeReason('close_reason'),
    category: ticketCategory('category').notNull(),
    priority: ticketPriority('priority').notNull(),
    /** The WhatsApp number the user wrote to: KPIs grouped by number. */
    businessPhoneNumberId: text('business_phone_number_id'),
    agentId: text('agent_id'),
    agentName: text('agent_name'),
    escalations: integer('escalations').notNull().default(0),
    csat: integer('csat'),
    surveyStatus: surveyStatus('survey_status'),
    /** Request → an agent took it: the handover wait. */
    waitSeconds: doublePrecision('wait_seconds').generatedAlwaysAs(secondsBetween('requested_at', 'assigned_at')),
    /** Assignment → the agent's first message. */
    firstResponseSeconds: doublePrecision('first_response_seconds').generatedAlwaysAs(secondsBetween('assigned_at', 'first_agent_reply_at')),
    /** Request → close, resolved tickets only. */
    resolutionSeconds: doublePrecision('resolution_seconds').generatedAlwaysAs(
      sql.raw(`case when close_reason = 'resolved' then extract(epoch from closed_at - requested_at)::float8 end`),
    ),
  },
  (table) => [index('ticket_kpis_requested_at_idx').on(table.requestedAt)],
);

export type NewTicketKpis = typeof ticketKpis.$inferInsert;

const bytea = customType<{ data: Buffer }>({ dataType: () => 'bytea' });

/**
 * KPI rollups: per day and per month of the business time zone, the counts
 * of `ticket_kpis` rows requested then (as `KpiCounts`, jsonb) and a sketch of
 * each duration, for every ticket together (`dimension` 'all', key ''), per
 * category, per agent and per WhatsApp number. A year's report reads some hundreds of these
 * instead of the year's rows. Written by the rollup loop (src/kpis/rollup.ts),
 * never by the worker.
 */
export const kpiRollups = pgTable(
  'kpi_rollups',
  {
    period: text('period', { enum: ['day', 'month'] }).notNull(),
    /** The day, or the month's first day. */
    start: date('start', { mode: 'string' }).notNull(),
    dimension: text('dimension', { enum: ['all', 'category', 'agent', 'number'] }).notNull(),
    key: text('key').notNull(),
    agentName: text('agent_name'),
    counts: jsonb('counts').notNull(),
    waitSum: doublePrecision('wait_sum').notNull(),
    waitCount: integer('wait_count').notNull(),
    waitSketch: bytea('wait_sketch').notNull(),
    firstResponseSum: doublePrecision('first_response_sum').notNull(),
    firstResponseCount: integer('first_response_count').notNull(),
    firstResponseSketch: bytea('first_response_sketch').notNull(),
    resolutionSum: doublePrecision('resolution_sum').notNull(),
    resolutionCount: integer('resolution_count').notNull(),
    resolutionSketch: bytea('resolution_sketch').notNull(),
  },
  (table) => [primaryKey({ columns: [table.dimension, table.period, table.start, table.key] })],
);

/** The business days rolled up: from the first ticket's day to yesterday, `computedAt` set once the loop wrote its rows. */
export const kpiRollupDays = pgTable('kpi_rollup_days', {
  day: date('day', { mode: 'string' }).primaryKey(),
  computedAt: timestamp('computed_at', { withTimezone: true }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Days whose rollup went stale: the `ticket_kpis` trigger adds one row per
 * change to a ticket requested on a day already rolled up (a survey answered
 * the next morning). Inserts only, so the worker's transactions never wait on
 * each other here; the KPI query reads such a day from `ticket_kpis` until the
 * loop recomputes it and deletes its rows.
 */
export const kpiRollupChanges = pgTable('kpi_rollup_changes', { day: date('day', { mode: 'string' }).notNull() }, (table) => [
  index('kpi_rollup_changes_day_idx').on(table.day),
]);

/** The one time zone the rollups' days are in (TZ_BUSINESS); the trigger reads it, a change rebuilds them. */
export const kpiRollupZone = pgTable('kpi_rollup_zone', {
  zone: text('zone').primaryKey(),
});
