import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { signBody } from '../../src/lib/security';
import {
  activeTicketFor,
  crmCall,
  deadLetters,
  eventually,
  metaJson,
  openTicketFor,
  postWebhook,
  readable,
  SECRETS,
  sendUser,
  sentTo,
  startStack,
  streamTrouble,
  text,
  userMessagePayload,
  type TestStack,
} from '../support/harness';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts): this file's, through the whole service.
setDefaultTimeout(30_000);

/**
 * The flows through the real service, Redis and Postgres. Each test has its
 * own user, so they run at once and any one runs alone. (Each route's HTTP
 * contract, errors included, is in tests/routes, through app.handle.)
 */
let stack: TestStack;
beforeAll(async () => {
  stack = await startStack('flows');
});
afterAll(() => stack.stop());

const agentSends = (ticketId: string, phone: string, fields: Record<string, unknown>) =>
  crmCall(stack, 'POST', '/api/crm/send-message', { ticketId, userPhone: phone, agentId: 'agent_007', ...fields });

describe.concurrent('who gets which ticket', () => {
  test('an active subscriber gets soporte_agente with priority media', async () => {
    const phone = '573000000101';
    const ticketId = await openTicketFor(stack, phone, '2020202020');
    const request = stack.crm.to('/api/bot/agent-request').find((r) => (r.body as any).ticketId === ticketId)!;
    expect(request.body).toMatchObject({ category: 'soporte_agente', priority: 'media', serviceSuspended: false, userContext: { customerName: 'Ana Gómez' } });
  });

  test('an unauthenticated user is asked to authenticate and after 3 wrong documents gets the emergency number', async () => {
    const phone = '573000000102';
    await sendUser(stack, phone, text('Hola'));
    await sendUser(stack, phone, text('quiero hablar con un asesor'));
    await eventually(() => sentTo(stack, phone).length >= 2, 'document question');
    expect(readable(sentTo(stack, phone)[1]!)).toContain('número de documento');
    await sendUser(stack, phone, text('9999999999'));
    await eventually(() => sentTo(stack, phone).length >= 3, 'first rejection');
    await sendUser(stack, phone, text('no me acuerdo'));
    await eventually(() => sentTo(stack, phone).length >= 4, 'second rejection');
    await sendUser(stack, phone, text('8888888888'));
    const texts = await eventually(() => sentTo(stack, phone).length >= 6 && sentTo(stack, phone).map(readable), 'emergency number');
    expect(texts[2]).toContain('Te quedan 2 intentos');
    expect(texts[3]).toContain('Te quedan 1 intentos');
    expect(texts[4]).toContain('3242156679');
    expect(texts[5]).toContain('¿En qué te podemos ayudar?');
    expect(stack.crm.to('/api/bot/agent-request').some((r) => (r.body as any).userPhone === phone)).toBe(false);
  });
});

describe.concurrent('while an agent owns the conversation', () => {
  test("an agent's image and document reach the user as WhatsApp media, not links", async () => {
    const phone = '573000000103';
    const ticketId = await activeTicketFor(stack, phone, '2020202020');
    const before = sentTo(stack, phone).length;
    await agentSends(ticketId, phone, { message: 'https://cdn.conecta2tel.example/factura.png', messageType: 'image', caption: 'Tu factura' });
    await agentSends(ticketId, phone, { message: 'https://cdn.conecta2tel.example/contrato.pdf', messageType: 'document', filename: 'contrato.pdf' });
    const sent = await eventually(() => sentTo(stack, phone).length >= before + 2 && sentTo(stack, phone).slice(before), 'media messages');
    expect(sent[0]).toMatchObject({ type: 'image', image: { link: 'https://cdn.conecta2tel.example/factura.png', caption: 'Tu factura' } });
    expect(sent[1]).toMatchObject({ type: 'document', document: { link: 'https://cdn.conecta2tel.example/contrato.pdf', filename: 'contrato.pdf' } });
  });

  test("the user's text and image reach the CRM while the bot says nothing", async () => {
    const phone = '573000000105';
    const ticketId = await activeTicketFor(stack, phone, '2020202020');
    const before = sentTo(stack, phone).length;
    const textId = await sendUser(stack, phone, text('¿Cuándo vuelve el internet? 🙏'));
    const imageId = await sendUser(stack, phone, { type: 'image', image: { id: 'MEDIA_42', mime_type: 'image/jpeg', caption: 'pantallazo' } });
    const relays = await eventually(() => {
      const mine = stack.crm.to('/api/bot/user-message').filter((r) => (r.body as any).ticketId === ticketId);
      return mine.length >= 2 && mine;
    }, 'two relays');
    expect(relays[0]!.body).toMatchObject({ message: '¿Cuándo vuelve el internet? 🙏', messageType: 'text', waMessageId: textId });
    expect(relays[1]!.body).toMatchObject({ messageType: 'image', mediaId: 'MEDIA_42', caption: 'pantallazo', waMessageId: imageId });
    expect(sentTo(stack, phone)).toHaveLength(before);
  });

  test('a second bot_to_human from the same agent changes nothing; the agent is not announced twice', async () => {
    const phone = '573000000106';
    const ticketId = await activeTicketFor(stack, phone, '2020202020');
    const before = sentTo(stack, phone).length;
    const { status } = await crmCall(stack, 'POST', '/api/crm/handover', {
      ticketId,
      userPhone: phone,
      agentId: 'agent_007',
      agentName: 'Carlos Ruiz',
      handoverType: 'bot_to_human',
    });
    expect(status).toBe(200);
    await crmCall(stack, 'POST', '/api/crm/send-message', { ticketId, userPhone: phone, message: 'sigo aquí', messageType: 'text' });
    const sent = await eventually(() => sentTo(stack, phone).length > before && sentTo(stack, phone).slice(before).map(readable), 'next agent message');
    expect(sent).toEqual(['sigo aquí']);
  });

  test('handover-status counts the messages exchanged in both directions', async () => {
    const phone = '573000000107';
    const ticketId = await activeTicketFor(stack, phone, '2020202020');
    const before = sentTo(stack, phone).length;
    await agentSends(ticketId, phone, { message: 'Hola, soy Carlos', messageType: 'text' });
    await eventually(() => sentTo(stack, phone).length > before, 'the agent message');
    await sendUser(stack, phone, text('Hola Carlos'));
    await sendUser(stack, phone, { type: 'image', image: { id: 'MEDIA_43', mime_type: 'image/jpeg' } });
    await eventually(() => stack.crm.to('/api/bot/user-message').filter((r) => (r.body as any).ticketId === ticketId).length === 2, 'two relays');
    await agentSends(ticketId, phone, { message: '¿Algo más?', messageType: 'text' });
    const status = await eventually(async () => {
      const { body } = await crmCall(stack, 'GET', `/api/crm/handover-status/${ticketId}`);
      return body.messageCount === 4 && body;
    }, 'four messages counted');
    expect(status).toMatchObject({ status: 'active', phase: 'with_agent', assignedAgent: { id: 'agent_007', name: 'Carlos Ruiz' }, messageCount: 4 });
  });
});

describe.concurrent('while waiting for an agent', () => {
  test('the user can cancel, the CRM is told, and the menu comes back', async () => {
    const phone = '573000000104';
    const ticketId = await openTicketFor(stack, phone, '1010101010');
    await sendUser(stack, phone, text('Cancelar'));
    const [update] = await eventually(() => {
      const mine = stack.crm.to('/api/bot/ticket-update').filter((r) => (r.body as any).ticketId === ticketId);
      return mine.length === 1 && mine;
    }, 'ticket-update');
    expect(update!.body).toMatchObject({ ticketId, userPhone: phone, status: 'closed', reason: 'cancelled', priority: 'alta' });
    const texts = await eventually(() => {
      const all = sentTo(stack, phone).map(readable);
      return all.at(-1)?.includes('¿En qué te podemos ayudar?') && all;
    }, 'menu after cancel');
    expect(texts.at(-2)).toContain(`Cancelamos tu solicitud ${ticketId}`);
    const { body } = await crmCall(stack, 'GET', `/api/crm/handover-status/${ticketId}`);
    expect(body).toMatchObject({ status: 'closed', closeReason: 'cancelled' });
  });
});

const relayed = (predicate: (body: Record<string, any>) => boolean) =>
  stack.crm
    .to('/api/bot/user-message')
    .map((request) => request.body as Record<string, any>)
    .filter(predicate);

describe.concurrent('Meta delivering a message again', () => {
  test('the same wamid delivered twice is relayed once, and the next message of that user flows without a retry', async () => {
    const phone = '573000000201';
    await activeTicketFor(stack, phone, '2020202020');
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
    await activeTicketFor(stack, phone, '2020202020');
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
});

describe.concurrent('thread control from Meta (POST /api/crm/meta-handover-webhook)', () => {
  const signed = (value: unknown) => {
    const body = metaJson(value);
    return { body, signature: signBody(SECRETS.metaSecret, body) };
  };

  test("the seed's pass_thread_control is recorded on the ticket", async () => {
    const ticketId = await activeTicketFor(stack, '573000000221', '2020202020');
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
    const ticketId = await activeTicketFor(stack, phone, '2020202020');
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
});
