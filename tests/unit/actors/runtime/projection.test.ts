import { businessNumbers } from '../../../../src/domain/business-numbers';
import { describe, expect, test } from 'bun:test';
import { initialTransition, transition } from 'xstate';
import { createHandoverMachine } from '../../../../src/actors/handover';
import { kpiRow, projectActors, projectConversation, projectTicket } from '../../../../src/actors/runtime/projection';
import { createConversationMachine } from '../../../../src/actors/conversation';
import { OPEN_VOICE } from '../../../../src/domain/bot-voice';
import { CONVERSATION_FIXED, KPI_FIXED, TICKET_FIXED } from '../../../../src/db/runtime-store';
import { updatableColumns } from '../../../../src/db/bulk';
import { conversations, ticketKpis, tickets } from '../../../../src/db/schema';
import { POLICY, TICKET } from '../../../support/simulated-clock';

const machine = createHandoverMachine(POLICY);

describe('the columns a later write may change, read from the table definitions', () => {
  test("a ticket's: all but its identity and request (and the revision, counted apart)", () => {
    expect(updatableColumns(tickets, TICKET_FIXED).sort()).toEqual(
      [
        'status',
        'phase',
        'closeReason',
        'agentId',
        'agentName',
        'assignedAt',
        'firstAgentReplyAt',
        'closedAt',
        'lastActivityAt',
        'lastUserMessageAt',
        'priority',
        'escalations',
        'messageCount',
        'csat',
        'surveyStatus',
        'snapshot',
        // Set on tickets from before it was kept, the first time they move.
        'businessPhoneNumberId',
      ].sort(),
    );
  });

  test("a KPI row's: what a transition changes, never the durations Postgres computes", () => {
    const columns = updatableColumns(ticketKpis, KPI_FIXED);
    expect(columns.sort()).toEqual(
      [
        'businessPhoneNumberId',
        'assignedAt',
        'firstAgentReplyAt',
        'closedAt',
        'status',
        'closeReason',
        'priority',
        'agentId',
        'agentName',
        'escalations',
        'csat',
        'surveyStatus',
      ].sort(),
    );
    expect(columns).not.toContain('waitSeconds');
  });

  test("a conversation's: its state, snapshot, update time, the user's ids and the privacy notice they were sent", () => {
    expect(updatableColumns(conversations, CONVERSATION_FIXED).sort()).toEqual([
      'botPausedUntil',
      'bsuid',
      'parentBsuid',
      'privacyNoticeSentAt',
      'privacyNoticeVersion',
      'snapshot',
      'state',
      'threadOwner',
      'updatedAt',
      'userPhone',
      'username',
    ]);
  });
});

describe("a ticket's row, projected from its machine", () => {
  const [opened] = initialTransition(machine, TICKET);
  const [withAgent] = transition(machine, opened, { type: 'crm.handover.bot_to_human', at: '2026-11-30T15:05:00.000Z', agent: { id: 'ag-1', name: 'Laura' } });

  test('carries the status, phase and agent the status endpoint reads', () => {
    const row = projectTicket(machine, { snapshot: withAgent, dirty: true, csat: null, surveyStatus: null, kpisAsStored: null }, businessNumbers(''));
    expect(row).toMatchObject({
      id: TICKET.ticketId,
      status: 'active',
      phase: 'with_agent',
      agentId: 'ag-1',
      agentName: 'Laura',
      assignedAt: new Date('2026-11-30T15:05:00.000Z'),
      closedAt: null,
      messageCount: 0,
    });
    expect((row.snapshot as { value: string }).value).toBe('withAgent');
  });

  test('and its KPI row holds the same values', () => {
    const row = projectTicket(machine, { snapshot: withAgent, dirty: true, csat: 5, surveyStatus: 'answered', kpisAsStored: null }, businessNumbers(''));
    expect(kpiRow(row)).toEqual({
      ticketId: TICKET.ticketId,
      requestedAt: new Date(TICKET.requestedAt),
      assignedAt: new Date('2026-11-30T15:05:00.000Z'),
      firstAgentReplyAt: null,
      closedAt: null,
      status: 'active',
      closeReason: null,
      category: 'soporte_agente',
      priority: 'media',
      businessPhoneNumberId: null,
      agentId: 'ag-1',
      agentName: 'Laura',
      escalations: 0,
      csat: 5,
      surveyStatus: 'answered',
    });
  });
});

describe('what a batch writes of its actors', () => {
  const [opened] = initialTransition(machine, TICKET);

  test("a served number's ticket keeps it in the KPI row", () => {
    const row = projectTicket(machine, { snapshot: opened, dirty: true, csat: null, surveyStatus: null, kpisAsStored: null }, businessNumbers('111', '111,222'));
    expect(kpiRow({ ...row, businessPhoneNumberId: '222' }).businessPhoneNumberId).toBe('222');
  });

  test("a KPI row is written only when it changed from the one stored", () => {
    const machines = { conversationMachine: createConversationMachine({ surveyTimeoutS: 60 }), handoverMachine: machine, handoverPolicy: POLICY, numbers: businessNumbers('') };
    const state = { snapshot: opened, dirty: true, csat: null, surveyStatus: null, kpisAsStored: null };
    const first = projectActors(machines, { conversations: [], tickets: [state] }, new Date(TICKET.requestedAt));
    expect(first.kpis).toHaveLength(1);
    const asStored = JSON.stringify(first.kpis[0]);
    expect(projectActors(machines, { conversations: [], tickets: [{ ...state, kpisAsStored: asStored }] }, new Date()).kpis).toEqual([]);
  });

  test("a conversation's row keeps the user's username and parent BSUID when WhatsApp gave them", () => {
    const conversationMachine = createConversationMachine({ surveyTimeoutS: 60 });
    const [snapshot] = initialTransition(conversationMachine, { conversationKey: 'CO.1' });
    const ids = { bsuid: 'CO.1', username: '@ana', parentBsuid: 'CO.ENT.9' };
    const state = { snapshot, ids, voice: OPEN_VOICE, notice: { version: 'v2', sentAt: TICKET.requestedAt }, createdAt: TICKET.requestedAt, dirty: true };
    expect(projectConversation(conversationMachine, 'CO.1', state, new Date(TICKET.requestedAt))).toMatchObject({
      userPhone: null,
      bsuid: 'CO.1',
      username: '@ana',
      parentBsuid: 'CO.ENT.9',
      privacyNoticeVersion: 'v2',
      privacyNoticeSentAt: new Date(TICKET.requestedAt),
    });
  });
});
