import { describe, expect, test } from 'bun:test';
import type { PipelineEvent } from '../../../../src/domain/events';
import { route, type LoadedActors } from '../../../../src/actors/runtime/route';
import { OPEN_VOICE, type BotVoice } from '../../../../src/domain/bot-voice';

const PHONE = '573001112233';
const AT = '2026-12-01T15:00:00.000Z';
const DUE = '2026-12-01T14:59:00.000Z';

/** The actors a batch has loaded, as plain data. */
function loaded(
  conversations: Record<string, { ticketId: string | null; deadlines?: Record<string, string>; voice?: BotVoice }>,
  tickets: Record<string, { open: boolean; deadlines?: Record<string, string> }>,
): LoadedActors {
  return {
    conversation: (phone) => conversations[phone] && { deadlines: {}, voice: OPEN_VOICE, ...conversations[phone] },
    ticket: (ticketId) => tickets[ticketId] && { deadlines: {}, ...tickets[ticketId] },
  };
}

const event = <T extends PipelineEvent['type']>(type: T, data: Extract<PipelineEvent, { type: T }>['data']) =>
  ({ type, key: PHONE, id: `${type}-1`, at: AT, data }) as PipelineEvent;

const userText = event('user.message', { user: { phone: PHONE }, waMessageId: 'wamid.1', timestamp: AT, type: 'text', text: 'hola' });

describe("the user's messages", () => {
  test('go to the conversation when the user has no ticket', () => {
    expect(route(userText, loaded({}, {}))).toMatchObject({ to: 'conversation', event: { type: 'user.message', at: AT } });
  });

  test('go to the open ticket while there is one: its handover machine owns them', () => {
    const actors = loaded({ [PHONE]: { ticketId: 'TK-1' } }, { 'TK-1': { open: true } });
    expect(route(userText, actors)).toMatchObject({ to: 'ticket', ticketId: 'TK-1', event: { type: 'user.message' } });
  });

  test('go back to the conversation once that ticket is closed', () => {
    const actors = loaded({ [PHONE]: { ticketId: 'TK-1' } }, { 'TK-1': { open: false } });
    expect(route(userText, actors)).toMatchObject({ to: 'conversation' });
  });
});

describe("the CRM's events go to the ticket they name", () => {
  test('bot_to_human carries the agent; an agent without a name is named by its id', () => {
    const handover = event('crm.handover', { ticketId: 'TK-9', handoverType: 'bot_to_human', agentId: 'ag-1' });
    expect(route(handover, loaded({}, {}))).toEqual({
      to: 'ticket',
      ticketId: 'TK-9',
      event: { type: 'crm.handover.bot_to_human', at: AT, agent: { id: 'ag-1', name: 'ag-1' } },
    });
  });

  test('human_to_bot', () => {
    const handover = event('crm.handover', { ticketId: 'TK-9', handoverType: 'human_to_bot' });
    expect(route(handover, loaded({}, {}))).toEqual({ to: 'ticket', ticketId: 'TK-9', event: { type: 'crm.handover.human_to_bot', at: AT } });
  });

  test("an agent-request answer: accepted with the CRM's queue position, or failed with its error", () => {
    const accepted = event('crm.agent_request.result', { ticketId: 'TK-9', outcome: 'accepted', queuePosition: 3 });
    expect(route(accepted, loaded({}, {}))).toMatchObject({ ticketId: 'TK-9', event: { type: 'crm.agent_request.accepted', agent: null, queuePosition: 3 } });
    const failed = event('crm.agent_request.result', { ticketId: 'TK-9', outcome: 'failed' });
    expect(route(failed, loaded({}, {}))).toMatchObject({ event: { type: 'crm.agent_request.failed', error: 'unknown error' } });
  });
});

describe("Meta's thread control", () => {
  const control = { event: 'pass_thread_control', toCrm: false };

  test("without a ticket id it goes to the ticket the user's conversation names", () => {
    const actors = loaded({ [PHONE]: { ticketId: 'TK-1' } }, {});
    expect(route(event('meta.thread_control', control), actors)).toMatchObject({ to: 'ticket', ticketId: 'TK-1' });
  });

  test('naming no ticket and with none in the conversation, it goes nowhere', () => {
    expect(route(event('meta.thread_control', control), loaded({ [PHONE]: { ticketId: null } }, {}))).toEqual({ to: 'nowhere', reason: 'no_ticket' });
  });
});

describe('a fired deadline', () => {
  test("acts when the ticket's deadline is still armed at that due time", () => {
    const actors = loaded({}, { 'TK-1': { open: true, deadlines: { assign: DUE } } });
    expect(route(event('timer.fired', { ticketId: 'TK-1', timer: 'assign', dueAt: DUE }), actors)).toEqual({
      to: 'ticket',
      ticketId: 'TK-1',
      event: { type: 'timer.fired', at: AT, timer: 'assign', dueAt: DUE },
    });
  });

  test('is stale once the deadline moved (an escalation re-armed it), was cleared, or its ticket is not loaded', () => {
    const fired = event('timer.fired', { ticketId: 'TK-1', timer: 'assign', dueAt: DUE });
    expect(route(fired, loaded({}, { 'TK-1': { open: true, deadlines: { assign: '2026-12-01T15:00:00.000Z' } } }))).toEqual({
      to: 'nowhere',
      reason: 'stale_timer',
    });
    expect(route(fired, loaded({}, { 'TK-1': { open: true, deadlines: {} } }))).toEqual({ to: 'nowhere', reason: 'stale_timer' });
    expect(route(fired, loaded({}, {}))).toEqual({ to: 'nowhere', reason: 'stale_timer' });
  });

  test("without a ticket id it is the conversation's, checked against the conversation's deadlines", () => {
    const fired = event('timer.fired', { timer: 'survey', dueAt: DUE });
    expect(route(fired, loaded({ [PHONE]: { ticketId: null, deadlines: { survey: DUE } } }, {}))).toMatchObject({
      to: 'conversation',
      event: { type: 'timer.fired', timer: 'survey' },
    });
    expect(route(fired, loaded({ [PHONE]: { ticketId: null, deadlines: {} } }, {}))).toEqual({ to: 'nowhere', reason: 'stale_timer' });
  });
});

test('a delivery status goes to the message history, not to a machine', () => {
  const status = { waMessageId: 'wamid.9', status: 'read' as const, timestamp: AT, user: { phone: PHONE } };
  expect(route(event('whatsapp.status', status), loaded({}, {}))).toEqual({ to: 'status', update: status });
});

test('a directory answer goes to the conversation', () => {
  const result = { document: '1010101010', outcome: 'not_found' as const };
  expect(route(event('customer.lookup.result', result), loaded({}, {}))).toEqual({
    to: 'conversation',
    event: { type: 'customer.lookup.completed', at: AT, result },
  });
});

describe('every event, exactly where it goes', () => {
  const open = loaded({ [PHONE]: { ticketId: 'TK-1' } }, { 'TK-1': { open: true } });
  const none = loaded({}, {});
  const echo = { user: { phone: PHONE }, waMessageId: 'wamid.e1', timestamp: AT, type: 'text', text: 'hola', source: 'business_app' as const };
  const history = { user: { phone: PHONE }, waMessageId: 'wamid.h1', timestamp: AT, type: 'text', fromBusiness: false };
  const call = { user: { phone: PHONE }, callId: 'wacid.1', event: 'connect' as const, timestamp: AT };
  const presence = { ticketId: 'TK-1', agentId: 'ag-1', message: { waMessageId: 'wamid.1', historyId: 1 } };
  const refusal = { ticketId: 'TK-1', action: 'pass' };
  const failure = {
    ticketId: 'TK-1',
    outboxKey: 'k#0',
    reason: 'refused' as const,
    sentAs: 'free_form' as const,
    message: { type: 'text', body: 'x', waMessageId: null },
  };
  const agentMessage = { ticketId: 'TK-1', agentId: 'ag-1', message: 'hola', messageType: 'text' as const };

  test('what the business sent, a past chat, a call', () => {
    expect(route(event('whatsapp.echo', echo), open)).toEqual({ to: 'echo', echo, ticketId: 'TK-1' });
    expect(route(event('whatsapp.echo', echo), none)).toEqual({ to: 'echo', echo, ticketId: null });
    expect(route(event('whatsapp.history', history), open)).toEqual({ to: 'history', message: history });
    expect(route(event('whatsapp.call', call), open)).toEqual({ to: 'ticket', ticketId: 'TK-1', event: { type: 'whatsapp.call', at: AT, call } });
    expect(route(event('whatsapp.call', call), none)).toEqual({ to: 'nowhere', reason: 'no_ticket' });
  });

  test("a user's message the bot must not answer goes to the history only, with the reason", () => {
    const owned = loaded({ [PHONE]: { ticketId: null, voice: { threadOwner: 'crm', botPausedUntil: null } } }, {});
    expect(route(userText, owned)).toEqual({ to: 'quiet', reason: 'thread_not_owned' });
  });

  test("a new BSUID, with the phone when the webhook shows it", () => {
    expect(route(event('user.id_changed', { previousBsuid: 'CO.1', bsuid: 'CO.2', phone: PHONE, timestamp: AT }), none)).toEqual({
      to: 'ids',
      ids: { bsuid: 'CO.2', phone: PHONE },
    });
    expect(route(event('user.id_changed', { previousBsuid: 'CO.1', bsuid: 'CO.2', timestamp: AT }), none)).toEqual({ to: 'ids', ids: { bsuid: 'CO.2' } });
  });

  test("the CRM's events go to the ticket they name", () => {
    expect(route(event('crm.handover', { ticketId: 'TK-1', handoverType: 'bot_to_human', agentId: 'ag-1', agentName: 'Laura' }), none)).toEqual({
      to: 'ticket',
      ticketId: 'TK-1',
      event: { type: 'crm.handover.bot_to_human', at: AT, agent: { id: 'ag-1', name: 'Laura' } },
    });
    // An agent without a name is named by their id; without either, both are empty.
    expect(route(event('crm.handover', { ticketId: 'TK-1', handoverType: 'bot_to_human', agentId: 'ag-1' }), none)).toMatchObject({
      event: { agent: { id: 'ag-1', name: 'ag-1' } },
    });
    expect(route(event('crm.handover', { ticketId: 'TK-1', handoverType: 'bot_to_human' }), none)).toMatchObject({ event: { agent: { id: '', name: '' } } });
    expect(route(event('crm.message', agentMessage), none)).toEqual({ to: 'ticket', ticketId: 'TK-1', event: { type: 'crm.message', at: AT, message: agentMessage } });
    expect(route(event('crm.typing', presence), none)).toEqual({ to: 'ticket', ticketId: 'TK-1', event: { type: 'crm.typing', at: AT, presence } });
    expect(route(event('crm.read', presence), none)).toEqual({ to: 'ticket', ticketId: 'TK-1', event: { type: 'crm.read', at: AT, presence } });
  });

  test("WhatsApp's answers about the ticket's own calls go to the ticket", () => {
    expect(route(event('whatsapp.thread_control.refused', refusal), none)).toEqual({
      to: 'ticket',
      ticketId: 'TK-1',
      event: { type: 'whatsapp.thread_control.refused', at: AT, refusal },
    });
    expect(route(event('whatsapp.agent_message.failed', failure), none)).toEqual({
      to: 'ticket',
      ticketId: 'TK-1',
      event: { type: 'whatsapp.agent_message.failed', at: AT, failure },
    });
  });

  test("a thread-control event goes to the ticket it names, else the conversation's, else nowhere", () => {
    const control = { event: 'pass_thread_control', toCrm: true };
    expect(route(event('meta.thread_control', { ...control, ticketId: 'TK-9' }), open)).toEqual({
      to: 'ticket',
      ticketId: 'TK-9',
      event: { type: 'meta.thread_control', at: AT, control: { ...control, ticketId: 'TK-9' } },
    });
    expect(route(event('meta.thread_control', control), open)).toMatchObject({ to: 'ticket', ticketId: 'TK-1' });
    expect(route(event('meta.thread_control', control), none)).toEqual({ to: 'nowhere', reason: 'no_ticket' });
  });

  test("the agent request's answer, accepted or failed", () => {
    expect(route(event('crm.agent_request.result', { ticketId: 'TK-1', outcome: 'accepted' }), none)).toEqual({
      to: 'ticket',
      ticketId: 'TK-1',
      event: { type: 'crm.agent_request.accepted', at: AT, agent: null, queuePosition: null },
    });
    expect(route(event('crm.agent_request.result', { ticketId: 'TK-1', outcome: 'failed' }), none)).toEqual({
      to: 'ticket',
      ticketId: 'TK-1',
      event: { type: 'crm.agent_request.failed', at: AT, error: 'unknown error' },
    });
  });
});
