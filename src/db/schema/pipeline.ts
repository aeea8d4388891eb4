import { sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { bigint, bigserial, index, integer, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core';
import { messageAuthor, outboxKind, outboxStatus } from './enums';

/** Ids of the events already applied: the dedupe that makes redelivery harmless. */
export const processedEvents = pgTable(
  'processed_events',
  {
    id: text('id').primaryKey(),
    streamEntryId: text('stream_entry_id').notNull(),
    processedAt: timestamp('processed_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('processed_events_at_idx').on(table.processedAt)],
);

/**
 * An outbox row still to deliver (pending, or in flight): one not completed.
 * The claim asks it with the same text as the lanes' partial indexes, which
 * Postgres uses only for a query whose condition matches theirs; the backlog
 * gauge asks it too. Not by `status`: a column in an index's predicate makes
 * every update of it write new index entries, and the claim (pending → in
 * flight) is one of the two updates every row gets. By `completed_at`, the
 * claim is a HOT update (the table keeps room for it: fillfactor 50, in
 * migration 0018) and only the `done` writes index entries.
 */
export const isOpenOutboxRow = (completedAt: AnyColumn | SQL): SQL => sql`${completedAt} is null`;

/**
 * The only way out of the service. A row is written in the transaction that
 * decided the effect; the dispatcher delivers it afterwards, in id order per
 * lane (one destination and one user), and records the outcome.
 */
export const outbox = pgTable(
  'outbox',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    kind: outboxKind('kind').notNull(),
    lane: text('lane').notNull(),
    payload: jsonb('payload').notNull(),
    idempotencyKey: text('idempotency_key').notNull().unique(),
    ticketId: text('ticket_id'),
    /** Who wrote a WhatsApp send (bot or agent): what the dispatcher needs to report a refusal, without reading the history. */
    author: messageAuthor('author'),
    status: outboxStatus('status').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    lockedUntil: timestamp('locked_until', { withTimezone: true }),
    /** The dispatcher (instance and start) holding the row while in flight: only it renews the lease. */
    claimedBy: text('claimed_by'),
    lastError: text('last_error'),
    response: jsonb('response'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    completedAt: timestamp('completed_at', { withTimezone: true }),
    /**
     * Set when a WhatsApp send timed out with its outcome unknown: before any
     * resend the row is reconciled against the status webhooks, which echo
     * its key in `biz_opaque_callback_data`.
     */
    inDoubtSince: timestamp('in_doubt_since', { withTimezone: true }),
    /** The W3C trace context of the step that decided the call (tracing on): each delivery attempt is its child. */
    traceparent: text('traceparent'),
  },
  (table) => [
    // The only index on the open rows, on purpose: with a second one (next_attempt_at) a backlog the statistics had not
    // seen made Postgres read the lane heads from it and sort them, every open row at every step of the claim.
    index('outbox_open_lane_idx').on(table.lane, table.id).where(isOpenOutboxRow(table.completedAt)),
    // The retention purge's (finished rows by age): see messages_created_at_brin_idx.
    index('outbox_created_at_brin_idx').using('brin', table.createdAt),
  ],
);

export type OutboxRow = typeof outbox.$inferSelect;
export type NewOutboxRow = typeof outbox.$inferInsert;

/**
 * Armed deadlines, one row per machine and timer (`TK-2026-000001/assign`,
 * `573001112233/survey`). Written in the transaction that arms, moves or
 * clears them; the timer scheduler turns a due row into a `timer.fired`
 * event on the owner's partition. They live here, not in memory, so a
 * restart loses none.
 */
export const timers = pgTable(
  'timers',
  {
    id: text('id').primaryKey(),
    /** The user's conversation key: the partition the fired event goes to. */
    conversationKey: text('conversation_key').notNull(),
    ticketId: text('ticket_id'),
    timer: text('timer').notNull(),
    dueAt: timestamp('due_at', { withTimezone: true }).notNull(),
    /** When the scheduler last put the firing on the stream; null until then, reset when the deadline moves. */
    enqueuedAt: timestamp('enqueued_at', { withTimezone: true }),
    /** How many times this firing was put on the stream: re-sends back off, and stop after a few (its event is then dead-lettered). */
    enqueueCount: integer('enqueue_count').notNull().default(0),
  },
  (table) => [
    index('timers_due_idx').on(table.dueAt),
    // The poll's own index: due rows not yet on the stream.
    index('timers_waiting_due_idx')
      .on(table.dueAt)
      .where(sql`${table.enqueuedAt} is null`),
  ],
);

export type NewTimerRow = typeof timers.$inferInsert;

/**
 * The fence of each stream partition: the highest lease token that applied a
 * batch. The batch transaction raises it to its own token, or aborts if a
 * newer owner already did: an instance that lost its lease (paused, cut off)
 * cannot commit for that partition any more.
 */
export const partitionOwners = pgTable('partition_owners', {
  partition: integer('partition').primaryKey(),
  token: bigint('token', { mode: 'number' }).notNull(),
  owner: text('owner').notNull(),
  /** When the last batch was applied. */
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  /**
   * The highest stream entry id applied for the partition: a Redis whose
   * stream ends below it lost what it had acknowledged (streams/reset.ts).
   */
  lastEntryId: text('last_entry_id'),
});
