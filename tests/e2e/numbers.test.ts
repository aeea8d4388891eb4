import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { crmCall, eventually, outboxSettled, PRIMARY_NUMBER, readable, sendUser, startStack, text, type TestStack } from '../support/harness';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts): this file's, through the whole service.
setDefaultTimeout(30_000);

/**
 * One WhatsApp Business Account, two numbers on one callback URL (issue 20,
 * part 1): each user is answered from the number they wrote to, a user
 * writing to both has two conversations, and a webhook for a number this
 * service does not serve is acknowledged and never answered.
 */
const SALES = '2222222222';
const NOT_OURS = '9999999999';
const ACTIVE_SUBSCRIBER = '2020202020';
const METRICS_TOKEN = 'metrics-token-for-tests';
const asOperator = { headers: { authorization: `Bearer ${METRICS_TOKEN}` } };

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack('numbers', { WHATSAPP_PHONE_NUMBER_IDS: `${PRIMARY_NUMBER},${SALES}`, METRICS_TOKEN });
});
afterAll(() => stack?.stop());

/** The sends to `phone` the Graph fake accepted, with the number each went from (`/v21.0/<number>/messages`). */
function sendsTo(phone: string): { from: string; text: string }[] {
  return stack.graph.requests
    .filter((request) => request.status === 200 && (request.body as { to?: string })?.to === phone)
    .map((request) => ({ from: request.path.split('/')[2]!, text: readable(request.body as Record<string, any>) }));
}

describe('two numbers served', () => {
  test('each user is answered from the number they wrote to', async () => {
    await sendUser(stack, '573000002001', text('Hola'));
    await sendUser(stack, '573000002002', text('Hola'), { phoneNumberId: SALES });
    const primary = await eventually(() => sendsTo('573000002001').at(0), 'the menu to the primary number user');
    const sales = await eventually(() => sendsTo('573000002002').at(0), 'the menu to the sales number user');
    expect(primary.from).toBe(PRIMARY_NUMBER);
    expect(sales.from).toBe(SALES);
  });

  test('a user writing to both numbers has two conversations, each answered from its own number', async () => {
    const phone = '573000002003';
    await sendUser(stack, phone, text('Hola'));
    await eventually(() => sendsTo(phone).length === 1, 'the first menu');
    await sendUser(stack, phone, text('Hola'), { phoneNumberId: SALES });
    await eventually(() => sendsTo(phone).length === 2, 'the second menu');
    // Both greeted as new: one conversation per number, not one menu answered "not understood".
    expect(sendsTo(phone).map((send) => send.from)).toEqual([PRIMARY_NUMBER, SALES]);
    expect(sendsTo(phone).every((send) => send.text.startsWith('¡Hola'))).toBe(true);
    const rows = await stack.sql`select conversation_key from conversations where user_phone = ${phone} order by conversation_key`;
    expect(rows.map((row) => row.conversation_key)).toEqual([phone, `${phone}@${SALES}`]);
  });

  test('a webhook for a number not served gets 200, is counted, and is never answered', async () => {
    const phone = '573000002004';
    await sendUser(stack, phone, text('Hola'), { phoneNumberId: NOT_OURS });
    // A message to a served number after it: once it is answered, the one before would have been too.
    await sendUser(stack, phone, text('Hola'));
    await eventually(() => sendsTo(phone).length === 1, 'the served number answered');
    await outboxSettled(stack);
    expect(sendsTo(phone).map((send) => send.from)).toEqual([PRIMARY_NUMBER]);
    const [stored] = await stack.sql`select count(*)::int as n from conversations where conversation_key like ${`%${NOT_OURS}%`}`;
    expect(stored!.n).toBe(0);
    const metrics = await (await fetch(`${stack.service.url}/metrics`, asOperator)).text();
    expect(metrics).toMatch(/handover_webhook_events_total\{type="unserved_number"\} [1-9]/);
  });

  test('a ticket opened on the second number names it to the CRM and in its status, and the agent answers from it', async () => {
    const phone = '573000002005';
    const opts = { phoneNumberId: SALES };
    await sendUser(stack, phone, text('Hola'), opts);
    await eventually(() => sendsTo(phone).length >= 1, 'menu');
    await sendUser(stack, phone, text('soporte'), opts);
    await eventually(() => sendsTo(phone).length >= 2, 'document question');
    await sendUser(stack, phone, text(ACTIVE_SUBSCRIBER), opts);
    const request = await eventually(
      () => stack.crm.to('/api/bot/agent-request').find((r) => (r.body as { userPhone?: string }).userPhone === phone),
      'agent-request',
    );
    const ticketId = (request.body as { ticketId: string }).ticketId;
    expect(request.body).toMatchObject({ ticketId, userPhone: phone, businessPhoneNumberId: SALES });

    const status = await crmCall(stack, 'GET', `/api/crm/handover-status/${ticketId}`);
    expect(status.body.businessPhoneNumberId).toBe(SALES);

    const handover = { ticketId, userPhone: phone, agentId: 'agent_9', agentName: 'Sofía', handoverType: 'bot_to_human' };
    expect((await crmCall(stack, 'POST', '/api/crm/handover', handover)).status).toBe(200);
    const reply = { ticketId, userPhone: phone, agentId: 'agent_9', message: 'Hola, soy Sofía', messageType: 'text' };
    expect((await crmCall(stack, 'POST', '/api/crm/send-message', reply)).status).toBe(200);
    await eventually(() => sendsTo(phone).some((send) => send.text === 'Hola, soy Sofía'), "the agent's message");
    // Every message of this conversation, bot's and agent's, went from the number the user wrote to.
    expect(new Set(sendsTo(phone).map((send) => send.from))).toEqual(new Set([SALES]));

    await sendUser(stack, phone, text('gracias'), opts);
    const relayed = await eventually(
      () => stack.crm.to('/api/bot/user-message').find((r) => (r.body as { message?: string }).message === 'gracias'),
      'the user-message',
    );
    expect(relayed.body).toMatchObject({ ticketId, businessPhoneNumberId: SALES });
  });

  test('KPIs can be grouped by number: the ticket on the second number is counted under it', async () => {
    const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    const response = await fetch(`${stack.service.url}/api/metrics/kpis?from=${day(-1)}&to=${day(1)}&tz=UTC&groupBy=number`, asOperator);
    expect(response.status).toBe(200);
    const report = (await response.json()) as { groupBy: string; groups: { key: string; kpis: { tickets: number } }[] };
    expect(report.groupBy).toBe('number');
    expect(report.groups.map((group) => [group.key, group.kpis.tickets])).toEqual([[SALES, 1]]);
  });
});
