import { describe, expect, test } from 'bun:test';
import type { AgentMessageFailure } from '../../../src/domain/events';
import { isClosed } from '../../../src/actors/handover';
import { simulateTicket, TICKET } from '../../support/simulated-clock';

const takeOver = { type: 'crm.handover.bot_to_human' as const, agent: { id: 'ag-1', name: 'Laura' } };
const giveBack = { type: 'crm.handover.human_to_bot' as const };

function failure(overrides: Partial<AgentMessageFailure> = {}): { type: 'whatsapp.agent_message.failed'; failure: AgentMessageFailure } {
  return {
    type: 'whatsapp.agent_message.failed',
    failure: {
      ticketId: TICKET.ticketId,
      outboxKey: 'crm:send-message:key:abc#0',
      reason: 'outside_window',
      sentAs: 'free_form',
      message: { type: 'text', body: 'Ya quedó tu servicio', waMessageId: null, agentId: 'ag-1' },
      error: { code: 131047, title: 'Re-engagement message' },
      ...overrides,
    },
  };
}

describe('an agent message WhatsApp refused comes back to the ticket, which decides', () => {
  test('past the window, with a template configured, the same words go out once more as the template and the CRM is not bothered', () => {
    const ticket = simulateTicket({ reengageTemplate: true });
    ticket.send(takeOver);
    const effects = ticket.send(failure());
    expect(ticket.effects('deliverAgentMessage')).toEqual([
      { agentId: 'ag-1', messageType: 'text', body: 'Ya quedó tu servicio', media: undefined, asTemplate: true },
    ]);
    expect(effects.some((effect) => effect.type === 'reportAgentMessageFailed')).toBe(false);
    expect(ticket.effects('recordTicketEvent').at(-1)).toEqual({ type: 'agent_message_reengaged', data: { outboxKey: 'crm:send-message:key:abc#0' } });
  });

  test("re-sent as the template, a media message keeps its type and its link stands in for a missing body; any other type goes as text", () => {
    const ticket = simulateTicket({ reengageTemplate: true });
    ticket.send(takeOver);
    const media = { id: 'media-1', url: 'https://crm.example.co/recibo.png', mimeType: 'image/png' };
    ticket.send(failure({ message: { type: 'image', body: null, waMessageId: null, agentId: 'ag-1', media } }));
    ticket.send(failure({ message: { type: 'audio', body: null, waMessageId: null, agentId: 'ag-1' } }));
    expect(ticket.effects('deliverAgentMessage')).toEqual([
      { agentId: 'ag-1', messageType: 'image', body: 'https://crm.example.co/recibo.png', media, asTemplate: true },
      { agentId: 'ag-1', messageType: 'text', body: '', media: undefined, asTemplate: true },
    ]);
    for (const type of ['text', 'document'] as const) {
      ticket.send(failure({ message: { type, body: 'x', waMessageId: null, agentId: 'ag-1' } }));
      expect(ticket.effects('deliverAgentMessage').at(-1)!.messageType).toBe(type);
    }
  });

  test('a refusal without a Graph error is recorded without a code', () => {
    const ticket = simulateTicket({ reengageTemplate: false });
    ticket.send(takeOver);
    ticket.send(failure({ reason: 'refused', error: undefined }));
    expect(ticket.effects('recordTicketEvent').at(-1)).toEqual({
      type: 'agent_message_failed',
      data: { outboxKey: 'crm:send-message:key:abc#0', reason: 'refused', code: undefined },
    });
  });

  test('past the window without a template, the CRM is told the message failed', () => {
    const ticket = simulateTicket({ reengageTemplate: false });
    ticket.send(takeOver);
    ticket.send(failure());
    expect(ticket.effects('deliverAgentMessage')).toEqual([]);
    expect(ticket.effects('reportAgentMessageFailed')).toEqual([
      {
        reason: 'outside_window',
        message: { type: 'text', body: 'Ya quedó tu servicio', waMessageId: null, agentId: 'ag-1' },
        error: { code: 131047, title: 'Re-engagement message' },
      },
    ]);
  });

  test('a template that was refused too is reported, never re-sent as a template again', () => {
    const ticket = simulateTicket({ reengageTemplate: true });
    ticket.send(takeOver);
    ticket.send(failure({ sentAs: 'template' }));
    expect(ticket.effects('deliverAgentMessage')).toEqual([]);
    expect(ticket.effects('reportAgentMessageFailed')).toHaveLength(1);
  });

  test('any other refusal is reported to the CRM with the Graph error, template or not', () => {
    const ticket = simulateTicket({ reengageTemplate: true });
    ticket.send(takeOver);
    const refused = failure({
      reason: 'refused',
      error: { code: 131053, title: 'Media upload error' },
      message: { type: 'image', body: 'https://x/y.png', waMessageId: 'wamid.1' },
    });
    ticket.send(refused);
    expect(ticket.effects('deliverAgentMessage')).toEqual([]);
    expect(ticket.effects('reportAgentMessageFailed')).toEqual([
      { reason: 'refused', message: { type: 'image', body: 'https://x/y.png', waMessageId: 'wamid.1' }, error: { code: 131053, title: 'Media upload error' } },
    ]);
    expect(ticket.effects('recordTicketEvent').at(-1)).toEqual({
      type: 'agent_message_failed',
      data: { outboxKey: 'crm:send-message:key:abc#0', reason: 'refused', code: 131053 },
    });
  });

  test('after the agent gave the ticket back, a late refusal is still decided and the ticket stays closed', () => {
    const ticket = simulateTicket({ reengageTemplate: false });
    ticket.send(takeOver);
    ticket.send(giveBack);
    expect(isClosed(ticket.value)).toBe(true);
    ticket.send(failure({ reason: 'refused' }));
    expect(ticket.effects('reportAgentMessageFailed')).toHaveLength(1);
    expect(isClosed(ticket.value)).toBe(true);
    expect(ticket.effects('ticketClosed')).toHaveLength(1);
  });

  test('a closed ticket accepts nothing else: no user message, handover or agent message moves it', () => {
    const ticket = simulateTicket();
    ticket.send(takeOver);
    ticket.send(giveBack);
    for (const event of [
      takeOver,
      giveBack,
      { type: 'crm.message' as const, message: { ticketId: TICKET.ticketId, message: 'hola', messageType: 'text' as const } },
    ]) {
      expect(ticket.snapshot.can({ ...event, at: ticket.now })).toBe(false);
    }
  });
});
