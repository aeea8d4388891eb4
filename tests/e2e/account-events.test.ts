import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test';
import {
  activeTicketFor,
  cloudApiWebhook,
  eventually,
  metaJson,
  outboxSettled,
  postWebhook,
  sendUser,
  sentTo,
  startStack,
  text,
  type TestStack,
} from '../support/harness';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts): this file's, through the whole service.
setDefaultTimeout(30_000);

/**
 * The rest of issue 20 (part 5): group messages are not answered in private;
 * a change Meta announces to a template the service sends (the re-engagement
 * template) is a warning, a metric and a line of /health/ready; a user's call
 * leaves its trace on their open ticket and reaches the CRM.
 */
const ACTIVE_SUBSCRIBER = '2020202020';
const TEMPLATE = 'seguimiento_ticket';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack('account_events', { WHATSAPP_REENGAGE_TEMPLATE: TEMPLATE });
});
afterAll(() => stack?.stop());

const now = () => String(Math.floor(Date.now() / 1000));
const deliver = async (value: Record<string, unknown>, field: string) =>
  expect((await postWebhook(stack, metaJson(cloudApiWebhook(value, { field })))).status).toBe(200);

test('a message said in a WhatsApp group is acknowledged, counted and never answered in private', async () => {
  const phone = '573000006001';
  await deliver(
    {
      contacts: [{ profile: { name: 'Juan' }, wa_id: phone }],
      messages: [{ from: phone, group_id: 'Y2FwaV9ncm91cDpFWEFNUExF', id: `wamid.group.${Date.now()}`, timestamp: now(), ...text('Hola grupo') }],
    },
    'messages',
  );
  // The same user writing one to one afterwards is greeted once: the group message never reached the bot.
  await sendUser(stack, phone, text('Hola'));
  await eventually(() => sentTo(stack, phone).length === 1, 'the menu');
  await outboxSettled(stack);
  expect(sentTo(stack, phone)).toHaveLength(1);
  const metrics = await (await fetch(`${stack.service.url}/metrics`)).text();
  expect(metrics).toMatch(/handover_webhook_events_total\{type="group_message"\} 1/);
});

test('the re-engagement template paused, then recategorised: warnings, the metric and /health/ready say so', async () => {
  await deliver(
    { event: 'PAUSED', message_template_id: 123, message_template_name: TEMPLATE, message_template_language: 'es', reason: 'LOW_QUALITY' },
    'message_template_status_update',
  );
  const warning = await eventually(() => stack.logs.find((line) => line.event === 'template.changed' && line.change === 'PAUSED'), 'the warning');
  expect(warning).toMatchObject({ level: 40, template: TEMPLATE, reason: 'LOW_QUALITY', usedByService: true });
  const ready = (await (await fetch(`${stack.service.url}/health/ready`)).json()) as { templates: Record<string, { event: string; reason?: string }> };
  expect(ready.templates[TEMPLATE]).toMatchObject({ event: 'PAUSED', reason: 'LOW_QUALITY' });
  expect(await (await fetch(`${stack.service.url}/metrics`)).text()).toContain(`handover_template_status{template="${TEMPLATE}",status="PAUSED"} 1`);

  await deliver(
    { message_template_id: 123, message_template_name: TEMPLATE, message_template_language: 'es', previous_category: 'UTILITY', new_category: 'MARKETING' },
    'template_category_update',
  );
  await eventually(() => stack.logs.find((line) => line.event === 'template.changed' && line.change === 'CATEGORY_CHANGED'), 'the category warning');
  const after = (await (await fetch(`${stack.service.url}/health/ready`)).json()) as { templates: Record<string, { event: string; category?: string }> };
  expect(after.templates[TEMPLATE]).toMatchObject({ event: 'CATEGORY_CHANGED', category: 'MARKETING', previousCategory: 'UTILITY' });

  // A template the service does not send changes nothing it shows (the webhook records before its 200).
  await deliver(
    { event: 'PAUSED', message_template_id: 7, message_template_name: 'promo_navidad', message_template_language: 'es' },
    'message_template_status_update',
  );
  const still = (await (await fetch(`${stack.service.url}/health/ready`)).json()) as { templates: Record<string, unknown> };
  expect(Object.keys(still.templates)).toEqual([TEMPLATE]);
});

test("a user's call is recorded on their open ticket and reaches the CRM as a ticket event", async () => {
  const phone = '573000006002';
  const ticketId = await activeTicketFor(stack, phone, ACTIVE_SUBSCRIBER);
  const callId = `wacid.${Date.now()}`;
  const contacts = [{ profile: { name: 'Juan' }, wa_id: phone }];
  const base = { id: callId, from: phone, to: '573009999999', direction: 'USER_INITIATED' };
  await deliver({ contacts, calls: [{ ...base, event: 'connect', timestamp: now(), session: { sdp_type: 'offer', sdp: 'v=0' } }] }, 'calls');
  await deliver({ contacts, calls: [{ ...base, event: 'terminate', timestamp: now(), status: 'Completed', duration: 42 }] }, 'calls');

  const events = await eventually(async () => {
    const rows = await stack.sql`select data from ticket_events where ticket_id = ${ticketId} and type = 'call' order by id`;
    return rows.length === 2 && rows.map((row) => row.data);
  }, 'both calls recorded');
  expect(events).toEqual([
    expect.objectContaining({ callId, event: 'connect', direction: 'USER_INITIATED' }),
    expect.objectContaining({ callId, event: 'terminate', status: 'COMPLETED', durationS: 42 }),
  ]);
  const update = await eventually(
    () => stack.crm.to('/api/bot/ticket-update').find((r) => (r.body as { reason?: string; call?: { event?: string } }).call?.event === 'terminate'),
    'the ticket-update',
  );
  expect(update.body).toMatchObject({ ticketId, userPhone: phone, reason: 'call', call: { callId, status: 'COMPLETED', durationS: 42 } });
});
