import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { eq } from 'drizzle-orm';
import { messages } from '../../src/db/schema';
import { bearer, call, jsonRequest, routeContext, SECRETS, type RouteContext, type TestApp, type TestTicket } from './support';

/**
 * POST /api/crm/typing and /api/crm/read (DESIGN 2.1): what is refused before anything is queued, and the event a
 * valid call queues for the ticket's machine (no worker runs here; the sends themselves: tests/e2e/agent-presence.test.ts).
 */
let context: RouteContext;
let app: TestApp;
beforeAll(async () => {
  context = await routeContext('crm_presence');
  app = context.app();
});
afterAll(() => context.close());

const post = (path: string, body: unknown, token = SECRETS.crmToken) => call(app, jsonRequest('POST', path, body, bearer(token)));
let wamids = 0;
/** A message the ticket's user wrote, `secondsAgo` before now. */
async function userWrote(ticket: TestTicket, secondsAgo: number, type = 'text') {
  const waMessageId = `wamid.presence.${process.pid}.${++wamids}`;
  await context.database.db.insert(messages).values({
    conversationKey: ticket.conversationKey,
    ticketId: ticket.id,
    direction: 'inbound',
    author: 'user',
    type,
    body: 'hola',
    waMessageId,
    status: 'received',
    createdAt: new Date(Date.now() - secondsAgo * 1000),
  });
  return waMessageId;
}
const queuedFor = async (ticket: TestTicket) => (await app.entries()).filter((entry) => entry.key === ticket.conversationKey);

describe('POST /api/crm/typing', () => {
  test('the holding agent typing queues one event naming the user’s last message', async () => {
    const ticket = await context.insertTicket();
    await userWrote(ticket, 30);
    const last = await userWrote(ticket, 5);
    const answer = await post('/api/crm/typing', { ticketId: ticket.id, agentId: 'agent_007' });
    expect(answer).toMatchObject({ status: 202, body: { success: true, applied: false, ticketId: ticket.id } });
    const [event, ...others] = await queuedFor(ticket);
    expect(others).toEqual([]);
    expect(event).toMatchObject({ type: 'crm.typing', data: { ticketId: ticket.id, agentId: 'agent_007', message: { waMessageId: last } } });
  });

  test('typing the same body again a second on, the ticket unchanged, is a new call (the refresh), not a retry of the first', async () => {
    // An indicator not yet due changes nothing: the ticket keeps its revision, so the body alone cannot tell a refresh from a retry.
    const ticket = await context.insertTicket();
    await userWrote(ticket, 5);
    await post('/api/crm/typing', { ticketId: ticket.id, agentId: 'agent_007' });
    await Bun.sleep(1000);
    await post('/api/crm/typing', { ticketId: ticket.id, agentId: 'agent_007' });
    const ids = (await queuedFor(ticket)).map((event) => event.id);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
  });

  test('an agent who does not hold the ticket is 409 not_ticket_agent, and nothing is queued', async () => {
    const ticket = await context.insertTicket();
    await userWrote(ticket, 5);
    expect(await post('/api/crm/typing', { ticketId: ticket.id, agentId: 'agent_999' })).toMatchObject({
      status: 409,
      body: { success: false, error: 'not_ticket_agent' },
    });
    expect(await queuedFor(ticket)).toEqual([]);
  });

  test('a ticket still waiting for an agent, or closed, is 409 with the reason', async () => {
    const waiting = await context.insertTicket({ status: 'pending', phase: 'waiting_agent' });
    const closed = await context.insertTicket({ status: 'closed', phase: 'closed', closeReason: 'resolved', closedAt: new Date() });
    expect((await post('/api/crm/typing', { ticketId: waiting.id, agentId: 'agent_007' })).body.error).toBe('ticket_not_active');
    expect((await post('/api/crm/typing', { ticketId: closed.id, agentId: 'agent_007' })).body.error).toBe('ticket_closed');
  });

  test('a user who has written nothing yet leaves nothing to show typing on: 409 no_user_message', async () => {
    const ticket = await context.insertTicket();
    expect(await post('/api/crm/typing', { ticketId: ticket.id, agentId: 'agent_007' })).toMatchObject({ status: 409, body: { error: 'no_user_message' } });
  });

  test('a missing agentId is 400 naming it; an unknown ticket 404; a wrong token 401', async () => {
    const ticket = await context.insertTicket();
    const missing = await post('/api/crm/typing', { ticketId: ticket.id });
    expect(missing.status).toBe(400);
    expect(missing.body.message).toContain('agentId');
    expect((await post('/api/crm/typing', { ticketId: 'TK-2026-999999', agentId: 'agent_007' })).status).toBe(404);
    expect((await post('/api/crm/typing', { ticketId: ticket.id, agentId: 'agent_007' }, 'wrong')).status).toBe(401);
  });
});

describe('POST /api/crm/read', () => {
  test('without upTo the read mark names the user’s last message', async () => {
    const ticket = await context.insertTicket();
    await userWrote(ticket, 30);
    const last = await userWrote(ticket, 5);
    expect((await post('/api/crm/read', { ticketId: ticket.id, agentId: 'agent_007' })).status).toBe(202);
    expect(await queuedFor(ticket)).toMatchObject([{ type: 'crm.read', data: { message: { waMessageId: last } } }]);
  });

  test('upTo names the message read up to, with its place in the history', async () => {
    const ticket = await context.insertTicket();
    const first = await userWrote(ticket, 30);
    await userWrote(ticket, 5);
    await post('/api/crm/read', { ticketId: ticket.id, agentId: 'agent_007', upTo: first });
    const [event] = await queuedFor(ticket);
    expect(event).toMatchObject({ type: 'crm.read', data: { message: { waMessageId: first } } });
    const [row] = await context.database.db.select({ id: messages.id }).from(messages).where(eq(messages.waMessageId, first));
    expect((event!.data as { message: { historyId: number } }).message.historyId).toBe(row!.id);
  });

  test("upTo naming a message this user did not write (another user's, or none) is 400 unknown_message", async () => {
    const ticket = await context.insertTicket();
    const other = await context.insertTicket();
    const theirs = await userWrote(other, 5);
    await userWrote(ticket, 5);
    for (const upTo of [theirs, 'wamid.nothing']) {
      expect(await post('/api/crm/read', { ticketId: ticket.id, agentId: 'agent_007', upTo })).toMatchObject({
        status: 400,
        body: { error: 'unknown_message' },
      });
    }
    expect(await queuedFor(ticket)).toEqual([]);
  });

  test('read again with the same body, the ticket unchanged, is a retry: the same event id', async () => {
    const ticket = await context.insertTicket();
    await userWrote(ticket, 5);
    await post('/api/crm/read', { ticketId: ticket.id, agentId: 'agent_007' });
    await Bun.sleep(1000);
    await post('/api/crm/read', { ticketId: ticket.id, agentId: 'agent_007' });
    const ids = (await queuedFor(ticket)).map((event) => event.id);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(1);
  });

  test('a retry with the same Idempotency-Key queues the same event id (applied once)', async () => {
    const ticket = await context.insertTicket();
    await userWrote(ticket, 5);
    const request = () =>
      jsonRequest(
        'POST',
        '/api/crm/read',
        { ticketId: ticket.id, agentId: 'agent_007' },
        { ...bearer(SECRETS.crmToken), 'idempotency-key': `read-${ticket.id}` },
      );
    await call(app, request());
    await call(app, request());
    const ids = (await queuedFor(ticket)).map((event) => event.id);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(1);
  });
});
