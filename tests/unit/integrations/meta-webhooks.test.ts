import { describe, expect, test } from 'bun:test';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InboundMessage, StatusUpdate } from '../../../src/domain/events';
import { parseWhatsAppWebhook } from '../../../src/integrations/meta-webhooks';
import { parseThreadControlWebhook } from '../../../src/integrations/meta-thread-control';
import { messageFrom, statusFor, userIdUpdate, webhookOf } from '../../support/bsuid';

const PHONE = '573001112233';
const CRM_APP_ID = '263902037430900';

/** Meta's envelope: one entry, one change of `field` carrying `value`. */
const envelope = (value: Record<string, unknown>, field = 'messages') => ({
  object: 'whatsapp_business_account',
  entry: [{ id: 'WABA_ID', changes: [{ field, value: { messaging_product: 'whatsapp', ...value } }] }],
});

/** The one message a `messages` webhook carrying `content` turns into. */
function parseMessage(content: Record<string, unknown>, extra: Record<string, unknown> = {}): InboundMessage {
  const { events, ignored } = parseWhatsAppWebhook(
    envelope({
      contacts: [{ profile: { name: 'Juan' }, wa_id: PHONE }],
      messages: [{ from: PHONE, id: 'wamid.1', timestamp: '1764514800', ...content }],
      ...extra,
    }),
  );
  expect(ignored).toEqual([]);
  expect(events).toHaveLength(1);
  expect(events[0]).toMatchObject({ type: 'user.message', key: PHONE, id: 'wa:msg:wamid.1' });
  return events[0]!.data as InboundMessage;
}

/** The statuses a `statuses` webhook turns into, and what it ignored. */
function parseStatuses(...statuses: Record<string, unknown>[]) {
  const { events, ignored } = parseWhatsAppWebhook(envelope({ statuses }));
  return { updates: events.map((event) => ({ key: event.key, id: event.id, ...(event.data as StatusUpdate) })), ignored };
}

describe('user messages', () => {
  test('a text: who wrote, when (WhatsApp’s time), their profile name and the text', () => {
    expect(parseMessage({ type: 'text', text: { body: 'Hola' } })).toEqual({
      user: { phone: PHONE },
      waMessageId: 'wamid.1',
      timestamp: '2025-11-30T15:00:00.000Z',
      profileName: 'Juan',
      type: 'text',
      text: 'Hola',
    });
  });

  for (const type of ['image', 'video', 'audio', 'sticker', 'document']) {
    test(`${type}: the media reference, its caption as the text`, () => {
      const message = parseMessage({
        type,
        [type]: { id: 'MEDIA_ID', mime_type: 'application/pdf', sha256: 'c2hhMjU2', caption: 'mi factura', filename: 'factura.pdf' },
      });
      expect(message.type).toBe(type);
      expect(message.text).toBe('mi factura');
      expect(message.media).toEqual({ id: 'MEDIA_ID', mimeType: 'application/pdf', sha256: 'c2hhMjU2', caption: 'mi factura', filename: 'factura.pdf' });
    });
  }

  test('a template quick-reply button: its text and its payload', () => {
    expect(parseMessage({ type: 'button', button: { text: 'Sí', payload: 'YES' } })).toMatchObject({ text: 'Sí', replyId: 'YES' });
  });

  test('a reply button, a list row and a flow completion: the title (or body) and the id', () => {
    const interactive = (reply: Record<string, unknown>) => parseMessage({ type: 'interactive', interactive: reply });
    expect(interactive({ type: 'button_reply', button_reply: { id: 'menu_support', title: 'Soporte' } })).toMatchObject({
      text: 'Soporte',
      replyId: 'menu_support',
    });
    expect(interactive({ type: 'list_reply', list_reply: { id: 'row_2', title: 'Facturación', description: '...' } })).toMatchObject({
      text: 'Facturación',
      replyId: 'row_2',
    });
    expect(interactive({ type: 'nfm_reply', nfm_reply: { body: 'Sent', name: 'flow', response_json: '{}' } })).toMatchObject({ text: 'Sent' });
  });

  test('a location: its name, address and coordinates as text', () => {
    const message = parseMessage({ type: 'location', location: { name: 'Oficina', address: 'Calle 1', latitude: 4.6, longitude: -74.08 } });
    expect(message.text).toBe('Oficina · Calle 1 · 4.6,-74.08');
  });

  test('a location without coordinates is only its name and address', () => {
    expect(parseMessage({ type: 'location', location: { name: 'Oficina', address: 'Calle 1' } }).text).toBe('Oficina · Calle 1');
  });

  test('a reaction: the emoji; a removed reaction: empty text', () => {
    expect(parseMessage({ type: 'reaction', reaction: { message_id: 'wamid.0', emoji: '👍' } }).text).toBe('👍');
    expect(parseMessage({ type: 'reaction', reaction: { message_id: 'wamid.0' } }).text).toBe('');
  });

  test('a reply names the wamid it answers (context.id); a forwarded message names none', () => {
    expect(parseMessage({ type: 'text', text: { body: 'sí' }, context: { from: '573009999999', id: 'wamid.agent.1' } }).replyTo).toBe('wamid.agent.1');
    expect(parseMessage({ type: 'text', text: { body: 'mira' }, context: { forwarded: true } }).replyTo).toBeUndefined();
  });

  test('a reaction names the message it reacts to and the emoji; a removed reaction has an empty emoji', () => {
    expect(parseMessage({ type: 'reaction', reaction: { message_id: 'wamid.0', emoji: '👍' } }).reaction).toEqual({ waMessageId: 'wamid.0', emoji: '👍' });
    expect(parseMessage({ type: 'reaction', reaction: { message_id: 'wamid.0' } }).reaction).toEqual({ waMessageId: 'wamid.0', emoji: '' });
  });

  test('a location: latitude, longitude, name and address as data', () => {
    const message = parseMessage({
      type: 'location',
      location: { name: 'Oficina', address: 'Calle 1', latitude: 4.6, longitude: -74.08, url: 'https://x.example' },
    });
    expect(message.location).toEqual({ latitude: 4.6, longitude: -74.08, name: 'Oficina', address: 'Calle 1', url: 'https://x.example' });
  });

  test('a location whose coordinates are missing or impossible carries no location data', () => {
    expect(parseMessage({ type: 'location', location: { name: 'Oficina' } }).location).toBeUndefined();
    expect(parseMessage({ type: 'location', location: { latitude: 91, longitude: 0 } }).location).toBeUndefined();
  });

  test('a contact card: its name, phones, emails, organisation, urls and birthday as data', () => {
    const card = {
      name: { formatted_name: 'Ana Gómez', first_name: 'Ana' },
      phones: [{ phone: '+57 300 111 2233', wa_id: '573001112233', type: 'CELL' }],
      emails: [{ email: 'ana@example.com', type: 'WORK' }],
      org: { company: 'Conecta2Tel', title: 'Técnica' },
      urls: [{ url: 'https://ana.example', type: 'WORK' }],
      birthday: '1990-01-31',
    };
    expect(parseMessage({ type: 'contacts', contacts: [card] }).contacts).toEqual([
      {
        name: 'Ana Gómez',
        phones: [{ phone: '+57 300 111 2233', waId: '573001112233', type: 'CELL' }],
        emails: [{ email: 'ana@example.com', type: 'WORK' }],
        organization: { company: 'Conecta2Tel', title: 'Técnica' },
        urls: [{ url: 'https://ana.example', type: 'WORK' }],
        birthday: '1990-01-31',
      },
    ]);
  });

  test('a contact card with only a first and last name is named by them', () => {
    const [card] = parseMessage({ type: 'contacts', contacts: [{ name: { first_name: 'Luis', last_name: 'Mora' } }] }).contacts!;
    expect(card).toEqual({ name: 'Luis Mora', phones: [], emails: [], urls: [] });
  });

  test('shared contacts: their names', () => {
    const message = parseMessage({ type: 'contacts', contacts: [{ name: { formatted_name: 'Ana Gómez' } }, { name: { formatted_name: 'Luis' } }] });
    expect(message.text).toBe('Ana Gómez, Luis');
  });

  test('a type it does not know (an order) still arrives, typed, without text', () => {
    const message = parseMessage({ type: 'order', order: { catalog_id: '1' } });
    expect(message.type).toBe('order');
    expect(message.text).toBeUndefined();
  });

  test('without `type` the message arrives as "unknown"', () => {
    expect(parseMessage({}).type).toBe('unknown');
  });

  test('a message without id or sender is ignored with the reason', () => {
    const { events, ignored } = parseWhatsAppWebhook(envelope({ messages: [{ type: 'text', text: { body: 'x' } }, 'garbage'] }));
    expect(events).toEqual([]);
    expect(ignored).toEqual(['message without id or sender', 'message without id or sender']);
  });
});

describe('delivery statuses', () => {
  const status = (fields: Record<string, unknown>) => ({ id: 'wamid.out', timestamp: '1764514800', recipient_id: PHONE, ...fields });

  test('a status of a send carries its outbox key back (biz_opaque_callback_data)', () => {
    const { updates } = parseStatuses(status({ status: 'delivered', biz_opaque_callback_data: 'outbox:42' }));
    expect(updates).toEqual([
      {
        key: PHONE,
        id: 'wa:status:wamid.out:delivered',
        waMessageId: 'wamid.out',
        status: 'delivered',
        timestamp: '2025-11-30T15:00:00.000Z',
        user: { phone: PHONE },
        errors: undefined,
        callbackData: 'outbox:42',
      },
    ]);
  });

  test('a status without callback data has none', () => {
    expect(parseStatuses(status({ status: 'sent' })).updates[0]!.callbackData).toBeUndefined();
  });

  test('a failed send carries its errors', () => {
    const { updates } = parseStatuses(status({ status: 'failed', errors: [{ code: 131047, title: 'Re-engagement message', message: 'more than 24 hours' }] }));
    expect(updates[0]).toMatchObject({ status: 'failed', errors: [{ code: 131047, title: 'Re-engagement message', message: 'more than 24 hours' }] });
  });

  test('a status with pricing carries whether the message is billable, its pricing model and its category', () => {
    const pricing = { billable: true, pricing_model: 'PMP', category: 'utility', type: 'regular' };
    expect(parseStatuses(status({ status: 'sent', pricing })).updates[0]!.pricing).toEqual({ billable: true, pricingModel: 'PMP', category: 'utility' });
    expect(parseStatuses(status({ status: 'sent', pricing: { billable: 'yes' } })).updates[0]!.pricing).toBeUndefined();
  });

  test('each event names the business number the webhook was for (metadata.phone_number_id)', () => {
    const { events } = parseWhatsAppWebhook(
      envelope({ metadata: { display_phone_number: '573009999999', phone_number_id: '106540352242922' }, statuses: [status({ status: 'read' })] }),
    );
    expect(events[0]!.data).toMatchObject({ businessPhoneNumberId: '106540352242922' });
  });

  test('a voice note played counts as read', () => {
    expect(parseStatuses(status({ status: 'played' })).updates[0]).toMatchObject({ status: 'read', id: 'wa:status:wamid.out:read' });
  });

  test('a status it does not track, or without a recipient, is ignored with the reason', () => {
    const { updates, ignored } = parseStatuses(status({ status: 'deleted' }), { id: 'wamid.x', status: 'read' });
    expect(updates).toEqual([]);
    expect(ignored).toEqual(['status deleted not tracked', 'status read not tracked']);
  });
});

describe('what is not a WhatsApp message', () => {
  test('a body that is not an envelope', () => {
    expect(parseWhatsAppWebhook({ hello: 'world' })).toEqual({
      events: [],
      ignored: ['not a webhook envelope (no entry[])'],
      cleaned: [],
      groupMessages: 0,
      templateUpdates: [],
    });
    expect(parseWhatsAppWebhook(null).ignored).toEqual(['not a webhook envelope (no entry[])']);
  });

  test('an entry without changes (a Messenger-style entry) names its keys', () => {
    expect(parseWhatsAppWebhook({ entry: [{ id: '1', messaging: [] }] }).ignored).toEqual(['entry without changes (keys: id,messaging)']);
  });

  test('a change of another field', () => {
    expect(parseWhatsAppWebhook(envelope({}, 'account_update')).ignored).toEqual(['field account_update']);
  });

  test('a value with neither messages nor statuses, and one with errors only', () => {
    expect(parseWhatsAppWebhook(envelope({ contacts: [] })).ignored).toEqual(['no messages or statuses']);
    expect(parseWhatsAppWebhook(envelope({ errors: [{ code: 131000 }] })).ignored).toEqual(['value-level errors only']);
  });

  test('unknown fields next to the known ones change nothing', () => {
    const message = parseMessage({ type: 'text', text: { body: 'Hola', preview_url: false }, referral: { source_type: 'ad' } }, { novelty: { x: 1 } });
    expect(message.text).toBe('Hola');
  });
});

describe('what Postgres could not store', () => {
  test('NUL and unpaired surrogates are removed from the text, the sender and the profile, and each place is reported', () => {
    const { events, cleaned } = parseWhatsAppWebhook(
      envelope({
        contacts: [{ profile: { name: 'Ju\u0000an' }, wa_id: `${PHONE}\u0000` }],
        messages: [{ from: `${PHONE}\u0000`, id: 'wamid.\ud800nul', timestamp: '1764514800', type: 'text', text: { body: 'ho\u0000la \udc00x 😀' } }],
      }),
    );
    expect(events[0]).toMatchObject({ key: PHONE, id: 'wa:msg:wamid.nul', data: { user: { phone: PHONE }, profileName: 'Juan', text: 'hola x 😀' } });
    expect(cleaned).toHaveLength(5);
    expect(cleaned).toContain('entry.0.changes.0.value.messages.0.text.body: NUL or unpaired surrogate removed');
    expect(JSON.stringify(cleaned)).not.toContain('hola');
  });

  test.each([
    ['past what a Date holds', '99999999999999999999'],
    ['before WhatsApp existed', '1'],
    ['more than a day ahead', String(Math.floor(Date.now() / 1000) + 3 * 86400)],
    ['not a number', 'ayer'],
  ])('a message or status timestamp %s becomes the time of receipt, reported', (_, timestamp) => {
    const before = Date.now();
    const messages = parseWhatsAppWebhook(envelope({ messages: [{ from: PHONE, id: 'wamid.t', timestamp, type: 'text', text: { body: 'hola' } }] }));
    const statuses = parseWhatsAppWebhook(envelope({ statuses: [{ id: 'wamid.s', status: 'read', timestamp, recipient_id: PHONE }] }));
    for (const [parsed, what] of [
      [messages, 'message'],
      [statuses, 'status'],
    ] as const) {
      const at = Date.parse((parsed.events[0]!.data as { timestamp: string }).timestamp);
      expect(at).toBeGreaterThanOrEqual(before);
      expect(at).toBeLessThanOrEqual(Date.now());
      expect(parsed.cleaned).toEqual([`${what}.timestamp out of range: time of receipt used`]);
    }
  });

  test('a ticket id escaped inside thread-control metadata, and the sender of a routing event, are cleaned', () => {
    const seed = parseThreadControlWebhook(
      envelope({ event: 'pass_thread_control', thread_control: { app_id: CRM_APP_ID, metadata: '{"ticket_id":"TK-2026-1\\u0000"}' } }, 'messaging_handovers'),
      CRM_APP_ID,
    );
    expect(seed.items[0]!.control.ticketId).toBe('TK-2026-1');
    const routing = parseThreadControlWebhook(
      envelope({ type: 'control_taken', sender: { phone_number: `${PHONE}\u0000` }, control_taken: {} }, 'messaging_handovers'),
      CRM_APP_ID,
    );
    expect(routing.items[0]!.phone).toBe(PHONE);
    expect(routing.cleaned).toEqual(['entry.0.changes.0.value.sender.phone_number: NUL or unpaired surrogate removed']);
  });

  test("a status named after the prototype's keys is not tracked; one nested too deep to print is ignored, not thrown", () => {
    const deep = JSON.parse(`${'['.repeat(50_000)}${']'.repeat(50_000)}`);
    const { updates, ignored } = parseStatuses(
      { id: 'wamid.p', status: '__proto__', timestamp: '1764514800', recipient_id: PHONE },
      { id: 'wamid.c', status: 'constructor', timestamp: '1764514800', recipient_id: PHONE },
      { id: 'wamid.d', status: deep, timestamp: deep, recipient_id: PHONE },
    );
    expect(updates).toEqual([]);
    expect(ignored).toEqual(['status __proto__ not tracked', 'status constructor not tracked', 'status ? not tracked']);
  });

  test('a location whose coordinates are not numbers or text is read without them', () => {
    const deep = JSON.parse(`${'['.repeat(50_000)}${']'.repeat(50_000)}`);
    expect(parseMessage({ type: 'location', location: { name: 'Casa', latitude: deep, longitude: 1 } }).text).toBe('Casa');
  });
});

describe('thread control', () => {
  const seed = (event: string, threadControl: Record<string, unknown>) => envelope({ event, thread_control: threadControl }, 'messaging_handovers');

  test('a pass to the CRM app, with the ticket in its metadata', () => {
    const { items, ignored } = parseThreadControlWebhook(
      seed('pass_thread_control', { app_id: CRM_APP_ID, metadata: JSON.stringify({ ticket_id: 'TK-2026-000042' }) }),
      CRM_APP_ID,
    );
    expect(ignored).toEqual([]);
    expect(items).toEqual([
      {
        control: {
          event: 'pass_thread_control',
          toCrm: true,
          owner: 'crm',
          appId: CRM_APP_ID,
          metadata: '{"ticket_id":"TK-2026-000042"}',
          ticketId: 'TK-2026-000042',
        },
      },
    ]);
  });

  test('a pass to another app is not a pass to the CRM; without a configured app id every pass is', () => {
    const pass = seed('pass_thread_control', { new_owner_app_id: '999' });
    expect(parseThreadControlWebhook(pass, CRM_APP_ID).items[0]!.control.toCrm).toBe(false);
    expect(parseThreadControlWebhook(pass, '').items[0]!.control.toCrm).toBe(true);
  });

  test('the owner a seed-shaped event leaves: the CRM, another app it was passed to, else the bot', () => {
    const ownerOf = (event: string, control: Record<string, unknown>) => parseThreadControlWebhook(seed(event, control), CRM_APP_ID).items[0]!.control.owner;
    expect(ownerOf('pass_thread_control', { app_id: CRM_APP_ID })).toBe('crm');
    expect(ownerOf('pass_thread_control', { new_owner_app_id: '999' })).toBe('other');
    expect(ownerOf('pass_thread_control', {})).toBe('bot');
    expect(ownerOf('take_thread_control', { app_id: '999' })).toBe('bot');
  });

  test('a take back from the CRM is not toward it', () => {
    expect(parseThreadControlWebhook(seed('take_thread_control', { app_id: CRM_APP_ID }), CRM_APP_ID).items[0]!.control.toCrm).toBe(false);
  });

  test("Conversation Routing's shapes: the user's phone, the ticket found in free-text metadata", () => {
    const routing = (type: string, body: Record<string, unknown>) =>
      parseThreadControlWebhook(envelope({ type, sender: { phone_number: PHONE }, [type]: body }, 'messaging_handovers'), CRM_APP_ID).items[0]!;
    expect(routing('control_passed', { new_owner_role: 'escalation', previous_owner_app_id: '1', metadata: 'ticket TK-2026-000042 from bot' })).toEqual({
      phone: PHONE,
      user: { phone: PHONE },
      control: { event: 'control_passed', toCrm: true, owner: 'crm', appId: '1', metadata: 'ticket TK-2026-000042 from bot', ticketId: 'TK-2026-000042' },
    });
    expect(routing('control_passed', { new_owner_role: 'primary' }).control).toMatchObject({ toCrm: false, owner: 'bot' });
    expect(routing('control_passed', { new_owner_role: 'ai_agent' }).control).toMatchObject({ toCrm: false, owner: 'ai_agent' });
    expect(routing('control_taken', { metadata: 'WhatsApp user requested human agent' }).control).toMatchObject({ toCrm: true, ticketId: undefined });
  });

  test('on /webhook, a handover is an event keyed by the user it names, for the number it came to; one naming no user is ignored', () => {
    const value = {
      metadata: { phone_number_id: '106540352242922' },
      type: 'control_taken',
      timestamp: '1764514800',
      sender: { phone_number: PHONE },
      control_taken: {},
    };
    const { events } = parseWhatsAppWebhook(envelope(value, 'messaging_handovers'));
    expect(events).toEqual([
      expect.objectContaining({
        type: 'meta.thread_control',
        key: PHONE,
        id: `meta:handover:control_taken:${PHONE}:1764514800`,
        data: expect.objectContaining({ owner: 'crm', user: { phone: PHONE }, businessPhoneNumberId: '106540352242922' }),
      }),
    ]);
    const seed = parseWhatsAppWebhook(envelope({ event: 'pass_thread_control', thread_control: { app_id: CRM_APP_ID } }, 'messaging_handovers'));
    expect(seed.events).toEqual([]);
    expect(seed.ignored).toEqual(['handover event pass_thread_control names no user']);
  });

  test('what it does not understand is ignored with the reason', () => {
    const { items, ignored } = parseThreadControlWebhook(
      {
        entry: [{ changes: [{ field: 'messaging_handovers', value: { type: 'request_thread_control' } }] }, { changes: [{ field: 'messages', value: {} }] }],
      },
      CRM_APP_ID,
    );
    expect(items).toEqual([]);
    expect(ignored).toEqual(['handover event request_thread_control not understood', 'field messages']);
  });
});

/** Real payloads from public WhatsApp libraries' test suites, which CI provides next to the repository. */
const FIXTURES = join(import.meta.dir, '../../../../shared/fixtures/meta-webhooks');
const fixtures = existsSync(FIXTURES)
  ? readdirSync(FIXTURES, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .flatMap((dir) =>
        readdirSync(join(FIXTURES, dir.name))
          .filter((file) => file.endsWith('.json'))
          .map((file) => join(dir.name, file)),
      )
  : [];
if (fixtures.length === 0) console.warn(`meta webhook fixtures not found at ${FIXTURES}: only the hand-written payloads are parsed here (CI has them)`);

describe('real Meta payloads', () => {
  for (const file of fixtures) {
    test(`${file} parses on both webhooks without throwing, each part turned into an event or ignored with a reason`, () => {
      const payload: unknown = JSON.parse(readFileSync(join(FIXTURES, file), 'utf8'));
      const messages = parseWhatsAppWebhook(payload);
      const handovers = parseThreadControlWebhook(payload, CRM_APP_ID);
      expect(messages.events.length + messages.ignored.length).toBeGreaterThan(0);
      expect(handovers.items.length + handovers.ignored.length).toBeGreaterThan(0);
      for (const event of messages.events) expect(event.key).not.toBe('');
    });
  }
});

describe('users named by a business-scoped user id (BSUID)', () => {
  const BSUID = 'CO.1047385771169864';

  test('a message with both `from` and `from_user_id` is filed under the phone and keeps the BSUID and the username', () => {
    const { events } = parseWhatsAppWebhook(
      messageFrom({ phone: PHONE, bsuid: BSUID, username: 'juan.p' }, { type: 'text', text: { body: 'hola' } }, 'wamid.b1').payload,
    );
    expect(events).toEqual([
      expect.objectContaining({
        type: 'user.message',
        key: PHONE,
        data: expect.objectContaining({ user: { phone: PHONE, bsuid: BSUID, username: 'juan.p' } }),
      }),
    ]);
  });

  test('a username-only user (only `from_user_id`, no `wa_id`) is filed under the BSUID, with no phone', () => {
    const { events } = parseWhatsAppWebhook(
      messageFrom({ bsuid: BSUID, username: 'juan.p', name: 'Juan' }, { type: 'text', text: { body: 'hola' } }, 'wamid.b2').payload,
    );
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      key: BSUID,
      id: 'wa:msg:wamid.b2',
      data: { user: { bsuid: BSUID, username: 'juan.p' }, profileName: 'Juan', text: 'hola' },
    });
    expect((events[0]!.data as InboundMessage).user.phone).toBeUndefined();
  });

  test('a parent BSUID is kept beside the BSUID', () => {
    const payload = webhookOf({
      contacts: [{ profile: { name: 'Ana' }, user_id: BSUID, parent_user_id: 'CO.ENT.99887766554433' }],
      messages: [{ from_user_id: BSUID, id: 'wamid.b3', timestamp: '1764514800', type: 'text', text: { body: 'hola' } }],
    });
    expect(parseWhatsAppWebhook(payload).events[0]?.data).toMatchObject({ user: { bsuid: BSUID, parentBsuid: 'CO.ENT.99887766554433' } });
  });

  test('a status with only `recipient_user_id` names the user by BSUID', () => {
    const { events, ignored } = parseWhatsAppWebhook(statusFor({ bsuid: BSUID }, { id: 'wamid.out', status: 'delivered', callbackData: 'k#0' }));
    expect(ignored).toEqual([]);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'whatsapp.status',
        key: BSUID,
        data: expect.objectContaining({ waMessageId: 'wamid.out', user: { bsuid: BSUID }, callbackData: 'k#0' }),
      }),
    ]);
  });

  test('a failed status without `contacts` is still a status, with its error', () => {
    const failed = statusFor(
      { phone: PHONE, bsuid: BSUID },
      { id: 'wamid.out', status: 'failed', errors: [{ code: 131062, title: 'BSUID recipient not supported' }] },
    );
    const { events } = parseWhatsAppWebhook(failed);
    expect(events[0]).toMatchObject({ key: PHONE, data: { status: 'failed', user: { phone: PHONE, bsuid: BSUID }, errors: [{ code: 131062 }] } });
  });

  test('`user_id_update` becomes a change of BSUID, on the previous id, applied once per change', () => {
    const { events, ignored } = parseWhatsAppWebhook(userIdUpdate(BSUID, 'CO.5550001112223334', PHONE));
    expect(ignored).toEqual([]);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'user.id_changed',
        key: BSUID,
        id: `wa:user_id:${BSUID}:CO.5550001112223334`,
        data: expect.objectContaining({ previousBsuid: BSUID, bsuid: 'CO.5550001112223334', phone: PHONE }),
      }),
    ]);
  });

  test('the same change as a `user_changed_user_id` system message', () => {
    const payload = webhookOf({
      messages: [
        { from_user_id: BSUID, id: 'wamid.sys', timestamp: '1764514800', type: 'system', system: { type: 'user_changed_user_id', user_id: 'CO.777' } },
      ],
    });
    expect(parseWhatsAppWebhook(payload).events).toEqual([
      expect.objectContaining({ type: 'user.id_changed', data: expect.objectContaining({ previousBsuid: BSUID, bsuid: 'CO.777' }) }),
    ]);
  });

  test('a `user_id_update` without both ids, and a `user_preferences` webhook, are acknowledged and reported, not thrown', () => {
    const partial = parseWhatsAppWebhook(webhookOf({ user_id_update: [{ user_id: { current: BSUID } }] }, 'user_id_update'));
    expect(partial).toEqual({
      events: [],
      ignored: ['user_id_update without a previous and a new user id'],
      cleaned: [],
      groupMessages: 0,
      templateUpdates: [],
    });
    const preferences = webhookOf(
      { user_preferences: [{ user_id: BSUID, category: 'marketing_messages', value: 'stop', timestamp: 1764514800 }] },
      'user_preferences',
    );
    expect(parseWhatsAppWebhook(preferences)).toEqual({ events: [], ignored: ['field user_preferences'], cleaned: [], groupMessages: 0, templateUpdates: [] });
  });
});

describe('the WhatsApp Business app on the same number, and other responders', () => {
  const echoes = (field: string, echo: Record<string, unknown>) =>
    parseWhatsAppWebhook(
      envelope(
        {
          contacts: [{ wa_id: PHONE, user_id: 'CO.77' }],
          message_echoes: [{ from: '573009999999', to: PHONE, id: 'wamid.e1', timestamp: '1764514800', ...echo }],
        },
        field,
      ),
    );

  test('an echo is what the business sent the user from the app: its text, the user it went to', () => {
    const { events, ignored } = echoes('smb_message_echoes', { type: 'text', text: { body: 'Te atiendo yo' } });
    expect(ignored).toEqual([]);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'whatsapp.echo',
        key: PHONE,
        id: 'wa:echo:wamid.e1',
        data: {
          user: { phone: PHONE, bsuid: 'CO.77' },
          waMessageId: 'wamid.e1',
          timestamp: '2025-11-30T15:00:00.000Z',
          type: 'text',
          text: 'Te atiendo yo',
          source: 'business_app',
        },
      }),
    ]);
  });

  test("an echoed edit names the message it changes and its new text; a standby echo is another responder's", () => {
    const edit = echoes('standby', { type: 'edit', edit: { original_message_id: 'wamid.0', message: { type: 'text', text: { body: 'corregido' } } } });
    expect(edit.events[0]!.data).toMatchObject({ source: 'other_responder', edit: { waMessageId: 'wamid.0', type: 'text', text: 'corregido' } });
  });

  test("a standby delivery's user messages are marked standby: seen, never answered", () => {
    const { events } = parseWhatsAppWebhook(
      envelope(
        { contacts: [{ wa_id: PHONE }], messages: [{ from: PHONE, id: 'wamid.s1', timestamp: '1764514800', type: 'text', text: { body: 'hola' } }] },
        'standby',
      ),
    );
    expect(events[0]).toMatchObject({ type: 'user.message', data: { standby: true, text: 'hola' } });
  });

  test("a user's edit and revoke name the message they change", () => {
    expect(
      parseMessage({ type: 'edit', edit: { original_message_id: 'wamid.0', message: { type: 'image', image: { id: '123', caption: 'nueva' } } } }).edit,
    ).toEqual({
      waMessageId: 'wamid.0',
      type: 'image',
      text: 'nueva',
      media: { id: '123', caption: 'nueva' },
    });
    expect(parseMessage({ type: 'revoke', revoke: { original_message_id: 'wamid.0' } }).revoke).toEqual({ waMessageId: 'wamid.0' });
  });

  test("history: each thread's messages, the user's and the business's with the status WhatsApp kept; a declined share is ignored", () => {
    const { events, ignored } = parseWhatsAppWebhook(
      envelope(
        {
          history: [
            {
              metadata: { phase: 0, chunk_order: 1, progress: 100 },
              threads: [
                {
                  id: PHONE,
                  messages: [
                    { from: PHONE, id: 'wamid.h1', timestamp: '1764514800', type: 'text', text: { body: 'hola' }, history_context: { status: 'read' } },
                    {
                      from: '573009999999',
                      id: 'wamid.h2',
                      timestamp: '1764514801',
                      type: 'text',
                      text: { body: 'buenas' },
                      history_context: { status: 'DELIVERED' },
                    },
                  ],
                },
              ],
            },
            { errors: [{ code: 2593109, title: 'History sharing declined' }] },
          ],
        },
        'history',
      ),
    );
    expect(
      events.map((event) => [event.type, event.id, (event.data as { fromBusiness: boolean }).fromBusiness, (event.data as { status?: string }).status]),
    ).toEqual([
      ['whatsapp.history', 'wa:history:wamid.h1', false, undefined],
      ['whatsapp.history', 'wa:history:wamid.h2', true, 'delivered'],
    ]);
    expect(ignored).toEqual(['history not shared (errors)']);
  });
});

describe('groups, calls and templates', () => {
  test('a message in a WhatsApp group is counted, never an event; a status of a group message is ignored', () => {
    const { events, groupMessages, ignored } = parseWhatsAppWebhook(
      envelope({
        messages: [{ from: PHONE, group_id: 'G1', id: 'wamid.g', timestamp: '1764514800', type: 'text', text: { body: 'hola grupo' } }],
        statuses: [{ id: 'wamid.o', status: 'read', timestamp: '1764514800', recipient_id: 'G1', recipient_type: 'group' }],
      }),
    );
    expect([events, groupMessages, ignored]).toEqual([[], 1, ['status of a group message']]);
  });

  test("a user's call: its start and its end, with how it went; a call the business placed is ignored", () => {
    const call = (fields: Record<string, unknown>) => ({ id: 'wacid.1', from: PHONE, to: '573009999999', timestamp: '1764514800', ...fields });
    const { events, ignored } = parseWhatsAppWebhook(
      envelope(
        {
          contacts: [{ wa_id: PHONE }],
          calls: [
            call({ event: 'connect', direction: 'USER_INITIATED' }),
            call({ event: 'terminate', status: 'Completed', duration: 42 }),
            call({ event: 'connect', direction: 'BUSINESS_INITIATED' }),
          ],
        },
        'calls',
      ),
    );
    expect(events.map((event) => [event.id, event.key, event.data])).toEqual([
      [
        'wa:call:wacid.1:connect',
        PHONE,
        { user: { phone: PHONE }, callId: 'wacid.1', event: 'connect', timestamp: '2025-11-30T15:00:00.000Z', direction: 'USER_INITIATED' },
      ],
      [
        'wa:call:wacid.1:terminate',
        PHONE,
        { user: { phone: PHONE }, callId: 'wacid.1', event: 'terminate', timestamp: '2025-11-30T15:00:00.000Z', status: 'COMPLETED', durationS: 42 },
      ],
    ]);
    expect(ignored).toEqual(['call placed by the business']);
  });

  test('a template paused, and a category changed or about to change, are template updates', () => {
    const status = parseWhatsAppWebhook(
      envelope(
        { event: 'PAUSED', message_template_name: 'seguimiento', message_template_language: 'es', reason: 'LOW_QUALITY' },
        'message_template_status_update',
      ),
    );
    expect(status.templateUpdates).toEqual([{ name: 'seguimiento', language: 'es', event: 'PAUSED', reason: 'LOW_QUALITY', category: undefined }]);
    const changed = parseWhatsAppWebhook(
      envelope({ message_template_name: 'seguimiento', previous_category: 'UTILITY', new_category: 'MARKETING' }, 'template_category_update'),
    );
    expect(changed.templateUpdates[0]).toMatchObject({ event: 'CATEGORY_CHANGED', previousCategory: 'UTILITY', category: 'MARKETING' });
    const pending = parseWhatsAppWebhook(envelope({ message_template_name: 'seguimiento', correct_category: 'MARKETING' }, 'template_category_update'));
    expect(pending.templateUpdates[0]).toMatchObject({ event: 'CATEGORY_CHANGE_PENDING', category: 'MARKETING' });
  });
});
