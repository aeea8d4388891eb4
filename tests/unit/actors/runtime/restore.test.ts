import { describe, expect, test } from 'bun:test';
import { createConversationMachine } from '../../../../src/actors/conversation';
import { createHandoverMachine, isClosed } from '../../../../src/actors/handover';
import { legacyDeadlines, restoreConversation, restoreTicket } from '../../../../src/actors/runtime/restore';
import type { Ticket } from '../../../../src/db/schema';
import { POLICY } from '../../../support/simulated-clock';

const handover = createHandoverMachine(POLICY);
const conversation = createConversationMachine({ surveyTimeoutS: 600 });
const NOW = '2026-12-01T12:00:00.000Z';
const LAST_ACTIVITY = '2026-12-01T09:30:00.000Z';

/** A handover context as the first release persisted it: no deadlines, no escalation ladder, no window. */
const beforeLifecycleRules = {
  ticketId: 'TK-2026-000007',
  phone: '573001112233',
  category: 'soporte_agente',
  priority: 'media',
  customer: { customerId: 'C-7', customerName: 'Ana', isInactive: false },
  requestedAt: '2026-12-01T09:00:00.000Z',
  proposedAgent: null,
  agent: { id: 'ag-1', name: 'Laura' },
  assignedAt: '2026-12-01T09:10:00.000Z',
  firstAgentReplyAt: '2026-12-01T09:12:00.000Z',
  closedAt: null,
  closeReason: null,
  lastActivityAt: LAST_ACTIVITY,
  messageCount: 4,
  waitingNoticeSent: true,
};

function ticketRow(value: string, context: Record<string, unknown>, extra: Partial<Ticket> = {}): Ticket {
  return {
    id: 'TK-2026-000007',
    conversationKey: '573001112233',
    businessPhoneNumberId: null,
    customerId: 'C-7',
    customerName: 'Ana',
    category: 'soporte_agente',
    priority: 'media',
    status: value === 'waitingAgent' ? 'pending' : value === 'withAgent' ? 'active' : 'closed',
    phase: 'with_agent',
    closeReason: null,
    agentId: 'ag-1',
    agentName: 'Laura',
    requestedAt: new Date('2026-12-01T09:00:00.000Z'),
    assignedAt: new Date('2026-12-01T09:10:00.000Z'),
    firstAgentReplyAt: new Date('2026-12-01T09:12:00.000Z'),
    closedAt: null,
    lastActivityAt: new Date(LAST_ACTIVITY),
    lastUserMessageAt: null,
    escalations: 0,
    messageCount: 4,
    csat: null,
    surveyStatus: null,
    snapshot: { status: value === 'closed' ? 'done' : 'active', value, context, children: {}, historyValue: {} },
    revision: 3,
    ...extra,
  };
}

describe('a ticket persisted before the lifecycle rules', () => {
  test("with an agent: it gets the idle deadline (WhatsApp's window from its last activity) and is marked to be written", () => {
    const state = restoreTicket(handover, POLICY, ticketRow('withAgent', beforeLifecycleRules), NOW);
    expect(state.snapshot.value).toBe('withAgent');
    expect(state.snapshot.context.deadlines).toEqual({ idle: '2026-12-02T09:30:00.000Z' });
    expect(state.armLegacyDeadlines).toBe(true);
    expect(state.dirty).toBe(true);
  });

  test('still waiting: it is re-requested one assign timeout from now, besides the idle deadline', () => {
    const state = restoreTicket(handover, POLICY, ticketRow('waitingAgent', { ...beforeLifecycleRules, agent: null }), NOW);
    expect(state.snapshot.context.deadlines).toEqual({ idle: '2026-12-02T09:30:00.000Z', assign: '2026-12-01T12:01:00.000Z' });
  });

  test('its missing fields take the defaults of a fresh ticket; the window opens at its last activity', () => {
    const { context } = restoreTicket(handover, POLICY, ticketRow('withAgent', beforeLifecycleRules), NOW).snapshot;
    expect(context).toMatchObject({ queuePosition: null, ladderStep: 0, escalations: 0, supervisorQueued: false, agentReminded: false });
    expect(context.lastUserMessageAt).toBe(LAST_ACTIVITY);
    expect(context.messageCount).toBe(4);
  });

  test('its key, stored as `phone` before the key was named for what it holds, comes back as the conversation key', () => {
    const { context } = restoreTicket(handover, POLICY, ticketRow('withAgent', beforeLifecycleRules), NOW).snapshot;
    expect(context.conversationKey).toBe('573001112233');
    expect(context).not.toHaveProperty('phone');
  });

  test('without a last activity, the idle deadline counts from now', () => {
    const { lastActivityAt: _none, ...context } = beforeLifecycleRules;
    const state = restoreTicket(handover, POLICY, ticketRow('withAgent', context), NOW);
    expect(state.snapshot.context.deadlines).toEqual({ idle: '2026-12-02T12:00:00.000Z' });
  });

  test('closed: it stays closed with no deadline and nothing to write', () => {
    const closed = { ...beforeLifecycleRules, closedAt: '2026-12-01T10:00:00.000Z', closeReason: 'resolved' };
    const state = restoreTicket(handover, POLICY, ticketRow('closed', closed, { closeReason: 'resolved' }), NOW);
    expect(isClosed(state.snapshot.value)).toBe(true);
    expect(state.snapshot.context.deadlines).toEqual({});
    expect(state.armLegacyDeadlines).toBe(false);
    expect(state.dirty).toBe(false);
  });
});

describe('a ticket persisted under the lifecycle rules', () => {
  test('comes back as it was: its deadlines untouched, nothing to write', () => {
    const { phone, ...earlier } = beforeLifecycleRules;
    const current = { ...earlier, conversationKey: phone, lastUserMessageAt: LAST_ACTIVITY, ladderStep: 1, escalations: 1, deadlines: { agentReply: NOW } };
    const state = restoreTicket(handover, POLICY, ticketRow('withAgent', current, { csat: null, surveyStatus: null }), NOW);
    expect(state.snapshot.context.deadlines).toEqual({ agentReply: NOW });
    expect(state.snapshot.context.escalations).toBe(1);
    expect(state.snapshot.context.conversationKey).toBe('573001112233');
    expect(state.dirty).toBe(false);
    expect(state.armLegacyDeadlines).toBe(false);
  });

  test('keeps the survey outcome and the KPI row as stored, to tell later whether they changed', () => {
    const row = ticketRow('closed', { ...beforeLifecycleRules, deadlines: {} }, { csat: 4, surveyStatus: 'answered', closeReason: 'resolved' });
    const state = restoreTicket(handover, POLICY, row, NOW);
    expect(state.csat).toBe(4);
    expect(state.surveyStatus).toBe('answered');
    expect(JSON.parse(state.kpisAsStored!)).toMatchObject({ ticketId: row.id, csat: 4, surveyStatus: 'answered', closeReason: 'resolved', escalations: 0 });
  });
});

describe('legacyDeadlines', () => {
  test('an active ticket gets the idle deadline only', () => {
    expect(legacyDeadlines({ windowS: 3600, assignTimeoutS: 60 }, 'withAgent', LAST_ACTIVITY, NOW)).toEqual({ idle: '2026-12-01T10:30:00.000Z' });
  });
});

describe('a conversation persisted before the deadlines existed', () => {
  test('comes back in its state with no deadline armed and nothing to write', () => {
    const createdAt = new Date('2026-11-01T08:00:00.000Z');
    const persisted = {
      value: 'inTicket',
      context: {
        phone: '573001112233',
        customer: null,
        authAttempts: 0,
        intent: null,
        pendingDocument: null,
        ticketId: 'TK-2026-000007',
        surveyTicketId: null,
      },
    };
    const state = restoreConversation(conversation, { snapshot: persisted, createdAt });
    expect(state.snapshot.value).toBe('inTicket');
    // Stored before the key was named for what it holds: `phone` comes back as the conversation key.
    expect(state.snapshot.context.conversationKey).toBe('573001112233');
    expect(state.snapshot.context).not.toHaveProperty('phone');
    expect(state.snapshot.context.deadlines).toEqual({});
    expect(state.snapshot.context.ticketId).toBe('TK-2026-000007');
    expect(state.createdAt).toBe(createdAt.toISOString());
    expect(state.dirty).toBe(false);
  });

  test('in the survey, its survey deadline as stored is kept', () => {
    const persisted = { value: 'survey', context: { phone: '573001112233', surveyTicketId: 'TK-2026-000007', deadlines: { survey: NOW } } };
    const state = restoreConversation(conversation, { snapshot: persisted, createdAt: new Date(NOW) });
    expect(state.snapshot.context.deadlines).toEqual({ survey: NOW });
  });
});

describe('a conversation as stored today', () => {
  test('keeps its conversation key, even beside a stray `phone`', () => {
    const persisted = (context: Record<string, unknown>) => ({ value: 'menu', context: { deadlines: {}, ...context } });
    const current = restoreConversation(conversation, { snapshot: persisted({ conversationKey: 'CO.1234567890' }), createdAt: new Date(NOW) });
    expect(current.snapshot.context.conversationKey).toBe('CO.1234567890');
    const both = restoreConversation(conversation, { snapshot: persisted({ conversationKey: 'CO.1234567890', phone: '573001112233' }), createdAt: new Date(NOW) });
    expect(both.snapshot.context.conversationKey).toBe('CO.1234567890');
  });

  test('the privacy notice it was sent, only when both its version and its time were kept; the thread owner and the pause', () => {
    const snapshot = { value: 'menu', context: { conversationKey: '573001112233', deadlines: {} } };
    const sent = restoreConversation(conversation, {
      snapshot,
      createdAt: new Date(NOW),
      privacyNoticeVersion: 'v2',
      privacyNoticeSentAt: new Date(NOW),
      threadOwner: 'crm',
      botPausedUntil: new Date(NOW),
    });
    expect(sent.notice).toEqual({ version: 'v2', sentAt: NOW });
    expect(sent.voice).toEqual({ threadOwner: 'crm', botPausedUntil: NOW });
    const halfKept = restoreConversation(conversation, { snapshot, createdAt: new Date(NOW), privacyNoticeVersion: 'v2', privacyNoticeSentAt: null });
    expect(halfKept.notice).toBeNull();
    expect(halfKept.voice).toEqual({ threadOwner: null, botPausedUntil: null });
  });
});
