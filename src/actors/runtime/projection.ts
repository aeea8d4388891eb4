import type { BatchWrites, NewConversation, NewTicket } from '../../db/runtime-store';
import type { NewTicketKpis } from '../../db/schema';
import { phaseOf, statusOf, type HandoverMachine } from '../handover';
import type { ConversationMachine, ConversationState, Machines, TicketState } from './state';
import { numberOfKey, type BusinessNumbers } from '../../domain/business-numbers';

export type TicketRow = NewTicket;

/** The columns the status endpoint and the KPIs read, projected from the ticket's machine. */
export function projectTicket(machine: HandoverMachine, state: TicketState, numbers: BusinessNumbers): TicketRow {
  const context = state.snapshot.context;
  const value = String(state.snapshot.value);
  const date = (iso: string | null) => (iso ? new Date(iso) : null);
  return {
    id: context.ticketId,
    conversationKey: context.conversationKey,
    businessPhoneNumberId: numberOfKey(numbers, context.conversationKey) || null,
    customerId: context.customer.customerId,
    customerName: context.customer.customerName,
    category: context.category,
    priority: context.priority,
    status: statusOf(value),
    phase: phaseOf(value, context),
    closeReason: context.closeReason,
    agentId: context.agent?.id ?? null,
    agentName: context.agent?.name ?? null,
    requestedAt: new Date(context.requestedAt),
    assignedAt: date(context.assignedAt),
    firstAgentReplyAt: date(context.firstAgentReplyAt),
    closedAt: date(context.closedAt),
    lastActivityAt: new Date(context.lastActivityAt),
    lastUserMessageAt: new Date(context.lastUserMessageAt),
    escalations: context.escalations,
    messageCount: context.messageCount,
    csat: state.csat,
    surveyStatus: state.surveyStatus,
    snapshot: machine.getPersistedSnapshot(state.snapshot),
  };
}

export function projectConversation(machine: ConversationMachine, conversationKey: string, state: ConversationState, now: Date): NewConversation {
  return {
    conversationKey,
    userPhone: state.ids.phone ?? null,
    bsuid: state.ids.bsuid ?? null,
    username: state.ids.username ?? null,
    parentBsuid: state.ids.parentBsuid ?? null,
    threadOwner: state.voice.threadOwner,
    botPausedUntil: state.voice.botPausedUntil ? new Date(state.voice.botPausedUntil) : null,
    privacyNoticeVersion: state.notice?.version ?? null,
    privacyNoticeSentAt: state.notice ? new Date(state.notice.sentAt) : null,
    state: JSON.stringify(state.snapshot.value),
    snapshot: machine.getPersistedSnapshot(state.snapshot),
    createdAt: new Date(state.createdAt),
    updatedAt: now,
  };
}

/** The KPI row of a ticket, from its projection: the same values the ticket row gets. */
export function kpiRow(ticket: TicketRow): NewTicketKpis {
  return {
    ticketId: ticket.id,
    requestedAt: ticket.requestedAt,
    assignedAt: ticket.assignedAt,
    firstAgentReplyAt: ticket.firstAgentReplyAt,
    closedAt: ticket.closedAt,
    status: ticket.status,
    closeReason: ticket.closeReason,
    category: ticket.category,
    priority: ticket.priority,
    businessPhoneNumberId: ticket.businessPhoneNumberId ?? null,
    agentId: ticket.agentId,
    agentName: ticket.agentName,
    escalations: ticket.escalations,
    csat: ticket.csat,
    surveyStatus: ticket.surveyStatus,
  };
}

/** The actors' own rows: each conversation and ticket the batch changed, and the KPI rows that moved with them. */
export function projectActors(
  machines: Machines & { numbers: BusinessNumbers },
  changed: { conversations: [string, ConversationState][]; tickets: TicketState[] },
  now: Date,
): Pick<BatchWrites, 'conversations' | 'tickets' | 'kpis'> {
  const conversations = changed.conversations.map(([key, state]) => projectConversation(machines.conversationMachine, key, state, now));
  const dirtyTickets = changed.tickets;
  const tickets = dirtyTickets.map((state) => projectTicket(machines.handoverMachine, state, machines.numbers));
  // The KPI row moves with its ticket, in the same transaction; a relayed message leaves it as it was.
  const kpis = tickets.map(kpiRow).filter((row, index) => JSON.stringify(row) !== dirtyTickets[index]!.kpisAsStored);
  return { conversations, tickets, kpis };
}
