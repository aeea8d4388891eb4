import { getTableName } from 'drizzle-orm';
import { quoted, upsertTail } from '../../db/bulk';
import { conversations, ticketKpis, tickets, type NewTicketKpis } from '../../db/schema';
import { phaseOf, statusOf, type HandoverMachine } from '../handover';
import type { ConversationMachine, ConversationState, TicketState } from './state';

export type TicketRow = typeof tickets.$inferInsert;
export type ConversationRowToWrite = typeof conversations.$inferInsert;

/** The columns the status endpoint and the KPIs read, projected from the ticket's machine. */
export function projectTicket(machine: HandoverMachine, state: TicketState): TicketRow {
  const context = state.snapshot.context;
  const value = String(state.snapshot.value);
  const date = (iso: string | null) => (iso ? new Date(iso) : null);
  return {
    id: context.ticketId,
    phone: context.phone,
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

export function projectConversation(machine: ConversationMachine, phone: string, state: ConversationState, now: Date): ConversationRowToWrite {
  return {
    phone,
    userPhone: state.ids.phone ?? null,
    bsuid: state.ids.bsuid ?? null,
    username: state.ids.username ?? null,
    parentBsuid: state.ids.parentBsuid ?? null,
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
    agentId: ticket.agentId,
    agentName: ticket.agentName,
    escalations: ticket.escalations,
    csat: ticket.csat,
    surveyStatus: ticket.surveyStatus,
  };
}

/** A ticket's identity and request never change once written; its revision is counted by the upsert. */
export const TICKET_FIXED = ['id', 'phone', 'customerId', 'customerName', 'category', 'requestedAt', 'revision'] as const;
/** The KPI columns a later transition can change (the durations follow, computed by Postgres). */
export const KPI_FIXED = ['ticketId', 'requestedAt', 'category'] as const;
export const CONVERSATION_FIXED = ['phone', 'createdAt'] as const;

export const TICKET_UPSERT = upsertTail(tickets, tickets.id, TICKET_FIXED, {
  revision: `${quoted(getTableName(tickets))}.${quoted(tickets.revision.name)} + 1`,
});
export const KPI_UPSERT = upsertTail(ticketKpis, ticketKpis.ticketId, KPI_FIXED);
export const CONVERSATION_UPSERT = upsertTail(conversations, conversations.phone, CONVERSATION_FIXED);
