import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test';
import { activeTicketFor, crmCall, eventually, outboxSettled, sendStatus, startStack, type TestStack } from '../support/harness';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts): this file's, through the whole service.
setDefaultTimeout(30_000);

/**
 * What a handover costs (issue 20, part 2): WhatsApp prices per message, and
 * each status webhook says whether the message was billable, its pricing
 * model and category. The service keeps that with the message, and the
 * ticket's status, the KPIs and a Prometheus counter say what was charged.
 */
const ACTIVE_SUBSCRIBER = '2020202020';
const METRICS_TOKEN = 'metrics-token-for-tests';
const asOperator = { headers: { authorization: `Bearer ${METRICS_TOKEN}` } };

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack('pricing', { METRICS_TOKEN, WHATSAPP_RATE_CARD: 'utility=0.0008,marketing=0.0125', WHATSAPP_RATE_CURRENCY: 'USD' });
});
afterAll(() => stack?.stop());

/** The agent's messages of a ticket as sent, with their wamids (once WhatsApp accepted them). */
async function agentMessagesOf(ticketId: string): Promise<string[]> {
  const rows = await stack.sql`select wa_message_id from messages where ticket_id = ${ticketId} and author = 'agent' and wa_message_id is not null order by id`;
  return rows.map((row) => row.wa_message_id as string);
}

test("a billable status is kept with its message, and the ticket's status, the KPIs and the counter sum it", async () => {
  const phone = '573000003001';
  const ticketId = await activeTicketFor(stack, phone, ACTIVE_SUBSCRIBER);
  for (const message of ['Buenos días', 'Su servicio está activo']) {
    const reply = { ticketId, userPhone: phone, agentId: 'agent_007', message, messageType: 'text' };
    expect((await crmCall(stack, 'POST', '/api/crm/send-message', reply)).status).toBe(200);
  }
  await outboxSettled(stack);
  const [billed, free] = await eventually(async () => {
    const sent = await agentMessagesOf(ticketId);
    return sent.length === 2 && sent;
  }, "the agent's messages with their wamids");

  // Each status repeats the pricing; the first one that says it is kept.
  const utility = { billable: true, pricing_model: 'PMP', category: 'utility' };
  await sendStatus(stack, { id: billed!, recipient: phone, status: 'sent', pricing: utility });
  await sendStatus(stack, { id: billed!, recipient: phone, status: 'delivered', pricing: utility });
  await sendStatus(stack, { id: free!, recipient: phone, status: 'delivered', pricing: { billable: false, pricing_model: 'PMP', category: 'service' } });

  const priced = await eventually(async () => {
    const rows = await stack.sql`select wa_message_id, status, billable, pricing_model, pricing_category from messages
      where wa_message_id in (${billed!}, ${free!}) order by id`;
    return rows.every((row) => row.status === 'delivered') && rows;
  }, 'both statuses applied');
  expect(priced.map((row) => [row.billable, row.pricing_model, row.pricing_category])).toEqual([
    [true, 'PMP', 'utility'],
    [false, 'PMP', 'service'],
  ]);

  const status = await crmCall(stack, 'GET', `/api/crm/handover-status/${ticketId}`);
  expect(status.body.cost).toEqual({ billableMessages: 1, byCategory: { utility: 1 }, estimatedCost: 0.0008, currency: 'USD' });

  const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
  const kpis = (await (await fetch(`${stack.service.url}/api/metrics/kpis?from=${day(-1)}&to=${day(1)}&tz=UTC&groupBy=agent`, asOperator)).json()) as {
    totals: { billable: unknown };
    groups: { key: string; kpis: { billable: unknown } }[];
  };
  expect(kpis.totals.billable).toEqual({ messages: 1, byCategory: { utility: 1 }, estimatedCost: 0.0008, currency: 'USD' });
  expect(kpis.groups.find((group) => group.key === 'agent_007')?.kpis.billable).toEqual(kpis.totals.billable);

  const metrics = await (await fetch(`${stack.service.url}/metrics`, asOperator)).text();
  expect(metrics).toContain('handover_billable_messages_total{category="utility"} 1');
});
