import { sql } from 'drizzle-orm';
import { bigserial, boolean, index, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { deliveryStatus, messageAuthor, messageDirection } from './enums';

/** Every message in and out, with who said it and its WhatsApp delivery status. */
export const messages = pgTable(
  'messages',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** The user's conversation key (conversations.conversation_key): a phone or a BSUID. */
    conversationKey: text('conversation_key').notNull(),
    ticketId: text('ticket_id'),
    direction: messageDirection('direction').notNull(),
    author: messageAuthor('author').notNull(),
    authorId: text('author_id'),
    type: text('type').notNull(),
    body: text('body'),
    media: jsonb('media'),
    /** What else WhatsApp said of an inbound message, as data: the wamid it replies to, a reaction, a location, contact cards. */
    details: jsonb('details'),
    /** An agent's message sent with an Idempotency-Key: the key, how a user's reply to it is named back to the CRM. */
    crmKey: text('crm_key'),
    waMessageId: text('wa_message_id'),
    status: deliveryStatus('status').notNull(),
    statusAt: timestamp('status_at', { withTimezone: true }),
    error: jsonb('error'),
    /** The outbox row that sends it (outbound only): how a send's result finds its history row. */
    outboxKey: text('outbox_key'),
    /** What WhatsApp charges for it, from its status webhooks' `pricing` (outbound only; null until a status says). */
    billable: boolean('billable'),
    pricingModel: text('pricing_model'),
    /** `service`, `utility`, `marketing`, `authentication`...: the rate card's line. */
    pricingCategory: text('pricing_category'),
    /** The sender changed the text after it was sent (WhatsApp's `edit`); `body` holds the new one. */
    editedAt: timestamp('edited_at', { withTimezone: true }),
    /** The sender deleted it for everyone (WhatsApp's `revoke`). */
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (table) => [
    uniqueIndex('messages_wa_message_id_idx').on(table.waMessageId),
    index('messages_ticket_idx').on(table.ticketId, table.id),
    index('messages_conversation_key_idx').on(table.conversationKey, table.id),
    index('messages_outbox_key_idx').on(table.outboxKey),
    // The media route serves only media a user sent: it looks the id up here.
    index('messages_media_id_idx').on(sql`(${table.media}->>'id')`),
    // What a ticket cost: the billable messages are few (templates), the KPIs read them by ticket.
    index('messages_billable_ticket_idx')
      .on(table.ticketId)
      .where(sql`${table.billable}`),
    // The retention purge's: rows arrive in time order, so a block range summary finds the old ones at almost no cost to inserts.
    index('messages_created_at_brin_idx').using('brin', table.createdAt),
  ],
);

export type NewMessage = typeof messages.$inferInsert;
