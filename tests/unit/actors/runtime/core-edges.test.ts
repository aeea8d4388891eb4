import { describe, expect, test } from 'bun:test';
import type { PipelineEvent } from '../../../../src/domain/events';
import { createHandoverMachine } from '../../../../src/actors/handover';
import { conversationTimerOwner } from '../../../../src/actors/runtime/timers';
import { POLICY } from '../../../support/simulated-clock';
import { plainPolicy, PlainRuntime } from './plain-runtime';
import { UserScript } from './user-script';

/** The core's own decisions around the machines, on plain data: what each event leaves in the rows and the logs. */

const DOCUMENT = '2020202020';
const CUSTOMER = { customerId: 'C-200', customerName: 'Ana Gómez', isInactive: false };

function event<T extends PipelineEvent['type']>(user: UserScript, type: T, data: Extract<PipelineEvent, { type: T }>['data']) {
  return { type, key: user.phone, id: `${type}:${user.now}:${Math.random()}`, at: user.now, data } as PipelineEvent;
}

async function openTicket(runtime: PlainRuntime, user: UserScript): Promise<string> {
  await runtime.apply(user.writes('hola'));
  await runtime.apply(user.later(5).taps('menu.support', 'Contactar Soporte'));
  await runtime.apply(user.later(5).writes(DOCUMENT));
  const { writes } = await runtime.apply(user.later(1).directoryFinds(DOCUMENT, CUSTOMER));
  return writes.tickets[0]!.id;
}

const events = (applied: { afterCommit: { lines: { fields: Record<string, unknown> }[] } }) => applied.afterCommit.lines.map((line) => line.fields.event);

describe("the user's messages in the history", () => {
  test('are filed under the open ticket while there is one, and under none otherwise', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    const hello = await runtime.apply(user.writes('hola'));
    expect(hello.writes.messages.find((row) => row.direction === 'inbound')!.ticketId).toBeNull();
    const ticketId = await openTicket(runtime, user);
    const relayed = await runtime.apply(user.later(5).writes('sigo sin internet'));
    expect(relayed.writes.messages.filter((row) => row.direction === 'inbound')).toEqual([expect.objectContaining({ ticketId, body: 'sigo sin internet' })]);
  });

  test('the bot replies as the bot and an agent writes as that agent', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    const hello = await runtime.apply(user.writes('hola'));
    expect(hello.writes.messages.find((row) => row.direction === 'outbound')).toMatchObject({ author: 'bot', authorId: null });
    const ticketId = await openTicket(runtime, user);
    await runtime.apply(user.later(1).agentTakes(ticketId));
    const written = await runtime.apply(user.later(1).agentWrites(ticketId, 'Hola, soy Laura'));
    expect(written.writes.messages).toEqual([expect.objectContaining({ author: 'agent', authorId: 'ag-7', ticketId, body: 'Hola, soy Laura' })]);
  });
});

describe('deadlines', () => {
  test('a firing that acts is logged with how late it came; the survey it arms is a timer row of the conversation', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    const ticketId = await openTicket(runtime, user);
    const { deadlines } = (runtime.tickets.get(ticketId)!.snapshot as { context: { deadlines: { assign: string } } }).context;
    const fired = await runtime.apply(user.later(POLICY.assignTimeoutS + 2).deadlineFires(ticketId, 'assign', deadlines.assign));
    expect(fired.afterCommit.lines).toContainEqual(
      expect.objectContaining({ fields: expect.objectContaining({ event: 'timer.fired', ticketId, timer: 'assign', lateMs: 2000 }) }),
    );

    await runtime.apply(user.later(1).agentTakes(ticketId));
    const closed = await runtime.apply(user.later(1).agentHandsBack(ticketId));
    expect(closed.writes.armedTimers).toContainEqual(expect.objectContaining({ id: `${conversationTimerOwner(user.phone)}/survey`, timer: 'survey', ticketId: null }));
  });
});

describe('ticket events the core records and logs', () => {
  test('an escalation is a ticket event, a log line and, at the first agent, the wait observed', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    const ticketId = await openTicket(runtime, user);
    const { deadlines } = (runtime.tickets.get(ticketId)!.snapshot as { context: { deadlines: { assign: string } } }).context;
    const fired = await runtime.apply(user.later(POLICY.assignTimeoutS).deadlineFires(ticketId, 'assign', deadlines.assign));
    expect(fired.writes.ticketEvents.map((row) => row.type)).toEqual(['escalated']);
    expect(events(fired)).toContain('ticket.escalated');
    const taken = await runtime.apply(user.later(30).agentTakes(ticketId));
    expect(taken.afterCommit.observations).toEqual([{ histogram: 'handoverWait', labels: { category: 'soporte_agente' }, seconds: POLICY.assignTimeoutS + 30 }]);
  });

  test('the same agent again is a repeat (debug), not a refusal; an event a closed ticket cannot take is recorded as rejected, with its state', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    const ticketId = await openTicket(runtime, user);
    await runtime.apply(user.later(1).agentTakes(ticketId));
    const repeat = await runtime.apply(user.later(1).agentTakes(ticketId));
    expect(repeat.writes.ticketEvents).toEqual([]);
    expect(events(repeat)).toEqual(['ticket.unchanged']);

    await runtime.apply(user.later(1).agentHandsBack(ticketId));
    const late = await runtime.apply(user.later(1).agentWrites(ticketId, '¿sigues ahí?'));
    expect(late.writes.ticketEvents).toEqual([expect.objectContaining({ ticketId, type: 'event_rejected', data: { event: 'crm.message', state: 'closed' } })]);
  });
});

describe('who owns the thread', () => {
  test("a user's first message ever, on standby, leaves the thread to the other responder", async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    const standby = user.writes('hola');
    (standby.data as { standby?: boolean }).standby = true;
    const { writes } = await runtime.apply(standby);
    expect(writes.outbox).toEqual([]);
    expect(runtime.conversations.get(user.phone)!.threadOwner).toBe('other');
  });

  test('a thread control queued before owners were told, away from the CRM, gives the thread back to the bot', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    const ticketId = await openTicket(runtime, user);
    await runtime.apply(event(user.later(1), 'meta.thread_control', { ticketId, event: 'pass_thread_control', toCrm: true }));
    expect(runtime.conversations.get(user.phone)!.threadOwner).toBe('crm');
    await runtime.apply(event(user.later(1), 'meta.thread_control', { ticketId, event: 'take_thread_control', toCrm: false }));
    expect(runtime.conversations.get(user.phone)!.threadOwner).toBeNull();
  });

  test('with the CRM as escalation partner, closing the ticket takes the thread back before the bot speaks', async () => {
    const runtime = new PlainRuntime(plainPolicy(POLICY, { handoverMachine: createHandoverMachine({ ...POLICY, threadControl: 'crm' }) }));
    const user = new UserScript();
    const ticketId = await openTicket(runtime, user);
    await runtime.apply(user.later(1).agentTakes(ticketId));
    const closed = await runtime.apply(user.later(1).agentHandsBack(ticketId));
    expect(closed.writes.outbox.map((row) => row.kind)).toEqual(['whatsapp.thread_control', 'whatsapp.send', 'whatsapp.send']);
    expect(runtime.conversations.get(user.phone)!.threadOwner).toBeNull();
  });

  test('while a person answers from the Business app, what the bot would say at a ticket close is dropped and logged', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    const ticketId = await openTicket(runtime, user);
    await runtime.apply(user.later(1).agentTakes(ticketId));
    await runtime.apply(
      event(user.later(1), 'whatsapp.echo', { user: { phone: user.phone }, waMessageId: 'wamid.e1', timestamp: user.now, type: 'text', text: 'Hola', source: 'business_app' }),
    );
    const closed = await runtime.apply(user.later(1).agentHandsBack(ticketId));
    expect(closed.writes.outbox.filter((row) => row.kind === 'whatsapp.send')).toEqual([]);
    expect(closed.afterCommit.lines).toContainEqual(expect.objectContaining({ fields: expect.objectContaining({ event: 'bot.quiet', reason: 'person_answering' }) }));
  });

  test('a shorter pause configured later does not cut short a pause already running', async () => {
    const long = new PlainRuntime();
    const user = new UserScript();
    await long.apply(user.writes('hola'));
    const echo = () =>
      event(user, 'whatsapp.echo', { user: { phone: user.phone }, waMessageId: `wamid.${user.now}`, timestamp: user.now, type: 'text', text: 'Hola', source: 'business_app' });
    await long.apply(echo());
    const until = long.conversations.get(user.phone)!.botPausedUntil;
    const short = new PlainRuntime(plainPolicy(POLICY, { botPauseAfterBusinessReplyS: 60 }));
    for (const [key, row] of long.conversations) short.conversations.set(key, row);
    user.later(10);
    await short.apply(echo());
    expect(short.conversations.get(user.phone)!.botPausedUntil).toEqual(until);
  });
});

test('a billable message without a pricing category is counted as unknown', async () => {
  const runtime = new PlainRuntime();
  const user = new UserScript();
  runtime.sentMessages = [
    {
      id: 1,
      ticketId: null,
      author: 'bot',
      authorId: null,
      type: 'text',
      body: 'hola',
      media: null,
      status: 'sent',
      statusAt: null,
      waMessageId: 'wamid.out.1',
      outboxKey: 'evt#0',
      error: null,
      billable: null,
      pricingModel: null,
      pricingCategory: null,
    },
  ];
  const status = user.whatsappReports('wamid.out.1', 'delivered');
  const { afterCommit } = await runtime.apply({ ...status, data: { ...status.data, pricing: { billable: true } } } as typeof status);
  expect([...afterCommit.billable]).toEqual([['unknown', 1]]);
});

test('a new phone learnt without an open ticket tells no ticket', async () => {
  const runtime = new PlainRuntime();
  const user = new UserScript();
  const bsuid = 'CO.5550001112223334';
  const said = (phone: string) => ({
    ...user.writes('hola'),
    data: { user: { phone, bsuid }, waMessageId: `wamid.${phone}.${user.now}`, timestamp: user.now, type: 'text', text: 'hola' },
  });
  await runtime.apply(said(user.phone) as PipelineEvent);
  const changed = await runtime.apply(said('573119990000') as PipelineEvent);
  expect(events(changed)).not.toContain('ticket.unknown');
});

describe('which conversations a batch writes', () => {
  test('a new one, its machine started with its key', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    const { writes } = await runtime.apply(user.writes('hola'));
    expect(writes.conversations).toHaveLength(1);
    expect((writes.conversations[0]!.snapshot as { context: { conversationKey: string } }).context.conversationKey).toBe(user.phone);
  });

  test('none that the batch only read: a status, an echo from another responder with the ids known, the same owner told again', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    const ticketId = await openTicket(runtime, user);
    await runtime.apply(event(user.later(1), 'meta.thread_control', { ticketId, event: 'pass_thread_control', toCrm: true, owner: 'crm' }));

    const status = await runtime.apply(user.later(1).whatsappReports('wamid.out.1', 'delivered'));
    expect(status.writes.conversations).toEqual([]);
    const echo = await runtime.apply(
      event(user.later(1), 'whatsapp.echo', { user: { phone: user.phone }, waMessageId: 'wamid.e9', timestamp: user.now, type: 'text', text: 'Hola', source: 'other_responder' }),
    );
    expect(echo.writes.conversations).toEqual([]);
    const again = await runtime.apply(event(user.later(1), 'meta.thread_control', { ticketId, event: 'pass_thread_control', toCrm: true, owner: 'crm' }));
    expect(again.writes.conversations).toEqual([]);
    expect(again.writes.tickets).toHaveLength(1);
  });
});
