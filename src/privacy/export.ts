import type { SubscriberStore } from '../db/subscriber-store';
import type { MediaRef } from '../domain/events';
import { splitBsuid } from '../domain/user-ids';

type Held = Awaited<ReturnType<SubscriberStore['read']>>;

const iso = (time: Date | null) => time?.toISOString() ?? null;
const distinct = (values: (string | null | undefined)[]) => [...new Set(values.filter((value): value is string => !!value))].sort();
const contextOf = (snapshot: unknown) => ((snapshot as { context?: Record<string, unknown> } | null)?.context ?? {}) as Record<string, unknown>;

/**
 * Everything held about a subscriber, as an operator hands it to them (Ley
 * 1581: the right to know): the ids they are known by, each conversation,
 * ticket (with its events and survey) and message (with its media list), and
 * the directory rows they authenticated as. Pure: from what was read.
 */
export function exportOf(held: Held, mappedIds: string[], now: Date) {
  const conversations = held.conversations.map((row) => ({
    conversationKey: row.conversationKey,
    userPhone: row.userPhone,
    userId: row.bsuid,
    username: row.username,
    parentUserId: row.parentBsuid,
    state: row.state,
    /** The privacy notice they were sent last (its version) and when; null: never. */
    privacyNotice: row.privacyNoticeVersion ? { version: row.privacyNoticeVersion, sentAt: iso(row.privacyNoticeSentAt) } : null,
    startedAt: iso(row.createdAt),
    lastActivityAt: iso(row.updatedAt),
  }));
  const eventsOf = (ticketId: string) =>
    held.ticketEvents.filter((event) => event.ticketId === ticketId).map((event) => ({ type: event.type, data: event.data, at: iso(event.at) }));
  const tickets = held.tickets.map((ticket) => ({
    ticketId: ticket.id,
    conversationKey: ticket.conversationKey,
    status: ticket.status,
    phase: ticket.phase,
    closeReason: ticket.closeReason,
    category: ticket.category,
    priority: ticket.priority,
    customerId: ticket.customerId,
    customerName: ticket.customerName,
    assignedAgent: ticket.agentId ? { id: ticket.agentId, name: ticket.agentName } : null,
    requestedAt: iso(ticket.requestedAt),
    assignedAt: iso(ticket.assignedAt),
    closedAt: iso(ticket.closedAt),
    messageCount: ticket.messageCount,
    events: eventsOf(ticket.id),
  }));
  const messages = held.messages.map((message) => ({
    id: message.id,
    ticketId: message.ticketId,
    direction: message.direction,
    author: message.author,
    type: message.type,
    body: message.body,
    media: message.media ? [message.media as MediaRef] : [],
    details: message.details,
    waMessageId: message.waMessageId,
    status: message.status,
    at: iso(message.createdAt),
  }));
  const surveys = held.tickets.flatMap((ticket) => (ticket.surveyStatus ? [{ ticketId: ticket.id, status: ticket.surveyStatus, csat: ticket.csat }] : []));
  const customers = held.customers.map((row) => ({
    customerId: row.customerId,
    customerName: row.customerName,
    document: row.document,
    phone: row.phone,
    isInactive: row.isInactive,
  }));
  const contexts = held.conversations.map((row) => contextOf(row.snapshot));
  const ids = {
    conversationKeys: distinct(held.conversations.map((row) => row.conversationKey).concat(held.tickets.map((ticket) => ticket.conversationKey))),
    phones: distinct([...held.conversations.map((row) => row.userPhone), ...mappedIds.filter((id) => !splitBsuid(id)), ...customers.map((row) => row.phone)]),
    userIds: distinct([...held.conversations.map((row) => row.bsuid), ...mappedIds.filter((id) => splitBsuid(id))]),
    parentUserIds: distinct(held.conversations.map((row) => row.parentBsuid)),
    usernames: distinct(held.conversations.map((row) => row.username)),
    documents: distinct([...customers.map((row) => row.document), ...contexts.map((context) => context.pendingDocument as string | null)]),
    customerIds: distinct([...customers.map((row) => row.customerId), ...held.tickets.map((ticket) => ticket.customerId)]),
  };
  const found = conversations.length + tickets.length + messages.length + customers.length > 0;
  return { found, exportedAt: now.toISOString(), ids, conversations, tickets, messages, surveys, customers };
}

export type SubscriberExport = ReturnType<typeof exportOf>;
