import type { Queries } from '../../db/queries';
import { notFound } from '../../errors';
import { businessNumbers, numberOfKey, type BusinessNumbers } from '../../domain/business-numbers';
import { estimatedCost, type RateCard } from '../../domain/rate-card';

/** The operator's rate card and currency (WHATSAPP_RATE_CARD, WHATSAPP_RATE_CURRENCY): a ticket's cost is estimated with them. */
export interface TicketRates {
  card: RateCard;
  currency: string;
}

/** Words a person reads in a list: the text itself, else `[type]` and what the message says of itself (caption, file name, place, emoji). */
export function describeUserMessage(message: { type: string; body: string | null; media: { filename?: string } | null }): string {
  const said = message.body || message.media?.filename || '';
  if (['text', 'button', 'interactive'].includes(message.type)) return said;
  return said ? `[${message.type}] ${said}` : `[${message.type}]`;
}

/** The seed's handover-status answer, plus the richer fields (phase, close reason, survey, the user's ids). */
export function ticketStatus(queries: Queries, numbers: BusinessNumbers = businessNumbers(''), rates: TicketRates = { card: {}, currency: '' }) {
  return async function status(ticketId: string) {
    const ticket = await queries.ticket(ticketId);
    if (!ticket) throw notFound('ticket_not_found', `ticket ${ticketId} does not exist`);
    const [user, lastMessage, billable] = await Promise.all([
      queries.userIds(ticket.conversationKey),
      queries.lastUserMessage(ticket.id),
      queries.billableOf(ticket.id),
    ]);
    const cost = estimatedCost(billable, rates.card);
    return {
      ticketId: ticket.id,
      businessPhoneNumberId: numberOfKey(numbers, ticket.conversationKey) || null,
      userPhone: user.phone ?? null,
      userId: user.bsuid ?? null,
      username: user.username ?? null,
      status: ticket.status,
      phase: ticket.phase,
      closeReason: ticket.closeReason,
      category: ticket.category,
      priority: ticket.priority,
      assignedAgent: ticket.agentId ? { id: ticket.agentId, name: ticket.agentName } : null,
      startTime: ticket.requestedAt.toISOString(),
      assignedTime: ticket.assignedAt?.toISOString() ?? null,
      closedTime: ticket.closedAt?.toISOString() ?? null,
      lastActivity: ticket.lastActivityAt.toISOString(),
      lastUserMessage: ticket.lastUserMessageAt?.toISOString() ?? null,
      // Added beside `lastUserMessage` (a time, as CRMs read it today): what it was.
      lastUserMessageType: lastMessage?.type ?? null,
      lastUserMessageText: lastMessage ? describeUserMessage(lastMessage) : null,
      messageCount: ticket.messageCount,
      escalations: ticket.escalations,
      survey: ticket.surveyStatus ? { status: ticket.surveyStatus, csat: ticket.csat } : null,
      // What WhatsApp charges for this handover's messages (their status webhooks' pricing).
      cost: {
        billableMessages: Object.values(billable).reduce((sum, count) => sum + count, 0),
        byCategory: billable,
        estimatedCost: cost,
        currency: cost === null ? null : rates.currency,
      },
    };
  };
}
