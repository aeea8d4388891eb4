import { describe, expect, test } from 'bun:test';
import type { SentMessage } from '../../../../src/db/runtime-store';
import type { InboundMessage, PipelineEvent } from '../../../../src/domain/events';
import { createBusinessCalendar } from '../../../../src/domain/business-hours';
import { POLICY } from '../../../support/simulated-clock';
import { plainPolicy, PlainRuntime } from './plain-runtime';
import { UserScript } from './user-script';

/** The runtime's functional core on plain data: rows in, rows out, no database. */

const DOCUMENT = '2020202020';
const CUSTOMER = { customerId: 'C-200', customerName: 'Ana Gómez', isInactive: false };

/** Menu → support → document: the directory's answer, when applied, opens the ticket. */
async function askForAgent(runtime: PlainRuntime, user: UserScript): Promise<PipelineEvent> {
  await runtime.apply(user.writes('hola'));
  await runtime.apply(user.later(5).taps('menu.support', 'Contactar Soporte'));
  await runtime.apply(user.later(5).writes(DOCUMENT));
  return user.later(1).directoryFinds(DOCUMENT, CUSTOMER);
}

async function ticketWithAgent(runtime: PlainRuntime, user: UserScript): Promise<string> {
  const { writes } = await runtime.apply(await askForAgent(runtime, user));
  const ticketId = writes.tickets[0]!.id;
  await runtime.apply(user.later(1).agentTakes(ticketId));
  return ticketId;
}

describe('a user who says hello', () => {
  test('gets a new conversation, their message in the history, and the menu as one send linked to its history row', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    const hello = user.writes('hola');

    const { writes } = await runtime.apply(hello);

    expect(writes.conversations).toHaveLength(1);
    expect(writes.conversations[0]).toMatchObject({ conversationKey: user.phone, userPhone: user.phone, state: '"menu"', createdAt: new Date(user.now) });
    expect(writes.outbox).toEqual([
      expect.objectContaining({ kind: 'whatsapp.send', lane: `wa:${user.phone}`, idempotencyKey: `${hello.id}#0`, author: 'bot' }),
    ]);
    expect(writes.messages.map((row) => [row.direction, row.status, row.outboxKey ?? null])).toEqual([
      ['inbound', 'received', null],
      ['outbound', 'queued', `${hello.id}#0`],
    ]);
    expect(writes.tickets).toEqual([]);
    expect(runtime.ticketNumbers).toBe(0);
  });

  test('the same events on the same rows give the same rows: a replayed batch writes what the first attempt would have', async () => {
    const user = new UserScript();
    const events = [user.writes('hola'), user.later(5).taps('menu.support', 'Contactar Soporte'), user.later(5).writes(DOCUMENT)];
    const first = await new PlainRuntime().apply(...events);
    const again = await new PlainRuntime().apply(...events);
    expect(again.writes).toEqual(first.writes);
  });

  test('leaves the rows it was given as they were', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    const ticketId = await ticketWithAgent(runtime, user);
    const given = { conversation: runtime.conversations.get(user.phone)!, ticket: runtime.tickets.get(ticketId)! };
    const copies = structuredClone(given);

    const { writes } = await runtime.apply(user.later(10).writes('sigo sin internet'), user.later(1).agentHandsBack(ticketId));

    expect(writes.tickets[0]).toMatchObject({ status: 'closed' });
    expect(given).toEqual(copies);
  });
});

describe('opening a ticket', () => {
  test('asks for one ticket number, and the conversation learns its ticket through the queue', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    const found = await askForAgent(runtime, user);

    const { writes } = await runtime.apply(found);

    expect(runtime.ticketNumbers).toBe(1);
    expect(writes.tickets.map((row) => row.id)).toEqual(['TK-2026-000001']);
    const context = (writes.conversations[0]!.snapshot as { context: { ticketId: string } }).context;
    expect(context.ticketId).toBe('TK-2026-000001');
    expect(writes.ticketEvents.map((row) => row.type)).toEqual(['requested']);
    expect(writes.armedTimers.map((row) => row.id).sort()).toEqual(
      ['assign', 'idle', 'queueUpdate', 'abandon'].map((timer) => `TK-2026-000001/${timer}`).sort(),
    );
  });

  test("keeps the machines' order: the conversation's reply, then what the ticket's first transition asked for", async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    const found = await askForAgent(runtime, user);

    const { writes } = await runtime.apply(found);

    expect(writes.outbox.map((row) => [row.idempotencyKey, row.kind])).toEqual([
      [`${found.id}#0`, 'whatsapp.send'],
      [`${found.id}#1`, 'crm.agent_request'],
      [`${found.id}#2`, 'whatsapp.send'],
    ]);
    // Both are the bot's own text replies in the history, whichever machine asked for them.
    expect(writes.messages.map((row) => [row.author, row.type, row.body])).toEqual([
      ['bot', 'text', 'Gracias, Ana Gómez. Verificamos tu identidad.'],
      ['bot', 'text', 'Conectando con agente especializado...'],
    ]);
  });

  test('a ticket closed at once (out of hours, not queued) is closed for the conversation too: opened reaches it first', async () => {
    const closedAtNight = { ...POLICY, outOfHoursQueue: false, calendar: createBusinessCalendar('mon-fri 07:00-19:00', '', 'America/Bogota') };
    const runtime = new PlainRuntime(plainPolicy(closedAtNight));
    const user = new UserScript('2026-12-01T04:00:00.000Z');
    const found = await askForAgent(runtime, user);

    const { writes } = await runtime.apply(found);

    expect(writes.tickets[0]).toMatchObject({ status: 'closed', closeReason: 'out_of_hours' });
    expect(writes.conversations[0]).toMatchObject({ state: '"menu"' });
    expect((writes.conversations[0]!.snapshot as { context: { ticketId: string | null } }).context.ticketId).toBeNull();
    // The ticket's farewell, then the menu the conversation shows when its ticket closes.
    expect(writes.messages.map((row) => row.type)).toEqual(['text', 'text', 'interactive']);
  });
});

describe('events for a ticket', () => {
  test('an unknown ticket: nothing written, a warning after the commit', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    const { writes, afterCommit } = await runtime.apply(user.agentWrites('TK-2026-999999', 'hola'));
    expect(writes.outbox).toEqual([]);
    expect(writes.ticketEvents).toEqual([]);
    expect(afterCommit.lines).toEqual([expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ event: 'ticket.unknown' }) })]);
  });

  test('a closed ticket refuses an agent message: recorded as rejected, and warned about', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    const ticketId = await ticketWithAgent(runtime, user);
    await runtime.apply(user.later(5).agentHandsBack(ticketId));

    const { writes, afterCommit } = await runtime.apply(user.later(5).agentWrites(ticketId, '¿sigue ahí?'));

    expect(writes.ticketEvents.map((row) => row.type)).toEqual(['event_rejected']);
    expect(writes.outbox).toEqual([]);
    expect(afterCommit.lines.map((line) => line.fields.event)).toEqual(['ticket.event_rejected']);
  });

  test("an agent taking the ticket clears the deadlines of the wait and arms the agent's reply deadline", async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    const { writes: opened } = await runtime.apply(await askForAgent(runtime, user));
    const ticketId = opened.tickets[0]!.id;

    const { writes } = await runtime.apply(user.later(60).agentTakes(ticketId));

    expect(writes.clearedTimers.sort()).toEqual(['abandon', 'assign', 'queueUpdate'].map((timer) => `${ticketId}/${timer}`));
    expect(writes.armedTimers).toEqual([
      { id: `${ticketId}/agentReply`, conversationKey: user.phone, ticketId, timer: 'agentReply', dueAt: expect.any(Date), enqueuedAt: null },
    ]);
    expect(writes.armedTimers[0]!.dueAt.getTime()).toBeGreaterThan(Date.parse(user.now));
  });

  test("each message of the conversation moves the ticket's idle deadline on; the agent's answer clears the reply deadline", async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    const ticketId = await ticketWithAgent(runtime, user);

    const { writes: first } = await runtime.apply(user.later(60).writes('sigo sin internet'));
    const { writes: second } = await runtime.apply(user.later(60).agentWrites(ticketId, 'Reinicie el router, por favor'));

    expect(first.armedTimers.map((row) => row.id)).toEqual([`${ticketId}/idle`]);
    expect(second.armedTimers.map((row) => row.id)).toEqual([`${ticketId}/idle`]);
    // The idle deadline moved on by the minute between the two messages.
    expect(second.armedTimers[0]!.dueAt.getTime() - first.armedTimers[0]!.dueAt.getTime()).toBe(60_000);
    expect(first.clearedTimers).toEqual([]);
    expect(second.clearedTimers).toEqual([`${ticketId}/agentReply`]);
  });

  test('a firing whose deadline moved is dropped, logged at debug only', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    const { writes: opened } = await runtime.apply(await askForAgent(runtime, user));
    const ticketId = opened.tickets[0]!.id;

    const { writes, afterCommit } = await runtime.apply(user.deadlineFires(ticketId, 'assign', '2020-01-01T00:00:00.000Z'));

    expect(writes.tickets).toEqual([]);
    expect(writes.armedTimers).toEqual([]);
    expect(afterCommit.lines).toEqual([expect.objectContaining({ level: 'debug', fields: expect.objectContaining({ event: 'timer.stale' }) })]);
  });

  test("a user's message relayed under the ticket changes the ticket but not its KPI row", async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    const ticketId = await ticketWithAgent(runtime, user);

    const { writes } = await runtime.apply(user.later(10).writes('no tengo internet'));

    expect(writes.tickets.map((row) => row.messageCount)).toEqual([1]);
    expect(writes.outbox.map((row) => row.kind)).toEqual(['crm.user_message']);
    expect(writes.kpis).toEqual([]);
  });

  test('a reply to an agent message names it to the CRM by the Idempotency-Key it was sent with', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    await ticketWithAgent(runtime, user);
    runtime.crmKeys = [{ waMessageId: 'wamid.agent.1', crmKey: 'crm-msg-77' }];
    const reply = user.later(10).writes('sí, ya reinicié');
    (reply.data as InboundMessage).replyTo = 'wamid.agent.1';

    const { writes } = await runtime.apply(reply);

    expect(writes.outbox[0]!.payload).toMatchObject({ replyTo: 'crm-msg-77', replyToWaMessageId: 'wamid.agent.1' });
  });
});

describe('a ticket restored from a snapshot older than its deadlines', () => {
  test('has them armed and written with the batch, even when no event moves it', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    const ticketId = await ticketWithAgent(runtime, user);
    const stored = runtime.tickets.get(ticketId)!;
    const { deadlines: _, ...context } = (stored.snapshot as { context: Record<string, unknown> }).context;
    runtime.tickets.set(ticketId, { ...stored, snapshot: { ...(stored.snapshot as object), context } });

    const { writes } = await runtime.apply(user.later(1).whatsappReports('wamid.unknown', 'read'));

    expect(writes.armedTimers.map((row) => row.id)).toEqual([`${ticketId}/idle`]);
    expect(writes.tickets.map((row) => row.id)).toEqual([ticketId]);
  });
});

describe("what a webhook says of the user's ids", () => {
  test('a new BSUID is kept with the conversation: a later send goes to it', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    await runtime.apply(user.writes('hola'));
    const changed: PipelineEvent = {
      type: 'user.id_changed',
      key: user.phone,
      id: 'idc-1',
      at: user.now,
      data: { previousBsuid: 'CO.1', bsuid: 'CO.2', timestamp: user.now },
    };

    const { writes } = await runtime.apply(changed);

    expect(writes.conversations[0]).toMatchObject({ conversationKey: user.phone, bsuid: 'CO.2', userPhone: user.phone });
    expect(writes.outbox).toEqual([]);
  });
});

/** An outbound message as the store reads it for a status. */
const sentMessage = (overrides: Partial<SentMessage>): SentMessage => ({
  id: 1,
  ticketId: null,
  author: 'bot',
  authorId: null,
  type: 'text',
  body: 'hola',
  media: null,
  status: 'queued',
  statusAt: null,
  waMessageId: null,
  outboxKey: 'evt#0',
  error: null,
  billable: null,
  pricingModel: null,
  pricingCategory: null,
  ...overrides,
});

describe("WhatsApp's statuses, on the messages the batch read", () => {
  test('find a send whose Graph response was lost by its outbox key, record its wamid, and settle it if it was in doubt', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    runtime.sentMessages = [sentMessage({ id: 7, outboxKey: 'evt#0' })];

    const { writes } = await runtime.apply(
      user.whatsappReports('wamid.out.1', 'sent', 'evt#0'),
      user.later(1).whatsappReports('wamid.out.1', 'delivered', 'evt#0'),
    );

    expect(writes.statusChanges).toEqual([
      {
        id: 7,
        status: 'delivered',
        statusAt: new Date(user.now),
        waMessageId: 'wamid.out.1',
        error: null,
        billable: null,
        pricingModel: null,
        pricingCategory: null,
      },
    ]);
    expect(writes.settledSends).toEqual([{ outboxKey: 'evt#0', status: 'sent' }]);
    expect(runtime.sentMessages[0]).toMatchObject({ status: 'queued', waMessageId: null });
  });

  test('move a message up the ladder, never down: a late "delivered" after "read" changes nothing', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    runtime.sentMessages = [sentMessage({ id: 3, status: 'sent', waMessageId: 'wamid.out.3' })];

    const { writes } = await runtime.apply(user.later(2).whatsappReports('wamid.out.3', 'read'), user.later(-1).whatsappReports('wamid.out.3', 'delivered'));

    expect(writes.statusChanges.map((change) => change.status)).toEqual(['read']);
    expect(writes.settledSends).toEqual([]);
  });

  test('a status repeated (WhatsApp redelivers its webhooks) changes nothing, not even the time', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    runtime.sentMessages = [sentMessage({ id: 5, status: 'delivered', statusAt: new Date(user.now), waMessageId: 'wamid.out.5' })];

    const { writes } = await runtime.apply(user.later(60).whatsappReports('wamid.out.5', 'delivered'));

    expect(writes.statusChanges).toEqual([]);
  });

  test('a failure of the bot’s own message tells no machine', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    runtime.sentMessages = [sentMessage({ id: 4, status: 'sent', waMessageId: 'wamid.out.4' })];

    const { writes } = await runtime.apply(user.whatsappReports('wamid.out.4', 'failed', undefined, 131026));

    expect(writes.statusChanges).toEqual([expect.objectContaining({ id: 4, status: 'failed', error: [{ code: 131026, title: 'error 131026' }] })]);
    expect(writes.outbox).toEqual([]);
    expect(writes.ticketEvents).toEqual([]);
  });

  test("a failure of an agent's message goes to its ticket, closed since: the CRM is told, the ticket stays closed", async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    const ticketId = await ticketWithAgent(runtime, user);
    await runtime.apply(user.later(5).agentHandsBack(ticketId));
    runtime.conversations.delete(user.phone);
    runtime.sentMessages = [
      sentMessage({ id: 9, ticketId, author: 'agent', authorId: 'ag-7', body: 'reinicie', status: 'sent', waMessageId: 'wamid.ag.9', outboxKey: 'crm#0' }),
    ];

    const { writes } = await runtime.apply(user.later(30).whatsappReports('wamid.ag.9', 'failed', 'crm#0', 131026));

    expect(writes.ticketEvents.map((row) => row.type)).toEqual(['agent_message_failed']);
    expect(writes.outbox.map((row) => row.kind)).toEqual(['crm.ticket_update']);
    expect(writes.outbox[0]!.payload).toMatchObject({
      ticketId,
      reason: 'message_failed',
      status: 'closed',
      message: { type: 'text', body: 'reinicie', waMessageId: 'wamid.ag.9' },
      error: { code: 131026, title: 'error 131026' },
    });
    expect(writes.tickets[0]).toMatchObject({ id: ticketId, status: 'closed' });
  });
});

describe('the trace an event is applied in', () => {
  const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  test('every outbox row it decides carries its trace context, and its log lines its trace id; an untraced event beside it, no trace', async () => {
    const runtime = new PlainRuntime();
    const user = new UserScript();
    const other = new UserScript();
    const opening = await askForAgent(runtime, user);

    const { writes, afterCommit } = await runtime.apply({ ...opening, traceparent: TRACEPARENT }, other.writes('hola'));

    const ofUser = (lane: string) => lane.endsWith(user.phone);
    expect(writes.outbox.filter((row) => ofUser(row.lane)).map((row) => row.kind)).toEqual(expect.arrayContaining(['crm.agent_request', 'whatsapp.send']));
    expect(writes.outbox.filter((row) => ofUser(row.lane)).map((row) => row.traceparent)).toEqual(
      writes.outbox.filter((row) => ofUser(row.lane)).map(() => TRACEPARENT),
    );
    expect(writes.outbox.filter((row) => !ofUser(row.lane)).map((row) => row.traceparent)).toEqual([null]);
    const requested = afterCommit.lines.find((line) => line.fields.event === 'handover.agent_required');
    expect(requested?.fields.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  });
});
