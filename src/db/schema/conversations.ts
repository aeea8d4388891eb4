import { jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** One row per WhatsApp user: the persisted snapshot of their conversation actor. */
export const conversations = pgTable('conversations', {
  phone: text('phone').primaryKey(),
  state: text('state').notNull(),
  snapshot: jsonb('snapshot').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export type ConversationRow = typeof conversations.$inferSelect;
