import { describe, expect, test } from 'bun:test';
import { at, MONDAY_10AM_BOGOTA, simulateTicket, TICKET } from '../../support/simulated-clock';

const T0 = MONDAY_10AM_BOGOTA;
const message = (waMessageId: string, historyId: number) => ({ waMessageId, historyId });
const presence = (agentId: string, waMessageId = 'wamid.1', historyId = 1) => ({
  ticketId: TICKET.ticketId,
  agentId,
  message: message(waMessageId, historyId),
});
const typing = (agentId = 'ag-1', waMessageId?: string, historyId?: number) => ({
  type: 'crm.typing' as const,
  presence: presence(agentId, waMessageId, historyId),
});
const read = (agentId = 'ag-1', waMessageId?: string, historyId?: number) => ({
  type: 'crm.read' as const,
  presence: presence(agentId, waMessageId, historyId),
});
const agentText = { type: 'crm.message' as const, message: { ticketId: TICKET.ticketId, agentId: 'ag-1', message: 'Hola', messageType: 'text' as const } };

/** A ticket Laura (ag-1) holds, taken 10 s after the request. */
function heldTicket() {
  const ticket = simulateTicket({ assignTimeoutS: 3600, queueUpdateIntervalS: 3600 });
  ticket.advance(10);
  ticket.send({ type: 'crm.handover.bot_to_human', agent: { id: 'ag-1', name: 'Laura' } });
  return ticket;
}

describe('typing: WhatsApp shows "typing…" while the agent types, at most once per 20 s', () => {
  test('the first typing call shows the indicator on the user message it names', () => {
    const ticket = heldTicket();
    expect(ticket.send(typing())).toEqual([{ type: 'showTyping', params: { waMessageId: 'wamid.1' } }]);
  });

  test('calls while the agent keeps typing refresh it once per 20 s, never more often', () => {
    const ticket = heldTicket();
    for (let second = 0; second <= 45; second += 3) {
      ticket.send(typing());
      ticket.advance(3);
    }
    expect(ticket.times('showTyping')).toEqual([at(T0, 10), at(T0, 31), at(T0, 52)]);
  });

  test('the indicator is asked for again 20 s after the last one, not a second sooner', () => {
    const ticket = heldTicket();
    ticket.send(typing());
    ticket.advance(19);
    expect(ticket.send(typing())).toEqual([]);
    ticket.advance(1);
    expect(ticket.send(typing())).toEqual([{ type: 'showTyping', params: { waMessageId: 'wamid.1' } }]);
  });

  test('a typing call the reply overtook shows nothing: WhatsApp would show "typing…" under the reply', () => {
    const ticket = heldTicket();
    ticket.send(agentText);
    const askedBefore = ticket.now;
    ticket.send(typing());
    expect(ticket.effects('showTyping')).toEqual([]);
    ticket.advance(1);
    expect(ticket.send(typing())).toEqual([{ type: 'showTyping', params: { waMessageId: 'wamid.1' } }]);
    expect(ticket.times('showTyping')).not.toContain(askedBefore);
  });

  test('an agent who no longer holds the ticket shows nothing', () => {
    const ticket = heldTicket();
    expect(ticket.send(typing('ag-2'))).toEqual([]);
    expect(ticket.send(read('ag-2'))).toEqual([]);
  });

  test('nothing is shown before an agent holds the ticket: the machine refuses the event', () => {
    const ticket = simulateTicket({ assignTimeoutS: 3600, queueUpdateIntervalS: 3600 });
    expect(ticket.snapshot.can({ ...typing(), at: T0 })).toBe(false);
    expect(ticket.send(typing())).toEqual([]);
  });
});

describe('read: only on the CRM word, once per message', () => {
  test('a read call marks the message it names', () => {
    const ticket = heldTicket();
    expect(ticket.send(read('ag-1', 'wamid.2', 2))).toEqual([{ type: 'markRead', params: { waMessageId: 'wamid.2' } }]);
  });

  test('marking a message again, or an earlier one, asks WhatsApp nothing: it marks every earlier message with it (history order: timestamps are whole seconds)', () => {
    const ticket = heldTicket();
    ticket.send(read('ag-1', 'wamid.2', 2));
    expect(ticket.send(read('ag-1', 'wamid.2', 2))).toEqual([]);
    expect(ticket.send(read('ag-1', 'wamid.1', 1))).toEqual([]);
    expect(ticket.send(read('ag-1', 'wamid.3', 3))).toEqual([{ type: 'markRead', params: { waMessageId: 'wamid.3' } }]);
  });

  test('a typing indicator marks its message read too, so a read call for it sends nothing more', () => {
    const ticket = heldTicket();
    ticket.send(typing('ag-1', 'wamid.2', 2));
    expect(ticket.send(read('ag-1', 'wamid.2', 2))).toEqual([]);
  });

  test('typing on an earlier message does not move the read mark back', () => {
    const ticket = heldTicket();
    ticket.send(read('ag-1', 'wamid.5', 5));
    expect(ticket.send(typing('ag-1', 'wamid.3', 3))).toEqual([{ type: 'showTyping', params: { waMessageId: 'wamid.3' } }]);
    expect(ticket.send(read('ag-1', 'wamid.4', 4))).toEqual([]);
    expect(ticket.context.readUpTo).toBe(5);
  });

  test('user messages and agent replies never mark anything read on their own', () => {
    const ticket = heldTicket();
    ticket.send({
      type: 'user.message',
      message: { user: { phone: TICKET.conversationKey }, waMessageId: 'wamid.9', timestamp: T0, type: 'text', text: 'hola' },
    });
    ticket.send(agentText);
    expect(ticket.effects('markRead')).toEqual([]);
    expect(ticket.effects('showTyping')).toEqual([]);
  });
});
