import { bigserial, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Every subscriber request handled (Ley 1581: the holder documents what was
 * asked and done): who asked, when, by which kind of identifier, and what
 * was found or erased, as counts. Never the identifier itself nor anything
 * found: the record outlives the data it is about.
 */
export const privacyRequests = pgTable('privacy_requests', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  /** `export` or `erase`. */
  kind: text('kind').notNull(),
  /** The operator: `admin-api <client address>` or `cli <user>@<host>`. */
  requestedBy: text('requested_by').notNull(),
  /** Which identifiers the request named (`phone`, `userId`, `username`, `document`), not their values. */
  identifiers: text('identifiers').array().notNull(),
  /** What was found and what was done, as counts per store. */
  outcome: jsonb('outcome').notNull(),
  requestedAt: timestamp('requested_at', { withTimezone: true }).notNull().defaultNow(),
});

export type PrivacyRequest = typeof privacyRequests.$inferSelect;
