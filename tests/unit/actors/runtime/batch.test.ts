import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { asc, eq } from 'drizzle-orm';
import { messages, outbox, processedEvents, ticketEvents, tickets, timers } from '../../../../src/db/schema';
import { openRuntimeFixture, UserScript, type RuntimeFixture } from './runtime-fixture';

let fixture: RuntimeFixture;
beforeAll(async () => {
  fixture = await openRuntimeFixture('runtime_batch');
});
afterAll(async () => {
  await fixture.close();
});

const DOCUMENT = '2020202020';
const CUSTOMER = { customerId: 'C-200', customerName: 'Ana Gómez', isInactive: false };

/** Menu → support → document → the directory finds the customer: a ticket is opened and waits for an agent. */
async function openTicket(user: UserScript): Promise<string> {
  await fixture.apply(user.writes('hola'));
  await fixture.apply(user.later(5).taps('menu.support', 'Contactar Soporte'));
  await fixture.apply(user.later(5).writes(DOCUMENT));
  await fixture.apply(user.later(1).directoryFinds(DOCUMENT, CUSTOMER));
  const [ticket] = await fixture.database.db.select({ id: tickets.id }).from(tickets).where(eq(tickets.conversationKey, user.phone));
  return ticket!.id;
}

async function ticketRow(ticketId: string) {
  const [row] = await fixture.database.db.select().from(tickets).where(eq(tickets.id, ticketId));
  return row!;
}

const ticketEventTypes = async (ticketId: string) =>
  (await fixture.database.db.select().from(ticketEvents).where(eq(ticketEvents.ticketId, ticketId)).orderBy(asc(ticketEvents.id))).map((row) => row.type);

/** The due time of an armed timer row, as the scheduler would read it. */
async function armedDue(timerId: string): Promise<string> {
  const [row] = await fixture.database.db.select({ dueAt: timers.dueAt }).from(timers).where(eq(timers.id, timerId));
  return row!.dueAt.toISOString();
}

const outboxRows = (ticketId: string) => fixture.database.db.select().from(outbox).where(eq(outbox.ticketId, ticketId)).orderBy(asc(outbox.id));

const botTexts = async (phone: string) =>
  (await fixture.database.db.select().from(messages).where(eq(messages.conversationKey, phone)).orderBy(asc(messages.id)))
    .filter((row) => row.author === 'bot')
    .map((row) => row.body);

describe('a stale deadline', () => {
  test('a firing with an old due time, arriving after the escalation it caused, changes nothing', async () => {
    const user = new UserScript();
    const ticketId = await openTicket(user);
    const firstDue = await armedDue(`${ticketId}/assign`);
    user.now = firstDue;
    await fixture.apply(user.deadlineFires(ticketId, 'assign', firstDue));
    const escalated = await ticketRow(ticketId);
    expect(escalated.escalations).toBe(1);
    expect(await armedDue(`${ticketId}/assign`)).not.toBe(firstDue);
    const eventsBefore = await ticketEventTypes(ticketId);
    const outboxBefore = await outboxRows(ticketId);
    expect(eventsBefore).toContain('escalated');
    expect(outboxBefore.filter((row) => row.kind === 'crm.ticket_update').map((row) => (row.payload as { reason: string }).reason)).toEqual(['escalated']);

    const result = await fixture.apply(user.later(30).deadlineFires(ticketId, 'assign', firstDue, '#again'));

    expect(result).toEqual({ applied: 1, duplicates: 0 });
    expect((await ticketRow(ticketId)).escalations).toBe(1);
    expect(await ticketEventTypes(ticketId)).toEqual(eventsBefore);
    expect(await outboxRows(ticketId)).toEqual(outboxBefore);
  });
});

describe('while the ticket waits for an agent', () => {
  test("the user's message goes to the CRM under the ticket, and the bot's waiting notice is not counted as a message", async () => {
    const user = new UserScript();
    const ticketId = await openTicket(user);

    await fixture.apply(user.later(10).writes('¿ya viene alguien?'));

    expect((await ticketRow(ticketId)).messageCount).toBe(1);
    expect((await botTexts(user.phone)).at(-1)).toContain(`Tu solicitud ${ticketId} está en fila`);
    const [inbound] = await fixture.database.db.select().from(messages).where(eq(messages.body, '¿ya viene alguien?'));
    expect(inbound).toMatchObject({ conversationKey: user.phone, ticketId, direction: 'inbound' });
    const relayed = (await outboxRows(ticketId)).filter((row) => row.kind === 'crm.user_message');
    expect(relayed.map((row) => (row.payload as { message: string }).message)).toEqual(['¿ya viene alguien?']);
  });
});

describe('a batch', () => {
  test('applies an event once: a redelivered entry, in the same batch or a later one, is a duplicate', async () => {
    const user = new UserScript();
    const hello = user.writes('hola');
    expect(await fixture.apply(hello, hello)).toEqual({ applied: 1, duplicates: 1 });
    expect(await fixture.apply(hello)).toEqual({ applied: 0, duplicates: 1 });
    expect(await botTexts(user.phone)).toHaveLength(1);
    const [processed] = await fixture.database.db.select().from(processedEvents).where(eq(processedEvents.id, hello.id));
    expect(processed).toBeDefined();
  });
});

describe('the logs of a whole support flow', () => {
  test('name the ticket at every milestone and never hold a phone or a document in clear', async () => {
    const firstLine = fixture.logLines.length;
    const user = new UserScript();
    const ticketId = await openTicket(user);
    await fixture.apply(user.later(2).crmAccepts(ticketId));
    await fixture.apply(user.later(30).agentTakes(ticketId));
    await fixture.apply(user.later(10).writes('no tengo internet desde ayer'));
    await fixture.apply(user.later(20).agentWrites(ticketId, 'Ya lo revisamos, reinicia el router'));
    await fixture.apply(user.later(60).agentHandsBack(ticketId));
    await fixture.apply(user.later(15).taps('csat.5', '5 - Excelente'));

    const ticket = await ticketRow(ticketId);
    expect(ticket).toMatchObject({ status: 'closed', closeReason: 'resolved', csat: 5, surveyStatus: 'answered', messageCount: 2 });
    const flowLines = fixture.logLines.slice(firstLine);
    const lines = flowLines.filter((line) => line.includes(ticketId));
    const events = lines.map((line) => JSON.parse(line).event);
    expect(events).toEqual(expect.arrayContaining(['handover.agent_required', 'handover.bot_to_human', 'handover.human_to_bot', 'ticket.closed']));
    expect(lines.find((line) => line.includes('handover.agent_required'))).toContain(user.phone.slice(0, 5));
    for (const line of flowLines) expect(line).not.toMatch(/\d{10,}/);
  });
});
