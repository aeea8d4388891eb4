import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { sendAs, sendStatusFor, sendUserIdUpdate, sentToBsuid, type WhatsAppUser } from '../support/bsuid';
import { json } from '../support/fakes';
import { crmCall, eventually, readable, sentTo, startStack, text, type TestStack } from '../support/harness';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts): this file's, through the whole service.
setDefaultTimeout(30_000);

/**
 * Subscribers who adopted a WhatsApp username (DESIGN 2.6): Meta names them
 * by a business-scoped user id (BSUID) and hides their phone. They go
 * through the same flows as anyone, written to by `recipient`, named to
 * the CRM by `userId`.
 */
let stack: TestStack;
beforeAll(async () => {
  stack = await startStack('usernames');
});
afterAll(() => stack.stop());

let counter = 0;
const freshBsuid = () => `CO.${process.pid}${Date.now() % 1_000_000}${String(++counter).padStart(3, '0')}`;
const freshPhone = () => `5731${String(process.pid % 10000).padStart(4, '0')}${String(++counter).padStart(4, '0')}`;

const crmCallsFor = (ticketId: string) => stack.crm.requests.filter((request) => (request.body as { ticketId?: string } | null)?.ticketId === ticketId);
const userMessagesFor = (ticketId: string) =>
  stack.crm.to('/api/bot/user-message').filter((request) => (request.body as { ticketId?: string }).ticketId === ticketId);
const graphBodies = () => stack.graph.requests.map((request) => request.body as Record<string, any>);
const rows = async (query: string, ...values: string[]): Promise<Record<string, any>[]> => [...(await stack.sql.unsafe(query, values))];

/** Hola, soporte, the document: waits for the agent-request that names the user by `bsuid` and returns it. */
async function openTicketAs(user: WhatsAppUser, document: string, sent: () => Record<string, any>[]): Promise<Record<string, any>> {
  await sendAs(stack, user, text('Hola'));
  await eventually(() => sent().length >= 1, 'menu');
  await sendAs(stack, user, text('soporte'));
  await eventually(() => sent().length >= 2, 'document question');
  await sendAs(stack, user, text(document));
  const request = await eventually(
    () =>
      stack.crm
        .to('/api/bot/agent-request')
        .find(
          (r) => (r.body as { userId?: string }).userId === (user.bsuid ?? '') || (user.phone && (r.body as { userPhone?: string }).userPhone === user.phone),
        ),
    'agent-request',
  );
  return request.body as Record<string, any>;
}

async function takeTicket(ticketId: string, naming: Record<string, string>): Promise<void> {
  const { status } = await crmCall(stack, 'POST', '/api/crm/handover', {
    ticketId,
    ...naming,
    agentId: 'agent_007',
    agentName: 'Carlos Ruiz',
    handoverType: 'bot_to_human',
  });
  expect(status).toBe(200);
  await eventually(async () => (await crmCall(stack, 'GET', `/api/crm/handover-status/${ticketId}`)).body.status === 'active', 'active ticket');
}

describe('a username-only subscriber', () => {
  test('goes through the whole seed flow: every send by `recipient`, every CRM call by userId, no phone anywhere', async () => {
    const user = { bsuid: freshBsuid(), username: 'juan.perez', name: 'Juan' };
    const sent = () => sentToBsuid(stack, user.bsuid);

    const agentRequest = await openTicketAs(user, '1010101010', sent);
    const ticketId = agentRequest.ticketId as string;
    expect(agentRequest).toMatchObject({
      userId: user.bsuid,
      username: 'juan.perez',
      category: 'reactivacion_servicio',
      userContext: { customerName: 'Juan Pérez' },
    });
    expect(agentRequest.userPhone).toBeUndefined();
    expect(agentRequest.userContext.phoneNumber).toBeUndefined();
    // The directory was asked by document alone.
    const lookup = stack.directory.requests.find((request) => request.query.get('document') === '1010101010' && !request.query.has('phone'));
    expect(lookup).toBeDefined();

    await takeTicket(ticketId, { userId: user.bsuid });
    await sendAs(stack, user, text('sigo sin internet'));
    const [relay] = await eventually(() => userMessagesFor(ticketId).length > 0 && userMessagesFor(ticketId), 'relay to the CRM');
    expect(relay!.body).toMatchObject({ ticketId, userId: user.bsuid, username: 'juan.perez', message: 'sigo sin internet' });

    const before = sent().length;
    expect(
      (
        await crmCall(stack, 'POST', '/api/crm/send-message', {
          ticketId,
          userId: user.bsuid,
          agentId: 'agent_007',
          message: 'Ya lo reviso',
          messageType: 'text',
        })
      ).status,
    ).toBe(200);
    await eventually(
      () =>
        sent()
          .slice(before)
          .some((message) => readable(message) === 'Ya lo reviso'),
      "the agent's message",
    );

    expect((await crmCall(stack, 'GET', `/api/crm/handover-status/${ticketId}`)).body).toMatchObject({
      userPhone: null,
      userId: user.bsuid,
      username: 'juan.perez',
    });

    await crmCall(stack, 'POST', '/api/crm/handover', { ticketId, userId: user.bsuid, handoverType: 'human_to_bot' });
    await eventually(() => sent().some((message) => message.type === 'interactive' && message.interactive.type === 'list'), 'survey');
    await sendAs(stack, user, text('5'));
    await eventually(() => crmCallsFor(ticketId).some((request) => (request.body as { csat?: number }).csat === 5), 'the rating told to the CRM');

    const toUser = graphBodies().filter((body) => body.recipient === user.bsuid);
    expect(toUser.length).toBeGreaterThanOrEqual(6);
    expect(toUser.every((body) => body.to === undefined)).toBe(true);
    expect(graphBodies().some((body) => body.to === user.bsuid)).toBe(false);
    const calls = crmCallsFor(ticketId).map((request) => request.body as Record<string, unknown>);
    expect(calls.length).toBeGreaterThanOrEqual(3);
    expect(calls.every((body) => body.userId === user.bsuid && body.userPhone === undefined)).toBe(true);
  });
});

describe('one person, one conversation, whatever ids a webhook carries', () => {
  test('known by phone, then writing with the BSUID alone: the same conversation and ticket, written to by phone', async () => {
    const phone = freshPhone();
    const bsuid = freshBsuid();
    await sendAs(stack, { phone }, text('Hola'));
    await eventually(() => sentTo(stack, phone).length >= 1, 'menu');
    await sendAs(stack, { phone, bsuid }, text('soporte'));
    await eventually(() => sentTo(stack, phone).length >= 2, 'document question');
    await sendAs(stack, { bsuid }, text('2020202020'));
    const request = await eventually(
      () => stack.crm.to('/api/bot/agent-request').find((r) => (r.body as { userPhone?: string }).userPhone === phone),
      'agent-request',
    );
    const ticketId = (request.body as { ticketId: string }).ticketId;
    expect(request.body).toMatchObject({ userPhone: phone, userId: bsuid });

    await sendAs(stack, { bsuid }, text('¿hay alguien?'));
    const [relay] = await eventually(() => userMessagesFor(ticketId).length > 0 && userMessagesFor(ticketId), 'relay');
    expect(relay!.body).toMatchObject({ userPhone: phone, userId: bsuid, message: '¿hay alguien?' });
    expect(await rows('select conversation_key from conversations where conversation_key = $1 or user_phone = $1 or bsuid = $2', phone, bsuid)).toEqual([
      { conversation_key: phone },
    ]);
    expect(await rows('select id from tickets where conversation_key = $1', phone)).toEqual([{ id: ticketId }]);
    expect(sentToBsuid(stack, bsuid)).toEqual([]);
  });

  test('known by BSUID, then by phone and BSUID, then by phone alone: the same conversation and ticket, written to by phone once known', async () => {
    const phone = freshPhone();
    const bsuid = freshBsuid();
    await sendAs(stack, { bsuid }, text('Hola'));
    await eventually(() => sentToBsuid(stack, bsuid).length >= 1, 'menu');
    await sendAs(stack, { phone, bsuid }, text('soporte'));
    await eventually(() => sentTo(stack, phone).length >= 1, 'document question, to the phone now known');
    await sendAs(stack, { phone }, text('2020202020'));
    const request = await eventually(
      () => stack.crm.to('/api/bot/agent-request').find((r) => (r.body as { userId?: string }).userId === bsuid),
      'agent-request',
    );
    const ticketId = (request.body as { ticketId: string }).ticketId;
    expect(request.body).toMatchObject({ userPhone: phone, userId: bsuid });
    await sendAs(stack, { phone }, text('gracias'));
    await eventually(() => userMessagesFor(ticketId).length > 0, 'relay');
    expect(
      await rows('select conversation_key, user_phone, bsuid from conversations where conversation_key = $1 or user_phone = $1 or bsuid = $2', phone, bsuid),
    ).toEqual([{ conversation_key: bsuid, user_phone: phone, bsuid }]);
    expect(await rows('select id from tickets where conversation_key = $1', bsuid)).toEqual([{ id: ticketId }]);
  });

  test('a user_id_update moves the conversation to the new BSUID: the next message joins the open ticket, replies go to the new id', async () => {
    const user = { bsuid: freshBsuid(), username: 'ana.g' };
    const agentRequest = await openTicketAs(user, '2020202020', () => sentToBsuid(stack, user.bsuid));
    const ticketId = agentRequest.ticketId as string;
    await takeTicket(ticketId, { userId: user.bsuid });

    const renewed = freshBsuid();
    await sendUserIdUpdate(stack, user.bsuid, renewed);
    await sendAs(stack, { bsuid: renewed, username: 'ana.g' }, text('cambié de número'));
    const [relay] = await eventually(() => userMessagesFor(ticketId).length > 0 && userMessagesFor(ticketId), 'relay on the same ticket');
    expect(relay!.body).toMatchObject({ userId: renewed, message: 'cambié de número' });

    expect(
      (await crmCall(stack, 'POST', '/api/crm/send-message', { ticketId, userId: renewed, agentId: 'agent_007', message: 'Listo', messageType: 'text' }))
        .status,
    ).toBe(200);
    await eventually(() => sentToBsuid(stack, renewed).some((message) => readable(message) === 'Listo'), 'the reply to the new id');
    expect((await crmCall(stack, 'GET', `/api/crm/handover-status/${ticketId}`)).body).toMatchObject({ userId: renewed });
    expect(await rows('select count(*)::int as n from tickets where conversation_key in ($1, $2)', user.bsuid, renewed)).toEqual([{ n: 1 }]);
  });
});

describe('sends WhatsApp refuses for a BSUID, and their statuses', () => {
  test('an interactive menu refused with 131062 goes once as numbered text, and the typed number is understood', async () => {
    const user = { bsuid: freshBsuid() };
    stack.graph.respond((request) => {
      const body = request.body as Record<string, any>;
      return body.recipient === user.bsuid && body.type === 'interactive'
        ? json({ error: { code: 131062, message: 'not supported for BSUID' } }, 400)
        : undefined;
    });
    try {
      await sendAs(stack, user, text('Hola'));
      const [menu] = await eventually(() => sentToBsuid(stack, user.bsuid).length >= 1 && sentToBsuid(stack, user.bsuid), 'the menu as text');
      expect(menu).toMatchObject({ type: 'text' });
      expect(readable(menu!)).toContain('1. ');
      await sendAs(stack, user, text('1'));
      await eventually(() => sentToBsuid(stack, user.bsuid).some((message) => readable(message).includes('número de documento')), 'document question');
      const attempts = graphBodies().filter((body) => body.recipient === user.bsuid);
      expect(attempts.map((body) => body.type)).toEqual(['interactive', 'text', 'text']);
    } finally {
      stack.graph.respond(null);
    }
  });

  test('statuses naming only the BSUID settle the sends they are about, and no other', async () => {
    const user = { bsuid: freshBsuid() };
    const other = { bsuid: freshBsuid() };
    await sendAs(stack, user, text('Hola'));
    await sendAs(stack, other, text('Hola'));
    await eventually(() => sentToBsuid(stack, user.bsuid).length >= 1 && sentToBsuid(stack, other.bsuid).length >= 1, 'both menus');
    const sendOf = async (bsuid: string) =>
      eventually(async () => {
        const [row] = await rows("select wa_message_id, outbox_key, status::text from messages where conversation_key = $1 and direction = 'outbound'", bsuid);
        return row?.wa_message_id && row;
      }, 'the sent row');
    const mine = await sendOf(user.bsuid);
    await sendStatusFor(stack, user, { id: mine.wa_message_id, status: 'delivered' });
    await sendStatusFor(stack, user, { id: mine.wa_message_id, status: 'read', callbackData: mine.outbox_key });
    await eventually(async () => (await sendOf(user.bsuid)).status === 'read', 'read');
    expect((await sendOf(other.bsuid)).status).toBe('sent');
  });
});
