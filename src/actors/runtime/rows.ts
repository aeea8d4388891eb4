import type { Tx } from '../../db/client';
import { deleteWhereIn, insertRows, quoted } from '../../db/bulk';
import { messages, outbox, ticketEvents, timers, type MessageAuthor, type NewMessage, type NewOutboxRow, type OutboxKind } from '../../db/schema';
import type { InboundMessage } from '../../events';
import type { WhatsAppMessage } from '../../integrations/whatsapp-messages';
import { settleTimerWrites, type TimerWrite } from './timers';
import type { Origin } from './state';

export type NewTicketEvent = typeof ticketEvents.$inferInsert;

/** A deadline armed again moves its due time and is due to be enqueued afresh. */
const REARM_TIMER =
  `on conflict (${quoted(timers.id.name)}) do update set ${quoted(timers.dueAt.name)} = excluded.${quoted(timers.dueAt.name)}, ` +
  `${quoted(timers.enqueuedAt.name)} = null, ${quoted(timers.enqueueCount.name)} = 0`;

export interface OutboundMessage {
  ticketId: string | null;
  author: MessageAuthor;
  authorId: string | null;
  type: string;
  /** What the history keeps: the text, a caption, or null. */
  body: string | null;
  payload: WhatsAppMessage;
  media?: NewMessage['media'];
  crmKey?: string;
}

/** What the history keeps of an inbound message besides its text and media: null when there is nothing. */
function detailsOf(message: InboundMessage): Record<string, unknown> | null {
  const { replyTo, reaction, location, contacts } = message;
  const details = { ...(replyTo ? { replyTo } : {}), ...(reaction ? { reaction } : {}), ...(location ? { location } : {}), ...(contacts ? { contacts } : {}) };
  return Object.keys(details).length > 0 ? details : null;
}

/**
 * The rows a batch appends besides the actors' own: history, outbox, ticket
 * events and timers, written together at flush.
 */
export class BatchRows {
  private readonly messages: NewMessage[] = [];
  private readonly outbox: NewOutboxRow[] = [];
  private readonly ticketEvents: NewTicketEvent[] = [];
  private readonly timerWrites: TimerWrite[] = [];

  /** Queues a call to the outside world; its key, derived from the event, makes a replay write the same row. */
  enqueue(origin: Origin, kind: OutboxKind, lane: string, ticketId: string | null, payload: Record<string, unknown>, author?: MessageAuthor): string {
    const idempotencyKey = `${origin.eventId}#${origin.sequence.next++}`;
    this.outbox.push({ kind, lane, payload, idempotencyKey, ticketId, author });
    return idempotencyKey;
  }

  /** A WhatsApp message to the user: the send and its history row, linked by the outbox key. */
  sendWhatsApp(origin: Origin, message: OutboundMessage): void {
    const outboxKey = this.enqueue(origin, 'whatsapp.send', `wa:${origin.phone}`, message.ticketId, message.payload, message.author);
    this.messages.push({
      phone: origin.phone,
      ticketId: message.ticketId,
      direction: 'outbound',
      author: message.author,
      authorId: message.authorId,
      type: message.type,
      body: message.body,
      media: message.media ?? null,
      crmKey: message.crmKey ?? null,
      status: 'queued',
      outboxKey,
      createdAt: new Date(origin.at),
    });
  }

  received(phone: string, ticketId: string | null, message: InboundMessage): void {
    this.messages.push({
      phone,
      ticketId,
      direction: 'inbound',
      author: 'user',
      type: message.type,
      body: message.text ?? null,
      media: message.media ?? null,
      details: detailsOf(message),
      waMessageId: message.waMessageId,
      status: 'received',
      createdAt: new Date(message.timestamp),
    });
  }

  ticketEvent(ticketId: string, type: string, data: Record<string, unknown>, at: string): void {
    this.ticketEvents.push({ ticketId, type, data, at: new Date(at) });
  }

  timers(writes: TimerWrite[]): void {
    this.timerWrites.push(...writes);
  }

  /**
   * Starts the writes, in the order the server must run them (see `inOrder`):
   * ticket events reference their ticket, so the tickets are started before this.
   */
  write(tx: Tx): Promise<unknown>[] {
    const writes: Promise<unknown>[] = [];
    if (this.ticketEvents.length > 0) writes.push(insertRows(tx, ticketEvents, this.ticketEvents));
    // A redelivered inbound message (same wamid) is history already.
    if (this.messages.length > 0) writes.push(insertRows(tx, messages, this.messages, 'on conflict do nothing'));
    if (this.outbox.length > 0) writes.push(insertRows(tx, outbox, this.outbox));
    const { cleared, armed } = settleTimerWrites(this.timerWrites);
    if (cleared.length > 0) writes.push(deleteWhereIn(tx, timers, timers.id, cleared));
    if (armed.length > 0) writes.push(insertRows(tx, timers, armed, REARM_TIMER));
    return writes;
  }
}
