import { describe, expect, test } from 'bun:test';
import { initialTransition } from 'xstate';
import { createHandoverMachine } from '../../../../src/actors/handover';
import {
  agentMessage,
  agentRequestBody,
  botReply,
  menuMessage,
  failedAgentMessageBody,
  surveyMessage,
  ticketUpdateBody,
  mediaUrlOf,
  userMessageBody,
  type MessageRefs,
} from '../../../../src/actors/runtime/bodies';
import { OUTSIDE_WINDOW_CODE } from '../../../../src/integrations/whatsapp';
import { DEFAULT_TEXTS } from '../../../../src/domain/texts';
import { POLICY, TICKET } from '../../../support/simulated-clock';

const [ticket] = initialTransition(createHandoverMachine(POLICY), { ...TICKET, customer: { customerId: 'C-100', customerName: 'Juan', isInactive: true } });
const AT = '2026-11-30T15:10:00.000Z';
const PHONE = TICKET.conversationKey;
const USER = { phone: PHONE };
const TO = { to: PHONE };
/** The agent's message `wamid.agent` was sent with the Idempotency-Key `crm-key-9`; other messages the CRM knows by wamid. */
const REFS: MessageRefs = {
  mediaUrl: (id) => `https://handover.example/api/crm/media/${encodeURIComponent(id)}`,
  crmIdOf: (wamid) => (wamid === 'wamid.agent' ? 'crm-key-9' : wamid),
};

describe("the CRM's bodies", () => {
  test("the agent request: the seed's body, from the ticket and the session's start", () => {
    expect(agentRequestBody(ticket.context, USER, '2026-11-30T14:58:00.000Z')).toEqual({
      ticketId: TICKET.ticketId,
      userPhone: PHONE,
      userContext: {
        phoneNumber: PHONE,
        customerId: 'C-100',
        customerName: 'Juan',
        isAuthenticated: true,
        lastActivity: TICKET.requestedAt,
        sessionInfo: { hasActiveSession: true, sessionStart: '2026-11-30T14:58:00.000Z' },
      },
      priority: 'media',
      category: 'soporte_agente',
      serviceSuspended: true,
      requestTime: TICKET.requestedAt,
    });
  });

  test("a user's text is relayed with its wamid and WhatsApp's timestamp", () => {
    const message = { user: USER, waMessageId: 'wamid.1', timestamp: '2026-11-30T15:09:00.000Z', type: 'text', text: 'sin internet' };
    expect(userMessageBody(TICKET.ticketId, USER, message, REFS)).toEqual({
      ticketId: TICKET.ticketId,
      userPhone: PHONE,
      message: 'sin internet',
      messageType: 'text',
      waMessageId: 'wamid.1',
      timestamp: '2026-11-30T15:09:00.000Z',
    });
  });

  test("a user's image carries its media id and caption; the text is empty", () => {
    const message = { user: USER, waMessageId: 'wamid.2', timestamp: AT, type: 'image', media: { id: 'media-7', caption: 'el router' } };
    expect(userMessageBody(TICKET.ticketId, USER, message, REFS)).toMatchObject({
      message: '',
      messageType: 'image',
      mediaId: 'media-7',
      caption: 'el router',
    });
  });

  test("a user's document carries the URL the CRM fetches it at, its type, file name and checksum", () => {
    const media = { id: '1234/5', mimeType: 'application/pdf', filename: 'factura.pdf', sha256: 'ab'.repeat(32) };
    const message = { user: USER, waMessageId: 'wamid.3', timestamp: AT, type: 'document', media };
    expect(userMessageBody(TICKET.ticketId, USER, message, REFS)).toMatchObject({
      mediaId: '1234/5',
      mediaUrl: 'https://handover.example/api/crm/media/1234%2F5',
      mimeType: 'application/pdf',
      fileName: 'factura.pdf',
      sha256: 'ab'.repeat(32),
    });
  });

  test('a reply names the message it answers as the CRM knows it, and by its wamid', () => {
    const message = { user: USER, waMessageId: 'wamid.4', timestamp: AT, type: 'text', text: 'sí', replyTo: 'wamid.agent' };
    expect(userMessageBody(TICKET.ticketId, USER, message, REFS)).toMatchObject({ replyTo: 'crm-key-9', replyToWaMessageId: 'wamid.agent' });
    const toTheBot = { ...message, replyTo: 'wamid.bot' };
    expect(userMessageBody(TICKET.ticketId, USER, toTheBot, REFS)).toMatchObject({ replyTo: 'wamid.bot', replyToWaMessageId: 'wamid.bot' });
  });

  test('a reaction is a reaction to a message, not a text', () => {
    const message = { user: USER, waMessageId: 'wamid.5', timestamp: AT, type: 'reaction', text: '👍', reaction: { waMessageId: 'wamid.agent', emoji: '👍' } };
    expect(userMessageBody(TICKET.ticketId, USER, message, REFS)).toMatchObject({
      messageType: 'reaction',
      reaction: { messageId: 'crm-key-9', waMessageId: 'wamid.agent', emoji: '👍' },
    });
  });

  test('a location and a contact card travel as data', () => {
    const location = { latitude: 4.711, longitude: -74.072, name: 'Casa', address: 'Cra 7 # 12-34' };
    const contacts = [{ name: 'Pedro', phones: [{ phone: '+57 300 111 2233', waId: '573001112233' }], emails: [], urls: [] }];
    const at = { user: USER, waMessageId: 'wamid.6', timestamp: AT, type: 'location', location };
    expect(userMessageBody(TICKET.ticketId, USER, at, REFS)).toMatchObject({ messageType: 'location', location });
    const card = { user: USER, waMessageId: 'wamid.7', timestamp: AT, type: 'contacts', text: 'Pedro', contacts };
    expect(userMessageBody(TICKET.ticketId, USER, card, REFS)).toMatchObject({ messageType: 'contacts', contacts });
  });

  test("a ticket update: DESIGN 2.2's fields, the rating only when there is one", () => {
    expect(ticketUpdateBody(ticket, USER, 'escalated', AT)).toEqual({
      ticketId: TICKET.ticketId,
      userPhone: PHONE,
      status: 'pending',
      reason: 'escalated',
      priority: 'media',
      timestamp: AT,
    });
    expect(ticketUpdateBody(ticket, USER, 'csat', AT, { csat: 5 })).toMatchObject({ reason: 'csat', csat: 5 });
  });

  test("an agent's message refused before any call (past the window, no template) is reported in Graph's terms", () => {
    const params = { reason: 'outside_window' as const, message: { type: 'text', body: 'hola', waMessageId: null } };
    expect(failedAgentMessageBody(ticket, USER, params, AT)).toMatchObject({
      reason: 'message_failed',
      message: { type: 'text', body: 'hola', waMessageId: null },
      error: { code: OUTSIDE_WINDOW_CODE, title: 'more than 24 hours since the user last wrote, and no re-engagement template is configured' },
    });
  });

  test("an agent's message refused without a Graph error says WhatsApp refused it", () => {
    const params = { reason: 'refused' as const, message: { type: 'text', body: 'hola', waMessageId: 'wamid.1' } };
    expect(failedAgentMessageBody(ticket, USER, params, AT).error).toEqual({ title: 'WhatsApp refused the message' });
  });

  test('an edit and a revoke name the message they change as the CRM knows it; the edit carries its new text', () => {
    const edit = { user: USER, waMessageId: 'wamid.e', timestamp: AT, type: 'edit', edit: { waMessageId: 'wamid.agent', type: 'text', text: 'corrijo' } };
    expect(userMessageBody(TICKET.ticketId, USER, edit, REFS)).toMatchObject({
      message: 'corrijo',
      messageType: 'edit',
      edit: { messageId: 'crm-key-9', waMessageId: 'wamid.agent' },
    });
    const revoke = { user: USER, waMessageId: 'wamid.r', timestamp: AT, type: 'revoke', revoke: { waMessageId: 'wamid.1' } };
    expect(userMessageBody(TICKET.ticketId, USER, revoke, REFS)).toMatchObject({ message: '', revoke: { messageId: 'wamid.1', waMessageId: 'wamid.1' } });
  });

  test('a media URL is under the public base URL, its trailing slash dropped, the id encoded', () => {
    expect(mediaUrlOf('https://bot.example.co/')('a/b c')).toBe('https://bot.example.co/api/crm/media/a%2Fb%20c');
    expect(mediaUrlOf('https://bot.example.co/v1/x')('m1')).toBe('https://bot.example.co/v1/x/api/crm/media/m1');
  });

  test("an agent's message WhatsApp refused is reported with Graph's own error", () => {
    const params = {
      reason: 'refused' as const,
      message: { type: 'image', body: 'https://x/y.png', waMessageId: 'wamid.1' },
      error: { code: 131053, title: 'Media upload error' },
    };
    expect(failedAgentMessageBody(ticket, USER, params, AT)).toMatchObject({
      ticketId: TICKET.ticketId,
      reason: 'message_failed',
      message: { type: 'image', body: 'https://x/y.png', waMessageId: 'wamid.1' },
      error: { code: 131053, title: 'Media upload error' },
    });
  });
});

describe("WhatsApp's messages and what the history keeps of them", () => {
  test('a bot reply is rendered with the emergency number', () => {
    const { body, payload } = botReply(DEFAULT_TEXTS, '3000000000', TO, { text: 'emergency' });
    expect(body).toBe('Nuestra línea de emergencia es 3000000000.');
    expect(payload).toMatchObject({ to: PHONE, type: 'text', text: { body } });
  });

  test('the menu greets by profile name and offers three buttons', () => {
    const { body, payload } = menuMessage(DEFAULT_TEXTS, TO, { greeting: true, notUnderstood: false, profileName: 'Ana' });
    expect(body).toStartWith('¡Hola, Ana!');
    expect(body).toEndWith(DEFAULT_TEXTS.menuBody);
    const buttons = (payload.interactive as { action: { buttons: { reply: { id: string } }[] } }).action.buttons;
    expect(buttons.map((button) => button.reply.id)).toEqual(['menu.support', 'menu.identify', 'menu.emergency']);
  });

  test('the menu without a profile name greets plainly; without greeting or apology it is the menu alone', () => {
    expect(menuMessage(DEFAULT_TEXTS, TO, { greeting: true, notUnderstood: false }).body).toStartWith('¡Hola! Soy');
    expect(menuMessage(DEFAULT_TEXTS, TO, { greeting: false, notUnderstood: false }).body).toBe(DEFAULT_TEXTS.menuBody);
  });

  test('the menu after a message it did not understand says so first', () => {
    expect(menuMessage(DEFAULT_TEXTS, TO, { greeting: false, notUnderstood: true }).body).toBe(`${DEFAULT_TEXTS.notUnderstood}\n\n${DEFAULT_TEXTS.menuBody}`);
  });

  test('the survey is a list of five ratings', () => {
    const { body, payload } = surveyMessage(DEFAULT_TEXTS, TO);
    expect(body).toBe(DEFAULT_TEXTS.surveyBody);
    const rows = (payload.interactive as { action: { sections: { rows: { id: string }[] }[] } }).action.sections[0]!.rows;
    expect(rows.map((row) => row.id)).toEqual(['csat.1', 'csat.2', 'csat.3', 'csat.4', 'csat.5']);
  });

  test("an agent's text goes out as written", () => {
    const outgoing = agentMessage(TO, { messageType: 'text', body: 'Hola, soy Laura', asTemplate: false }, null);
    expect(outgoing).toEqual({
      body: 'Hola, soy Laura',
      payload: expect.objectContaining({ type: 'text', text: { body: 'Hola, soy Laura', preview_url: false } }),
    });
  });

  test("an agent's document goes out as media by link; the history keeps its caption", () => {
    const media = { url: 'https://files.example/factura.pdf', caption: 'tu factura', filename: 'factura.pdf' };
    const { body, payload } = agentMessage(TO, { messageType: 'document', body: media.url, media, asTemplate: false }, null);
    expect(body).toBe('tu factura');
    expect(payload).toMatchObject({ type: 'document', document: { link: media.url, caption: 'tu factura', filename: 'factura.pdf' } });
  });

  test("an agent's voice note goes out as audio by link, without a caption WhatsApp would refuse", () => {
    const media = { url: 'https://files.example/nota.ogg', caption: 'escucha' };
    const { payload } = agentMessage(TO, { messageType: 'audio', body: media.url, media, asTemplate: false }, null);
    expect(payload).toMatchObject({ type: 'audio', audio: { link: media.url } });
    expect((payload.audio as Record<string, unknown>).caption).toBeUndefined();
  });

  test("an agent's answer to a specific message quotes it (context.message_id)", () => {
    const { payload } = agentMessage(TO, { messageType: 'text', body: 'Ya lo reviso', asTemplate: false, replyToWaMessageId: 'wamid.user.1' }, null);
    expect(payload).toMatchObject({ type: 'text', context: { message_id: 'wamid.user.1' } });
  });

  test("past the window an agent's message goes out as the re-engagement template, its text as the variable", () => {
    const template = { name: 'reengage', languageCode: 'es' };
    const { body, payload } = agentMessage(TO, { messageType: 'text', body: '¿Sigues ahí?', asTemplate: true }, template);
    expect(payload).toMatchObject({ type: 'template', template: { name: 'reengage', language: { code: 'es' } } });
    expect(JSON.stringify(payload)).toContain('¿Sigues ahí?');
    // The history keeps what the agent wrote, not the template's wording.
    expect(body).toBe('¿Sigues ahí?');
  });

  test('past the window a media message goes as the template with its caption, or its link when it has none; the history keeps the caption', () => {
    const template = { name: 'reengage', languageCode: 'es' };
    const media = { url: 'https://files.example/factura.pdf', caption: 'tu factura' };
    const captioned = agentMessage(TO, { messageType: 'document', body: media.url, media, asTemplate: true }, template);
    expect(captioned.body).toBe('tu factura');
    expect(JSON.stringify(captioned.payload)).toContain('tu factura');
    expect(JSON.stringify(captioned.payload)).not.toContain(media.url);
    const bare = agentMessage(TO, { messageType: 'image', body: media.url, asTemplate: true }, template);
    expect(bare.body).toBeNull();
    expect(JSON.stringify(bare.payload)).toContain(media.url);
  });

  test('a configured template is used only for a message past the window; without one, a late message goes as written', () => {
    const template = { name: 'reengage', languageCode: 'es' };
    expect(agentMessage(TO, { messageType: 'text', body: 'hola', asTemplate: false }, template).payload).toMatchObject({ type: 'text' });
    expect(agentMessage(TO, { messageType: 'text', body: 'hola', asTemplate: true }, null).payload).toMatchObject({ type: 'text' });
  });

  test("an agent's image without media details goes by the link in its body, with no caption kept", () => {
    const { body, payload } = agentMessage(TO, { messageType: 'image', body: 'https://files.example/a.png', asTemplate: false }, null);
    expect(body).toBeNull();
    expect(payload).toMatchObject({ type: 'image', image: { link: 'https://files.example/a.png' } });
  });
});
