import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { sendAs, sendUserIdUpdate, type WhatsAppUser } from '../support/bsuid';
import { crmCall, eventually, readable, sentTo, startStack, text, type TestStack } from '../support/harness';

setDefaultTimeout(30_000);

/**
 * An identity change through the whole service (issue 22, finding 7): a
 * signed webhook pairs a new phone with the BSUID of a user whose ticket an
 * agent holds. The CRM hears of it (a ticket-update `identity_changed` with
 * the old and the new phone), the agent's reply goes to the new phone, and a
 * CRM call still naming the old phone is accepted and answered with the new
 * one. A `user_id_update` then changes the BSUID: the CRM hears that too.
 */
let stack: TestStack;
const pid = String(process.pid % 10000).padStart(4, '0');
const user: WhatsAppUser = { phone: `5735${pid}0301`, bsuid: `CO.6${process.pid}0301`, name: 'Ana' };
const newPhone = `5735${pid}0302`;
let ticketId: string;

const updatesOf = (reason: string) =>
  stack.crm
    .to('/api/bot/ticket-update')
    .filter(
      (request) => (request.body as { ticketId?: string; reason?: string }).ticketId === ticketId && (request.body as { reason?: string }).reason === reason,
    );

beforeAll(async () => {
  stack = await startStack('identity_change');
  await sendAs(stack, user, text('Hola'));
  await eventually(() => sentTo(stack, user.phone!).length >= 1, 'menu');
  await sendAs(stack, user, text('soporte'));
  await eventually(() => sentTo(stack, user.phone!).length >= 2, 'document question');
  await sendAs(stack, user, text('2020202020'));
  const request = await eventually(
    () => stack.crm.to('/api/bot/agent-request').find((r) => (r.body as { userId?: string }).userId === user.bsuid),
    'agent-request',
  );
  ticketId = (request.body as { ticketId: string }).ticketId;
  const taken = await crmCall(stack, 'POST', '/api/crm/handover', {
    ticketId,
    userPhone: user.phone,
    agentId: 'agent_007',
    agentName: 'Carlos Ruiz',
    handoverType: 'bot_to_human',
  });
  expect(taken.status).toBe(200);
});
afterAll(() => stack?.stop());

describe('a new phone for the BSUID of a user with an agent', () => {
  test('reaches the CRM as a ticket-update identity_changed naming the old and the new phone', async () => {
    await sendAs(stack, { ...user, phone: newPhone }, text('cambié de número'));

    const [update] = await eventually(() => updatesOf('identity_changed').length > 0 && updatesOf('identity_changed'), 'the identity change told');
    expect(update!.body).toMatchObject({
      ticketId,
      status: 'active',
      reason: 'identity_changed',
      userPhone: newPhone,
      previousUserPhone: user.phone,
      userId: user.bsuid,
    });
    expect(update!.headers.get('x-bot-signature')).toStartWith('sha256=');
    const events = await stack.sql`select type, data from ticket_events where ticket_id = ${ticketId} and type = 'identity_changed'`;
    expect(events.map((event) => event.data)).toEqual([{ previousUserPhone: user.phone, userPhone: newPhone, userId: user.bsuid }]);
  });

  test('a CRM call still naming the old phone is accepted and answered with the new one; the reply goes to the new phone', async () => {
    const { status, body } = await crmCall(stack, 'POST', '/api/crm/send-message', {
      ticketId,
      userPhone: user.phone,
      agentId: 'agent_007',
      message: 'Listo, anoto tu nuevo número',
      messageType: 'text',
    });

    expect(status).toBe(200);
    expect(body).toMatchObject({ success: true, applied: true, ticketId, userPhone: newPhone, userId: user.bsuid });
    await eventually(() => sentTo(stack, newPhone).some((message) => readable(message) === 'Listo, anoto tu nuevo número'), 'the reply to the new phone');
    expect(sentTo(stack, user.phone!).map(readable)).not.toContain('Listo, anoto tu nuevo número');
  });
});

describe('a user_id_update for a user with an agent', () => {
  test('reaches the CRM with the new BSUID and the previous one', async () => {
    const renewed = `${user.bsuid}7`;
    await sendUserIdUpdate(stack, user.bsuid!, renewed, newPhone);

    const update = await eventually(
      () => updatesOf('identity_changed').find((request) => (request.body as { userId?: string }).userId === renewed),
      'the BSUID change told',
    );
    expect(update.body).toMatchObject({ reason: 'identity_changed', userId: renewed, previousUserId: user.bsuid, userPhone: newPhone });
    expect((await crmCall(stack, 'GET', `/api/crm/handover-status/${ticketId}`)).body).toMatchObject({ userPhone: newPhone, userId: renewed });
  });
});
