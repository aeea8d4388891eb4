import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { isReadMark, isTypingIndicator } from '../support/fakes';
import { activeTicketFor, crmCall, eventually, outboxSettled, readable, sendUser, sentTo, startStack, text, type TestStack } from '../support/harness';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts).
setDefaultTimeout(30_000);

/**
 * Typing and read from the agent (POST /api/crm/typing, /api/crm/read) through the real service: the Graph fake
 * sees each read mark and typing indicator once, only on the CRM's word. The 20 s refresh on a clock:
 * tests/unit/actors/agent-presence.test.ts.
 */
let stack: TestStack;
beforeAll(async () => {
  stack = await startStack('presence');
});
afterAll(() => stack.stop());

let phones = 0;
const freshPhone = () => `5731${String(process.pid % 10000).padStart(4, '0')}${String(++phones).padStart(4, '0')}`;
/** The read marks (typing indicators among them) Graph received for one of the user's messages. */
const marksOf = (waMessageId: string) =>
  stack.graph.requests.filter((request) => isReadMark(request) && (request.body as { message_id: string }).message_id === waMessageId);

describe.concurrent('typing and read reach WhatsApp once, on the CRM word only', () => {
  test('typing shows the indicator on the user’s last message once; typing again within 20 s and after the reply sends nothing more', async () => {
    const phone = freshPhone();
    const ticketId = await activeTicketFor(stack, phone, '2020202020');
    const wamid = await sendUser(stack, phone, text('no tengo internet'));
    await eventually(() => stack.crm.to('/api/bot/user-message').some((r) => (r.body as { waMessageId: string }).waMessageId === wamid), 'relayed');

    expect(await crmCall(stack, 'POST', '/api/crm/typing', { ticketId, agentId: 'agent_007' })).toMatchObject({ status: 200, body: { applied: true } });
    await eventually(() => marksOf(wamid).length === 1, 'the typing indicator at Graph');
    expect(marksOf(wamid).map((request) => request.body)).toEqual([
      { messaging_product: 'whatsapp', status: 'read', message_id: wamid, typing_indicator: { type: 'text' } },
    ]);
    expect(marksOf(wamid)[0]!.headers.get('authorization')).toBe('Bearer graph-token');

    expect((await crmCall(stack, 'POST', '/api/crm/typing', { ticketId, agentId: 'agent_007' })).status).toBe(200);
    await crmCall(stack, 'POST', '/api/crm/send-message', { ticketId, userPhone: phone, agentId: 'agent_007', messageType: 'text', message: 'Ya lo reviso' });
    await eventually(() => sentTo(stack, phone).map(readable).includes('Ya lo reviso'), 'the reply');
    expect((await crmCall(stack, 'POST', '/api/crm/typing', { ticketId, agentId: 'agent_007' })).status).toBe(200);
    await outboxSettled(stack);
    expect(marksOf(wamid).filter(isTypingIndicator)).toHaveLength(1);
  });

  test('the user’s messages are never marked read on their own; a read call marks up to the one it names, once', async () => {
    const phone = freshPhone();
    const ticketId = await activeTicketFor(stack, phone, '2020202020');
    const first = await sendUser(stack, phone, text('hola'));
    const second = await sendUser(stack, phone, text('sigo sin servicio'));
    await eventually(() => stack.crm.to('/api/bot/user-message').some((r) => (r.body as { waMessageId: string }).waMessageId === second), 'relayed');
    await outboxSettled(stack);
    expect([...marksOf(first), ...marksOf(second)]).toEqual([]);

    expect(await crmCall(stack, 'POST', '/api/crm/read', { ticketId, agentId: 'agent_007', upTo: first })).toMatchObject({ status: 200 });
    await eventually(() => marksOf(first).length === 1, 'the read mark of the first message');
    // Read again, and the first once more under a new key: WhatsApp already shows it read.
    await crmCall(stack, 'POST', '/api/crm/read', { ticketId, agentId: 'agent_007', upTo: first }, { 'idempotency-key': `again-${ticketId}` });
    expect(await crmCall(stack, 'POST', '/api/crm/read', { ticketId, agentId: 'agent_007' })).toMatchObject({ status: 200 });
    await eventually(() => marksOf(second).length === 1, 'the read mark of the last message');
    await outboxSettled(stack);
    expect(marksOf(first).map((request) => request.body)).toEqual([{ messaging_product: 'whatsapp', status: 'read', message_id: first }]);
    expect(marksOf(second).map((request) => request.body)).toEqual([{ messaging_product: 'whatsapp', status: 'read', message_id: second }]);
  });

  test('typing from an agent who does not hold the ticket is 409 and reaches nobody', async () => {
    const phone = freshPhone();
    const ticketId = await activeTicketFor(stack, phone, '2020202020');
    const wamid = await sendUser(stack, phone, text('hola'));
    expect(await crmCall(stack, 'POST', '/api/crm/typing', { ticketId, agentId: 'agent_123' })).toMatchObject({
      status: 409,
      body: { error: 'not_ticket_agent' },
    });
    await outboxSettled(stack);
    expect(marksOf(wamid)).toEqual([]);
  });
});
