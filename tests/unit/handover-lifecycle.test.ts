import { describe, expect, test } from 'bun:test';
import type { InboundMessage } from '../../src/domain/events';
import { createBusinessCalendar } from '../../src/domain/business-hours';
import { phaseOf, type HandoverContext } from '../../src/actors/handover';
import { at, MONDAY_10AM_BOGOTA, simulateConversation, simulateTicket, TICKET } from '../support/simulated-clock';

const T0 = MONDAY_10AM_BOGOTA;
let sequence = 0;
/** A text the user wrote at `writtenAt` (WhatsApp's timestamp), by default when the ticket was requested. */
const userText = (text: string, writtenAt = T0): InboundMessage => ({
  user: { phone: TICKET.conversationKey },
  waMessageId: `wamid.${++sequence}`,
  timestamp: writtenAt,
  type: 'text',
  text,
});
const agentText = (message: string) => ({
  type: 'crm.message' as const,
  message: { ticketId: TICKET.ticketId, agentId: 'ag-1', message, messageType: 'text' as const },
});
const takeOver = { type: 'crm.handover.bot_to_human' as const, agent: { id: 'ag-1', name: 'Laura' } };
const phase = (ticket: ReturnType<typeof simulateTicket>) => phaseOf(ticket.value, ticket.snapshot.context as HandoverContext);

describe('assignment timeout and the escalation ladder', () => {
  test('no agent: two re-requests with higher priority, the supervisor queue, then the emergency number', () => {
    const ticket = simulateTicket({ supervisorQueue: true, queueUpdateIntervalS: 3600 }, { priority: 'baja' });
    expect(ticket.value).toBe('waitingAgent');
    expect(ticket.context.deadlines.assign).toBe(at(T0, 60));

    ticket.advance(60);
    expect(ticket.effects('notifyCrm')).toEqual([{ status: 'pending', reason: 'escalated' }]);
    expect(ticket.snapshot.context.priority).toBe('media');
    expect(phase(ticket)).toBe('escalated');

    ticket.advance(60);
    expect(ticket.effects('notifyCrm').at(-1)).toEqual({ status: 'pending', reason: 'escalated' });
    expect(ticket.snapshot.context.priority).toBe('alta');

    ticket.advance(60);
    expect(ticket.effects('notifyCrm').at(-1)).toEqual({ status: 'pending', reason: 'supervisor_queue' });
    expect(phase(ticket)).toBe('supervisor_queue');

    ticket.advance(59);
    expect(ticket.value).toBe('waitingAgent');
    ticket.advance(1);
    expect(ticket.value).toBe('closed');
    expect(ticket.snapshot.context.closeReason).toBe('fallback');
    expect(ticket.effects('notifyCrm').at(-1)).toEqual({ status: 'closed', reason: 'fallback' });
    expect(ticket.effects('reply').map((reply) => reply.text)).toEqual(['connecting', 'fallback']);
    expect(ticket.effects('ticketClosed')).toEqual([{ reason: 'fallback' }]);
    expect(ticket.times('notifyCrm')).toEqual([at(T0, 60), at(T0, 120), at(T0, 180), at(T0, 240)]);
    expect(ticket.effects('recordTicketEvent').map((event) => event.type)).toEqual(['requested', 'escalated', 'escalated', 'supervisor_queue', 'closed']);
    expect(ticket.effects('recordTicketEvent')[1]!.data).toEqual({ step: 1, priority: 'media', timer: 'assign' });
    expect(ticket.snapshot.context.escalations).toBe(2);
    expect(ticket.context.deadlines).toEqual({});
  });

  test('without the supervisor queue and with no re-request allowed, the first timeout is the fallback', () => {
    const ticket = simulateTicket({ maxEscalations: 0, queueUpdateIntervalS: 3600 });
    ticket.advance(60);
    expect(ticket.value).toBe('closed');
    expect(ticket.snapshot.context.closeReason).toBe('fallback');
    expect(ticket.times('ticketClosed')).toEqual([at(T0, 60)]);
  });

  test('a deadline that fires twice, or after it moved, acts once', () => {
    const ticket = simulateTicket({ queueUpdateIntervalS: 3600 });
    const firstDue = ticket.context.deadlines.assign!;
    ticket.advance(60);
    expect(ticket.effects('notifyCrm')).toHaveLength(1);
    // The same firing again (a second instance, a redelivery) and a firing for the old due time.
    expect(ticket.send({ type: 'timer.fired', timer: 'assign', dueAt: firstDue })).toEqual([]);
    expect(ticket.snapshot.can({ type: 'timer.fired', at: ticket.now, timer: 'assign', dueAt: firstDue })).toBe(false);
    expect(ticket.effects('notifyCrm')).toHaveLength(1);
  });

  test('an agent taking the ticket stops the waiting deadlines', () => {
    const ticket = simulateTicket({ queueUpdateIntervalS: 3600, agentReplyTimeoutS: 10_000 });
    ticket.advance(30);
    ticket.send(takeOver);
    expect(Object.keys(ticket.context.deadlines).sort()).toEqual(['agentReply', 'idle']);
    ticket.advance(3600);
    expect(ticket.effects('notifyCrm')).toEqual([]);
    expect(ticket.value).toBe('withAgent');
  });
});

describe('agent silence', () => {
  test('remind the CRM, then climb the ladder to the emergency number', () => {
    const ticket = simulateTicket({ maxEscalations: 1, queueUpdateIntervalS: 3600 });
    ticket.send(takeOver);
    ticket.advance(120);
    expect(ticket.effects('notifyCrm')).toEqual([{ status: 'active', reason: 'agent_reminder' }]);
    expect(phase(ticket)).toBe('agent_reminded');
    ticket.advance(120);
    expect(ticket.effects('notifyCrm').at(-1)).toEqual({ status: 'active', reason: 'escalated' });
    expect(phase(ticket)).toBe('escalated');
    ticket.advance(120);
    expect(ticket.value).toBe('closed');
    expect(ticket.snapshot.context.closeReason).toBe('fallback');
    expect(ticket.effects('reply').at(-1)).toEqual({ text: 'fallback', vars: { ticketId: TICKET.ticketId } });
    expect(ticket.times('notifyCrm')).toEqual([at(T0, 120), at(T0, 240), at(T0, 360)]);
  });

  test('an agent message clears the deadline; the next unanswered user message arms it again, once', () => {
    const ticket = simulateTicket({ queueUpdateIntervalS: 3600 });
    ticket.send(takeOver);
    ticket.advance(100);
    ticket.send(agentText('Hola, soy Laura'));
    expect(ticket.context.deadlines.agentReply).toBeUndefined();
    ticket.advance(1000);
    expect(ticket.effects('notifyCrm')).toEqual([]);

    ticket.send({ type: 'user.message', message: userText('sigo sin internet') });
    const armed = ticket.context.deadlines.agentReply;
    expect(armed).toBe(at(ticket.now, 120));
    ticket.advance(60);
    ticket.send({ type: 'user.message', message: userText('¿hola?') });
    expect(ticket.context.deadlines.agentReply).toBe(armed!);
    ticket.advance(60);
    expect(ticket.effects('notifyCrm')).toEqual([{ status: 'active', reason: 'agent_reminder' }]);
  });
});

describe('the waiting user', () => {
  test('hears from us every interval, with the queue position when the CRM gave one, else the estimate, else plain', () => {
    const plain = simulateTicket({ assignTimeoutS: 10_000 });
    plain.advance(45);
    expect(plain.effects('reply').at(-1)).toEqual({ text: 'queueUpdate', vars: { ticketId: TICKET.ticketId } });
    plain.advance(45);
    expect(plain.times('reply')).toEqual([T0, at(T0, 45), at(T0, 90)]);

    const estimated = simulateTicket({ assignTimeoutS: 10_000 });
    estimated.send({ type: 'crm.agent_request.accepted', agent: { id: 'ag-1', name: 'Laura', estimatedResponseTime: '5-10 minutos' }, queuePosition: null });
    estimated.advance(45);
    expect(estimated.effects('reply').at(-1)).toEqual({
      text: 'queueUpdateEstimate',
      vars: { ticketId: TICKET.ticketId, estimatedResponseTime: '5-10 minutos' },
    });

    const positioned = simulateTicket({ assignTimeoutS: 10_000 });
    positioned.send({ type: 'crm.agent_request.accepted', agent: null, queuePosition: 3 });
    positioned.advance(45);
    expect(positioned.effects('reply').at(-1)).toEqual({ text: 'queueUpdatePosition', vars: { ticketId: TICKET.ticketId, queuePosition: 3 } });
  });

  test('can cancel: closed as cancelled, the CRM told, the user told', () => {
    const ticket = simulateTicket();
    ticket.advance(10);
    ticket.send({ type: 'user.message', message: userText('Cancelar') });
    expect(ticket.value).toBe('closed');
    expect(ticket.snapshot.context.closeReason).toBe('cancelled');
    expect(ticket.effects('notifyCrm')).toEqual([{ status: 'closed', reason: 'cancelled' }]);
    expect(ticket.effects('reply').at(-1)).toEqual({ text: 'cancelled', vars: { ticketId: TICKET.ticketId } });
    expect(ticket.context.deadlines).toEqual({});
  });

  test('silent too long: closed as abandoned; each message of theirs starts the count again', () => {
    const ticket = simulateTicket({ assignTimeoutS: 100_000, queueUpdateIntervalS: 100_000, userAbandonTimeoutS: 600 });
    ticket.advance(500);
    ticket.send({ type: 'user.message', message: userText('¿siguen ahí?') });
    ticket.advance(599);
    expect(ticket.value).toBe('waitingAgent');
    ticket.advance(1);
    expect(ticket.value).toBe('closed');
    expect(ticket.snapshot.context.closeReason).toBe('abandoned');
    expect(ticket.times('ticketClosed')).toEqual([at(T0, 1100)]);
    expect(ticket.effects('notifyCrm')).toEqual([{ status: 'closed', reason: 'abandoned' }]);
    expect(ticket.effects('reply').at(-1)!.text).toBe('abandoned');
  });
});

describe("WhatsApp's 24-hour window", () => {
  const window = { windowS: 1000, agentReplyTimeoutS: 100_000, queueUpdateIntervalS: 100_000 };

  test('an agent message past the window is refused without a template', () => {
    const ticket = simulateTicket(window);
    ticket.send(takeOver);
    ticket.advance(500);
    ticket.send(agentText('¿Sigues ahí?'));
    ticket.advance(600);
    const effects = ticket.send(agentText('Te escribo de nuevo'));
    expect(effects.filter((effect) => effect.type === 'deliverAgentMessage')).toEqual([]);
    expect(effects).toContainEqual({ type: 'recordTicketEvent', params: { type: 'agent_message_refused', data: { reason: 'outside_window' } } });
  });

  test('with a template configured it goes out as the template', () => {
    const ticket = simulateTicket({ ...window, reengageTemplate: true });
    ticket.send(takeOver);
    ticket.advance(500);
    ticket.send(agentText('¿Sigues ahí?'));
    ticket.advance(600);
    ticket.send(agentText('Te escribo de nuevo'));
    expect(ticket.effects('deliverAgentMessage').map((message) => message.asTemplate)).toEqual([false, true]);
  });

  test('the window runs from when the user wrote, not from a late redelivery; a reaction does not open it', () => {
    const ticket = simulateTicket(window);
    ticket.send(takeOver);
    ticket.advance(600);
    // Meta redelivers, 600 s late, a message the user wrote at T0 + 100.
    ticket.send({ type: 'user.message', message: userText('hola de nuevo', at(T0, 100)) });
    expect(ticket.snapshot.context.lastUserMessageAt).toBe(at(T0, 100));
    ticket.send({ type: 'user.message', message: { ...userText('', ticket.now), type: 'reaction' } });
    expect(ticket.snapshot.context.lastUserMessageAt).toBe(at(T0, 100));
    expect(ticket.snapshot.context.messageCount).toBe(1);
    ticket.advance(400);
    ticket.send(agentText('Ya casi'));
    // T0 + 1150: past T0 + 100 + 1000, though not 1000 s after the redelivery.
    ticket.advance(150);
    const effects = ticket.send(agentText('¿Sigues ahí?'));
    expect(effects).toContainEqual({
      type: 'reportAgentMessageFailed',
      params: { reason: 'outside_window', message: { type: 'text', body: '¿Sigues ahí?', waMessageId: null, agentId: 'ag-1' } },
    });
    expect(ticket.effects('deliverAgentMessage').map((message) => message.body)).toEqual(['Ya casi']);
  });

  test('a ticket idle past the window closes, silently, and the bot has the conversation back', () => {
    const ticket = simulateTicket(window);
    ticket.send(takeOver);
    ticket.advance(300);
    ticket.send({ type: 'user.message', message: userText('gracias', ticket.now) });
    ticket.advance(999);
    expect(ticket.value).toBe('withAgent');
    ticket.advance(1);
    expect(ticket.value).toBe('closed');
    expect(ticket.snapshot.context.closeReason).toBe('window_expired');
    expect(ticket.effects('notifyCrm')).toEqual([{ status: 'closed', reason: 'window_expired' }]);
    expect(ticket.effects('reply').map((reply) => reply.text)).toEqual(['connecting', 'agentConnected']);
    expect(ticket.effects('ticketClosed')).toEqual([{ reason: 'window_expired' }]);
  });
});

describe('business hours', () => {
  const calendar = createBusinessCalendar('mon-fri 07:00-19:00, sat 08:00-13:00', '2026-12-08', 'America/Bogota');
  // Monday 30 November 2026, 21:00 in Bogotá: closed until Tuesday 07:00 (12:00 UTC).
  const mondayNight = '2026-12-01T02:00:00.000Z';

  test('out of hours the user is told at once, and the queued ticket escalates only after the opening', () => {
    const ticket = simulateTicket({ calendar }, { requestedAt: mondayNight });
    expect(ticket.effects('reply')[0]).toEqual({
      text: 'outOfHoursQueued',
      vars: { ticketId: TICKET.ticketId, businessHours: 'lun-vie 07:00-19:00, sáb 08:00-13:00' },
    });
    expect(ticket.effects('requestAgent')).toHaveLength(1);
    expect(ticket.context.deadlines.assign).toBe('2026-12-01T12:01:00.000Z');
    ticket.advance(10 * 3600);
    expect(ticket.effects('notifyCrm')).toEqual([]);
    ticket.advance(3600);
    expect(ticket.effects('notifyCrm')[0]).toEqual({ status: 'pending', reason: 'escalated' });
  });

  test('when out-of-hours tickets are not queued, the ticket closes as out_of_hours and no agent is asked for', () => {
    const ticket = simulateTicket({ calendar, outOfHoursQueue: false }, { requestedAt: mondayNight });
    expect(ticket.value).toBe('closed');
    expect(ticket.snapshot.context.closeReason).toBe('out_of_hours');
    expect(ticket.effects('requestAgent')).toEqual([]);
    expect(ticket.effects('reply').map((reply) => reply.text)).toEqual(['outOfHoursClosed']);
    expect(ticket.effects('ticketClosed')).toEqual([{ reason: 'out_of_hours' }]);
  });

  test('a holiday counts as closed', () => {
    // Tuesday 8 December 2026, 10:00 in Bogotá, a holiday: closed until Wednesday 07:00.
    const ticket = simulateTicket({ calendar }, { requestedAt: '2026-12-08T15:00:00.000Z' });
    expect(ticket.effects('reply')[0]!.text).toBe('outOfHoursQueued');
    expect(ticket.context.deadlines.assign).toBe('2026-12-09T12:01:00.000Z');
  });
});

describe('the satisfaction survey after human_to_bot', () => {
  const resolvedTicket = (conversation: ReturnType<typeof simulateConversation>) => {
    conversation.snapshot = conversation.snapshot.machine.resolveState({
      value: 'inTicket',
      context: { ...conversation.snapshot.context, customer: TICKET.customer, ticketId: TICKET.ticketId },
    });
    return conversation.send({ type: 'ticket.closed', ticketId: TICKET.ticketId, reason: 'resolved' });
  };

  test('offered once with a deadline; a typed 1-5 is accepted', () => {
    const conversation = simulateConversation(300);
    expect(resolvedTicket(conversation)).toContainEqual({ type: 'offerSurvey', params: { ticketId: TICKET.ticketId } });
    expect(conversation.context.deadlines.survey).toBe(at(T0, 300));
    conversation.advance(100);
    conversation.send({ type: 'user.message', message: userText('4') });
    expect(conversation.effects('recordCsat')).toEqual([{ ticketId: TICKET.ticketId, score: 4 }]);
    expect(conversation.effects('reply').at(-1)).toEqual({ text: 'surveyThanks' });
    expect(conversation.value).toBe('menu');
    expect(conversation.context.deadlines).toEqual({});
    conversation.advance(1000);
    expect(conversation.effects('closeSurvey')).toEqual([]);
  });

  test('no answer in time is recorded as expired, and the menu waits for the user', () => {
    const conversation = simulateConversation(300);
    resolvedTicket(conversation);
    conversation.advance(299);
    expect(conversation.value).toBe('survey');
    conversation.advance(1);
    expect(conversation.value).toBe('menu');
    expect(conversation.effects('closeSurvey')).toEqual([{ ticketId: TICKET.ticketId, outcome: 'expired' }]);
    expect(conversation.effects('showMenu')).toEqual([]);
  });

  test('anything but a rating skips the survey and is read as a menu choice', () => {
    const conversation = simulateConversation(300);
    resolvedTicket(conversation);
    conversation.send({ type: 'user.message', message: userText('emergencia') });
    expect(conversation.effects('closeSurvey')).toEqual([{ ticketId: TICKET.ticketId, outcome: 'skipped' }]);
    expect(conversation.effects('reply').at(-1)!.text).toBe('emergency');
    expect(conversation.context).toMatchObject({ surveyTicketId: null, deadlines: {} });
  });

  test('a survey firing for a deadline that moved changes nothing', () => {
    const conversation = simulateConversation(300);
    resolvedTicket(conversation);
    expect(conversation.send({ type: 'timer.fired', timer: 'survey', dueAt: at(T0, 299) })).toEqual([]);
    expect(conversation.value).toBe('survey');
  });

  test('only a ticket the agent resolved is surveyed', () => {
    const conversation = simulateConversation(300);
    conversation.snapshot = conversation.snapshot.machine.resolveState({
      value: 'inTicket',
      context: { ...conversation.snapshot.context, customer: TICKET.customer, ticketId: TICKET.ticketId },
    });
    conversation.send({ type: 'ticket.closed', ticketId: TICKET.ticketId, reason: 'fallback' });
    expect(conversation.effects('offerSurvey')).toEqual([]);
    expect(conversation.value).toBe('menu');
  });
});
