import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { signBody } from '../../src/lib/security';
import { buttonReply, crmCall, eventually, readable, SECRETS, sendUser, sentTo, startStack, text, type TestStack } from '../support/harness';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts): this file's, through the whole service.
setDefaultTimeout(30_000);

/**
 * The seed's sequence diagram, "Flujo Completo de Handover para Servicio
 * Suspendido", message by message, through the real service. Each test walks
 * its own user through the steps before its own (`walk`), then checks its
 * step: the tests run at once, and any one runs alone.
 */
let stack: TestStack;
beforeAll(async () => {
  stack = await startStack('suspended');
});
afterAll(() => stack.stop());

const STEPS = ['menu', 'document question', 'ticket', 'agent connected', 'agent message', 'user reply', 'resolved', 'rated'] as const;
type Step = (typeof STEPS)[number];

const forUser = (path: string, phone: string) => stack.crm.to(path).filter((request) => (request.body as { userPhone?: string }).userPhone === phone);
const texts = (phone: string, count: number, what: string) =>
  eventually(() => sentTo(stack, phone).length >= count && sentTo(stack, phone).map(readable), what);

/** Takes `phone` through the sequence up to and including `last`; returns the ticket once there is one. */
async function walk(phone: string, last: Step): Promise<{ ticketId: string }> {
  let ticketId = '';
  for (const step of STEPS.slice(0, STEPS.indexOf(last) + 1)) {
    if (step === 'menu') {
      await sendUser(stack, phone, text('Hola'));
      await texts(phone, 1, 'the menu');
    } else if (step === 'document question') {
      await sendUser(stack, phone, buttonReply('menu.support', 'Contactar Soporte'));
      await texts(phone, 2, 'the document question');
    } else if (step === 'ticket') {
      await sendUser(stack, phone, text('1.010.101.010'));
      const [request] = await eventually(
        () => forUser('/api/bot/agent-request', phone).length === 1 && forUser('/api/bot/agent-request', phone),
        'agent-request',
      );
      ticketId = (request!.body as { ticketId: string }).ticketId;
      await texts(phone, 5, 'the connecting message');
    } else if (step === 'agent connected') {
      await crmCall(stack, 'POST', '/api/crm/handover', {
        ticketId,
        userPhone: phone,
        agentId: 'agent_001',
        agentName: 'María González',
        handoverType: 'bot_to_human',
        metadata: { serviceSuspended: true, priority: 'alta', category: 'reactivacion_servicio' },
      });
      await texts(phone, 6, 'agent connected');
      await eventually(async () => (await crmCall(stack, 'GET', `/api/crm/handover-status/${ticketId}`)).body.status === 'active', 'active status');
    } else if (step === 'agent message') {
      await crmCall(stack, 'POST', '/api/crm/send-message', {
        ticketId,
        userPhone: phone,
        agentId: 'agent_001',
        message: 'Hola, soy María.',
        messageType: 'text',
      });
      await texts(phone, 7, 'agent message');
    } else if (step === 'user reply') {
      await sendUser(stack, phone, text('Gracias, ya pagué la factura'));
      await eventually(() => forUser('/api/bot/user-message', phone).length === 1, 'user-message');
    } else if (step === 'resolved') {
      await crmCall(stack, 'POST', '/api/crm/handover', { ticketId, userPhone: phone, agentId: 'agent_001', handoverType: 'human_to_bot' });
      await texts(phone, 9, 'resolution and survey');
    } else {
      await sendUser(stack, phone, { type: 'interactive', interactive: { type: 'list_reply', list_reply: { id: 'csat.5', title: '5 - Excelente' } } });
      await texts(phone, 11, 'thanks and menu');
    }
  }
  return { ticketId };
}

describe.concurrent('a suspended subscriber reaches a reactivation agent and comes back to the bot', () => {
  test('the first message gets the greeting and the main menu', async () => {
    const phone = '573001234561';
    await sendUser(stack, phone, text('Hola'));
    const [menu] = await eventually(() => sentTo(stack, phone).length >= 1 && sentTo(stack, phone), 'the menu');
    expect(menu!.type).toBe('interactive');
    expect(readable(menu!)).toContain('¡Hola, Juan!');
    expect(menu!.interactive.action.buttons.map((b: any) => b.reply.title)).toEqual(['Contactar Soporte', 'Identificarme', 'Emergencias']);
    const graphCall = stack.graph.requests.find((request) => (request.body as { to?: string }).to === phone)!;
    expect(graphCall.path).toBe('/v21.0/1234567890/messages');
    expect(graphCall.headers.get('authorization')).toBe(`Bearer ${SECRETS.whatsappToken}`);
  });

  test('"Contactar Soporte" asks an unauthenticated user for the document number', async () => {
    const phone = '573001234562';
    await walk(phone, 'menu');
    await sendUser(stack, phone, buttonReply('menu.support', 'Contactar Soporte'));
    const messages = await eventually(() => sentTo(stack, phone).length >= 2 && sentTo(stack, phone), 'the document question');
    expect(readable(messages[1]!)).toContain('número de documento');
  });

  test('a valid document of a suspended subscriber opens a reactivation ticket and calls agent-request', async () => {
    const phone = '573001234563';
    await walk(phone, 'document question');
    await sendUser(stack, phone, text('1.010.101.010'));
    const [request] = await eventually(
      () => forUser('/api/bot/agent-request', phone).length === 1 && forUser('/api/bot/agent-request', phone),
      'agent-request',
    );
    const lookup = stack.directory.requests.find((candidate) => candidate.query.get('phone') === phone)!;
    expect(lookup.query.get('document')).toBe('1010101010');
    expect(lookup.headers.get('authorization')).toBe('Bearer directory-token');

    const body = request!.body as Record<string, any>;
    expect(body.ticketId).toMatch(/^TK-\d{4}-\d{6}$/);
    expect(body).toMatchObject({
      userPhone: phone,
      priority: 'alta',
      category: 'reactivacion_servicio',
      serviceSuspended: true,
      userContext: { phoneNumber: phone, customerId: 'C-100', customerName: 'Juan Pérez', isAuthenticated: true, sessionInfo: { hasActiveSession: true } },
    });
    expect(Date.parse(body.requestTime)).not.toBeNaN();
    expect(request!.headers.get('authorization')).toBe(`Bearer ${SECRETS.botToken}`);
    expect(request!.headers.get('user-agent')).toBe('Conecta2Tel-Bot/1.0');
    expect(request!.headers.get('content-type')).toBe('application/json');
    expect(request!.headers.get('x-bot-signature')).toBe(signBody(SECRETS.botSigning, request!.raw));
    expect(request!.headers.get('idempotency-key')).toBeTruthy();

    const said = await texts(phone, 5, 'the connecting message');
    expect(said[2]).toContain('Juan Pérez');
    expect(said[3]).toBe('Conectando con agente especializado...');
    expect(said[4]).toContain('5-10 minutes');
  });

  test('handover-status reports pending before an agent takes it', async () => {
    const { ticketId } = await walk('573001234564', 'ticket');
    const { status, body } = await crmCall(stack, 'GET', `/api/crm/handover-status/${ticketId}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ ticketId, status: 'pending', assignedAgent: null, messageCount: 0 });
  });

  test('the CRM hands the ticket to María and the user is told', async () => {
    const phone = '573001234565';
    const { ticketId } = await walk(phone, 'ticket');
    const { status, body } = await crmCall(stack, 'POST', '/api/crm/handover', {
      ticketId,
      userPhone: phone,
      agentId: 'agent_001',
      agentName: 'María González',
      handoverType: 'bot_to_human',
      metadata: { serviceSuspended: true, priority: 'alta', category: 'reactivacion_servicio' },
    });
    expect(status).toBe(200);
    expect(body).toEqual({ success: true, applied: true, message: 'Handover processed successfully', ticketId });
    const said = await texts(phone, 6, 'agent connected');
    expect(said[5]).toBe('Agente María González conectado');
    const active = await eventually(async () => {
      const { body } = await crmCall(stack, 'GET', `/api/crm/handover-status/${ticketId}`);
      return body.status === 'active' && body;
    }, 'active status');
    expect(active.assignedAgent).toEqual({ id: 'agent_001', name: 'María González' });
  });

  test("the agent's message reaches the user", async () => {
    const phone = '573001234566';
    const { ticketId } = await walk(phone, 'agent connected');
    const { status, body } = await crmCall(stack, 'POST', '/api/crm/send-message', {
      ticketId,
      userPhone: phone,
      agentId: 'agent_001',
      message: 'Hola, soy María y te ayudaré con la reactivación de tu servicio.',
      messageType: 'text',
      timestamp: new Date().toISOString(),
    });
    expect(status).toBe(200);
    expect(body).toEqual({ success: true, applied: true, message: 'Message sent successfully', ticketId });
    const said = await texts(phone, 7, 'agent message');
    expect(said[6]).toBe('Hola, soy María y te ayudaré con la reactivación de tu servicio.');
  });

  test("the user's reply reaches the CRM and the bot says nothing", async () => {
    const phone = '573001234567';
    const { ticketId } = await walk(phone, 'agent message');
    const waMessageId = await sendUser(stack, phone, text('Gracias, ya pagué la factura'));
    const [relay] = await eventually(() => forUser('/api/bot/user-message', phone).length === 1 && forUser('/api/bot/user-message', phone), 'user-message');
    expect(relay!.body).toMatchObject({ ticketId, userPhone: phone, message: 'Gracias, ya pagué la factura', messageType: 'text', waMessageId });
    expect(relay!.headers.get('x-bot-signature')).toBe(signBody(SECRETS.botSigning, relay!.raw));
    expect(sentTo(stack, phone)).toHaveLength(7);
  });

  test('the CRM gives the conversation back: resolved, survey, and the ticket is closed', async () => {
    const phone = '573001234568';
    const { ticketId } = await walk(phone, 'user reply');
    const { status } = await crmCall(stack, 'POST', '/api/crm/handover', { ticketId, userPhone: phone, agentId: 'agent_001', handoverType: 'human_to_bot' });
    expect(status).toBe(200);
    const sent = await eventually(() => sentTo(stack, phone).length >= 9 && sentTo(stack, phone), 'resolution and survey');
    expect(readable(sent[7]!)).toBe('Consulta resuelta, regresando al menú');
    expect(sent[8]!.interactive.type).toBe('list');
    expect(sent[8]!.interactive.action.sections[0].rows.map((row: any) => row.id)).toEqual(['csat.1', 'csat.2', 'csat.3', 'csat.4', 'csat.5']);

    const { body } = await crmCall(stack, 'GET', `/api/crm/handover-status/${ticketId}`);
    expect(body).toMatchObject({
      ticketId,
      status: 'closed',
      closeReason: 'resolved',
      assignedAgent: { id: 'agent_001', name: 'María González' },
      messageCount: 2,
    });
    expect(Date.parse(body.lastActivity)).toBeGreaterThanOrEqual(Date.parse(body.startTime));
  });

  test('the satisfaction answer is stored, sent to the CRM, and the menu comes back', async () => {
    const phone = '573001234569';
    const { ticketId } = await walk(phone, 'resolved');
    await sendUser(stack, phone, { type: 'interactive', interactive: { type: 'list_reply', list_reply: { id: 'csat.5', title: '5 - Excelente' } } });
    const updates = () => stack.crm.to('/api/bot/ticket-update').filter((request) => (request.body as { ticketId?: string }).ticketId === ticketId);
    const [update] = await eventually(() => updates().length === 1 && updates(), 'ticket-update');
    expect(update!.body).toMatchObject({ ticketId, userPhone: phone, status: 'closed', reason: 'csat', priority: 'alta', csat: 5 });
    const [row] = await stack.sql`select csat from tickets where id = ${ticketId}`;
    expect(row!.csat).toBe(5);
    const said = await texts(phone, 11, 'thanks and menu');
    expect(said[9]).toContain('Gracias por tu calificación');
    expect(said[10]).toContain('¿En qué te podemos ayudar?');
  });

  test('the history holds every message with its author and delivery status', async () => {
    const phone = '573001234570';
    await walk(phone, 'rated');
    const rows = await stack.sql`select direction, author, type, status, wa_message_id from messages where conversation_key = ${phone} order by id`;
    expect(rows.filter((row) => row.author === 'user')).toHaveLength(5);
    expect(rows.filter((row) => row.author === 'agent')).toHaveLength(1);
    expect(rows.filter((row) => row.author === 'bot').length).toBe(10);
    await eventually(async () => {
      const [row] = await stack.sql`select count(*)::int as queued from messages where conversation_key = ${phone} and status = 'queued'`;
      return row!.queued === 0;
    }, 'every outbound message sent');
    const outbound = await stack.sql`select wa_message_id from messages where conversation_key = ${phone} and direction = 'outbound'`;
    expect(outbound.every((row) => String(row.wa_message_id).startsWith('wamid.fake.'))).toBe(true);
  });
});
