import { describe, expect, test } from 'bun:test';
import { initialTransition, transition } from 'xstate';
import { createHandoverMachine } from '../../../../src/actors/handover';
import { handoverObservations, milestoneLine, ticketEventLine } from '../../../../src/actors/runtime/observe';
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
