import { and, desc, eq, gte, inArray, isNotNull, ne, or, sql } from 'drizzle-orm';
import type { MediaRef } from '../domain/events';
import { unavailable } from '../errors';
import { idsOfRow, knownIds, type StoredIds, type UserIds } from '../domain/user-ids';
import type { Db } from './client';
import { conversations, messages, processedEvents, ticketEvents, tickets, type Ticket } from './schema';

/**
 * A caller waiting on the HTTP answer is better served by a quick 503 (the
 * CRM retries) than by a request that hangs while the pool waits for a
 * database that is down.
 */
async function within<T>(deadlineMs: number, query: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(unavailable('database_unavailable', `the database did not answer within ${deadlineMs} ms; retry later`)), deadlineMs);
  });
  try {
    return await Promise.race([query, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** A conversation row's user ids (a row from before they were stored: the key itself). */
const storedIds = (row: StoredIds, key: string): UserIds => knownIds(idsOfRow(row), key);

/** What the CRM's ticket routes decide on: the ticket's head (never its snapshot), its user's ids, whether the request was applied. */
export interface Admission {
  ticket: Pick<Ticket, 'id' | 'conversationKey' | 'status' | 'revision' | 'lastUserMessageAt' | 'lastActivityAt' | 'agentId'>;
  user: UserIds;
  /** Whether the event id asked about is in processed_events; undefined when none was asked about. */
  applied?: boolean;
}

/** The reads the HTTP routes need to answer 404/409 before anything is queued. */
export function createQueries(db: Db, deadlineMs = 3000) {
  // Built once: the CRM's hottest read, one round trip for what took three (the ticket, its user, the dedupe check).
  const admission = db
    .select({
      id: tickets.id,
      conversationKey: tickets.conversationKey,
      status: tickets.status,
      revision: tickets.revision,
      lastUserMessageAt: tickets.lastUserMessageAt,
      lastActivityAt: tickets.lastActivityAt,
      agentId: tickets.agentId,
      userPhone: conversations.userPhone,
      bsuid: conversations.bsuid,
      username: conversations.username,
      applied: sql<boolean>`exists (select 1 from ${processedEvents} where ${processedEvents.id} = ${sql.placeholder('eventId')})`,
    })
    .from(tickets)
    .leftJoin(conversations, eq(conversations.conversationKey, tickets.conversationKey))
    .where(eq(tickets.id, sql.placeholder('ticketId')))
    .limit(1)
    .prepare('crm_admission');

  return {
    /**
     * The ticket a CRM request names, with its user's ids and, when the
     * request's event id is known before the ticket is (it carries an
     * Idempotency-Key), whether that event was applied: one round trip.
     */
    admission(ticketId: string, eventId?: string): Promise<Admission | undefined> {
      return within(
        deadlineMs,
        admission.execute({ ticketId, eventId: eventId ?? null }).then(([row]) => {
          if (!row) return undefined;
          const { userPhone, bsuid, username, applied, ...ticket } = row;
          return { ticket, user: storedIds({ userPhone, bsuid, username }, ticket.conversationKey), ...(eventId ? { applied } : {}) };
        }),
      );
    },
    ticket(ticketId: string): Promise<Ticket | undefined> {
      return within(
        deadlineMs,
        db
          .select()
          .from(tickets)
          .where(eq(tickets.id, ticketId))
          .limit(1)
          .then(([row]) => row),
      );
    },
    /** The ids known of the user a conversation key names (a row from before they were stored: the key itself). */
    userIds(key: string): Promise<UserIds> {
      return within(
        deadlineMs,
        db
          .select({ userPhone: conversations.userPhone, bsuid: conversations.bsuid, username: conversations.username })
          .from(conversations)
          .where(eq(conversations.conversationKey, key))
          .limit(1)
          .then(([row]) => storedIds(row ?? {}, key)),
      );
    },
    /** The open ticket of a user named by their phone: the phone as the conversation key, or the phone of a conversation keyed otherwise. */
    openTicketOf(phone: string): Promise<Ticket | undefined> {
      const keys = db.select({ key: conversations.conversationKey }).from(conversations).where(eq(conversations.userPhone, phone));
      return within(
        deadlineMs,
        db
          .select()
          .from(tickets)
          .where(and(or(eq(tickets.conversationKey, phone), inArray(tickets.conversationKey, keys)), ne(tickets.status, 'closed')))
          .limit(1)
          .then(([row]) => row),
      );
    },
    /**
     * The phones and BSUIDs a ticket's user had until an identity change recorded on the ticket since `since`
     * (its `identity_changed` events): what a CRM that has not caught up yet may still name them by.
     */
    replacedIds(ticketId: string, since: Date): Promise<{ phones: string[]; userIds: string[] }> {
      return within(
        deadlineMs,
        db
          .select({ data: ticketEvents.data })
          .from(ticketEvents)
          .where(and(eq(ticketEvents.ticketId, ticketId), eq(ticketEvents.type, 'identity_changed'), gte(ticketEvents.at, since)))
          .then((rows) => {
            const replaced = rows.map((row) => row.data as { previousUserPhone?: string; previousUserId?: string });
            return {
              phones: replaced.flatMap((change) => (change.previousUserPhone ? [change.previousUserPhone] : [])),
              userIds: replaced.flatMap((change) => (change.previousUserId ? [change.previousUserId] : [])),
            };
          }),
      );
    },
    /**
     * The wamid of a message of this conversation that the CRM names by its
     * wamid or, for an agent's message, by the Idempotency-Key it was sent with.
     */
    replyTarget(key: string, id: string): Promise<string | undefined> {
      return within(
        deadlineMs,
        db
          .select({ waMessageId: messages.waMessageId })
          .from(messages)
          .where(and(eq(messages.conversationKey, key), isNotNull(messages.waMessageId), or(eq(messages.waMessageId, id), eq(messages.crmKey, id))))
          .orderBy(desc(messages.id))
          .limit(1)
          .then(([row]) => row?.waMessageId ?? undefined),
      );
    },
    /**
     * A message the user wrote in this conversation, as WhatsApp names it (its
     * wamid) and its place in the history: the one named, or without a name the last.
     */
    userMessage(key: string, waMessageId?: string): Promise<{ waMessageId: string; historyId: number } | undefined> {
      return within(
        deadlineMs,
        db
          .select({ waMessageId: messages.waMessageId, historyId: messages.id })
          .from(messages)
          .where(
            and(
              eq(messages.conversationKey, key),
              eq(messages.direction, 'inbound'),
              waMessageId === undefined ? isNotNull(messages.waMessageId) : eq(messages.waMessageId, waMessageId),
            ),
          )
          .orderBy(desc(messages.id))
          .limit(1)
          .then(([row]) => (row?.waMessageId ? { waMessageId: row.waMessageId, historyId: row.historyId } : undefined)),
      );
    },
    /** What the user last wrote on a ticket: its type, the text the history kept, its media. */
    lastUserMessage(ticketId: string): Promise<{ type: string; body: string | null; media: MediaRef | null } | undefined> {
      return within(
        deadlineMs,
        db
          .select({ type: messages.type, body: messages.body, media: messages.media })
          .from(messages)
          .where(and(eq(messages.ticketId, ticketId), eq(messages.direction, 'inbound')))
          .orderBy(desc(messages.id))
          .limit(1)
          .then(([row]) => row && { type: row.type, body: row.body, media: row.media as MediaRef | null }),
      );
    },
    /** A media file a user sent us, as the webhook described it; undefined for an id no user message carried. */
    userMedia(mediaId: string): Promise<{ type: string; media: MediaRef } | undefined> {
      return within(
        deadlineMs,
        db
          .select({ type: messages.type, media: messages.media })
          .from(messages)
          .where(and(eq(messages.direction, 'inbound'), sql`(${messages.media}->>'id') = ${mediaId}`))
          .limit(1)
          .then(([row]) => (row ? { type: row.type, media: row.media as MediaRef } : undefined)),
      );
    },
    /** The billable messages of one ticket, by pricing category: what its handover cost (the partial index on billable rows). */
    billableOf(ticketId: string): Promise<Record<string, number>> {
      return within(
        deadlineMs,
        db
          .select({ category: sql<string>`coalesce(${messages.pricingCategory}, 'unknown')`, count: sql<number>`count(*)::int` })
          .from(messages)
          .where(and(eq(messages.ticketId, ticketId), eq(messages.billable, true)))
          .groupBy(sql`1`)
          .then((rows) => Object.fromEntries(rows.map((row) => [row.category, Number(row.count)]))),
      );
    },
    isProcessed(eventId: string): Promise<boolean> {
      return within(
        deadlineMs,
        db
          .select({ id: processedEvents.id })
          .from(processedEvents)
          .where(eq(processedEvents.id, eventId))
          .limit(1)
          .then((rows) => rows.length > 0),
      );
    },
    /** Which of these event ids are applied (in processed_events): what a CRM route waiting for its commit asks. */
    committedOf(eventIds: string[]): Promise<Set<string>> {
      return within(
        deadlineMs,
        db
          .select({ id: processedEvents.id })
          .from(processedEvents)
          .where(inArray(processedEvents.id, eventIds))
          .then((rows) => new Set(rows.map((row) => row.id))),
      );
    },
  };
}

export type Queries = ReturnType<typeof createQueries>;
