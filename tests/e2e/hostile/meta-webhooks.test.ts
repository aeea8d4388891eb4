import { expect, test } from 'bun:test';
import { pipelineEvent } from '../../../src/domain/events';
import { streamKeys } from '../../../src/streams/codec';
import { createProducer } from '../../../src/streams/producer';
import { eventually, metaJson, postWebhook, text, userMessagePayload } from '../../support/harness';
import { freshPhone, hostileCases, hostileStack, LONE_SURROGATE, NUL, type Hostile, type Target } from './support';

/**
 * Issue 13 against Meta's signed webhooks (items 1 and 2): they must get 200,
 * so what Postgres could not store is cleaned, and a bad entry already in
 * the stream is dead-lettered at once.
 */
const hostile = hostileStack('hostile_meta');
const DEEP = 100_000;

/** A signed Cloud API delivery of one message from the target, altered by `change` (which may break what Meta would send). */
function signedMessage(target: Target, id: string, change: (message: Record<string, any>, contact: Record<string, any>) => void) {
  const { payload } = userMessagePayload(target.phone, text('hola'), { id });
  const value = payload.entry[0]!.changes[0]!.value as Record<string, any>;
  change(value.messages[0], value.contacts[0]);
  return postWebhook(hostile.stack, metaJson(payload));
}

/** A signed thread-control delivery (`messaging_handovers`) carrying `value`. */
const signedThreadControl = (value: Record<string, unknown>) =>
  postWebhook(
    hostile.stack,
    metaJson({ object: 'whatsapp_business_account', entry: [{ id: 'WABA_ID', changes: [{ field: 'messaging_handovers', value }] }] }),
    undefined,
    '/api/crm/meta-handover-webhook',
  );

const CASES: Hostile[] = [
  // 1. Text Postgres cannot store: cleaned, logged and accepted, since Meta must get 200.
  {
    name: 'a signed webhook whose text holds NUL and an unpaired surrogate',
    needs: 'conversation',
    send: (t) => signedMessage(t, `wamid.nul.${t.phone}`, (message) => (message.text.body = `ho${NUL}la ${LONE_SURROGATE}`)),
    status: 200,
    applied: (t) => [`wa:msg:wamid.nul.${t.phone}`],
  },
  {
    name: 'a signed webhook whose sender (from, wa_id) and profile name hold NUL',
    send: (t) =>
      signedMessage(t, `wamid.from.${t.phone}`, (message, contact) => {
        message.from = `${t.phone}${NUL}`;
        contact.wa_id = `${t.phone}${NUL}`;
        contact.profile.name = `Juan${NUL}`;
      }),
    status: 200,
    applied: (t) => [`wa:msg:wamid.from.${t.phone}`],
  },
  // 2. A signed webhook never gets a 500.
  {
    name: 'a signed message whose timestamp is past what a Date holds',
    needs: 'conversation',
    send: (t) => signedMessage(t, `wamid.time.${t.phone}`, (message) => (message.timestamp = '99999999999999999999')),
    status: 200,
    applied: (t) => [`wa:msg:wamid.time.${t.phone}`],
  },
  {
    name: 'a signed status whose timestamp is past what a Date holds',
    needs: 'conversation',
    send: (t) =>
      postWebhook(
        hostile.stack,
        metaJson({
          object: 'whatsapp_business_account',
          entry: [
            {
              id: 'WABA_ID',
              changes: [
                {
                  field: 'messages',
                  value: { statuses: [{ id: `wamid.status.${t.phone}`, status: 'read', timestamp: '99999999999999999999', recipient_id: t.phone }] },
                },
              ],
            },
          ],
        }),
      ),
    status: 200,
  },
  {
    name: 'a signed status whose status and timestamp are nested deeper than a recursion survives',
    needs: 'conversation',
    send: (t) =>
      postWebhook(
        hostile.stack,
        `{"entry":[{"changes":[{"field":"messages","value":{"statuses":[{"id":"wamid.deep","recipient_id":"${t.phone}","status":${'['.repeat(DEEP)}${']'.repeat(DEEP)},"timestamp":${'['.repeat(DEEP)}${']'.repeat(DEEP)}}]}}]}]}`,
      ),
    status: 200,
  },
  {
    name: 'a signed handover webhook whose ticket_id holds NUL',
    send: (t) =>
      signedThreadControl({
        event: 'pass_thread_control',
        thread_control: { app_id: 'CRM_APP', metadata: JSON.stringify({ ticket_id: `${t.ticketId}${NUL}` }) },
      }),
    status: 200,
  },
  {
    name: 'a signed handover webhook whose sender.phone_number holds NUL',
    send: (t) => signedThreadControl({ type: 'control_taken', sender: { phone_number: `${t.phone}${NUL}` }, control_taken: { metadata: 'agent took it' } }),
    status: 200,
  },
];

hostileCases('hostile signed webhooks: 200, cleaned, and the partition keeps flowing', hostile, CASES);

test('a message the webhook cleaned reaches the agent without the characters Postgres refuses', async () => {
  const phone = freshPhone();
  const ticketId = await hostile.activeTicket(phone);
  const response = await signedMessage({ phone, ticketId }, `wamid.clean.${phone}`, (message) => (message.text.body = `ho${NUL}la${LONE_SURROGATE}`));
  expect(response.status).toBe(200);
  const forwarded = await eventually(
    () => hostile.stack.crm.to('/api/bot/user-message').find((request) => (request.body as { waMessageId?: string }).waMessageId === `wamid.clean.${phone}`),
    'the cleaned message forwarded to the CRM',
  );
  expect(forwarded.body).toMatchObject({ ticketId, message: 'hola' });
});

test('an entry Postgres refuses that was queued before these checks is dead-lettered at once, and the partition keeps flowing', async () => {
  const phone = freshPhone();
  const deadBefore = await hostile.deadLetterCount();
  const producer = createProducer(hostile.redis, streamKeys(hostile.stack.config.REDIS_KEY_PREFIX), hostile.stack.config.STREAM_PARTITIONS);
  const waMessageId = `wamid.queued.${phone}`;
  await producer.publish([
    pipelineEvent('user.message', phone, `wa:msg:${waMessageId}`, {
      user: { phone },
      waMessageId,
      timestamp: new Date().toISOString(),
      type: 'text',
      text: `hola${NUL}`,
    }),
  ]);

  await hostile.stillFlows(phone);
  expect(await hostile.deadLetterCount()).toBe(deadBefore + 1);
  const [newest] = (await hostile.redis.xrevrange(streamKeys(hostile.stack.config.REDIS_KEY_PREFIX).deadLetter, '+', '-', 'COUNT', 1)) as [string, string[]][];
  expect(newest![1].join(' ')).toContain('permanent: ');
});
