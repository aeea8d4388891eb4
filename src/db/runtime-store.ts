import { asc, getTableName, sql } from 'drizzle-orm';
import type { StreamEntry } from '../domain/events';
import { anyOfTexts, deleteWhereIn, inOrder, inTexts, insertRows, preparedStatement, quoted, runPrepared, updateRows, upsertTail } from './bulk';
import type { Tx } from './client';
import {
  conversations,
  messages,
  outbox,
  processedEvents,
  ticketEvents,
  ticketKpis,
  tickets,
  timers,
  type ConversationRow,
  type NewMessage,
  type NewOutboxRow,
  type NewTicketKpis,
  type NewTimerRow,
  type Ticket,
} from './schema';

/**
 * Every statement the runtime runs in a batch's transaction, and nothing
 * else: the runtime reads here, decides on plain data, and writes here.
 * The transaction waits three times (docs/ARCHITECTURE.md, "How an event
 * flows"): `readFirst`, pipelined behind the caller's fences; `readTickets`;
 * `write`, every row in one pipeline. `nextTicketNumber` is the one read a
 * batch makes while it decides, once per ticket it opens. Each text is fixed
 * (rows and ids travel as one jsonb parameter), so each is prepared once per
 * connection.
 */

/** What a batch names before anything is loaded: the keys of its conversations and the messages its events point at. */
export interface FirstReads {
  keys: string[];
  /** Messages the users' replies and reactions point at: the agent's, when sent with an Idempotency-Key. */
  repliedTo: string[];
  /** What WhatsApp's status webhooks name: a wamid, and the outbox key echoed as `biz_opaque_callback_data`. */
  statusWamids: string[];
  statusCallbacks: string[];
}

/** An outbound message a status update may move, as stored (locked for the transaction). */
export type SentMessage = Pick<
  typeof messages.$inferSelect,
  | 'id'
  | 'ticketId'
  | 'author'
  | 'authorId'
  | 'type'
  | 'body'
  | 'media'
  | 'status'
  | 'statusAt'
  | 'waMessageId'
  | 'outboxKey'
  | 'error'
  | 'billable'
  | 'pricingModel'
  | 'pricingCategory'
>;

export interface FirstRead {
  /** The entries whose event id was not seen before, in order: only they are applied. */
  fresh: StreamEntry[];
  conversations: ConversationRow[];
  /** wamid → the CRM's Idempotency-Key of the agent message it names. */
  crmKeys: { waMessageId: string; crmKey: string }[];
  sentMessages: SentMessage[];
}

export type NewConversation = typeof conversations.$inferInsert;
export type NewTicket = typeof tickets.$inferInsert;
export type NewTicketEvent = typeof ticketEvents.$inferInsert;
export type MessageStatusChange = Pick<SentMessage, 'id' | 'status' | 'statusAt' | 'waMessageId' | 'error' | 'billable' | 'pricingModel' | 'pricingCategory'>;

/** Every row a batch decided, as the tables take them. */
export interface BatchWrites {
  statusChanges: MessageStatusChange[];
  /** Sends in doubt that a status webhook settled: WhatsApp has them. */
  settledSends: { outboxKey: string; status: string }[];
  conversations: NewConversation[];
  tickets: NewTicket[];
  kpis: NewTicketKpis[];
  ticketEvents: NewTicketEvent[];
  messages: NewMessage[];
  outbox: NewOutboxRow[];
  clearedTimers: string[];
  armedTimers: NewTimerRow[];
  /** Messages of the history changed by their sender after they were sent: edited (the new body) or deleted for everyone. */
  messageRevisions: MessageRevision[];
}

/** A message of a conversation (`conversationKey`, `waMessageId`) its sender edited or revoked. */
export interface MessageRevision {
  conversationKey: string;
  waMessageId: string;
  /** The edit's new text (or caption); absent: unchanged. */
  body?: string | null;
  editedAt?: Date;
  deletedAt?: Date;
}

/** A ticket's identity and request never change once written; its revision is counted by the upsert. */
export const TICKET_FIXED = ['id', 'conversationKey', 'customerId', 'customerName', 'category', 'requestedAt', 'revision'] as const;
/** The KPI columns a later transition can change (the durations follow, computed by Postgres). */
export const KPI_FIXED = ['ticketId', 'requestedAt', 'category'] as const;
export const CONVERSATION_FIXED = ['conversationKey', 'createdAt'] as const;

const TICKET_UPSERT = upsertTail(tickets, tickets.id, TICKET_FIXED, {
  revision: `${quoted(getTableName(tickets))}.${quoted(tickets.revision.name)} + 1`,
});
const KPI_UPSERT = upsertTail(ticketKpis, ticketKpis.ticketId, KPI_FIXED);
const CONVERSATION_UPSERT = upsertTail(conversations, conversations.conversationKey, CONVERSATION_FIXED);
/** A deadline armed again moves its due time and is due to be enqueued afresh. */
const REARM_TIMER =
  `on conflict (${quoted(timers.id.name)}) do update set ${quoted(timers.dueAt.name)} = excluded.${quoted(timers.dueAt.name)}, ` +
  `${quoted(timers.enqueuedAt.name)} = null, ${quoted(timers.enqueueCount.name)} = 0`;

/** For this transaction only: a lock waited on longer than this fails it (55P03). */
const LOCK_TIMEOUT = preparedStatement("select set_config('lock_timeout', $1, true)");
const NEXT_TICKET_NUMBER = preparedStatement("select nextval('ticket_number_seq') as n");
/** `$1` a jsonb array of `{ key, status }`: the sends in doubt those statuses name are done, never sent again. */
const SETTLE_IN_DOUBT = preparedStatement(`
  with settled as (select * from jsonb_to_recordset($1::jsonb) as s(key text, status text))
  update outbox o set status = 'done', completed_at = now(), in_doubt_since = null, locked_until = null,
    response = jsonb_build_object('reconciledBy', s.status)
  from settled s
  -- By index whatever the statistics say (see RECORD_DONE in src/outbox/repository.ts).
  where o.idempotency_key = any(array(select key from settled))
    and o.idempotency_key = s.key and o.status = 'pending' and o.in_doubt_since is not null`);

/** `$1` a jsonb array of revisions: an edit replaces the body, a revoke marks the message deleted; a message of another conversation is not touched. */
const REVISE_MESSAGES = preparedStatement(`
  update messages m set body = case when r.edited then r.body else m.body end,
    edited_at = coalesce(r.edited_at, m.edited_at), deleted_at = coalesce(r.deleted_at, m.deleted_at)
  from jsonb_to_recordset($1::jsonb) as r(key text, wamid text, edited boolean, body text, edited_at timestamptz, deleted_at timestamptz)
  where m.wa_message_id = r.wamid and m.conversation_key = r.key`);

export const setLockTimeout = (tx: Tx, ms: number): Promise<unknown> => runPrepared(tx, LOCK_TIMEOUT, [`${ms}ms`]);

/** Records every event id; only those not seen before (in this batch or any earlier one) are applied. */
async function claimFreshEvents(tx: Tx, entries: StreamEntry[]): Promise<StreamEntry[]> {
  const firstOccurrence = new Map<string, StreamEntry>();
  for (const entry of entries) if (!firstOccurrence.has(entry.event.id)) firstOccurrence.set(entry.event.id, entry);
  if (firstOccurrence.size === 0) return [];
  const inserted = await insertRows(
    tx,
    processedEvents,
    [...firstOccurrence.values()].map((entry) => ({ id: entry.event.id, streamEntryId: entry.entryId })),
    `on conflict do nothing returning ${quoted(processedEvents.id.name)}`,
  );
  const fresh = new Set(inserted.map((row) => row[processedEvents.id.name]));
  return [...firstOccurrence.values()].filter((entry) => fresh.has(entry.event.id));
}

const none = <T>(): Promise<T[]> => Promise.resolve([]);

/**
 * The dedupe and everything the batch's events name, started at once so that
 * they go out behind the statements the caller started before (its fences),
 * pipelined. The conversations of every entry are read, a duplicate's too
 * (left untouched). The messages a status names are locked: the decision
 * made on them holds until the commit (the dispatcher's group commit marks
 * sends `sent` concurrently).
 */
export async function readFirst(tx: Tx, entries: StreamEntry[], reads: FirstReads): Promise<FirstRead> {
  const [fresh, conversationRows, crmKeys, sentMessages] = await inOrder([
    claimFreshEvents(tx, entries),
    reads.keys.length > 0
      ? tx.select().from(conversations).where(inTexts(conversations.conversationKey, reads.keys)).prepare('batch_conversations').execute()
      : none<ConversationRow>(),
    reads.repliedTo.length > 0
      ? tx
          .select({ waMessageId: messages.waMessageId, crmKey: messages.crmKey })
          .from(messages)
          .where(inTexts(messages.waMessageId, reads.repliedTo))
          .prepare('batch_crm_keys')
          .execute()
      : none<{ waMessageId: string | null; crmKey: string | null }>(),
    reads.statusWamids.length > 0 ? readSentMessages(tx, reads) : none<SentMessage>(),
  ]);
  return {
    fresh,
    conversations: conversationRows,
    crmKeys: crmKeys.flatMap(({ waMessageId, crmKey }) => (waMessageId && crmKey ? [{ waMessageId, crmKey }] : [])),
    sentMessages,
  };
}

/** By wamid, or by outbox key for a send whose Graph response was lost (no wamid yet); in id order, as the group commit locks. */
function readSentMessages(tx: Tx, reads: FirstReads): Promise<SentMessage[]> {
  const { id, ticketId, author, authorId, type, body, media, status, statusAt, waMessageId, outboxKey, error, billable, pricingModel, pricingCategory } =
    messages;
  return tx
    .select({ id, ticketId, author, authorId, type, body, media, status, statusAt, waMessageId, outboxKey, error, billable, pricingModel, pricingCategory })
    .from(messages)
    .where(
      sql`${messages.direction} = 'outbound' and (${anyOfTexts(waMessageId, reads.statusWamids)} or (${anyOfTexts(outboxKey, reads.statusCallbacks)} and ${waMessageId} is null))`,
    )
    .orderBy(asc(id))
    .for('update')
    .prepare('batch_sent_messages')
    .execute();
}

export function readTickets(tx: Tx, ticketIds: string[]): Promise<Ticket[]> {
  if (ticketIds.length === 0) return Promise.resolve([]);
  return tx.select().from(tickets).where(inTexts(tickets.id, ticketIds)).prepare('batch_tickets').execute();
}

/** The NNNNNN of `TK-YYYY-NNNNNN`, from a sequence shared by all instances. */
export async function nextTicketNumber(tx: Tx): Promise<number> {
  const [row] = await runPrepared<{ n: number | string }>(tx, NEXT_TICKET_NUMBER, []);
  return Number(row!.n);
}

/**
 * Every row the batch decided, pipelined in the order the server must run
 * them: the statuses first (their rows are locked already), tickets before
 * the ticket events that reference them.
 */
export async function write(tx: Tx, rows: BatchWrites): Promise<void> {
  const writes: Promise<unknown>[] = [];
  if (rows.statusChanges.length > 0) writes.push(updateRows(tx, messages, 'id', rows.statusChanges));
  if (rows.settledSends.length > 0) {
    const settled = rows.settledSends.map(({ outboxKey, status }) => ({ key: outboxKey, status }));
    writes.push(runPrepared(tx, SETTLE_IN_DOUBT, [JSON.stringify(settled)]));
  }
  if (rows.conversations.length > 0) writes.push(insertRows(tx, conversations, rows.conversations, CONVERSATION_UPSERT));
  if (rows.tickets.length > 0) writes.push(insertRows(tx, tickets, rows.tickets, TICKET_UPSERT));
  if (rows.kpis.length > 0) writes.push(insertRows(tx, ticketKpis, rows.kpis, KPI_UPSERT));
  if (rows.ticketEvents.length > 0) writes.push(insertRows(tx, ticketEvents, rows.ticketEvents));
  // A redelivered inbound message (same wamid) is history already.
  if (rows.messages.length > 0) writes.push(insertRows(tx, messages, rows.messages, 'on conflict do nothing'));
  if (rows.outbox.length > 0) writes.push(insertRows(tx, outbox, rows.outbox));
  if (rows.clearedTimers.length > 0) writes.push(deleteWhereIn(tx, timers, timers.id, rows.clearedTimers));
  if (rows.armedTimers.length > 0) writes.push(insertRows(tx, timers, rows.armedTimers, REARM_TIMER));
  // After the messages' insert: an edit may name a message this same batch stored.
  if (rows.messageRevisions.length > 0) {
    const revisions = rows.messageRevisions.map((revision) => ({
      key: revision.conversationKey,
      wamid: revision.waMessageId,
      edited: revision.body !== undefined,
      body: revision.body ?? null,
      edited_at: revision.editedAt?.toISOString() ?? null,
      deleted_at: revision.deletedAt?.toISOString() ?? null,
    }));
    writes.push(runPrepared(tx, REVISE_MESSAGES, [JSON.stringify(revisions)]));
  }
  await inOrder(writes);
}
