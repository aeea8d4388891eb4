import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { and, asc, eq } from 'drizzle-orm';
import { messages, outbox, tickets } from '../../../../src/db/schema';
import { openRuntimeFixture, UserScript, type RuntimeFixture } from './runtime-fixture';

const DOCUMENT = '2020202020';
const CUSTOMER = { customerId: 'C-200', customerName: 'Ana Gómez', isInactive: false };

let plain: RuntimeFixture;
let withTemplate: RuntimeFixture;
beforeAll(async () => {
  plain = await openRuntimeFixture('runtime_failures');
  withTemplate = await openRuntimeFixture('runtime_failures_template', { WHATSAPP_REENGAGE_TEMPLATE: 'seguimiento_agente' });
});
afterAll(async () => {
  await plain.close();
  await withTemplate.close();
});

/** A ticket with an agent who wrote once; returns the ticket and the agent message's outbox key, as Graph accepted it. */
async function agentWroteOnce(fixture: RuntimeFixture, user: UserScript, words: string) {
  await fixture.apply(user.writes('hola'));
  await fixture.apply(user.later(5).taps('menu.support', 'Contactar Soporte'));
  await fixture.apply(user.later(5).writes(DOCUMENT));
  await fixture.apply(user.later(1).directoryFinds(DOCUMENT, CUSTOMER));
  const [ticket] = await fixture.database.db.select({ id: tickets.id }).from(tickets).where(eq(tickets.conversationKey, user.phone));
  await fixture.apply(user.later(1).agentTakes(ticket!.id));
  await fixture.apply(user.later(1).agentWrites(ticket!.id, words));
  const [message] = await fixture.database.db
    .select()
    .from(messages)
    .where(and(eq(messages.ticketId, ticket!.id), eq(messages.author, 'agent')));
  return { ticketId: ticket!.id, outboxKey: message!.outboxKey!, waMessageId: `wamid.agent.${user.phone}` };
}

const outboxOf = (fixture: RuntimeFixture, ticketId: string) =>
  fixture.database.db.select().from(outbox).where(eq(outbox.ticketId, ticketId)).orderBy(asc(outbox.id));

describe("a failed status for an agent's message goes to the ticket's machine, which decides", () => {
  test('refused for any reason: the CRM is told once, with Graph’s error and the message as the agent wrote it', async () => {
    const user = new UserScript();
    const sent = await agentWroteOnce(plain, user, 'reinicie el router');
    const before = (await outboxOf(plain, sent.ticketId)).length;
    const failed = user.later(2).whatsappReports(sent.waMessageId, 'failed', sent.outboxKey, 131026);
    await plain.apply(failed);
    await plain.apply(failed);
    const reports = (await outboxOf(plain, sent.ticketId)).slice(before);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ kind: 'crm.ticket_update' });
    expect(reports[0]!.payload).toMatchObject({
      ticketId: sent.ticketId,
      reason: 'message_failed',
      status: 'active',
      message: { type: 'text', body: 'reinicie el router', waMessageId: sent.waMessageId },
      error: { code: 131026, title: 'error 131026' },
    });
  });

  test('past the window (131047) with a template configured: the same words go out as the template, and the CRM is not told', async () => {
    const user = new UserScript();
    const sent = await agentWroteOnce(withTemplate, user, 'ya quedó su servicio');
    const before = (await outboxOf(withTemplate, sent.ticketId)).length;
    await withTemplate.apply(user.later(2).whatsappReports(sent.waMessageId, 'failed', sent.outboxKey, 131047));
    const added = (await outboxOf(withTemplate, sent.ticketId)).slice(before);
    expect(added.map((row) => [row.kind, row.author])).toEqual([['whatsapp.send', 'agent']]);
    expect(added[0]!.payload).toMatchObject({
      type: 'template',
      template: { name: 'seguimiento_agente', components: [{ parameters: [{ text: 'ya quedó su servicio' }] }] },
    });
  });

  test('after the agent gave the ticket back, a late failure is still reported, and the ticket stays closed', async () => {
    const user = new UserScript();
    const sent = await agentWroteOnce(plain, user, 'listo, cerramos');
    await plain.apply(user.later(1).agentHandsBack(sent.ticketId));
    const before = (await outboxOf(plain, sent.ticketId)).length;
    await plain.apply(user.later(30).whatsappReports(sent.waMessageId, 'failed', sent.outboxKey, 131026));
    const reports = (await outboxOf(plain, sent.ticketId)).slice(before);
    expect(reports.map((row) => (row.payload as { reason: string }).reason)).toEqual(['message_failed']);
    expect(reports[0]!.payload).toMatchObject({ status: 'closed' });
    const [ticket] = await plain.database.db.select().from(tickets).where(eq(tickets.id, sent.ticketId));
    expect(ticket).toMatchObject({ status: 'closed', closeReason: 'resolved' });
  });

  test("a failed status for the bot's own message tells no one", async () => {
    const user = new UserScript();
    await plain.apply(user.writes('hola'));
    const [menu] = await plain.database.db
      .select()
      .from(messages)
      .where(and(eq(messages.conversationKey, user.phone), eq(messages.author, 'bot')));
    const before = await plain.database.db.select().from(outbox).where(eq(outbox.kind, 'crm.ticket_update'));
    await plain.apply(user.later(2).whatsappReports(`wamid.menu.${user.phone}`, 'failed', menu!.outboxKey!, 131026));
    expect(await plain.database.db.select().from(outbox).where(eq(outbox.kind, 'crm.ticket_update'))).toEqual(before);
  });
});
