import { asc, inArray, sql } from 'drizzle-orm';
import { laneOf, OUTBOX_KINDS } from '../domain/lanes';
import { inTexts } from './bulk';
import type { Database } from './client';
import { conversations, customers, messages, outbox, privacyRequests, processedEvents, ticketEvents, tickets, timers } from './schema';

/**
 * A subscriber's rows (privacy/subscribers.ts: export and erasure, DESIGN 7):
 * found by any id they are known by, read whole, or deleted in one
 * transaction that also records the request and queues the CRM's notice.
 */

/** The ids a request names a subscriber by; at least one. */
export interface SubscriberIds {
  phone?: string;
  userId?: string;
  username?: string;
  document?: string;
}

/** Where a subscriber's data is: their conversations (keys), the directory rows they authenticated as, their tickets. */
export interface SubscriberLocation {
  keys: string[];
  customerIds: string[];
}

/** What one erasure deleted, per table. */
export interface ErasedRows {
  conversations: number;
  tickets: number;
  ticketEvents: number;
  messages: number;
  timers: number;
  outbox: number;
  dedupeRecords: number;
  customers: number;
}

/** A request as recorded: never an id's value nor anything found. */
export interface PrivacyRecord {
  kind: 'export' | 'erase';
  requestedBy: string;
  identifiers: (keyof SubscriberIds)[];
  outcome: Record<string, unknown>;
}

const texts = (values: (string | null | undefined)[]) => [...new Set(values.filter((value): value is string => !!value))];
const jsonArray = (values: string[]) => sql`(select jsonb_array_elements_text(${JSON.stringify(values)}::jsonb))`;

/**
 * The conversations where the document was typed and is still held in clear: a lookup call not yet made, and
 * messages stored before the identification step masked the document it consumed. The messages are read whole for
 * it (no index on a message's text): an operator's request, not the hot path.
 */
const typedDocument = (document: string) => sql`
  union select conversation_key from messages
    where direction = 'inbound' and type = 'text' and regexp_replace(body, '[.\s-]', '', 'g') = ${document}
  union select substr(lane, length('lookup:') + 1) from outbox where kind = 'customer.lookup' and payload->>'document' = ${document}`;

export function createSubscriberStore(database: Database) {
  const { db } = database;

  return {
    /**
     * The conversations and directory rows `ids` name (plus the conversation keys Redis maps them to: `mappedKeys`,
     * and the customers an external directory says the document is: `directoryCustomerIds`). A document finds the
     * directory row, the tickets opened for it, and a conversation that authenticated as it, is verifying it, or
     * typed it before typed documents were stored masked; a phone finds a directory row listing it too.
     */
    async locate(ids: SubscriberIds, mappedKeys: string[], directoryCustomerIds: string[] = []): Promise<SubscriberLocation> {
      const none = sql`false`;
      const directory = await database.rows<{ id: string }>(
        db,
        sql`select customer_id as id from customers where ${ids.document ? sql`document = ${ids.document}` : none} or ${ids.phone ? sql`phone = ${ids.phone}` : none}`,
      );
      const customerIds = texts([...directory.map((row) => row.id), ...directoryCustomerIds]);
      const named = texts([ids.phone, ids.userId, ...mappedKeys]);
      const rows = await database.rows<{ key: string }>(
        db,
        sql`
          select conversation_key as key from conversations where conversation_key in ${jsonArray(named)}
            or ${ids.phone ? sql`user_phone = ${ids.phone}` : none}
            or ${ids.userId ? sql`bsuid = ${ids.userId}` : none}
            or ${ids.username ? sql`username = ${ids.username}` : none}
            or ${ids.document ? sql`snapshot->'context'->>'pendingDocument' = ${ids.document}` : none}
            or snapshot->'context'->'customer'->>'customerId' in ${jsonArray(customerIds)}
          union select conversation_key from tickets where conversation_key in ${jsonArray(named)} or customer_id in ${jsonArray(customerIds)}
          ${ids.document ? typedDocument(ids.document) : sql``}`,
      );
      const keys = rows.map((row) => row.key).sort();
      // The directory rows they authenticated as, however they were found.
      const authenticated =
        keys.length === 0
          ? []
          : await database.rows<{ id: string }>(
              db,
              sql`select customer_id as id from tickets where conversation_key in ${jsonArray(keys)} and customer_id is not null
                  union select snapshot->'context'->'customer'->>'customerId' from conversations
                    where conversation_key in ${jsonArray(keys)} and snapshot->'context'->'customer'->>'customerId' is not null`,
            );
      return { keys, customerIds: texts([...customerIds, ...authenticated.map((row) => row.id)]).sort() };
    },

    /** Everything held about the subscriber, in order. */
    async read({ keys, customerIds }: SubscriberLocation) {
      const [conversationRows, ticketRows, messageRows, customerRows] = await Promise.all([
        db.select().from(conversations).where(inTexts(conversations.conversationKey, keys)).orderBy(asc(conversations.createdAt)),
        db.select().from(tickets).where(inTexts(tickets.conversationKey, keys)).orderBy(asc(tickets.requestedAt)),
        db.select().from(messages).where(inTexts(messages.conversationKey, keys)).orderBy(asc(messages.id)),
        db.select().from(customers).where(inTexts(customers.customerId, customerIds)),
      ]);
      const eventRows =
        ticketRows.length === 0
          ? []
          : await db
              .select()
              .from(ticketEvents)
              .where(
                inArray(
                  ticketEvents.ticketId,
                  ticketRows.map((ticket) => ticket.id),
                ),
              )
              .orderBy(asc(ticketEvents.id));
      return { conversations: conversationRows, tickets: ticketRows, ticketEvents: eventRows, messages: messageRows, customers: customerRows };
    },

    /**
     * Deletes every row of the subscriber in one transaction: their conversations, tickets and their events, messages,
     * deadlines, the calls still queued for them, the dedupe records naming their BSUIDs (`bsuids`), the directory
     * rows; KPI rows stay (they hold no personal data). The request is recorded in the same transaction, and when
     * they had tickets the CRM's notice is queued with it, naming the tickets only. Returns the media ids their
     * messages carried (their files go next) and the record's id.
     */
    async erase(location: SubscriberLocation, bsuids: string[], record: Omit<PrivacyRecord, 'kind'>, now: Date) {
      const { keys, customerIds } = location;
      const lanes = keys.flatMap((key) => OUTBOX_KINDS.map((kind) => laneOf(kind, key)));
      return db.transaction(async (tx) => {
        const ticketIds = (await tx.select({ id: tickets.id }).from(tickets).where(inTexts(tickets.conversationKey, keys))).map((row) => row.id);
        const count = async (rows: Promise<unknown[]>) => (await rows).length;
        const erased: ErasedRows = {
          conversations: 0,
          // The events first: they reference their ticket.
          ticketEvents: await count(tx.delete(ticketEvents).where(inTexts(ticketEvents.ticketId, ticketIds)).returning({ id: ticketEvents.id })),
          tickets: await count(tx.delete(tickets).where(inTexts(tickets.id, ticketIds)).returning({ id: tickets.id })),
          messages: 0,
          timers: await count(tx.delete(timers).where(inTexts(timers.conversationKey, keys)).returning({ id: timers.id })),
          outbox: await count(
            tx
              .delete(outbox)
              .where(sql`${inTexts(outbox.lane, lanes)} or ${inTexts(outbox.ticketId, ticketIds)}`)
              .returning({ id: outbox.id }),
          ),
          // Only a BSUID change's id names the user (`wa:user_id:<old>:<new>`); every other id is Meta's or a hash.
          dedupeRecords:
            bsuids.length === 0
              ? 0
              : await count(
                  tx
                    .delete(processedEvents)
                    .where(
                      sql`${processedEvents.id} like 'wa:user_id:%' and exists (select 1 from ${jsonArray(bsuids)} as b(id) where position(b.id in ${processedEvents.id}) > 0)`,
                    )
                    .returning({ id: processedEvents.id }),
                ),
          customers: await count(tx.delete(customers).where(inTexts(customers.customerId, customerIds)).returning({ id: customers.customerId })),
        };
        const media = await tx
          .delete(messages)
          .where(inTexts(messages.conversationKey, keys))
          .returning({ mediaId: sql<string | null>`${messages.media}->>'id'` });
        erased.messages = media.length;
        erased.conversations = await count(
          tx.delete(conversations).where(inTexts(conversations.conversationKey, keys)).returning({ key: conversations.conversationKey }),
        );
        const [request] = await tx
          .insert(privacyRequests)
          .values({
            kind: 'erase',
            requestedBy: record.requestedBy,
            identifiers: record.identifiers,
            outcome: { ...record.outcome, ...erased },
            requestedAt: now,
          })
          .returning({ id: privacyRequests.id });
        const requestId = request!.id;
        if (ticketIds.length > 0) {
          await tx.insert(outbox).values({
            kind: 'crm.subscriber_erased',
            lane: laneOf('crm.subscriber_erased', `erasure:${requestId}`),
            payload: { erasureId: String(requestId), ticketIds: ticketIds.sort(), timestamp: now.toISOString() },
            idempotencyKey: `erasure:${requestId}#0`,
          });
        }
        return { erased, requestId, ticketIds, mediaIds: texts(media.map((row) => row.mediaId)) };
      });
    },

    /** Adds to a recorded request's outcome what was done after its transaction (files, Redis). */
    async completeRecord(requestId: number, outcome: Record<string, unknown>): Promise<void> {
      await database.rows(db, sql`update privacy_requests set outcome = outcome || ${JSON.stringify(outcome)}::jsonb where id = ${requestId}`);
    },

    /** Records a request that deleted nothing (an export). */
    async record(entry: PrivacyRecord, now: Date): Promise<number> {
      const [row] = await db
        .insert(privacyRequests)
        .values({ ...entry, requestedAt: now })
        .returning({ id: privacyRequests.id });
      return row!.id;
    },
  };
}

export type SubscriberStore = ReturnType<typeof createSubscriberStore>;
