import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { json } from '../support/fakes';
import {
  activeTicketFor,
  cloudApiWebhook,
  crmCall,
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
 * Conversation Routing (issue 20, part 4): with a second responder on the
 * number, Meta sends `standby` copies of the threads this app does not own
 * and `messaging_handovers` when ownership moves, all to `/webhook`. The bot
 * never answers a thread it does not own; a standby message of a
 * conversation with an open ticket still reaches the agent; with
 * WHATSAPP_THREAD_CONTROL the ticket passes and takes the thread itself.
 */
const ACTIVE_SUBSCRIBER = '2020202020';
const CRM_APP_ID = '263902037430900';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack('routing', { WHATSAPP_THREAD_CONTROL: 'crm', CRM_META_APP_ID: CRM_APP_ID });
});
afterAll(() => stack?.stop());

const now = () => String(Math.floor(Date.now() / 1000));
let counter = 0;

/** A `messaging_handovers` notification, as Meta sends it to the app's callback URL. */
async function handover(phone: string, type: 'control_passed' | 'control_taken', body: Record<string, unknown> = {}) {
  const value = { type, sender: { phone_number: phone }, timestamp: String(Number(now()) + ++counter), [type]: { metadata: 'from the test', ...body } };
  expect((await postWebhook(stack, metaJson(cloudApiWebhook(value, { field: 'messaging_handovers' })))).status).toBe(200);
}

/** A user's message Meta delivers as `standby`: another responder owns the thread. */
async function standby(phone: string, body: string): Promise<string> {
  const id = `wamid.standby.${Date.now()}.${++counter}`;
  const value = { contacts: [{ profile: { name: 'Juan' }, wa_id: phone }], messages: [{ from: phone, id, timestamp: now(), ...text(body) }] };
  expect((await postWebhook(stack, metaJson(cloudApiWebhook(value, { field: 'standby' })))).status).toBe(200);
  return id;
}

const ownerOf = async (phone: string) => (await stack.sql`select thread_owner from conversations where conversation_key = ${phone}`)[0]?.thread_owner;
const storedMessage = (waMessageId: string) =>
  eventually(async () => (await stack.sql`select * from messages where wa_message_id = ${waMessageId}`)[0], `message ${waMessageId} stored`);

describe('who owns the thread', () => {
  test('moves with handovers and standby on /webhook; the bot is silent while another responder owns it', async () => {
    const phone = '573000005001';
    await sendUser(stack, phone, text('Hola'));
    await eventually(() => sentTo(stack, phone).length === 1, 'the menu');

    await handover(phone, 'control_taken', { previous_owner_app_id: '111' });
    await eventually(async () => (await ownerOf(phone)) === 'crm', 'the CRM owning the thread');

    const copy = await standby(phone, 'soporte por favor');
    expect(await storedMessage(copy)).toMatchObject({ direction: 'inbound', author: 'user', body: 'soporte por favor' });
    await outboxSettled(stack);
    expect(sentTo(stack, phone)).toHaveLength(1);

    // Passed back to this app: its bot answers again.
    await handover(phone, 'control_passed');
    await eventually(async () => (await ownerOf(phone)) === null, 'the thread back');
    await sendUser(stack, phone, text('Hola de nuevo'));
    await eventually(() => sentTo(stack, phone).length === 2, 'the bot answering again');
  });

  test('a standby copy of an unknown thread makes the owner another responder, and is never answered', async () => {
    const phone = '573000005002';
    const copy = await standby(phone, 'hola, ¿tienen planes de fibra?');
    await storedMessage(copy);
    expect(await ownerOf(phone)).toBe('other');
    await outboxSettled(stack);
    expect(sentTo(stack, phone)).toEqual([]);
    // A message delivered on the normal path: the thread is this app's again, and the bot answers it.
    await sendUser(stack, phone, text('Hola'));
    await eventually(() => sentTo(stack, phone).length === 1, 'the menu');
    expect(await ownerOf(phone)).toBeNull();
  });
});

test('a standby message of a conversation with an open ticket reaches the agent and the history', async () => {
  const phone = '573000005003';
  const ticketId = await activeTicketFor(stack, phone, ACTIVE_SUBSCRIBER);
  const copy = await standby(phone, 'sigo sin servicio');
  const relayed = await eventually(
    () => stack.crm.to('/api/bot/user-message').find((r) => (r.body as { waMessageId?: string }).waMessageId === copy),
    'the user-message',
  );
  expect(relayed.body).toMatchObject({ ticketId, message: 'sigo sin servicio' });
  expect(await storedMessage(copy)).toMatchObject({ ticket_id: ticketId, direction: 'inbound' });
});

test('thread_control: passed to the CRM when the agent takes the ticket, taken back when it closes; a refusal is recorded on the ticket', async () => {
  const stopRefusing = stack.graph.respond((request) =>
    request.path.endsWith('/thread_control') && (request.body as { action?: string }).action === 'take'
      ? json({ error: { message: '(#100) Take is not permitted for this app', type: 'OAuthException', code: 2494191 } }, 400)
      : undefined,
  );
  try {
    const phone = '573000005004';
    const ticketId = await activeTicketFor(stack, phone, ACTIVE_SUBSCRIBER);
    const calls = () => stack.graph.to('/v21.0/1234567890/thread_control').filter((request) => (request.body as { to?: string }).to === phone);
    const pass = await eventually(() => calls()[0], 'the pass');
    expect(pass.body).toEqual({ messaging_product: 'whatsapp', to: phone, action: 'pass', metadata: JSON.stringify({ ticket_id: ticketId }) });
    expect(await ownerOf(phone)).toBe('crm');

    const giveBack = { ticketId, userPhone: phone, agentId: 'agent_007', handoverType: 'human_to_bot' };
    expect((await crmCall(stack, 'POST', '/api/crm/handover', giveBack)).status).toBe(200);
    const take = await eventually(() => calls()[1], 'the take');
    expect(take.body).toMatchObject({ to: phone, action: 'take' });
    const refused = await eventually(
      async () => (await stack.sql`select data from ticket_events where ticket_id = ${ticketId} and type = 'thread_control_refused'`)[0],
      'the refusal recorded',
    );
    expect(refused.data).toMatchObject({ action: 'take', code: 2494191 });
    // The bot has the conversation again: it says so, whatever Meta answered the take.
    await eventually(() => sentTo(stack, phone).map(readable).includes('Consulta resuelta, regresando al menú'), 'the user told');
  } finally {
    stopRefusing();
  }
});
