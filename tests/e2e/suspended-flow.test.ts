import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { signBody } from '../../src/security';
import { buttonReply, crmCall, eventually, readable, SECRETS, sendUser, sentTo, startStack, text, type TestStack } from '../support/harness';

/**
 * The seed's sequence diagram, "Flujo Completo de Handover para Servicio
 * Suspendido", message by message, through the real service.
 */
describe('a suspended subscriber reaches a reactivation agent and comes back to the bot', () => {
  const phone = '573001234567';
  let stack: TestStack;
  let ticketId: string;

  beforeAll(async () => {
    stack = await startStack('suspended');
  });
  afterAll(() => stack.stop());

  test('the first message gets the greeting and the main menu', async () => {
    await sendUser(stack, phone, text('Hola'));
    const [menu] = await eventually(() => sentTo(stack, phone).length >= 1 && sentTo(stack, phone), 'the menu');
    expect(menu!.type).toBe('interactive');
    expect(readable(menu!)).toContain('¡Hola, Juan!');
    expect(menu!.interactive.action.buttons.map((b: any) => b.reply.title)).toEqual(['Contactar Soporte', 'Identificarme', 'Emergencias']);
    const graphCall = stack.graph.requests[0]!;
    expect(graphCall.path).toBe('/v21.0/1234567890/messages');
    expect(graphCall.headers.get('authorization')).toBe(`Bearer ${SECRETS.whatsappToken}`);
  });

  test('"Contactar Soporte" asks an unauthenticated user for the document number', async () => {
    await sendUser(stack, phone, buttonReply('menu.support', 'Contactar Soporte'));
    const messages = await eventually(() => sentTo(stack, phone).length >= 2 && sentTo(stack, phone), 'the document question');
    expect(readable(messages[1]!)).toContain('número de documento');
  });

  test('a valid document of a suspended subscriber opens a reactivation ticket and calls agent-request', async () => {
    await sendUser(stack, phone, text('1.010.101.010'));
    const [request] = await eventually(() => stack.crm.to('/api/bot/agent-request').length === 1 && stack.crm.to('/api/bot/agent-request'), 'agent-request');
    const lookup = stack.directory.requests[0]!;
    expect(lookup.query.get('document')).toBe('1010101010');
    expect(lookup.query.get('phone')).toBe(phone);
    expect(lookup.headers.get('authorization')).toBe('Bearer directory-token');

    const body = request!.body as Record<string, any>;
    ticketId = body.ticketId;
    expect(ticketId).toMatch(/^TK-\d{4}-\d{6}$/);
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

    const texts = await eventually(() => sentTo(stack, phone).length >= 5 && sentTo(stack, phone).map(readable), 'the connecting message');
    expect(texts[2]).toContain('Juan Pérez');
    expect(texts[3]).toBe('Conectando con agente especializado...');
    expect(texts[4]).toContain('5-10 minutes');
  });

  test('handover-status reports pending before an agent takes it', async () => {
    const { status, body } = await crmCall(stack, 'GET', `/api/crm/handover-status/${ticketId}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ ticketId, status: 'pending', assignedAgent: null, messageCount: 0 });
  });

  test('the CRM hands the ticket to María and the user is told', async () => {
    const { status, body } = await crmCall(stack, 'POST', '/api/crm/handover', {
      ticketId,
      userPhone: phone,
      agentId: 'agent_001',
      agentName: 'María González',
      handoverType: 'bot_to_human',
      metadata: { serviceSuspended: true, priority: 'alta', category: 'reactivacion_servicio' },
    });
    expect(status).toBe(200);
    expect(body).toEqual({ success: true, message: 'Handover processed successfully', ticketId });
    const texts = await eventually(() => sentTo(stack, phone).length >= 6 && sentTo(stack, phone).map(readable), 'agent connected');
    expect(texts[5]).toBe('Agente María González conectado');
    const status2 = await eventually(async () => {
      const { body } = await crmCall(stack, 'GET', `/api/crm/handover-status/${ticketId}`);
      return body.status === 'active' && body;
    }, 'active status');
    expect(status2.assignedAgent).toEqual({ id: 'agent_001', name: 'María González' });
  });

  test("the agent's message reaches the user", async () => {
    const { status, body } = await crmCall(stack, 'POST', '/api/crm/send-message', {
      ticketId,
      userPhone: phone,
      agentId: 'agent_001',
      message: 'Hola, soy María y te ayudaré con la reactivación de tu servicio.',
      messageType: 'text',
      timestamp: new Date().toISOString(),
    });
    expect(status).toBe(200);
    expect(body).toEqual({ success: true, message: 'Message sent successfully', ticketId });
    const texts = await eventually(() => sentTo(stack, phone).length >= 7 && sentTo(stack, phone).map(readable), 'agent message');
    expect(texts[6]).toBe('Hola, soy María y te ayudaré con la reactivación de tu servicio.');
  });

  test("the user's reply reaches the CRM and the bot says nothing", async () => {
    const waMessageId = await sendUser(stack, phone, text('Gracias, ya pagué la factura'));
    const [relay] = await eventually(() => stack.crm.to('/api/bot/user-message').length === 1 && stack.crm.to('/api/bot/user-message'), 'user-message');
    expect(relay!.body).toMatchObject({ ticketId, userPhone: phone, message: 'Gracias, ya pagué la factura', messageType: 'text', waMessageId });
    expect(relay!.headers.get('x-bot-signature')).toBe(signBody(SECRETS.botSigning, relay!.raw));
    expect(sentTo(stack, phone)).toHaveLength(7);
  });

  test('the CRM gives the conversation back: resolved, survey, and the ticket is closed', async () => {
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
    await sendUser(stack, phone, { type: 'interactive', interactive: { type: 'list_reply', list_reply: { id: 'csat.5', title: '5 - Excelente' } } });
    const [update] = await eventually(() => stack.crm.to('/api/bot/ticket-update').length === 1 && stack.crm.to('/api/bot/ticket-update'), 'ticket-update');
    expect(update!.body).toMatchObject({ ticketId, userPhone: phone, status: 'closed', reason: 'csat', priority: 'alta', csat: 5 });
    const [row] = await stack.sql`select csat from tickets where id = ${ticketId}`;
    expect(row!.csat).toBe(5);
    const texts = await eventually(() => sentTo(stack, phone).length >= 11 && sentTo(stack, phone).map(readable), 'thanks and menu');
    expect(texts[9]).toContain('Gracias por tu calificación');
    expect(texts[10]).toContain('¿En qué te podemos ayudar?');
  });

  test('the history holds every message with its author and delivery status', async () => {
    const rows = await stack.sql`select direction, author, type, status, wa_message_id from messages where phone = ${phone} order by id`;
    expect(rows.filter((row) => row.author === 'user')).toHaveLength(5);
    expect(rows.filter((row) => row.author === 'agent')).toHaveLength(1);
    expect(rows.filter((row) => row.author === 'bot').length).toBe(10);
    await eventually(async () => {
      const [row] = await stack.sql`select count(*)::int as queued from messages where phone = ${phone} and status = 'queued'`;
      return row!.queued === 0;
    }, 'every outbound message sent');
    const outbound = await stack.sql`select wa_message_id from messages where phone = ${phone} and direction = 'outbound'`;
    expect(outbound.every((row) => String(row.wa_message_id).startsWith('wamid.fake.'))).toBe(true);
  });
});
