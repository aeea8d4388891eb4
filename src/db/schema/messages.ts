import { bigserial, index, jsonb, pgTable, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core';
import { deliveryStatus, messageAuthor, messageDirection } from './enums';

/** Every message in and out, with who said it and its WhatsApp delivery status. */
export const messages = pgTable(
  'messages',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    phone: text('phone').notNull(),
    ticketId: text('ticket_id'),
    direction: messageDirection('direction').notNull(),
    author: messageAuthor('author').notNull(),
    authorId: text('author_id'),
    type: text('type').notNull(),
    body: text('body'),
    media: jsonb('media'),
    waMessageId: text('wa_message_id'),
    status: deliveryStatus('status').notNull(),
    statusAt: timestamp('status_at', { withTimezone: true }),
    error: jsonb('error'),
    /** The outbox row that sends it (outbound only): how a send's result finds its history row. */
    outboxKey: text('outbox_key'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull(),
  },
  (table) => [
    uniqueIndex('messages_wa_message_id_idx').on(table.waMessageId),
    index('messages_ticket_idx').on(table.ticketId, table.id),
    index('messages_phone_idx').on(table.phone, table.id),
    index('messages_outbox_key_idx').on(table.outboxKey),
  ],
);

export type NewMessage = typeof messages.$inferInsert;
