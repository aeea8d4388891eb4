import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import {
  activeTicketFor,
  cloudApiWebhook,
  eventually,
  metaJson,
  outboxSettled,
  postWebhook,
  readable,
  sendUser,
  sentTo,
  startStack,
  text,
  type TestStack,
} from '../support/harness';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts): this file's, through the whole service.
setDefaultTimeout(30_000);

/**
 * The WhatsApp Business app on the same number (issue 20, part 3): what a
 * person answers from the phone arrives as `smb_message_echoes`, past chats
 * as `history`, and users of such numbers may `edit` and `revoke`. Echoes
 * and history are kept in the conversation's history, an echo keeps the bot
 * from talking over the person, and edits and revokes reach the CRM.
 */
const ACTIVE_SUBSCRIBER = '2020202020';
const BUSINESS_DISPLAY_NUMBER = '573009999999';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack('coexistence', { BOT_PAUSE_AFTER_BUSINESS_REPLY_S: '600' });
});
afterAll(() => stack?.stop());

let counter = 0;
const wamid = (what: string) => `wamid.${what}.${Date.now()}.${++counter}`;
const now = () => String(Math.floor(Date.now() / 1000));

/** A person on the Business app wrote to `phone` (or edited or deleted one of their messages): Meta's echo. */
async function businessAppWrites(phone: string, content: Record<string, unknown>, id = wamid('echo')): Promise<string> {
  const payload = cloudApiWebhook(
    {
      contacts: [{ profile: { name: 'Juan' }, wa_id: phone }],
      message_echoes: [{ from: BUSINESS_DISPLAY_NUMBER, to: phone, id, timestamp: now(), ...content }],
    },
    { field: 'smb_message_echoes' },
  );
  expect((await postWebhook(stack, metaJson(payload))).status).toBe(200);
  return id;
}

/** The history row of a message, once applied. */
async function stored(waMessageId: string) {
  return eventually(async () => (await stack.sql`select * from messages where wa_message_id = ${waMessageId}`)[0], `message ${waMessageId} stored`);
}

describe('an echo from the WhatsApp Business app', () => {
  test("lands in the history as the business app's message, and the bot does not talk over the person", async () => {
    const phone = '573000004001';
    await sendUser(stack, phone, text('Hola'));
    await eventually(() => sentTo(stack, phone).length === 1, 'the menu');

    const echo = await businessAppWrites(phone, text('Hola Juan, te atiendo yo desde la tienda'));
    expect(await stored(echo)).toMatchObject({
      direction: 'outbound',
      author: 'agent',
      author_id: 'whatsapp_business_app',
      body: 'Hola Juan, te atiendo yo desde la tienda',
      status: 'sent',
    });

    // The user answers the person: stored, and the bot (which would read "no entiendo" and show the menu) keeps quiet.
    const answer = await sendUser(stack, phone, text('perfecto, gracias'));
    await stored(answer);
    await outboxSettled(stack);
    expect(sentTo(stack, phone)).toHaveLength(1);
  });

  test('reaches the agent of an open ticket as a ticket-update', async () => {
    const phone = '573000004002';
    const ticketId = await activeTicketFor(stack, phone, ACTIVE_SUBSCRIBER);
    const echo = await businessAppWrites(phone, text('Ya le envié el técnico'));
    const update = await eventually(
      () => stack.crm.to('/api/bot/ticket-update').find((r) => (r.body as { reason?: string }).reason === 'business_message'),
      'the ticket-update',
    );
    expect(update.body).toMatchObject({
      ticketId,
      userPhone: phone,
      reason: 'business_message',
      message: { type: 'text', body: 'Ya le envié el técnico', waMessageId: echo, sentFrom: 'whatsapp_business_app' },
    });
    expect(await stored(echo)).toMatchObject({ ticket_id: ticketId, author_id: 'whatsapp_business_app' });
  });
});

test('a history backfill is stored, both sides, and never answered', async () => {
  const phone = '573000004003';
  const [fromUser, fromBusiness] = [wamid('history'), wamid('history')];
  const history = cloudApiWebhook(
    {
      history: [
        {
          metadata: { phase: 0, chunk_order: 1, progress: 100 },
          threads: [
            {
              id: phone,
              messages: [
                {
                  from: phone,
                  id: fromUser,
                  timestamp: String(Number(now()) - 7200),
                  type: 'text',
                  text: { body: '¿Tienen fibra en mi barrio?' },
                  history_context: { status: 'read' },
                },
                {
                  from: BUSINESS_DISPLAY_NUMBER,
                  id: fromBusiness,
                  timestamp: String(Number(now()) - 7100),
                  type: 'text',
                  text: { body: 'Sí, desde mayo' },
                  history_context: { status: 'read' },
                },
              ],
            },
          ],
        },
      ],
    },
    { field: 'history' },
  );
  expect((await postWebhook(stack, metaJson(history))).status).toBe(200);
  expect(await stored(fromUser)).toMatchObject({ direction: 'inbound', author: 'user', body: '¿Tienen fibra en mi barrio?', status: 'received' });
  expect(await stored(fromBusiness)).toMatchObject({ direction: 'outbound', author: 'agent', author_id: 'whatsapp_business_app', status: 'read' });
  await outboxSettled(stack);
  expect(sentTo(stack, phone)).toEqual([]);
});

test("a user's edit updates the stored message and reaches the CRM as an edit of it; a revoke marks it deleted and tells the CRM", async () => {
  const phone = '573000004004';
  const ticketId = await activeTicketFor(stack, phone, ACTIVE_SUBSCRIBER);
  const original = await sendUser(stack, phone, text('mi router no prende'));
  await eventually(
    () => stack.crm.to('/api/bot/user-message').find((r) => (r.body as { waMessageId?: string }).waMessageId === original),
    'the message relayed',
  );

  await sendUser(stack, phone, {
    type: 'edit',
    edit: { original_message_id: original, message: { type: 'text', text: { body: 'mi router no enciende la luz verde' } } },
  });
  const edit = await eventually(
    () => stack.crm.to('/api/bot/user-message').find((r) => (r.body as { messageType?: string }).messageType === 'edit'),
    'the edit relayed',
  );
  expect(edit.body).toMatchObject({ ticketId, message: 'mi router no enciende la luz verde', edit: { messageId: original, waMessageId: original } });
  const edited = await eventually(async () => {
    const [row] = await stack.sql`select body, edited_at from messages where wa_message_id = ${original}`;
    return row?.edited_at && row;
  }, 'the original edited');
  expect(edited.body).toBe('mi router no enciende la luz verde');

  await sendUser(stack, phone, { type: 'revoke', revoke: { original_message_id: original } });
  const revoke = await eventually(
    () => stack.crm.to('/api/bot/user-message').find((r) => (r.body as { messageType?: string }).messageType === 'revoke'),
    'the revoke relayed',
  );
  expect(revoke.body).toMatchObject({ ticketId, revoke: { messageId: original, waMessageId: original } });
  await eventually(async () => (await stack.sql`select deleted_at from messages where wa_message_id = ${original}`)[0]?.deleted_at, 'the original deleted');
  // Neither is a turn of the conversation: the user is told nothing.
  await outboxSettled(stack);
  expect(sentTo(stack, phone).map(readable).at(-1)).toBe('Agente Carlos Ruiz conectado');
});
