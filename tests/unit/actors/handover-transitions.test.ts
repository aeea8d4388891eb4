import { describe, expect, test } from 'bun:test';
import type { CallEvent, EchoMessage, InboundMessage, ThreadControl } from '../../../src/domain/events';
import { createBusinessCalendar } from '../../../src/domain/business-hours';
import { phaseOf, statusOf, type HandoverContext } from '../../../src/actors/handover';
import type { Effect } from '../../../src/actors/effects';
import type { CloseReason } from '../../../src/db/schema';
import { at, MONDAY_10AM_BOGOTA, simulateTicket, TICKET } from '../../support/simulated-clock';

/**
 * Each transition of the handover machine with everything it asks for: the
 * effects are rows (outbox calls, ticket events, replies), so a missing or
 * changed one is a behaviour the CRM, the user or the history would see.
 */

const T0 = MONDAY_10AM_BOGOTA;
const VARS = { ticketId: TICKET.ticketId };
let sequence = 0;
const userMessage = (fields: Partial<InboundMessage> = {}): InboundMessage => ({
  user: { phone: TICKET.conversationKey },
  waMessageId: `wamid.t${++sequence}`,
  timestamp: T0,
  type: 'text',
  text: 'sigo sin internet',
  ...fields,
});
const says = (fields: Partial<InboundMessage> = {}) => ({ type: 'user.message' as const, message: userMessage(fields) });
const takenBy = (id: string, name: string) => ({ type: 'crm.handover.bot_to_human' as const, agent: { id, name } });
const giveBack = { type: 'crm.handover.human_to_bot' as const };
const control = (fields: Partial<ThreadControl>) => ({
  type: 'meta.thread_control' as const,
  control: { event: 'pass_thread_control', toCrm: true, ticketId: TICKET.ticketId, ...fields },
});
const context = (ticket: ReturnType<typeof simulateTicket>) => ticket.snapshot.context as HandoverContext;
const closedWith = (reason: CloseReason, replies: Effect[] = []): Effect[] => [
  { type: 'recordTicketEvent', params: { type: 'closed', data: { reason } } },
  ...replies,
  { type: 'ticketClosed', params: { reason } },
];
const quiet = { assignTimeoutS: 100_000, queueUpdateIntervalS: 100_000, userAbandonTimeoutS: 100_000, agentReplyTimeoutS: 100_000 };

/** A ticket Laura (ag-1) took 10 s after the request. */
function heldTicket(policy: Parameters<typeof simulateTicket>[0] = {}) {
  const ticket = simulateTicket({ ...quiet, ...policy });
  ticket.advance(10);
  ticket.send(takenBy('ag-1', 'Laura'));
  return ticket;
}

describe('a new ticket', () => {
  test('while the desk is open: recorded, the CRM asked for an agent, the user told, the waiting deadlines armed', () => {
    const ticket = simulateTicket();
    expect(ticket.log.map(({ effect }) => effect)).toEqual([
      { type: 'recordTicketEvent', params: { type: 'requested', data: { category: 'soporte_agente', priority: 'media' } } },
      { type: 'logMilestone', params: { milestone: 'agent_required' } },
      { type: 'requestAgent', params: undefined },
      { type: 'reply', params: { text: 'connecting' } },
    ]);
    expect(ticket.value).toBe('waitingAgent');
    expect(ticket.context.deadlines).toEqual({ assign: at(T0, 60), queueUpdate: at(T0, 45), abandon: at(T0, 600), idle: at(T0, 24 * 3600) });
    expect(context(ticket)).toMatchObject({ waitingNoticeSent: false, messageCount: 0, lastActivityAt: T0, lastUserMessageAt: T0, agent: null });
  });

  test('out of hours and queued: the opening is recorded and the user told the hours and the ticket', () => {
    const calendar = createBusinessCalendar('mon-fri 07:00-19:00', '', 'America/Bogota');
    const night = '2026-12-01T02:00:00.000Z';
    const ticket = simulateTicket({ calendar }, { requestedAt: night });
    expect(ticket.log.map(({ effect }) => effect).slice(3)).toEqual([
      { type: 'recordTicketEvent', params: { type: 'out_of_hours', data: { opensAt: '2026-12-01T12:00:00.000Z' } } },
      { type: 'reply', params: { text: 'outOfHoursQueued', vars: { ...VARS, businessHours: calendar.description } } },
    ]);
  });

  test('out of hours and not queued: closed at the request, the user told the hours, no agent asked for', () => {
    const calendar = createBusinessCalendar('mon-fri 07:00-19:00', '', 'America/Bogota');
    const night = '2026-12-01T02:00:00.000Z';
    const ticket = simulateTicket({ calendar, outOfHoursQueue: false }, { requestedAt: night });
    expect(ticket.log.map(({ effect }) => effect)).toEqual([
      { type: 'recordTicketEvent', params: { type: 'requested', data: { category: 'soporte_agente', priority: 'media' } } },
      { type: 'reply', params: { text: 'outOfHoursClosed', vars: { ...VARS, businessHours: calendar.description } } },
      ...closedWith('out_of_hours'),
    ]);
    expect(context(ticket)).toMatchObject({ closedAt: night, closeReason: 'out_of_hours' });
  });

  test("with Meta's AI holding threads, the ticket takes the thread when it opens and passes it back when it closes", () => {
    const ticket = simulateTicket({ threadControl: 'ai_agent' });
    expect(ticket.log[1]!.effect).toEqual({ type: 'threadControl', params: { action: 'take' } });
    expect(ticket.send(giveBack).slice(-2)).toEqual([
      { type: 'threadControl', params: { action: 'pass', targetRole: 'ai_agent' } },
      { type: 'ticketClosed', params: { reason: 'resolved' } },
    ]);
    expect(simulateTicket().effects('threadControl')).toEqual([]);
  });
});

describe('waiting for an agent', () => {
  test("the CRM's tentative pick with an estimate is recorded and the user hears the estimate", () => {
    const ticket = simulateTicket();
    const agent = { id: 'ag-1', name: 'Laura', estimatedResponseTime: '5 minutos' };
    expect(ticket.send({ type: 'crm.agent_request.accepted', agent, queuePosition: 4 })).toEqual([
      { type: 'recordTicketEvent', params: { type: 'agent_proposed', data: { ...agent, queuePosition: 4 } } },
      { type: 'reply', params: { text: 'agentEstimate', vars: { estimatedResponseTime: '5 minutos' } } },
    ]);
    expect(context(ticket)).toMatchObject({ proposedAgent: agent, queuePosition: 4, agent: null });
  });

  test('a pick without an estimate, or no pick, is recorded and the user hears nothing', () => {
    const ticket = simulateTicket();
    const agent = { id: 'ag-1', name: 'Laura' };
    expect(ticket.send({ type: 'crm.agent_request.accepted', agent, queuePosition: null })).toEqual([
      { type: 'recordTicketEvent', params: { type: 'agent_proposed', data: { ...agent, queuePosition: null } } },
    ]);
    expect(context(ticket).proposedAgent).toEqual(agent);
    expect(ticket.send({ type: 'crm.agent_request.accepted', agent: null, queuePosition: 2 })).toEqual([
      { type: 'recordTicketEvent', params: { type: 'agent_proposed', data: { queuePosition: 2 } } },
    ]);
    expect(context(ticket)).toMatchObject({ proposedAgent: null, queuePosition: 2 });
    expect(ticket.value).toBe('waitingAgent');
  });

  test('the CRM failing the request closes the ticket as crm_unreachable, with the error recorded', () => {
    const ticket = simulateTicket();
    ticket.advance(5);
    expect(ticket.send({ type: 'crm.agent_request.failed', error: 'HTTP 503' })).toEqual([
      { type: 'recordTicketEvent', params: { type: 'agent_request_failed', data: { error: 'HTTP 503' } } },
      ...closedWith('crm_unreachable', [{ type: 'reply', params: { text: 'crmUnreachable' } }]),
    ]);
    expect(ticket.value).toBe('closed');
    expect(context(ticket)).toMatchObject({ closedAt: at(T0, 5), closeReason: 'crm_unreachable' });
    expect(ticket.context.deadlines).toEqual({});
  });

  test('the CRM resolving the ticket before any agent took it closes it as resolved', () => {
    const ticket = simulateTicket();
    ticket.advance(7);
    expect(ticket.send(giveBack)).toEqual(
      closedWith('resolved', [
        { type: 'logMilestone', params: { milestone: 'human_to_bot' } },
        { type: 'reply', params: { text: 'resolved' } },
      ]),
    );
    expect(context(ticket)).toMatchObject({ closeReason: 'resolved', lastActivityAt: at(T0, 7) });
  });

  test("the user's messages go to the CRM; the first one is answered with the waiting notice, once", () => {
    const ticket = simulateTicket(quiet);
    ticket.advance(30);
    const first = userMessage();
    expect(ticket.send({ type: 'user.message', message: first })).toEqual([
      { type: 'relayToCrm', params: { message: first } },
      { type: 'reply', params: { text: 'waitingNotice', vars: VARS } },
    ]);
    expect(context(ticket)).toMatchObject({ waitingNoticeSent: true, messageCount: 1, lastActivityAt: at(T0, 30) });
    ticket.advance(30);
    const second = userMessage({ timestamp: at(T0, 60) });
    expect(ticket.send({ type: 'user.message', message: second })).toEqual([{ type: 'relayToCrm', params: { message: second } }]);
    expect(context(ticket)).toMatchObject({ messageCount: 2, lastActivityAt: at(T0, 60), lastUserMessageAt: at(T0, 60) });
    expect(ticket.context.deadlines).toMatchObject({ idle: at(T0, 60 + 24 * 3600), abandon: at(T0, 60 + 100_000) });
  });

  test('a message whose timestamp cannot be read, or lies ahead of its receipt, opens the window at its receipt', () => {
    const ticket = simulateTicket(quiet);
    ticket.advance(30);
    ticket.send(says({ timestamp: 'not a time' }));
    expect(context(ticket).lastUserMessageAt).toBe(at(T0, 30));
    ticket.advance(30);
    ticket.send(says({ timestamp: at(T0, 3600) }));
    expect(context(ticket).lastUserMessageAt).toBe(at(T0, 60));
    expect(ticket.context.deadlines.idle).toBe(at(T0, 60 + 24 * 3600));
  });

  test('a reaction reaches the CRM but is not a message: no notice, no count, the window and the deadlines stay', () => {
    const ticket = simulateTicket(quiet);
    ticket.advance(30);
    const reaction = userMessage({ type: 'reaction', text: '👍', timestamp: at(T0, 30) });
    const before = { ...ticket.context.deadlines };
    expect(ticket.send({ type: 'user.message', message: reaction })).toEqual([{ type: 'relayToCrm', params: { message: reaction } }]);
    expect(context(ticket)).toMatchObject({ waitingNoticeSent: false, messageCount: 0, lastActivityAt: at(T0, 30), lastUserMessageAt: T0 });
    expect(ticket.context.deadlines).toEqual(before);
  });

  test('cancelling is the last activity on the ticket', () => {
    const ticket = simulateTicket(quiet);
    ticket.advance(40);
    ticket.send(says({ text: 'cancelar' }));
    expect(context(ticket)).toMatchObject({ closeReason: 'cancelled', closedAt: at(T0, 40), lastActivityAt: at(T0, 40) });
    expect(phaseOf(ticket.value, context(ticket))).toBe('closed');
  });

  test('is in the waiting phase until the ladder climbs', () => {
    const ticket = simulateTicket({ queueUpdateIntervalS: 100_000 });
    expect(statusOf(ticket.value)).toBe('pending');
    expect(phaseOf(ticket.value, context(ticket))).toBe('waiting_agent');
    ticket.advance(60);
    expect(phaseOf(ticket.value, context(ticket))).toBe('escalated');
  });

  test('a thread-control event is recorded and changes nothing else', () => {
    const ticket = simulateTicket();
    const event = control({ toCrm: false, event: 'control_taken', appId: '123' });
    expect(ticket.send(event)).toEqual([{ type: 'recordTicketEvent', params: { type: 'thread_control', data: event.control } }]);
    expect(ticket.value).toBe('waitingAgent');
  });

  test('idle past the window: closed as window_expired, the CRM told, the user not written to', () => {
    const ticket = simulateTicket({ ...quiet, windowS: 1000 });
    ticket.advance(999);
    expect(ticket.value).toBe('waitingAgent');
    ticket.advance(1);
    expect(ticket.log.slice(-3).map(({ effect }) => effect)).toEqual([
      { type: 'notifyCrm', params: { status: 'closed', reason: 'window_expired' } },
      ...closedWith('window_expired'),
    ]);
    expect(context(ticket).closeReason).toBe('window_expired');
  });

  test('an assign deadline falling after closing time is re-armed from the next opening, not from now', () => {
    // Friday 18:59 in Bogotá: the desk closes at 19:00 and opens Monday 07:00 (12:00 UTC).
    const calendar = createBusinessCalendar('mon-fri 07:00-19:00', '', 'America/Bogota');
    const ticket = simulateTicket({ calendar, assignTimeoutS: 120, queueUpdateIntervalS: 100_000 }, { requestedAt: '2026-12-04T23:59:00.000Z' });
    ticket.advance(120);
    expect(ticket.effects('notifyCrm')).toEqual([{ status: 'pending', reason: 'escalated' }]);
    expect(ticket.context.deadlines.assign).toBe(at('2026-12-07T12:00:00.000Z', 120));
  });

  test('the highest priority stays the highest when the ticket escalates', () => {
    const ticket = simulateTicket({ queueUpdateIntervalS: 100_000 }, { priority: 'alta' });
    ticket.advance(60);
    expect(context(ticket)).toMatchObject({ priority: 'alta', escalations: 1, ladderStep: 1 });
  });
});

describe('an agent takes the ticket', () => {
  test('recorded, the user told who, the agent owes a first word from the last activity', () => {
    const ticket = simulateTicket(quiet);
    ticket.advance(10);
    expect(ticket.send(takenBy('ag-1', 'Laura'))).toEqual([
      { type: 'recordTicketEvent', params: { type: 'agent_connected', data: { id: 'ag-1', name: 'Laura' } } },
      { type: 'logMilestone', params: { milestone: 'bot_to_human' } },
      { type: 'reply', params: { text: 'agentConnected', vars: { agentName: 'Laura' } } },
    ]);
    expect(context(ticket)).toMatchObject({ agent: { id: 'ag-1', name: 'Laura' }, assignedAt: at(T0, 10), lastActivityAt: at(T0, 10) });
    expect(ticket.context.deadlines).toEqual({ idle: at(T0, 24 * 3600), agentReply: at(T0, 10 + 100_000) });
    expect(statusOf(ticket.value)).toBe('active');
    expect(phaseOf(ticket.value, context(ticket))).toBe('with_agent');
  });

  test('the same agent again (a retry without Idempotency-Key) changes nothing and says nothing', () => {
    const ticket = heldTicket();
    ticket.advance(20);
    expect(ticket.send(takenBy('ag-1', 'Laura'))).toEqual([]);
    expect(context(ticket)).toMatchObject({ agent: { id: 'ag-1', name: 'Laura' }, assignedAt: at(T0, 10), lastActivityAt: at(T0, 10) });
  });

  test('another agent taking over: the user is told who is there now; the first assignment time stays', () => {
    const ticket = heldTicket({ threadControl: 'crm' });
    expect(ticket.effects('threadControl')).toEqual([{ action: 'pass' }]);
    ticket.advance(20);
    expect(ticket.send(takenBy('ag-2', 'Marta'))).toEqual([
      { type: 'recordTicketEvent', params: { type: 'agent_connected', data: { id: 'ag-2', name: 'Marta' } } },
      { type: 'logMilestone', params: { milestone: 'bot_to_human' } },
      { type: 'reply', params: { text: 'agentConnected', vars: { agentName: 'Marta' } } },
    ]);
    expect(context(ticket)).toMatchObject({ agent: { id: 'ag-2', name: 'Marta' }, assignedAt: at(T0, 10), lastActivityAt: at(T0, 30) });
    // The thread was passed at the first assignment; a transfer stays within the CRM's app.
    expect(ticket.effects('threadControl')).toEqual([{ action: 'pass' }]);
  });

  test('without thread control, or with the AI holding threads, taking the ticket passes no thread', () => {
    expect(heldTicket().effects('threadControl')).toEqual([]);
    expect(heldTicket({ threadControl: 'ai_agent' }).effects('threadControl')).toEqual([{ action: 'take' }]);
  });
});

describe('with an agent', () => {
  test("the user's messages go to the CRM and count; a reaction goes too and does not", () => {
    const ticket = heldTicket();
    ticket.advance(5);
    const text = userMessage({ timestamp: at(T0, 15) });
    expect(ticket.send({ type: 'user.message', message: text })).toEqual([{ type: 'relayToCrm', params: { message: text } }]);
    expect(context(ticket)).toMatchObject({ messageCount: 1, lastActivityAt: at(T0, 15), lastUserMessageAt: at(T0, 15) });
    ticket.advance(5);
    const reaction = userMessage({ type: 'reaction', text: '👍', timestamp: at(T0, 20) });
    expect(ticket.send({ type: 'user.message', message: reaction })).toEqual([{ type: 'relayToCrm', params: { message: reaction } }]);
    expect(context(ticket)).toMatchObject({ messageCount: 1, lastActivityAt: at(T0, 20), lastUserMessageAt: at(T0, 15) });
  });

  test("the agent's text goes to the user with its key and the message it answers; a document goes as media", () => {
    const ticket = heldTicket();
    ticket.advance(5);
    const text = { ticketId: TICKET.ticketId, agentId: 'ag-1', message: 'Hola', messageType: 'text' as const, crmKey: 'k-1', replyToWaMessageId: 'wamid.u1' };
    expect(ticket.send({ type: 'crm.message', message: text })).toEqual([
      {
        type: 'deliverAgentMessage',
        params: { agentId: 'ag-1', messageType: 'text', body: 'Hola', asTemplate: false, crmKey: 'k-1', replyToWaMessageId: 'wamid.u1', media: undefined },
      },
    ]);
    const url = 'https://crm.example.co/factura.pdf';
    const document = { ticketId: TICKET.ticketId, agentId: 'ag-1', message: url, messageType: 'document' as const, caption: 'Tu factura', filename: 'factura.pdf' };
    expect(ticket.send({ type: 'crm.message', message: document })[0]!.params).toMatchObject({
      messageType: 'document',
      body: url,
      media: { url, caption: 'Tu factura', filename: 'factura.pdf' },
    });
    expect(context(ticket)).toMatchObject({ messageCount: 2, lastActivityAt: at(T0, 15), lastAgentMessageAt: at(T0, 15), firstAgentReplyAt: at(T0, 15) });
  });

  test("the agent's reply keeps the first reply time, clears the reminder and the ladder, and restarts the idle count", () => {
    const ticket = heldTicket({ agentReplyTimeoutS: 60, maxEscalations: 0, supervisorQueue: true });
    ticket.advance(120);
    expect(phaseOf(ticket.value, context(ticket))).toBe('supervisor_queue');
    const reply = { ticketId: TICKET.ticketId, agentId: 'ag-1', message: 'Perdón', messageType: 'text' as const };
    ticket.send({ type: 'crm.message', message: reply });
    ticket.advance(30);
    ticket.send({ type: 'crm.message', message: reply });
    expect(context(ticket)).toMatchObject({ firstAgentReplyAt: at(T0, 130), agentReminded: false, ladderStep: 0, supervisorQueued: false });
    expect(ticket.context.deadlines).toEqual({ idle: at(T0, 160 + 24 * 3600) });
    expect(phaseOf(ticket.value, context(ticket))).toBe('with_agent');
  });

  test('a firing for a deadline that has since moved changes nothing', () => {
    const ticket = heldTicket({ agentReplyTimeoutS: 60 });
    const armed = ticket.context.deadlines.agentReply!;
    ticket.advance(30);
    ticket.send({ type: 'crm.message', message: { ticketId: TICKET.ticketId, agentId: 'ag-1', message: 'Hola', messageType: 'text' } });
    for (const timer of ['agentReply', 'idle', 'assign'] as const) expect(ticket.send({ type: 'timer.fired', timer, dueAt: armed })).toEqual([]);
    expect(ticket.value).toBe('withAgent');
  });

  test("a reminder after closing time re-arms the agent's deadline from now: the desk's hours are the waiting queue's, not the agent's", () => {
    // Friday 18:59 in Bogotá; the desk closes at 19:00.
    const calendar = createBusinessCalendar('mon-fri 07:00-19:00', '', 'America/Bogota');
    const friday = '2026-12-04T23:59:00.000Z';
    const ticket = simulateTicket({ ...quiet, calendar, agentReplyTimeoutS: 120 }, { requestedAt: friday });
    ticket.send(takenBy('ag-1', 'Laura'));
    ticket.advance(120);
    expect(ticket.effects('notifyCrm')).toEqual([{ status: 'active', reason: 'agent_reminder' }]);
    expect(ticket.context.deadlines.agentReply).toBe(at(friday, 240));
  });

  test('the reminder is recorded on the ticket as well as told to the CRM', () => {
    const ticket = heldTicket({ agentReplyTimeoutS: 60 });
    ticket.advance(60);
    expect(ticket.log.slice(-2).map(({ effect }) => effect)).toEqual([
      { type: 'recordTicketEvent', params: { type: 'agent_reminded' } },
      { type: 'notifyCrm', params: { status: 'active', reason: 'agent_reminder' } },
    ]);
    expect(ticket.context.deadlines.agentReply).toBe(at(T0, 130));
  });

  test('the agent-request answer arriving after the agent took the ticket does nothing', () => {
    const ticket = heldTicket();
    const accepted = { type: 'crm.agent_request.accepted' as const, agent: { id: 'ag-9', name: 'X', estimatedResponseTime: '1 min' }, queuePosition: 1 };
    expect(ticket.send(accepted)).toEqual([]);
    expect(ticket.send({ type: 'crm.agent_request.failed', error: 'late' })).toEqual([]);
    expect(context(ticket)).toMatchObject({ agent: { id: 'ag-1', name: 'Laura' }, proposedAgent: null });
  });

  test('the CRM giving the ticket back closes it as resolved; with the CRM holding the thread, the thread is taken back', () => {
    const ticket = heldTicket({ threadControl: 'crm' });
    ticket.advance(5);
    expect(ticket.send(giveBack)).toEqual([
      { type: 'recordTicketEvent', params: { type: 'closed', data: { reason: 'resolved' } } },
      { type: 'threadControl', params: { action: 'take' } },
      { type: 'logMilestone', params: { milestone: 'human_to_bot' } },
      { type: 'reply', params: { text: 'resolved' } },
      { type: 'ticketClosed', params: { reason: 'resolved' } },
    ]);
    expect(context(ticket)).toMatchObject({ closeReason: 'resolved', closedAt: at(T0, 15), lastActivityAt: at(T0, 15) });
    expect(statusOf(ticket.value)).toBe('closed');
    expect(phaseOf(ticket.value, context(ticket))).toBe('closed');
  });

  test('a ticket closed before any agent took it does not take a thread it never passed', () => {
    const ticket = simulateTicket({ threadControl: 'crm' });
    ticket.send(giveBack);
    expect(ticket.effects('threadControl')).toEqual([]);
  });

  test('the thread passed to the CRM while the agent works is recorded and the ticket stays with the agent', () => {
    const ticket = heldTicket();
    ticket.advance(5);
    const toCrm = control({ toCrm: true, event: 'control_passed' });
    expect(ticket.send(toCrm)).toEqual([{ type: 'recordTicketEvent', params: { type: 'thread_control', data: toCrm.control } }]);
    expect(ticket.value).toBe('withAgent');
    expect(context(ticket).lastActivityAt).toBe(at(T0, 10));
  });

  test('the thread coming back to the bot closes the ticket as resolved', () => {
    const ticket = heldTicket();
    ticket.advance(5);
    const toBot = control({ toCrm: false, event: 'control_passed' });
    expect(ticket.send(toBot)).toEqual([
      { type: 'recordTicketEvent', params: { type: 'thread_control', data: toBot.control } },
      ...closedWith('resolved', [
        { type: 'logMilestone', params: { milestone: 'human_to_bot' } },
        { type: 'reply', params: { text: 'resolved' } },
      ]),
    ]);
    expect(context(ticket)).toMatchObject({ closeReason: 'resolved', lastActivityAt: at(T0, 15) });
  });

  test('idle past the window with an agent: closed as window_expired, the CRM told, the user not written to', () => {
    const ticket = heldTicket({ windowS: 1000 });
    ticket.advance(990);
    expect(ticket.log.slice(-3).map(({ effect }) => effect)).toEqual([
      { type: 'notifyCrm', params: { status: 'closed', reason: 'window_expired' } },
      ...closedWith('window_expired'),
    ]);
  });
});

describe('the business writing from the Business app, or another responder', () => {
  const echo = (fields: Partial<EchoMessage>): EchoMessage => ({
    user: { phone: TICKET.conversationKey },
    waMessageId: 'wamid.e1',
    timestamp: T0,
    type: 'text',
    source: 'business_app',
    ...fields,
  });

  test('is recorded on the ticket and told to the CRM as the app\'s message', () => {
    const ticket = heldTicket();
    ticket.advance(5);
    expect(ticket.send({ type: 'whatsapp.echo', echo: echo({ text: 'Ya te llamo' }) })).toEqual([
      { type: 'recordTicketEvent', params: { type: 'business_message', data: { source: 'business_app', waMessageId: 'wamid.e1', type: 'text' } } },
      {
        type: 'reportToCrm',
        params: {
          reason: 'business_message',
          details: { message: { type: 'text', body: 'Ya te llamo', waMessageId: 'wamid.e1', sentFrom: 'whatsapp_business_app' } },
        },
      },
    ]);
    expect(context(ticket).lastActivityAt).toBe(at(T0, 15));
  });

  test("another responder's edit names the message it edits and carries the new text; a revoke names the one it deletes", () => {
    const ticket = simulateTicket();
    const edit = ticket.send({ type: 'whatsapp.echo', echo: echo({ source: 'other_responder', type: 'edit', edit: { waMessageId: 'wamid.e0', type: 'text', text: 'Corrijo' } }) });
    expect(edit[1]!.params).toEqual({
      reason: 'business_message',
      details: { message: { type: 'edit', body: 'Corrijo', waMessageId: 'wamid.e1', sentFrom: 'other_responder', edits: 'wamid.e0' } },
    });
    const revoke = ticket.send({ type: 'whatsapp.echo', echo: echo({ type: 'revoke', revoke: { waMessageId: 'wamid.e0' } }) });
    expect(revoke[1]!.params).toEqual({
      reason: 'business_message',
      details: { message: { type: 'revoke', body: null, waMessageId: 'wamid.e1', sentFrom: 'whatsapp_business_app', deletes: 'wamid.e0' } },
    });
  });
});

test('a thread-control call Meta refused is recorded with its error, in any state', () => {
  const ticket = simulateTicket();
  const refused = { type: 'whatsapp.thread_control.refused' as const, refusal: { ticketId: TICKET.ticketId, action: 'pass', error: { code: 10, title: 'No permission' } } };
  expect(ticket.send(refused)).toEqual([{ type: 'recordTicketEvent', params: { type: 'thread_control_refused', data: { action: 'pass', code: 10, title: 'No permission' } } }]);
  ticket.send(giveBack);
  expect(ticket.send({ ...refused, refusal: { ticketId: TICKET.ticketId, action: 'take' } })).toEqual([
    { type: 'recordTicketEvent', params: { type: 'thread_control_refused', data: { action: 'take' } } },
  ]);
});

describe('a WhatsApp call from the user', () => {
  const call = (fields: Partial<CallEvent>): CallEvent => ({
    user: { phone: TICKET.conversationKey },
    callId: 'wacid.1',
    event: 'connect',
    timestamp: at(T0, 20),
    ...fields,
  });

  test('is recorded on the ticket and told to the CRM, with how it went when Meta says', () => {
    const ticket = heldTicket();
    const connect = { callId: 'wacid.1', event: 'connect', at: at(T0, 20) };
    expect(ticket.send({ type: 'whatsapp.call', call: call({}) })).toEqual([
      { type: 'recordTicketEvent', params: { type: 'call', data: connect } },
      { type: 'reportToCrm', params: { reason: 'call', details: { call: connect } } },
    ]);
    const ended = call({ event: 'terminate', direction: 'USER_INITIATED', status: 'COMPLETED', durationS: 95, timestamp: at(T0, 115) });
    const details = { callId: 'wacid.1', event: 'terminate', at: at(T0, 115), direction: 'USER_INITIATED', status: 'COMPLETED', durationS: 95 };
    expect(ticket.send({ type: 'whatsapp.call', call: ended })).toEqual([
      { type: 'recordTicketEvent', params: { type: 'call', data: details } },
      { type: 'reportToCrm', params: { reason: 'call', details: { call: details } } },
    ]);
  });

  test('a call that never connected keeps its zero duration', () => {
    const ticket = simulateTicket();
    const [recorded] = ticket.send({ type: 'whatsapp.call', call: call({ event: 'terminate', status: 'FAILED', durationS: 0 }) });
    expect(recorded!.params).toEqual({ type: 'call', data: { callId: 'wacid.1', event: 'terminate', at: at(T0, 20), status: 'FAILED', durationS: 0 } });
  });
});
