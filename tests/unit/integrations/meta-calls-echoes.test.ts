import { describe, expect, test } from 'bun:test';
import { parseWhatsAppWebhook } from '../../../src/integrations/meta-webhooks';

/** The `calls`, `smb_message_echoes` and `history` fields of Meta's webhook, parsed into pipeline events. */

const PHONE = '573001112233';
const BSUID = 'CO.1047385771169864';
const SECONDS = '1764514800';
const AT = '2025-11-30T15:00:00.000Z';

const envelope = (field: string, value: Record<string, unknown>) => ({
  object: 'whatsapp_business_account',
  entry: [{ id: 'WABA_ID', changes: [{ field, value: { messaging_product: 'whatsapp', ...value } }] }],
});
const parse = (field: string, value: Record<string, unknown>) => parseWhatsAppWebhook(envelope(field, value));

describe("a user's call", () => {
  test('ringing: keyed by the caller, named by its id and event, with when and which way', () => {
    const { events, ignored } = parse('calls', {
      contacts: [{ wa_id: PHONE }],
      calls: [{ id: 'wacid.1', from: PHONE, event: 'connect', timestamp: SECONDS, direction: 'USER_INITIATED' }],
    });
    expect(ignored).toEqual([]);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'whatsapp.call',
        key: PHONE,
        id: 'wa:call:wacid.1:connect',
        data: { user: { phone: PHONE }, callId: 'wacid.1', event: 'connect', timestamp: AT, direction: 'USER_INITIATED' },
      }),
    ]);
  });

  test('ended: its status in capitals and its duration, zero included; a duration that is not a number is left out', () => {
    const { events } = parse('calls', {
      calls: [
        { id: 'wacid.1', from: PHONE, event: 'terminate', timestamp: SECONDS, status: 'completed', duration: 95 },
        { id: 'wacid.2', from: PHONE, event: 'terminate', timestamp: SECONDS, status: 'failed', duration: 0 },
        { id: 'wacid.3', from: PHONE, event: 'terminate', timestamp: SECONDS, duration: 'n/a' },
        { id: 'wacid.4', from: PHONE, event: 'terminate', timestamp: SECONDS, duration: -1 },
      ],
    });
    expect(events.map((event) => event.data)).toEqual([
      { user: { phone: PHONE }, callId: 'wacid.1', event: 'terminate', timestamp: AT, status: 'COMPLETED', durationS: 95 },
      { user: { phone: PHONE }, callId: 'wacid.2', event: 'terminate', timestamp: AT, status: 'FAILED', durationS: 0 },
      { user: { phone: PHONE }, callId: 'wacid.3', event: 'terminate', timestamp: AT },
      { user: { phone: PHONE }, callId: 'wacid.4', event: 'terminate', timestamp: AT },
    ]);
  });

  test('a caller hiding their phone is found by BSUID, in the contacts that name them', () => {
    const { events } = parse('calls', {
      contacts: [{ wa_id: '573009999999', user_id: 'CO.9999999999999999' }, { user_id: BSUID }],
      calls: [{ id: 'wacid.1', from_user_id: BSUID, event: 'connect', timestamp: SECONDS }],
    });
    expect(events).toEqual([expect.objectContaining({ key: BSUID, data: expect.objectContaining({ user: { bsuid: BSUID } }) })]);
  });

  test('a caller named only in the contacts is that contact', () => {
    const { events } = parse('calls', {
      contacts: [{ wa_id: PHONE }],
      calls: [{ id: 'wacid.1', event: 'connect', timestamp: SECONDS }],
    });
    expect(events).toEqual([expect.objectContaining({ key: PHONE })]);
  });

  test('calls the business placed, calls without id, event or caller, and call statuses are ignored, saying why', () => {
    const { events, ignored } = parse('calls', {
      calls: [
        { id: 'wacid.1', from: PHONE, event: 'connect', direction: 'BUSINESS_INITIATED' },
        { from: PHONE, event: 'connect' },
        { id: 'wacid.2', from: PHONE, event: 'ringing' },
        { id: 'wacid.3', from: PHONE },
        { id: 'wacid.4', event: 'connect' },
      ],
      statuses: [{ id: 'wacid.1', status: 'RINGING' }],
    });
    expect(events).toEqual([]);
    expect(ignored).toEqual([
      'call placed by the business',
      'call connect without id or caller',
      'call ringing without id or caller',
      'call (no event) without id or caller',
      'call connect without id or caller',
      'call statuses (business-initiated calls)',
    ]);
  });
});

describe('what the business sent from the WhatsApp Business app', () => {
  test('an echo: keyed by the user it went to, with its text and the ids the contacts give', () => {
    const { events, ignored } = parse('smb_message_echoes', {
      contacts: [{ wa_id: '573009999999' }, { wa_id: PHONE, user_id: BSUID, profile: { username: '@ana' }, parent_user_id: 'CO.ENT.1' }],
      message_echoes: [{ id: 'wamid.e1', from: '15550001111', to: PHONE, timestamp: SECONDS, type: 'text', text: { body: 'Ya te llamo' } }],
    });
    expect(ignored).toEqual([]);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'whatsapp.echo',
        key: PHONE,
        id: 'wa:echo:wamid.e1',
        data: {
          user: { phone: PHONE, bsuid: BSUID, username: '@ana', parentBsuid: 'CO.ENT.1' },
          waMessageId: 'wamid.e1',
          timestamp: AT,
          type: 'text',
          text: 'Ya te llamo',
          source: 'business_app',
        },
      }),
    ]);
  });

  test('an echo to a user hiding their phone is found by BSUID; one with no recipient in it goes to the only contact', () => {
    const byBsuid = parse('smb_message_echoes', {
      contacts: [{ wa_id: '573009999999', user_id: 'CO.9999999999999999' }, { user_id: BSUID }],
      message_echoes: [{ id: 'wamid.e1', to_user_id: BSUID, timestamp: SECONDS, type: 'image', image: { id: 'MEDIA_ID', caption: 'recibo' } }],
    });
    expect(byBsuid.events).toEqual([
      expect.objectContaining({ key: BSUID, data: expect.objectContaining({ user: { bsuid: BSUID }, type: 'image', text: 'recibo', media: { id: 'MEDIA_ID', caption: 'recibo' } }) }),
    ]);
    const only = parse('smb_message_echoes', { contacts: [{ wa_id: PHONE }], message_echoes: [{ id: 'wamid.e2', timestamp: SECONDS, type: 'text', text: { body: 'x' } }] });
    expect(only.events).toEqual([expect.objectContaining({ key: PHONE })]);
  });

  test('an echo without id or recipient is ignored, saying why; one without a type is of unknown type', () => {
    const { events, ignored } = parse('smb_message_echoes', {
      message_echoes: [{ to: PHONE, timestamp: SECONDS, type: 'text' }, { id: 'wamid.e1', timestamp: SECONDS }, { id: 'wamid.e2', to: PHONE, timestamp: SECONDS }],
    });
    expect(ignored).toEqual(['echo without id or recipient', 'echo without id or recipient']);
    expect(events).toEqual([expect.objectContaining({ data: { user: { phone: PHONE }, waMessageId: 'wamid.e2', timestamp: AT, type: 'unknown', source: 'business_app' } })]);
  });
});

describe('past chats (history)', () => {
  test("the user's and the business's messages of each thread, the business's with their status", () => {
    const { events, ignored } = parse('history', {
      history: [
        {
          metadata: { phase: 0, chunk_order: 1, progress: 100 },
          threads: [
            {
              id: PHONE,
              messages: [
                { from: PHONE, id: 'wamid.h1', timestamp: SECONDS, type: 'text', text: { body: '¿abren hoy?' }, history_context: { status: 'READ' } },
                { from: '15550001111', id: 'wamid.h2', timestamp: SECONDS, type: 'text', text: { body: 'Sí' }, history_context: { status: 'DELIVERED' } },
                { from: '15550001111', id: 'wamid.h3', timestamp: SECONDS, type: 'text', text: { body: '¿algo más?' }, history_context: { status: 'SCHEDULED' } },
                { from: PHONE, timestamp: SECONDS, type: 'text' },
              ],
            },
            { messages: [{ id: 'wamid.h9' }] },
          ],
        },
        { errors: [{ code: 2593109 }] },
      ],
    });
    expect(ignored).toEqual(['history message without id', 'history thread without a user', 'history not shared (errors)']);
    expect(events).toEqual([
      expect.objectContaining({
        type: 'whatsapp.history',
        key: PHONE,
        id: 'wa:history:wamid.h1',
        data: { user: { phone: PHONE }, waMessageId: 'wamid.h1', timestamp: AT, type: 'text', text: '¿abren hoy?', fromBusiness: false },
      }),
      expect.objectContaining({
        data: { user: { phone: PHONE }, waMessageId: 'wamid.h2', timestamp: AT, type: 'text', text: 'Sí', fromBusiness: true, status: 'delivered' },
      }),
      expect.objectContaining({ data: { user: { phone: PHONE }, waMessageId: 'wamid.h3', timestamp: AT, type: 'text', text: '¿algo más?', fromBusiness: true } }),
    ]);
  });

  test("a thread of a user hiding their phone: their messages are theirs, not the business's; a message without sender or type", () => {
    const { events } = parse('history', {
      history: [
        {
          threads: [
            {
              user_id: BSUID,
              messages: [
                { from: BSUID, id: 'wamid.h1', timestamp: SECONDS, type: 'text', text: { body: 'hola' } },
                { id: 'wamid.h2', timestamp: SECONDS },
              ],
            },
          ],
        },
      ],
    });
    expect(events.map((event) => [event.key, event.data])).toEqual([
      [BSUID, { user: { bsuid: BSUID }, waMessageId: 'wamid.h1', timestamp: AT, type: 'text', text: 'hola', fromBusiness: false }],
      [BSUID, { user: { bsuid: BSUID }, waMessageId: 'wamid.h2', timestamp: AT, type: 'unknown', fromBusiness: false }],
    ]);
  });
});

describe("a user's message and its sender", () => {
  test('a user hiding their phone is found in the contacts by BSUID, with their username and parent BSUID', () => {
    const { events } = parse('messages', {
      contacts: [
        { wa_id: '573009999999', user_id: 'CO.9999999999999999', profile: { name: 'Otro' } },
        { user_id: BSUID, parent_user_id: 'CO.ENT.1', profile: { name: 'Ana', username: '@ana' } },
      ],
      messages: [{ from_user_id: BSUID, id: 'wamid.1', timestamp: SECONDS, type: 'text', text: { body: 'hola' } }],
    });
    expect(events).toEqual([
      expect.objectContaining({ key: BSUID, data: expect.objectContaining({ user: { bsuid: BSUID, username: '@ana', parentBsuid: 'CO.ENT.1' }, profileName: 'Ana' }) }),
    ]);
  });

  test('a message without an id is ignored even when its sender is known', () => {
    const { events, ignored } = parse('messages', { contacts: [{ wa_id: PHONE }], messages: [{ from: PHONE, timestamp: SECONDS, type: 'text', text: { body: 'x' } }] });
    expect(events).toEqual([]);
    expect(ignored.length).toBeGreaterThan(0);
  });
});

describe('a status', () => {
  test("names the recipient's parent BSUID, and keeps each error's numeric code only", () => {
    const { events } = parse('messages', {
      statuses: [
        {
          id: 'wamid.out.1',
          status: 'failed',
          timestamp: SECONDS,
          recipient_user_id: BSUID,
          recipient_parent_user_id: 'CO.ENT.1',
          errors: [{ code: 131026, title: 'Undeliverable' }, { code: '131000', message: 'x' }, 'garbage'],
        },
      ],
    });
    expect(events[0]!.data).toMatchObject({
      user: { bsuid: BSUID, parentBsuid: 'CO.ENT.1' },
      errors: [{ code: 131026, title: 'Undeliverable', message: undefined }, { code: undefined, title: undefined, message: 'x' }],
    });
  });
});

describe("a user's new BSUID", () => {
  test('the flat spelling is read, with the phone only when it is one', () => {
    const { events, ignored } = parse('user_id_update', {
      user_id_update: [
        { previous_user_id: 'CO.1111111111111111', user_id: 'CO.2222222222222222', wa_id: PHONE, timestamp: SECONDS },
        { previous_user_id: 'CO.3333333333333333', user_id: 'CO.4444444444444444', wa_id: 'CO.4444444444444444', timestamp: SECONDS },
        { previous_user_id: 'CO.5555555555555555', user_id: 'CO.5555555555555555' },
        'garbage',
      ],
    });
    expect(events.map((event) => [event.type, event.key, event.data])).toEqual([
      ['user.id_changed', 'CO.1111111111111111', { previousBsuid: 'CO.1111111111111111', bsuid: 'CO.2222222222222222', phone: PHONE, timestamp: AT }],
      ['user.id_changed', 'CO.3333333333333333', { previousBsuid: 'CO.3333333333333333', bsuid: 'CO.4444444444444444', timestamp: AT }],
    ]);
    expect(ignored).toEqual(['user_id_update without a previous and a new user id']);
  });

  test('the same news as a system message, with the phone when it came from one; another system message is no change', () => {
    const system = (fields: Record<string, unknown>) =>
      parse('messages', { messages: [{ id: 'wamid.s1', timestamp: SECONDS, type: 'system', from_user_id: 'CO.1111111111111111', ...fields }] }).events;
    expect(system({ from: PHONE, system: { type: 'user_changed_user_id', user_id: 'CO.2222222222222222' } })).toEqual([
      expect.objectContaining({
        type: 'user.id_changed',
        data: { previousBsuid: 'CO.1111111111111111', bsuid: 'CO.2222222222222222', phone: PHONE, timestamp: AT },
      }),
    ]);
    expect(system({ system: { type: 'user_changed_user_id', new_user_id: 'CO.2222222222222222' } })[0]!.data).toEqual({
      previousBsuid: 'CO.1111111111111111',
      bsuid: 'CO.2222222222222222',
      timestamp: AT,
    });
    expect(system({ system: { type: 'user_changed_number' } }).map((event) => event.type)).not.toContain('user.id_changed');
    expect(system({ system: { type: 'user_changed_user_id' } }).map((event) => event.type)).not.toContain('user.id_changed');
  });
});
