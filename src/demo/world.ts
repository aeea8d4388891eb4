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
  /**
   * The subscriber's own ticks, as WhatsApp shows them to the sender: sent once
   * the phone posted it, delivered once the service took the webhook, read once
   * the service marked it read at Graph. What the phone receives has none.
   */
  status?: DeliveryStatus;
}

/** A message in the console: a text, a photo the subscriber sent (fetched through the service's media route), or the agent's document. */
export interface ConsoleMessage {
  from: 'user' | 'agent';
  at: string;
  text: string;
  kind?: 'image' | 'document';
  mediaId?: string;
  filename?: string;
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
  messages: ConsoleMessage[];
  events: { at: string; text: string }[];
}

/** How long WhatsApp shows the business's "typing…" unless a message from the business ends it sooner. */
export const TYPING_SHOWN_MS = 25_000;

/** What the simulator page shows: every phone, every ticket. Kept in memory for the demo's lifetime. `clock` is for tests. */
export function createWorld(clock: () => number = Date.now) {
  const now = () => new Date(clock()).toISOString();
  const phones = new Map<string, PhoneMessage[]>();
  /** Until when each phone shows the business "typing…" (epoch ms). */
  const typingUntil = new Map<string, number>();
  const tickets = new Map<string, ConsoleTicket>();
  /** The subscriber's messages, by wamid: their ticks move as the service takes and reads them. */
  const byWamid = new Map<string, { phone: string; message: PhoneMessage }>();
  /** What the agent just sent through send-message, so the Graph send that carries it is shown as the agent's. */
  const agentOutgoing = new Map<string, string[]>();
  const thread = (phone: string) => phones.get(phone) ?? (phones.set(phone, []), phones.get(phone)!);

  return {
    userWrote(phone: string, message: Omit<PhoneMessage, 'from' | 'at' | 'status'>) {
      const written: PhoneMessage = { ...message, from: 'user', at: now(), status: 'sent' };
      thread(phone).push(written);
      byWamid.set(message.id, { phone, message: written });
    },
    /** The service answered the webhook carrying it with a 200: on WhatsApp, the second tick. */
    userMessageDelivered(waMessageId: string) {
      const written = byWamid.get(waMessageId)?.message;
      if (written?.status === 'sent') written.status = 'delivered';
    },
    /** A read mark at Graph: WhatsApp marks that message and every earlier one of the subscriber read. */
    readUpTo(waMessageId: string) {
      const found = byWamid.get(waMessageId);
      if (!found) return;
      const messages = thread(found.phone);
      for (const message of messages.slice(0, messages.indexOf(found.message) + 1)) if (message.from === 'user') message.status = 'read';
    },
    /** Graph's typing indicator, which names the subscriber's message it comes with: that phone shows "typing…" for 25 s. */
    typingShown(waMessageId: string) {
      const found = byWamid.get(waMessageId);
      if (found) typingUntil.set(found.phone, clock() + TYPING_SHOWN_MS);
    },
    agentWillSend(phone: string, text: string) {
      agentOutgoing.set(phone, [...(agentOutgoing.get(phone) ?? []), text]);
    },
    /** A send the Graph stand-in accepted: the bot's, unless the agent just sent that very text or file. */
    serviceSent(phone: string, message: Omit<PhoneMessage, 'from' | 'at' | 'status'>, match: string) {
      const waiting = agentOutgoing.get(phone) ?? [];
      const index = waiting.indexOf(match);
      if (index >= 0) waiting.splice(index, 1);
      // The business's message ends its "typing…", as on WhatsApp.
      typingUntil.delete(phone);
      thread(phone).push({ ...message, from: index >= 0 ? 'agent' : 'bot', at: now() });
    },
    ticketRequested(ticket: Omit<ConsoleTicket, 'status' | 'messages' | 'events'>) {
      tickets.set(ticket.ticketId, { ...ticket, status: 'pending', messages: [], events: [{ at: now(), text: 'Requested: waiting for an agent' }] });
    },
    ticket: (ticketId: string) => tickets.get(ticketId),
    ticketEvent(ticketId: string, text: string, change: Partial<Pick<ConsoleTicket, 'status' | 'agentName' | 'priority'>> = {}) {
      const ticket = tickets.get(ticketId);
      if (!ticket) return;
      Object.assign(ticket, change);
      ticket.events.push({ at: now(), text });
    },
    ticketMessage(ticketId: string, message: Omit<ConsoleMessage, 'at'>) {
      tickets.get(ticketId)?.messages.push({ ...message, at: now() });
    },
    snapshot: () => ({
      phones: Object.fromEntries(phones),
      /** The phones showing "typing…" now. */
      typing: [...typingUntil].filter(([, until]) => clock() < until).map(([phone]) => phone),
      tickets: [...tickets.values()].reverse(),
    }),
  };
}

export type World = ReturnType<typeof createWorld>;
