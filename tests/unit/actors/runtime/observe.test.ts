import { describe, expect, test } from 'bun:test';
import { initialTransition, transition } from 'xstate';
import { createHandoverMachine } from '../../../../src/actors/handover';
import {
  AfterCommit,
  droppedLine,
  firingLine,
  handoverObservations,
  milestoneLine,
  quietLine,
  rejectedEventLine,
  ticketEventLine,
  unchangedTicketLine,
  unknownSurveyTicketLine,
  unknownTicketLine,
} from '../../../../src/actors/runtime/observe';
import type { PipelineEvent } from '../../../../src/domain/events';
import { POLICY, TICKET } from '../../../support/simulated-clock';

const PHONE = TICKET.conversationKey;
const LONG_DIGIT_RUN = /\d{10,}/;

describe('the milestone log lines', () => {
  for (const milestone of ['agent_required', 'bot_to_human', 'human_to_bot'] as const) {
    test(`${milestone} names the ticket and never the whole phone`, () => {
      const line = milestoneLine(milestone, TICKET.ticketId, PHONE);
      expect(line.fields).toMatchObject({ event: `handover.${milestone}`, ticketId: TICKET.ticketId });
      expect(line.message).toContain(TICKET.ticketId);
      expect(JSON.stringify(line)).not.toMatch(LONG_DIGIT_RUN);
    });
  }
});

describe('the ticket events a support engineer looks for', () => {
  test('a key that is a BSUID is masked as a BSUID, its country prefix kept', () => {
    const line = ticketEventLine('escalated', TICKET.ticketId, 'CO.1047385771169864', { step: 1 });
    expect(line?.fields).toMatchObject({ conversationKey: 'CO.10473*********64' });
  });

  test('an escalation is logged with its data and the phone masked', () => {
    const line = ticketEventLine('escalated', TICKET.ticketId, PHONE, { step: 1 });
    expect(line).toEqual({
      fields: { event: 'ticket.escalated', ticketId: TICKET.ticketId, conversationKey: '57300*****33', step: 1 },
      message: `ticket ${TICKET.ticketId}: escalated`,
    });
  });

  test('routine events are not logged', () => {
    expect(ticketEventLine('requested', TICKET.ticketId, PHONE, {})).toBeNull();
  });
});

describe('the handover histograms', () => {
  const machine = createHandoverMachine(POLICY);
  const [waiting] = initialTransition(machine, TICKET);
  const takenAt = '2026-11-30T15:02:00.000Z';
  const [withAgent] = transition(machine, waiting, { type: 'crm.handover.bot_to_human', at: takenAt, agent: { id: 'ag-1', name: 'Laura' } });

  test('the first agent taking the ticket observes the wait since the request', () => {
    expect(handoverObservations('agent_connected', withAgent.context, takenAt)).toEqual([
      { histogram: 'handoverWait', labels: { category: 'soporte_agente' }, seconds: 120 },
    ]);
  });

  test('another ticket event at the moment of assignment observes nothing', () => {
    expect(handoverObservations('agent_reminded', withAgent.context, takenAt)).toEqual([]);
  });

  test('a transfer to another agent observes nothing: the first assignment stands', () => {
    expect(handoverObservations('agent_connected', withAgent.context, '2026-11-30T15:30:00.000Z')).toEqual([]);
  });

  test('a close observes the duration by category and close reason', () => {
    const [closed] = transition(machine, withAgent, { type: 'crm.handover.human_to_bot', at: '2026-11-30T15:10:00.000Z' });
    expect(handoverObservations('closed', closed.context, '2026-11-30T15:10:00.000Z')).toEqual([
      { histogram: 'ticketDuration', labels: { category: 'soporte_agente', close_reason: 'resolved' }, seconds: 600 },
    ]);
  });
});

describe('the lines a support engineer acts on', () => {
  test('every lifecycle step that moves a ticket without anyone asking is logged; its words say which', () => {
    for (const type of ['escalated', 'supervisor_queue', 'agent_reminded', 'out_of_hours', 'agent_message_refused', 'closed']) {
      expect(ticketEventLine(type, TICKET.ticketId, PHONE, {})).toEqual({
        fields: { event: `ticket.${type}`, ticketId: TICKET.ticketId, conversationKey: '57300*****33' },
        message: `ticket ${TICKET.ticketId}: ${type.replace(/_/g, ' ')}`,
      });
    }
    expect(ticketEventLine('supervisor_queue', TICKET.ticketId, PHONE, {})!.message).toBe(`ticket ${TICKET.ticketId}: supervisor queue`);
  });

  test('a deadline that acted says how late it fired, the key masked', () => {
    expect(firingLine({ timer: 'assign', dueAt: '2026-11-30T15:01:00.000Z', ticketId: 'TK-1' }, PHONE, '2026-11-30T15:01:02.500Z')).toEqual({
      fields: { event: 'timer.fired', ticketId: 'TK-1', conversationKey: '57300*****33', timer: 'assign', dueAt: '2026-11-30T15:01:00.000Z', lateMs: 2500 },
      message: 'deadline fired',
    });
  });

  test('why an event went to no machine: a stale deadline (debug), a thread control or a call with no ticket; anything else says nothing', () => {
    const event = <T extends PipelineEvent['type']>(type: T, data: Extract<PipelineEvent, { type: T }>['data']) =>
      ({ type, key: PHONE, id: 'e-1', at: '2026-11-30T15:00:00.000Z', data }) as PipelineEvent;
    expect(droppedLine(event('timer.fired', { timer: 'assign', dueAt: 'D', ticketId: 'TK-1' }))).toEqual({
      level: 'debug',
      fields: { event: 'timer.stale', ticketId: 'TK-1', timer: 'assign', dueAt: 'D' },
      message: 'deadline moved or cleared before it fired',
    });
    expect(droppedLine(event('meta.thread_control', { event: 'pass_thread_control', toCrm: true }))).toEqual({
      fields: { event: 'thread_control.unmatched', conversationKey: '57300*****33', control: 'pass_thread_control' },
      message: 'thread control event names no open ticket',
    });
    const call = { user: { phone: PHONE }, callId: 'wacid.1', event: 'connect' as const, timestamp: 'T' };
    expect(droppedLine(event('whatsapp.call', call))).toEqual({
      fields: { event: 'call.no_ticket', conversationKey: '57300*****33', call: 'connect' },
      message: 'a user called the business number without an open ticket: nothing recorded',
    });
    expect(droppedLine(event('whatsapp.history', { user: { phone: PHONE }, waMessageId: 'w', timestamp: 'T', type: 'text', fromBusiness: false }))).toBeNull();
  });

  test("why the bot kept quiet, at debug, the key masked", () => {
    expect(quietLine(PHONE, 'thread_not_owned')).toEqual({
      level: 'debug',
      fields: { event: 'bot.quiet', conversationKey: '57300*****33', reason: 'thread_not_owned' },
      message: 'another responder owns the thread: the bot does not answer',
    });
    expect(quietLine(PHONE, 'person_answering').message).toBe('a person is answering from the WhatsApp Business app: the bot does not answer');
  });

  test('events a ticket cannot take: unknown and refused warn, a repeat is debug only', () => {
    expect(unknownTicketLine('TK-1', 'crm.message')).toEqual({
      level: 'warn',
      fields: { event: 'ticket.unknown', ticketId: 'TK-1', type: 'crm.message' },
      message: 'event for an unknown ticket dropped',
    });
    expect(rejectedEventLine('TK-1', 'crm.message', 'closed')).toEqual({
      level: 'warn',
      fields: { event: 'ticket.event_rejected', ticketId: 'TK-1', type: 'crm.message', state: 'closed' },
      message: 'ticket state does not accept this event',
    });
    expect(unchangedTicketLine('TK-1', 'crm.handover.bot_to_human')).toEqual({
      level: 'debug',
      fields: { event: 'ticket.unchanged', ticketId: 'TK-1', type: 'crm.handover.bot_to_human' },
      message: 'event changes nothing on the ticket',
    });
    expect(unknownSurveyTicketLine('TK-1')).toEqual({
      level: 'warn',
      fields: { event: 'survey.unknown_ticket', ticketId: 'TK-1' },
      message: 'survey outcome for an unknown ticket',
    });
  });
});

describe('after the commit', () => {
  test('logs each line at its level (info when none), counts billable messages by category and observes each histogram', () => {
    const afterCommit = new AfterCommit();
    expect(afterCommit.observations).toEqual([]);
    afterCommit.log({ fields: { event: 'a' }, message: 'plain' });
    afterCommit.log({ level: 'warn', fields: { event: 'b' }, message: 'warned' });
    afterCommit.log(null);
    afterCommit.countBillable('marketing');
    afterCommit.countBillable('marketing');
    afterCommit.countBillable('utility');
    afterCommit.observe([
      { histogram: 'handoverWait', labels: { category: 'soporte_agente' }, seconds: 120 },
      { histogram: 'ticketDuration', labels: { category: 'soporte_agente', close_reason: 'resolved' }, seconds: 600 },
    ]);
    const logged: [string, unknown, string][] = [];
    const logger = Object.fromEntries(['info', 'warn', 'debug'].map((level) => [level, (fields: unknown, message: string) => logged.push([level, fields, message])]));
    const counted: [unknown, number][] = [];
    const observed: [string, unknown, number][] = [];
    const histogram = (name: string) => ({ observe: (labels: unknown, seconds: number) => observed.push([name, labels, seconds]) });
    const metrics = { billableMessages: { inc: (labels: unknown, count: number) => counted.push([labels, count]) }, handoverWait: histogram('wait'), ticketDuration: histogram('duration') };
    afterCommit.run(logger as never, metrics as never);
    expect(logged).toEqual([
      ['info', { event: 'a' }, 'plain'],
      ['warn', { event: 'b' }, 'warned'],
    ]);
    expect(counted).toEqual([
      [{ category: 'marketing' }, 2],
      [{ category: 'utility' }, 1],
    ]);
    expect(observed).toEqual([
      ['wait', { category: 'soporte_agente' }, 120],
      ['duration', { category: 'soporte_agente', close_reason: 'resolved' }, 600],
    ]);
    // A runtime built without the billing counter still runs.
    afterCommit.run(logger as never, { handoverWait: histogram('wait'), ticketDuration: histogram('duration') } as never);
  });

  test("a traced event's lines carry its trace id; an untraced one's do not", () => {
    const afterCommit = new AfterCommit();
    afterCommit.applying({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    afterCommit.log({ fields: { event: 'a' }, message: 'm' });
    afterCommit.applying({});
    afterCommit.log({ fields: { event: 'b' }, message: 'm' });
    expect(afterCommit.lines.map((line) => line.fields)).toEqual([{ event: 'a', traceId: '0af7651916cd43dd8448eb211c80319c' }, { event: 'b' }]);
  });
});

test('a close without a close time, or another event, observes nothing', () => {
  const machine = createHandoverMachine(POLICY);
  const [waiting] = initialTransition(machine, TICKET);
  expect(handoverObservations('closed', waiting.context, TICKET.requestedAt)).toEqual([]);
  expect(handoverObservations('escalated', { ...waiting.context, closedAt: TICKET.requestedAt }, TICKET.requestedAt)).toEqual([]);
  expect(handoverObservations('agent_connected', { ...waiting.context, closedAt: TICKET.requestedAt, closeReason: null }, 'x')).toEqual([]);
  const closedWithoutReason = { ...waiting.context, closedAt: '2026-11-30T15:01:00.000Z', closeReason: null };
  expect(handoverObservations('closed', closedWithoutReason, 'x')).toEqual([
    { histogram: 'ticketDuration', labels: { category: 'soporte_agente', close_reason: 'unknown' }, seconds: 60 },
  ]);
});
