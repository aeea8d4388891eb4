import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { signBody } from '../../src/lib/security';
import {
  activeTicketFor,
  crmCall,
  deadLetters,
  eventually,
  metaJson,
  openTicketFor,
  postWebhook,
  SECRETS,
  sendUser,
  sentTo,
  startStack,
  streamTrouble,
  text,
  userMessagePayload,
  type TestStack,
} from '../support/harness';

/**
 * The HTTP contract of every route, on one service. Each test arranges its
 * own user and ticket, so the tests run at once and any one runs alone.
 */
const ACTIVE_SUBSCRIBER = '2020202020';
const SUSPENDED_SUBSCRIBER = '1010101010';
let stack: TestStack;

beforeAll(async () => {
  stack = await startStack('routes');
});
afterAll(() => stack.stop());

const relayed = (predicate: (body: Record<string, any>) => boolean) =>
  stack.crm
    .to('/api/bot/user-message')
    .map((request) => request.body as Record<string, any>)
    .filter(predicate);

describe.concurrent('POST /webhook', () => {
  test('the same wamid delivered twice is relayed once, and the next message of that user flows without a retry', async () => {
    const phone = '573000000201';
    await activeTicketFor(stack, phone, ACTIVE_SUBSCRIBER);
    const { id, payload } = userMessagePayload(phone, text('mensaje duplicado'));
    const body = metaJson(payload);
    expect((await postWebhook(stack, body)).status).toBe(200);
    expect((await postWebhook(stack, body)).status).toBe(200);
    await sendUser(stack, phone, text('mensaje siguiente'));
    await eventually(() => relayed((body) => body.userPhone === phone && body.message === 'mensaje siguiente').length > 0, 'the next message');
    expect(relayed((body) => body.waMessageId === id)).toHaveLength(1);
    // A duplicate that slipped past the dedupe would fail its batch on the outbox's unique key: the partition
    // would stall and retry, then dead-letter it, and the next message would still arrive, only later.
    expect(streamTrouble(stack)).toEqual([]);
    expect((await deadLetters(stack)).total).toBe(0);
  });

  test("a wamid delivered again after its first copy was applied is relayed once, and the user's next message flows without a retry", async () => {
    const phone = '573000000204';
    await activeTicketFor(stack, phone, ACTIVE_SUBSCRIBER);
    const { id, payload } = userMessagePayload(phone, text('mensaje reenviado'));
    const body = metaJson(payload);
    expect((await postWebhook(stack, body)).status).toBe(200);
    await eventually(() => relayed((body) => body.waMessageId === id).length > 0, 'the first copy relayed');
    // Meta redelivers when it missed our 200: the copy meets the id already recorded, in another batch.
    expect((await postWebhook(stack, body)).status).toBe(200);
    await sendUser(stack, phone, text('después del reenvío'));
    await eventually(() => relayed((body) => body.userPhone === phone && body.message === 'después del reenvío').length > 0, 'the next message');
    expect(relayed((body) => body.waMessageId === id)).toHaveLength(1);
    expect(streamTrouble(stack)).toEqual([]);
    expect((await deadLetters(stack)).total).toBe(0);
  });

  test('a text with accents and emoji, escaped as Meta escapes it, passes the signature check', async () => {
    const phone = '573000000202';
    await activeTicketFor(stack, phone, ACTIVE_SUBSCRIBER);
    const { id, payload } = userMessagePayload(phone, text('Señor, ¿está caído el servicio? 😡🇨🇴'));
    const body = metaJson(payload);
    expect(body).toContain('\\u00f1');
    expect((await postWebhook(stack, body)).status).toBe(200);
    const relay = await eventually(() => stack.crm.to('/api/bot/user-message').find((r) => (r.body as any).waMessageId === id), 'relay');
    expect((relay.body as any).message).toBe('Señor, ¿está caído el servicio? 😡🇨🇴');
  });

  test('a wrong signature gets 401 and changes nothing', async () => {
    const phone = '573000000203';
    await activeTicketFor(stack, phone, ACTIVE_SUBSCRIBER);
    const { id, payload } = userMessagePayload(phone, text('firmado mal'));
    const body = metaJson(payload);
    const response = await postWebhook(stack, body, signBody('not-the-secret', body));
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ success: false, error: 'unauthorized' });
    expect((await postWebhook(stack, body, '')).status).toBe(401);
    await sendUser(stack, phone, text('después de la firma mala'));
    await eventually(() => relayed((body) => body.userPhone === phone && body.message === 'después de la firma mala').length > 0, 'a later message');
    expect(stack.crm.to('/api/bot/user-message').some((r) => (r.body as any).waMessageId === id)).toBe(false);
    const [row] = await stack.sql`select count(*)::int as count from messages where wa_message_id = ${id}`;
    expect(row!.count).toBe(0);
  });

  test('a body over the size limit gets 413', async () => {
    const body = JSON.stringify({ entry: [], padding: 'x'.repeat(stack.config.MAX_BODY_BYTES) });
    // Not kept alive: the server refuses before it has read the body, and a connection left mid-upload would hold up its graceful stop.
    const response = await fetch(`${stack.service.url}/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(SECRETS.metaSecret, body), connection: 'close' },
      body,
    });
    expect(response.status).toBe(413);
  });

  test('a signed body that is not JSON gets 400', async () => {
    const response = await postWebhook(stack, 'not json');
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ success: false, error: 'invalid_json' });
  });
});

describe.concurrent('GET /webhook (Meta verification)', () => {
  test('echoes the challenge as text when the token matches', async () => {
    const response = await fetch(`${stack.service.url}/webhook?hub.mode=subscribe&hub.verify_token=${SECRETS.verifyToken}&hub.challenge=1158201444`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toStartWith('text/plain');
    expect(await response.text()).toBe('1158201444');
  });

  test('refuses a wrong token with 403', async () => {
    const response = await fetch(`${stack.service.url}/webhook?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1`);
    expect(response.status).toBe(403);
  });
});

describe.concurrent('CRM routes: error codes', () => {
  const routes = [
    ['POST', '/api/crm/handover'],
    ['POST', '/api/crm/send-message'],
    ['GET', '/api/crm/handover-status/TK-2026-000001'],
  ] as const;

  for (const [method, path] of routes) {
    test(`${method} ${path} without the right token is 401`, async () => {
      const missing = await fetch(`${stack.service.url}${path}`, { method, body: method === 'POST' ? '{}' : undefined });
      expect(missing.status).toBe(401);
      expect(await missing.json()).toMatchObject({ success: false, error: 'unauthorized' });
      const wrong = await crmCall(stack, method, path, method === 'POST' ? {} : undefined, { authorization: 'Bearer wrong' });
      expect(wrong.status).toBe(401);
    });
  }

  test('handover: a missing field is 400 and names the field', async () => {
    const { status, body } = await crmCall(stack, 'POST', '/api/crm/handover', { userPhone: '573000000211', handoverType: 'bot_to_human' });
    expect(status).toBe(400);
    expect(body).toMatchObject({ success: false, error: 'invalid_request' });
    expect(body.message).toContain('ticketId');
  });

  test('handover: bot_to_human without the agent is 400', async () => {
    const phone = '573000000212';
    const ticketId = await openTicketFor(stack, phone, SUSPENDED_SUBSCRIBER);
    const { status, body } = await crmCall(stack, 'POST', '/api/crm/handover', {
      ticketId,
      userPhone: phone,
      handoverType: 'bot_to_human',
    });
    expect(status).toBe(400);
    expect(body.message).toContain('agentName');
  });

  test('handover: an unknown ticket is 404', async () => {
    const { status, body } = await crmCall(stack, 'POST', '/api/crm/handover', {
      ticketId: 'TK-1999-000001',
      userPhone: '573000000213',
      handoverType: 'human_to_bot',
    });
    expect(status).toBe(404);
    expect(body).toMatchObject({ success: false, error: 'ticket_not_found' });
  });

  test('handover: a userPhone that is not the ticket owner is 400', async () => {
    const ticketId = await activeTicketFor(stack, '573000000214', ACTIVE_SUBSCRIBER);
    const { status, body } = await crmCall(stack, 'POST', '/api/crm/handover', {
      ticketId,
      userPhone: '573009999999',
      handoverType: 'human_to_bot',
    });
    expect(status).toBe(400);
    expect(body.error).toBe('user_phone_mismatch');
  });

  test('send-message: a missing message is 400, a bad messageType is 400, a media that is not https is 400', async () => {
    const phone = '573000000215';
    const ticketId = await activeTicketFor(stack, phone, ACTIVE_SUBSCRIBER);
    const missing = await crmCall(stack, 'POST', '/api/crm/send-message', { ticketId, userPhone: phone, messageType: 'text' });
    expect(missing.status).toBe(400);
    expect(missing.body.message).toContain('message');
    const badType = await crmCall(stack, 'POST', '/api/crm/send-message', {
      ticketId,
      userPhone: phone,
      message: 'x',
      messageType: 'sticker',
    });
    expect(badType.status).toBe(400);
    expect(badType.body.message).toContain('messageType');
    const badUrl = await crmCall(stack, 'POST', '/api/crm/send-message', {
      ticketId,
      userPhone: phone,
      message: 'file.pdf',
      messageType: 'document',
    });
    expect(badUrl.status).toBe(400);
    expect(badUrl.body.error).toBe('invalid_media_url');
  });

  test('send-message: an unknown ticket is 404', async () => {
    const { status, body } = await crmCall(stack, 'POST', '/api/crm/send-message', {
      ticketId: 'TK-1999-000002',
      userPhone: '573000000216',
      message: 'hola',
      messageType: 'text',
    });
    expect(status).toBe(404);
    expect(body.error).toBe('ticket_not_found');
  });

  test('send-message: a ticket still waiting for its agent is 409', async () => {
    const phone = '573000000217';
    const ticketId = await openTicketFor(stack, phone, SUSPENDED_SUBSCRIBER);
    const { status, body } = await crmCall(stack, 'POST', '/api/crm/send-message', {
      ticketId,
      userPhone: phone,
      message: 'hola',
      messageType: 'text',
    });
    expect(status).toBe(409);
    expect(body.error).toBe('ticket_not_active');
  });

  test('handover-status: an unknown ticket is 404', async () => {
    const { status, body } = await crmCall(stack, 'GET', '/api/crm/handover-status/TK-1999-000003');
    expect(status).toBe(404);
    expect(body).toMatchObject({ success: false, error: 'ticket_not_found' });
  });

  test('a malformed JSON body is 400', async () => {
    const response = await fetch(`${stack.service.url}/api/crm/handover`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRETS.crmToken}` },
      body: '{"ticketId":',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ success: false, error: 'invalid_json' });
  });

  test('a closed ticket: send-message and handover are 409; a retry with the same Idempotency-Key is still 200', async () => {
    const phone = '573000000218';
    const ticketId = await activeTicketFor(stack, phone, ACTIVE_SUBSCRIBER);
    const close = { ticketId, userPhone: phone, agentId: 'agent_007', handoverType: 'human_to_bot' };
    const first = await crmCall(stack, 'POST', '/api/crm/handover', close, { 'idempotency-key': `close-${ticketId}` });
    expect(first.status).toBe(200);
    await eventually(async () => (await crmCall(stack, 'GET', `/api/crm/handover-status/${ticketId}`)).body.status === 'closed', 'closed');

    const retry = await crmCall(stack, 'POST', '/api/crm/handover', close, { 'idempotency-key': `close-${ticketId}` });
    expect(retry.status).toBe(200);
    const message = await crmCall(stack, 'POST', '/api/crm/send-message', { ticketId, userPhone: phone, message: 'tarde', messageType: 'text' });
    expect(message.status).toBe(409);
    expect(message.body).toMatchObject({ success: false, error: 'ticket_closed' });
    const handover = await crmCall(stack, 'POST', '/api/crm/handover', {
      ticketId,
      userPhone: phone,
      agentId: 'a',
      agentName: 'A',
      handoverType: 'bot_to_human',
    });
    expect(handover.status).toBe(409);
    expect(sentTo(stack, phone).some((m) => m.type === 'text' && m.text.body === 'tarde')).toBe(false);
  });

  test('an unknown route is a JSON 404', async () => {
    const response = await fetch(`${stack.service.url}/api/crm/nothing`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ success: false, error: 'route_not_found' });
  });
});

describe.concurrent('POST /api/crm/meta-handover-webhook', () => {
  const signed = (value: unknown) => {
    const body = metaJson(value);
    return { body, signature: signBody(SECRETS.metaSecret, body) };
  };

  test("the seed's pass_thread_control is accepted and recorded on the ticket", async () => {
    const ticketId = await activeTicketFor(stack, '573000000221', ACTIVE_SUBSCRIBER);
    const { body, signature } = signed({
      object: 'whatsapp_business_account',
      entry: [
        {
          id: 'WABA',
          changes: [
            {
              field: 'messaging_handovers',
              value: {
                messaging_product: 'whatsapp',
                metadata: { display_phone_number: '573001234567', phone_number_id: 'PHONE_NUMBER_ID' },
                event: 'pass_thread_control',
                thread_control: { app_id: 'CRM_APP_ID', metadata: JSON.stringify({ ticket_id: ticketId }) },
              },
            },
          ],
        },
      ],
    });
    const response = await postWebhook(stack, body, signature, '/api/crm/meta-handover-webhook');
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ success: true, accepted: 1 });
    await eventually(async () => {
      const rows = await stack.sql`select data from ticket_events where ticket_id = ${ticketId} and type = 'thread_control'`;
      return rows.length === 1 && rows;
    }, 'thread_control event');
  });

  test('Conversation Routing control_passed back to the bot closes the active ticket', async () => {
    const phone = '573000000222';
    const ticketId = await activeTicketFor(stack, phone, ACTIVE_SUBSCRIBER);
    const { body, signature } = signed({
      object: 'whatsapp_business_account',
      entry: [
        {
          id: 'WABA',
          changes: [
            {
              field: 'messaging_handovers',
              value: {
                messaging_product: 'whatsapp',
                sender: { phone_number: phone },
                recipient: { phone_number_id: '1234567890', display_phone_number: '573009999999' },
                type: 'control_passed',
                timestamp: '1750101000',
                control_passed: { previous_owner_role: 'escalation', new_owner_role: 'customer_service', metadata: 'agent done' },
              },
            },
          ],
        },
      ],
    });
    expect((await postWebhook(stack, body, signature, '/api/crm/meta-handover-webhook')).status).toBe(200);
    await eventually(async () => (await crmCall(stack, 'GET', `/api/crm/handover-status/${ticketId}`)).body.closeReason === 'resolved', 'ticket resolved');
  });

  test('an unknown shape is acknowledged; a wrong signature is 401', async () => {
    const { body, signature } = signed({ object: 'page', entry: [{ id: '1', time: 1, messaging: [{}] }] });
    const response = await postWebhook(stack, body, signature, '/api/crm/meta-handover-webhook');
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ success: true, accepted: 0 });
    expect((await postWebhook(stack, body, 'sha256=00', '/api/crm/meta-handover-webhook')).status).toBe(401);
  });
});

describe('health', () => {
  test('live and ready answer 200 with Redis and Postgres up', async () => {
    expect((await fetch(`${stack.service.url}/health/live`)).status).toBe(200);
    const ready = await fetch(`${stack.service.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { redis: 'ok', database: 'ok' } });
  });
});
