import { integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** One row per WhatsApp user: the persisted snapshot of their conversation actor. */
export const conversations = pgTable('conversations', {
  phone: text('phone').primaryKey(),
  state: text('state').notNull(),
  snapshot: jsonb('snapshot').notNull(),
  /** Incremented on every write: lets a reader detect a stale in-memory copy. */
  revision: integer('revision').notNull().default(1),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

export type ConversationRow = typeof conversations.$inferSelect;
