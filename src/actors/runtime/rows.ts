import type { BatchWrites, MessageRevision, MessageStatusChange, NewTicketEvent, SentMessage } from '../../db/runtime-store';
import type { MessageAuthor, NewMessage, NewOutboxRow } from '../../db/schema';
import { outboxKeyOf } from '../../domain/event-ids';
import { withoutDocument } from '../../domain/masking';
import { laneOf, type OutboxKind } from '../../domain/lanes';
import type { EchoMessage, HistoryMessage, InboundMessage, StatusUpdate } from '../../domain/events';
import type { WhatsAppMessage } from '../../integrations/whatsapp-messages';
import type { Origin } from './state';
import { settleTimerWrites, type TimerWrite } from './timers';

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
  const { replyTo, reaction, location, contacts, edit, revoke, standby } = message;
  const details = {
    ...(replyTo ? { replyTo } : {}),
    ...(reaction ? { reaction } : {}),
    ...(location ? { location } : {}),
    ...(contacts ? { contacts } : {}),
    ...(edit ? { edit } : {}),
    ...(revoke ? { revoke } : {}),
    ...(standby ? { standby } : {}),
  };
  return Object.keys(details).length > 0 ? details : null;
}

/** The rows a batch appends besides the actors' own (history, outbox, ticket events, timers, statuses), in memory until the write. */
export class BatchRows {
  private readonly messages: NewMessage[] = [];
  private readonly outbox: NewOutboxRow[] = [];
  private readonly ticketEvents: NewTicketEvent[] = [];
  private readonly timerWrites: TimerWrite[] = [];
  /** Message id → its status as the batch leaves it. */
  private readonly statusChanges = new Map<number, MessageStatusChange>();
  /** Outbox key → the first status that named it. */
  private readonly settledSends = new Map<string, string>();
  private readonly revisions: MessageRevision[] = [];

  /** Queues a call to the outside world, in the user's lane for its destination; its key, derived from the event, makes a replay write the same row. */
  enqueue(origin: Origin, kind: OutboxKind, ticketId: string | null, payload: Record<string, unknown>, author?: MessageAuthor): string {
    const idempotencyKey = outboxKeyOf(origin.eventId, origin.sequence.next++);
    this.outbox.push({ kind, lane: laneOf(kind, origin.conversationKey), payload, idempotencyKey, ticketId, author, traceparent: origin.traceparent ?? null });
    return idempotencyKey;
  }

  /** A WhatsApp message to the user: the send and its history row, linked by the outbox key. */
  sendWhatsApp(origin: Origin, message: OutboundMessage): void {
    const outboxKey = this.enqueue(origin, 'whatsapp.send', message.ticketId, message.payload, message.author);
    this.messages.push({
      conversationKey: origin.conversationKey,
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

  /** A user's message; an edit or a revoke also changes the message it names. */
  received(conversationKey: string, ticketId: string | null, message: InboundMessage): void {
    this.revise(conversationKey, message, new Date(message.timestamp));
    this.messages.push({
      conversationKey,
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

  /** The user's message that carried their document number, as the history keeps it: the number masked (`********10`). */
  maskTypedDocument(waMessageId: string, document: string): void {
    for (const message of this.messages) {
      if (message.direction === 'inbound' && message.waMessageId === waMessageId && message.body) message.body = withoutDocument(message.body, document);
    }
  }

  /**
   * What the business sent without us, as an agent's message: from the
   * Business app (`whatsapp_business_app`) or another responder
   * (`other_responder`, e.g. Meta's AI). WhatsApp had it: `sent`.
   */
  echoed(conversationKey: string, ticketId: string | null, echo: EchoMessage): void {
    this.revise(conversationKey, echo, new Date(echo.timestamp));
    this.messages.push({
      conversationKey,
      ticketId,
      direction: 'outbound',
      author: 'agent',
      authorId: echo.source === 'business_app' ? 'whatsapp_business_app' : 'other_responder',
      type: echo.type,
      body: echo.text ?? echo.edit?.text ?? null,
      media: echo.media ?? null,
      details: echo.edit ? { edit: echo.edit } : echo.revoke ? { revoke: echo.revoke } : null,
      waMessageId: echo.waMessageId,
      status: 'sent',
      createdAt: new Date(echo.timestamp),
    });
  }

  /** A past chat's message (`history`): the user's or the business's, as WhatsApp kept it. Stored, never answered. */
  history(conversationKey: string, message: HistoryMessage): void {
    this.messages.push({
      conversationKey,
      ticketId: null,
      direction: message.fromBusiness ? 'outbound' : 'inbound',
      author: message.fromBusiness ? 'agent' : 'user',
      authorId: message.fromBusiness ? 'whatsapp_business_app' : null,
      type: message.type,
      body: message.text ?? null,
      media: message.media ?? null,
      details: { history: true },
      waMessageId: message.waMessageId,
      status: message.fromBusiness ? (message.status ?? 'sent') : 'received',
      createdAt: new Date(message.timestamp),
    });
  }

  /** An edit names the message it changes and its new text; a revoke, the message deleted for everyone. */
  private revise(conversationKey: string, message: Pick<InboundMessage, 'edit' | 'revoke'>, at: Date): void {
    if (message.edit) this.revisions.push({ conversationKey, waMessageId: message.edit.waMessageId, body: message.edit.text ?? null, editedAt: at });
    if (message.revoke) this.revisions.push({ conversationKey, waMessageId: message.revoke.waMessageId, deletedAt: at });
  }

  ticketEvent(ticketId: string, type: string, data: Record<string, unknown>, at: string): void {
    this.ticketEvents.push({ ticketId, type, data, at: new Date(at) });
  }

  timers(writes: TimerWrite[]): void {
    this.timerWrites.push(...writes);
  }

  /** A status webhook: the messages it moved, and the send in doubt it settles (WhatsApp has it), if it names one. */
  status(update: StatusUpdate, moved: readonly SentMessage[]): void {
    for (const { id, status, statusAt, waMessageId, error, billable, pricingModel, pricingCategory } of moved) {
      this.statusChanges.set(id, { id, status, statusAt, waMessageId, error, billable, pricingModel, pricingCategory });
    }
    if (update.callbackData && !this.settledSends.has(update.callbackData)) this.settledSends.set(update.callbackData, update.status);
  }

  /** Everything but the actors' own rows, as the store writes it. */
  writes(): Omit<BatchWrites, 'conversations' | 'tickets' | 'kpis'> {
    const { cleared, armed } = settleTimerWrites(this.timerWrites);
    return {
      statusChanges: [...this.statusChanges.values()],
      settledSends: [...this.settledSends].map(([outboxKey, status]) => ({ outboxKey, status })),
      ticketEvents: this.ticketEvents,
      messages: this.messages,
      outbox: this.outbox,
      clearedTimers: cleared,
      armedTimers: armed,
      messageRevisions: this.revisions,
    };
  }
}
