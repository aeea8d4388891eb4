import type { DeliveryStatus } from './meta-payloads';

/** A message on the simulated phone, as the subscriber sees it. */
export interface PhoneMessage {
  id: string;
  from: 'user' | 'bot' | 'agent';
  at: string;
  text: string;
  kind: 'text' | 'buttons' | 'list' | 'image' | 'document' | 'template';
  buttons?: { id: string; title: string }[];
  list?: { button: string; rows: { id: string; title: string }[] };
  filename?: string;
  /** The ticks of a message the service sent: what the Graph stand-in reported back in its status webhooks. */
  status?: DeliveryStatus;
}

/** A ticket as the agent's console knows it: only from what the service told the CRM stand-in, and what the agent did. */
export interface ConsoleTicket {
  ticketId: string;
  phone: string;
  customerName: string;
  customerId: string;
  category: string;
  priority: string;
  serviceSuspended: boolean;
  requestedAt: string;
  status: 'pending' | 'active' | 'closed';
  agentName?: string;
  messages: { from: 'user' | 'agent'; at: string; text: string }[];
  events: { at: string; text: string }[];
}

const now = () => new Date().toISOString();

/** What the simulator page shows: every phone, every ticket. Kept in memory for the demo's lifetime. */
export function createWorld() {
  const phones = new Map<string, PhoneMessage[]>();
  const tickets = new Map<string, ConsoleTicket>();
  const byWamid = new Map<string, PhoneMessage>();
  /** What the agent just sent through send-message, so the Graph send that carries it is shown as the agent's. */
  const agentOutgoing = new Map<string, string[]>();
  const thread = (phone: string) => phones.get(phone) ?? (phones.set(phone, []), phones.get(phone)!);

  return {
    userWrote(phone: string, message: Omit<PhoneMessage, 'from' | 'at'>) {
      thread(phone).push({ ...message, from: 'user', at: now() });
    },
    agentWillSend(phone: string, text: string) {
      agentOutgoing.set(phone, [...(agentOutgoing.get(phone) ?? []), text]);
    },
    /** A send the Graph stand-in accepted: the bot's, unless the agent just sent that very text or file. */
    serviceSent(phone: string, message: Omit<PhoneMessage, 'from' | 'at' | 'status'>, match: string) {
      const waiting = agentOutgoing.get(phone) ?? [];
      const index = waiting.indexOf(match);
      if (index >= 0) waiting.splice(index, 1);
      const shown: PhoneMessage = { ...message, from: index >= 0 ? 'agent' : 'bot', at: now(), status: undefined };
      thread(phone).push(shown);
      byWamid.set(message.id, shown);
    },
    delivered(waMessageId: string, status: DeliveryStatus) {
      const message = byWamid.get(waMessageId);
      const order: (DeliveryStatus | undefined)[] = [undefined, 'sent', 'delivered', 'read'];
      if (message && order.indexOf(status) > order.indexOf(message.status)) message.status = status;
    },
    ticketRequested(ticket: Omit<ConsoleTicket, 'status' | 'messages' | 'events'>) {
      tickets.set(ticket.ticketId, { ...ticket, status: 'pending', messages: [], events: [{ at: now(), text: 'agent-request received' }] });
    },
    ticket: (ticketId: string) => tickets.get(ticketId),
    ticketEvent(ticketId: string, text: string, change: Partial<Pick<ConsoleTicket, 'status' | 'agentName' | 'priority'>> = {}) {
      const ticket = tickets.get(ticketId);
      if (!ticket) return;
      Object.assign(ticket, change);
      ticket.events.push({ at: now(), text });
    },
    ticketMessage(ticketId: string, from: 'user' | 'agent', text: string) {
      tickets.get(ticketId)?.messages.push({ from, at: now(), text });
    },
    snapshot: () => ({ phones: Object.fromEntries(phones), tickets: [...tickets.values()].reverse() }),
  };
}

export type World = ReturnType<typeof createWorld>;
