import { sql } from 'drizzle-orm';
import { doublePrecision, index, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
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
