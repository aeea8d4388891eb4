import { sql } from 'drizzle-orm';
import { bigserial, index, integer, jsonb, pgSequence, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { closeReason, surveyStatus, ticketCategory, ticketPriority, ticketStatus } from './enums';

/** Feeds the NNNNNN of `TK-YYYY-NNNNNN`. */
export const ticketNumberSeq = pgSequence('ticket_number_seq', { startWith: 1 });

/**
 * A handover ticket: the persisted snapshot of its actor plus the columns the
 * status endpoint and the KPIs read, written in the same transaction.
 */
export const tickets = pgTable(
  'tickets',
  {
    id: text('id').primaryKey(),
    /** The user's conversation key (conversations.conversation_key): a phone or a BSUID. */
    conversationKey: text('conversation_key').notNull(),
    /** The WhatsApp number the user wrote to (Meta's phone_number_id); null on tickets from before it was kept. */
    businessPhoneNumberId: text('business_phone_number_id'),
    customerId: text('customer_id'),
    customerName: text('customer_name'),
    category: ticketCategory('category').notNull(),
    priority: ticketPriority('priority').notNull(),
    status: ticketStatus('status').notNull(),
    phase: text('phase').notNull(),
    closeReason: closeReason('close_reason'),
    agentId: text('agent_id'),
    agentName: text('agent_name'),
    requestedAt: timestamp('requested_at', { withTimezone: true }).notNull(),
    assignedAt: timestamp('assigned_at', { withTimezone: true }),
    firstAgentReplyAt: timestamp('first_agent_reply_at', { withTimezone: true }),
    closedAt: timestamp('closed_at', { withTimezone: true }),
    lastActivityAt: timestamp('last_activity_at', { withTimezone: true }).notNull(),
    /** Opens WhatsApp's 24-hour window: /api/crm/send-message refuses free-form text past it. */
    lastUserMessageAt: timestamp('last_user_message_at', { withTimezone: true }),
    escalations: integer('escalations').notNull().default(0),
    messageCount: integer('message_count').notNull().default(0),
    csat: integer('csat'),
    surveyStatus: surveyStatus('survey_status'),
    snapshot: jsonb('snapshot').notNull(),
    revision: integer('revision').notNull().default(1),
  },
  (table) => [
    // At most one open ticket per user: a second "soporte" cannot open a twin.
    uniqueIndex('tickets_one_open_per_conversation_key')
      .on(table.conversationKey)
      .where(sql`${table.status} <> 'closed'`),
    index('tickets_requested_at_idx').on(table.requestedAt),
    index('tickets_conversation_key_idx').on(table.conversationKey),
    // The live view's recent fallbacks, without scanning a year of closed tickets. Not a partial index on 'fallback':
    // on a fresh database every migration runs in one transaction, where an enum value added by an earlier one is unusable.
    index('tickets_close_reason_closed_at_idx').on(table.closeReason, table.closedAt),
  ],
);

/** Every state change of a ticket, in order: the audit trail and the raw material of KPIs. */
export const ticketEvents = pgTable(
  'ticket_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    ticketId: text('ticket_id')
      .notNull()
      .references(() => tickets.id),
    type: text('type').notNull(),
    data: jsonb('data').notNull().default({}),
    at: timestamp('at', { withTimezone: true }).notNull(),
  },
  (table) => [index('ticket_events_ticket_idx').on(table.ticketId, table.id)],
);

export type Ticket = typeof tickets.$inferSelect;
