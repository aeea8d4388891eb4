import { describe, expect, setSystemTime, test } from 'bun:test';
import type { InboundMessage } from '../../../src/domain/events';
import { parseThreadControlWebhook } from '../../../src/integrations/meta-thread-control';
import { parseWhatsAppWebhook } from '../../../src/integrations/meta-webhooks';

/** The `calls`, `smb_message_echoes` and `history` fields of Meta's webhook, parsed into pipeline events. */

const PHONE = '573001112233';
const BSUID = 'CO.1047385771169864';
const SECONDS = '1764514800';
const AT = '2025-11-30T15:00:00.000Z';

const changesOf = (...changes: [string, Record<string, unknown>][]) => ({
  object: 'whatsapp_business_account',
  entry: [{ id: 'WABA_ID', changes: changes.map(([field, value]) => ({ field, value: { messaging_product: 'whatsapp', ...value } })) }],
});
const envelope = (field: string, value: Record<string, unknown>) => changesOf([field, value]);
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

  test('a caller named by BSUID alone is the contact with that BSUID, with their phone, not an earlier contact without a phone', () => {
    const { events } = parse('calls', {
      contacts: [{ user_id: 'CO.9999999999999999' }, { wa_id: PHONE, user_id: BSUID }],
      calls: [{ id: 'wacid.1', from_user_id: BSUID, event: 'connect', timestamp: SECONDS }],
    });
    expect(events).toEqual([expect.objectContaining({ key: PHONE, data: expect.objectContaining({ user: { phone: PHONE, bsuid: BSUID } }) })]);
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
      expect.objectContaining({
        key: BSUID,
        data: expect.objectContaining({ user: { bsuid: BSUID }, type: 'image', text: 'recibo', media: { id: 'MEDIA_ID', caption: 'recibo' } }),
      }),
    ]);
    const only = parse('smb_message_echoes', {
      contacts: [{ wa_id: PHONE }],
      message_echoes: [{ id: 'wamid.e2', timestamp: SECONDS, type: 'text', text: { body: 'x' } }],
    });
    expect(only.events).toEqual([expect.objectContaining({ key: PHONE })]);
  });

  test('an echo without id or recipient is ignored, saying why; one without a type is of unknown type', () => {
    const { events, ignored } = parse('smb_message_echoes', {
      message_echoes: [
        { to: PHONE, timestamp: SECONDS, type: 'text' },
        { id: 'wamid.e1', timestamp: SECONDS },
        { id: 'wamid.e2', to: PHONE, timestamp: SECONDS },
      ],
    });
    expect(ignored).toEqual(['echo without id or recipient', 'echo without id or recipient']);
    expect(events).toEqual([
      expect.objectContaining({ data: { user: { phone: PHONE }, waMessageId: 'wamid.e2', timestamp: AT, type: 'unknown', source: 'business_app' } }),
    ]);
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
                {
                  from: '15550001111',
                  id: 'wamid.h3',
                  timestamp: SECONDS,
                  type: 'text',
                  text: { body: '¿algo más?' },
                  history_context: { status: 'SCHEDULED' },
                },
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
      expect.objectContaining({
        data: { user: { phone: PHONE }, waMessageId: 'wamid.h3', timestamp: AT, type: 'text', text: '¿algo más?', fromBusiness: true },
      }),
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
      expect.objectContaining({
        key: BSUID,
        data: expect.objectContaining({ user: { bsuid: BSUID, username: '@ana', parentBsuid: 'CO.ENT.1' }, profileName: 'Ana' }),
      }),
    ]);
  });

  test('a message without an id is ignored even when its sender is known', () => {
    const { events, ignored } = parse('messages', {
      contacts: [{ wa_id: PHONE }],
      messages: [{ from: PHONE, timestamp: SECONDS, type: 'text', text: { body: 'x' } }],
    });
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
      errors: [
        { code: 131026, title: 'Undeliverable', message: undefined },
        { code: undefined, title: undefined, message: 'x' },
      ],
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

/** One envelope with one change per `[field, value]`, in order. */
const OTHER = '573009999999';
const text = (fields: Record<string, unknown>) => ({ id: 'wamid.1', timestamp: SECONDS, type: 'text', text: { body: 'hola' }, ...fields });

describe('when a message was sent', () => {
  const NOW_S = Number(SECONDS);
  const timestampsOf = (...timestamps: unknown[]) => {
    setSystemTime(new Date(AT));
    try {
      const { events, cleaned } = parse('messages', {
        messages: timestamps.map((timestamp, i) => ({ from: PHONE, id: `wamid.t${i}`, timestamp, type: 'text' })),
      });
      return { at: events.map((event) => (event.data as { timestamp: string }).timestamp), cleaned };
    } finally {
      setSystemTime();
    }
  };

  test('Unix seconds as text or as a number, from the first second of 2009 to a day ahead of the clock, are kept as sent', () => {
    expect(timestampsOf('1230768000', 1230768000, String(NOW_S - 3600), NOW_S + 3600, String(NOW_S + 24 * 3600))).toEqual({
      at: ['2009-01-01T00:00:00.000Z', '2009-01-01T00:00:00.000Z', '2025-11-30T14:00:00.000Z', '2025-11-30T16:00:00.000Z', '2025-12-01T15:00:00.000Z'],
      cleaned: [],
    });
  });

  test('a second before 2009, a second past a day ahead, seconds inside a list or a boolean become the time of receipt, each reported', () => {
    expect(timestampsOf('1230767999', NOW_S + 24 * 3600 + 1, [SECONDS], true)).toEqual({
      at: [AT, AT, AT, AT],
      cleaned: Array(4).fill('message.timestamp out of range: time of receipt used'),
    });
  });

  test('a timestamp replaced by the time of receipt is reported under the kind of event it belonged to', () => {
    const { events, cleaned } = parseWhatsAppWebhook(
      changesOf(
        ['calls', { calls: [{ id: 'wacid.1', from: PHONE, event: 'connect', timestamp: 'ayer' }] }],
        ['smb_message_echoes', { message_echoes: [{ id: 'wamid.e1', to: PHONE, timestamp: 'ayer', type: 'text' }] }],
        ['history', { history: [{ threads: [{ id: PHONE, messages: [{ id: 'wamid.h1', from: PHONE, timestamp: 'ayer' }] }] }] }],
        ['user_id_update', { user_id_update: [{ user_id: { previous: BSUID, current: 'CO.2222222222222222' }, timestamp: 'ayer' }] }],
        [
          'messages',
          { messages: [{ id: 'wamid.s1', from_user_id: BSUID, timestamp: 'ayer', type: 'system', system: { type: 'user_changed_user_id', user_id: 'CO.3' } }] },
        ],
        ['messaging_handovers', { type: 'control_taken', timestamp: 'ayer', sender: { phone_number: PHONE }, control_taken: {} }],
      ),
    );
    expect(events).toHaveLength(6);
    expect(cleaned).toEqual(
      ['call', 'echo', 'history', 'user_id_update', 'message', 'handover'].map((what) => `${what}.timestamp out of range: time of receipt used`),
    );
  });
});

describe('an envelope with parts that are not objects', () => {
  test('entries and changes that are null, text or without a value are skipped; the change beside them still counts', () => {
    const good = { field: 'messages', value: { contacts: [{ wa_id: PHONE }], messages: [text({ from: PHONE })] } };
    const { events, ignored } = parseWhatsAppWebhook({
      object: 'whatsapp_business_account',
      entry: [null, 'entry', { id: 'WABA_ID', changes: [null, 'change', { field: 'messages' }, { field: 'messages', value: 'text' }, good] }],
    });
    expect(events).toEqual([expect.objectContaining({ type: 'user.message', key: PHONE, id: 'wa:msg:wamid.1' })]);
    expect(ignored).toEqual([]);
  });

  test('a change naming no field is reported as "field (none)" on both webhooks', () => {
    const payload = { entry: [{ changes: [{ value: {} }] }] };
    expect(parseWhatsAppWebhook(payload).ignored).toEqual(['field (none)']);
    expect(parseThreadControlWebhook(payload, '').ignored).toEqual(['field (none)']);
  });

  test('contacts, messages, calls, echoes and history items that are null or text are skipped, the good ones kept', () => {
    const { events, ignored } = parseWhatsAppWebhook(
      changesOf(
        ['messages', { contacts: [null, 'contact', { wa_id: PHONE }], messages: [text({ from: PHONE })] }],
        ['calls', { contacts: [null, { wa_id: PHONE }], calls: [null, 'call', { id: 'wacid.1', from: PHONE, event: 'connect', timestamp: SECONDS }] }],
        [
          'smb_message_echoes',
          { contacts: [null, { wa_id: PHONE }], message_echoes: [null, 'echo', { id: 'wamid.e1', to: PHONE, timestamp: SECONDS, type: 'text' }] },
        ],
        [
          'history',
          {
            history: [
              null,
              'chunk',
              { threads: [null, 'thread', { id: PHONE, messages: [null, 'message', { id: 'wamid.h1', from: PHONE, timestamp: SECONDS }] }] },
            ],
          },
        ],
      ),
    );
    expect(events.map((event) => [event.type, event.key])).toEqual([
      ['user.message', PHONE],
      ['whatsapp.call', PHONE],
      ['whatsapp.echo', PHONE],
      ['whatsapp.history', PHONE],
    ]);
    expect(ignored).toEqual([]);
  });

  test("a contact card's phones, emails and urls that are null or text are skipped, as are cards that are", () => {
    const card = {
      name: { formatted_name: 'Ana' },
      phones: [null, 'phone', { phone: '+57 300' }],
      emails: ['email', null, { email: 'ana@example.com' }],
      urls: [null, { url: 'https://ana.example' }],
    };
    const { events } = parse('messages', { messages: [text({ from: PHONE, type: 'contacts', contacts: [null, 'card', card] })] });
    expect(events[0]!.data).toMatchObject({
      text: 'Ana',
      contacts: [{ name: 'Ana', phones: [{ phone: '+57 300' }], emails: [{ email: 'ana@example.com' }], urls: [{ url: 'https://ana.example' }] }],
    });
  });
});

describe('the user among several contacts', () => {
  test('a message from a phone takes the name and BSUID of the contact with that phone, not of the first contact', () => {
    const { events } = parse('messages', {
      contacts: [
        { wa_id: OTHER, profile: { name: 'Otro' } },
        { wa_id: PHONE, user_id: BSUID, profile: { name: 'Juan' } },
      ],
      messages: [text({ from: PHONE })],
    });
    expect(events[0]).toMatchObject({ key: PHONE, data: { user: { phone: PHONE, bsuid: BSUID }, profileName: 'Juan' } });
  });

  test('a message from a BSUID alone takes the name of the contact with that BSUID, not of an earlier contact without a phone', () => {
    const { events } = parse('messages', {
      contacts: [
        { user_id: 'CO.9999999999999999', profile: { name: 'Otro' } },
        { user_id: BSUID, profile: { name: 'Ana', username: '@ana' } },
      ],
      messages: [text({ from_user_id: BSUID })],
    });
    expect(events[0]).toMatchObject({ key: BSUID, data: { user: { bsuid: BSUID, username: '@ana' }, profileName: 'Ana' } });
  });

  test('a caller named by phone gets the BSUID of the contact with that phone; one named by BSUID alone, the phone of theirs', () => {
    const contacts = [
      { wa_id: OTHER, user_id: 'CO.9999999999999999' },
      { wa_id: PHONE, user_id: BSUID },
    ];
    const callFrom = (ids: Record<string, unknown>) =>
      parse('calls', { contacts, calls: [{ id: 'wacid.1', event: 'connect', timestamp: SECONDS, ...ids }] }).events[0];
    expect(callFrom({ from: PHONE })).toMatchObject({ key: PHONE, data: { user: { phone: PHONE, bsuid: BSUID } } });
    expect(callFrom({ from_user_id: BSUID })).toMatchObject({ key: PHONE, data: { user: { phone: PHONE, bsuid: BSUID } } });
    const onlyPhones = parse('calls', {
      contacts: [{ wa_id: OTHER }, { wa_id: PHONE, user_id: BSUID }],
      calls: [{ id: 'wacid.1', event: 'connect', from: PHONE, timestamp: SECONDS }],
    });
    expect(onlyPhones.events[0]).toMatchObject({ data: { user: { phone: PHONE, bsuid: BSUID } } });
  });

  test('an echo to a BSUID alone takes the username of the contact with that BSUID, not of an earlier contact without a phone', () => {
    const { events } = parse('smb_message_echoes', {
      contacts: [
        { user_id: 'CO.9999999999999999', profile: { username: '@otro' } },
        { user_id: BSUID, profile: { username: '@ana' } },
      ],
      message_echoes: [{ id: 'wamid.e1', to_user_id: BSUID, timestamp: SECONDS, type: 'text', text: { body: 'x' } }],
    });
    expect(events[0]).toMatchObject({ key: BSUID, data: { user: { bsuid: BSUID, username: '@ana' } } });
  });

  test('a user named by BSUID alone carries the BSUID only, with no phone, username or parent BSUID key left empty', () => {
    const { events } = parse('messages', { contacts: [{ user_id: BSUID }], messages: [text({ from_user_id: BSUID })] });
    expect((events[0]!.data as { user: unknown }).user).toStrictEqual({ bsuid: BSUID });
  });

  test('an empty `from` falls back to the contact; a `from` sent as a number is read as the phone', () => {
    expect(parse('messages', { contacts: [{ wa_id: PHONE }], messages: [text({ from: '' })] }).events[0]).toMatchObject({ key: PHONE });
    expect(parse('messages', { messages: [text({ from: Number(PHONE) })] }).events[0]).toMatchObject({ key: PHONE, data: { user: { phone: PHONE } } });
  });
});

describe('what an echo or a past message carries', () => {
  test('an echo without text, and a past message without text, carry no text at all; a past image keeps its media', () => {
    const echo = parse('smb_message_echoes', { message_echoes: [{ id: 'wamid.e1', to: PHONE, timestamp: SECONDS, type: 'order' }] });
    expect(echo.events[0]!.data).toStrictEqual({ user: { phone: PHONE }, waMessageId: 'wamid.e1', timestamp: AT, type: 'order', source: 'business_app' });
    const history = parse('history', {
      history: [
        {
          threads: [
            {
              id: PHONE,
              messages: [
                { id: 'wamid.h1', from: PHONE, timestamp: SECONDS, type: 'image', image: { id: 'MEDIA_ID' } },
                { id: 'wamid.h2', from: PHONE, timestamp: SECONDS },
              ],
            },
          ],
        },
      ],
    });
    expect(history.events.map((event) => event.data)).toStrictEqual([
      { user: { phone: PHONE }, waMessageId: 'wamid.h1', timestamp: AT, type: 'image', media: { id: 'MEDIA_ID' }, fromBusiness: false },
      { user: { phone: PHONE }, waMessageId: 'wamid.h2', timestamp: AT, type: 'unknown', fromBusiness: false },
    ]);
  });

  test("a past message without a sender, in a thread named by phone and BSUID, is the user's", () => {
    const { events } = parse('history', { history: [{ threads: [{ id: PHONE, user_id: BSUID, messages: [{ id: 'wamid.h1', timestamp: SECONDS }] }] }] });
    expect(events[0]!.data).toMatchObject({ user: { phone: PHONE, bsuid: BSUID }, fromBusiness: false });
  });

  test("a business message whose kept status is missing, or named after an object's built-in key, has no status", () => {
    const sent = (context: unknown) => ({ id: 'wamid.h', from: OTHER, timestamp: SECONDS, type: 'text', text: { body: 'x' }, history_context: context });
    const { events } = parse('history', {
      history: [{ threads: [{ id: PHONE, messages: [sent({}), sent({ status: 'CONSTRUCTOR' }), sent({ status: '__proto__' })] }] }],
    });
    expect(events.map((event) => event.data)).toStrictEqual(
      Array(3).fill({ user: { phone: PHONE }, waMessageId: 'wamid.h', timestamp: AT, type: 'text', text: 'x', fromBusiness: true }),
    );
  });
});

describe('what a user message says, at its edges', () => {
  const message = (fields: Record<string, unknown>) => parse('messages', { messages: [text({ from: PHONE, ...fields })] }).events[0]!.data as InboundMessage;
  /** What a location named "Casa" with `coordinates` reads as, and its data. */
  const location = (coordinates: Record<string, unknown>) => {
    const { text, location } = message({ type: 'location', location: { name: 'Casa', ...coordinates } });
    return { text, location };
  };

  test('a location at a pole or on the antimeridian keeps its coordinates; one past the antimeridian has none', () => {
    expect(location({ latitude: 90, longitude: 180 })).toEqual({ text: 'Casa · 90,180', location: { latitude: 90, longitude: 180, name: 'Casa' } });
    expect(location({ latitude: -90, longitude: -180 })).toEqual({ text: 'Casa · -90,-180', location: { latitude: -90, longitude: -180, name: 'Casa' } });
    expect(location({ latitude: 0, longitude: 180.5 })).toEqual({ text: 'Casa', location: undefined });
  });

  test('coordinates sent as text are read as numbers; blank text or a missing longitude gives no coordinates', () => {
    expect(location({ latitude: '4.6', longitude: '-74.08' })).toEqual({
      text: 'Casa · 4.6,-74.08',
      location: { latitude: 4.6, longitude: -74.08, name: 'Casa' },
    });
    expect(location({ latitude: ' ', longitude: '1' })).toEqual({ text: 'Casa', location: undefined });
    expect(location({ latitude: 4.6 })).toEqual({ text: 'Casa', location: undefined });
  });

  test('contact cards named by a first or a last name alone have no stray space; a card without a name adds nothing to the text', () => {
    const shared = message({
      type: 'contacts',
      contacts: [{ name: { first_name: 'Luis' } }, { name: { last_name: 'Mora' } }, { phones: [{ phone: '+57 300' }] }],
    });
    expect(shared.text).toBe('Luis, Mora');
    expect(shared.contacts).toEqual([
      { name: 'Luis', phones: [], emails: [], urls: [] },
      { name: 'Mora', phones: [], emails: [], urls: [] },
      { phones: [{ phone: '+57 300' }], emails: [], urls: [] },
    ]);
  });

  test('an interactive reply of a kind it does not know has neither text nor reply id', () => {
    const reply = message({ type: 'interactive', interactive: { type: 'call_permission_reply', call_permission_reply: { response: 'accept' } } });
    expect(reply).toMatchObject({ type: 'interactive', text: undefined, replyId: undefined });
  });

  test('an empty text body is no text', () => {
    expect(message({ text: { body: '' } }).text).toBeUndefined();
  });
});

describe('edits, revokes and system notes without their body', () => {
  const messages = (...raws: Record<string, unknown>[]) =>
    parse('messages', { messages: raws.map((raw, i) => ({ from: PHONE, id: `wamid.${i}`, timestamp: SECONDS, ...raw })) });

  test('an edit or a revoke without its body is a message of that type that changes nothing', () => {
    const { events, ignored } = messages({ type: 'edit' }, { type: 'revoke' });
    expect(ignored).toEqual([]);
    expect(events.map((event) => event.data)).toStrictEqual([
      { user: { phone: PHONE }, waMessageId: 'wamid.0', timestamp: AT, profileName: undefined, type: 'edit' },
      { user: { phone: PHONE }, waMessageId: 'wamid.1', timestamp: AT, profileName: undefined, type: 'revoke' },
    ]);
  });

  test('an edit whose new content has no type is of unknown type', () => {
    expect(messages({ type: 'edit', edit: { original_message_id: 'wamid.0' } }).events[0]!.data).toMatchObject({
      edit: { waMessageId: 'wamid.0', type: 'unknown' },
    });
  });

  test('only the type makes an edit, a revoke or a change of BSUID: a text carrying such a note stays a text', () => {
    const { events } = messages({
      type: 'text',
      text: { body: 'hola' },
      from_user_id: BSUID,
      edit: { original_message_id: 'wamid.0', message: { type: 'text', text: { body: 'x' } } },
      revoke: { original_message_id: 'wamid.0' },
      system: { type: 'user_changed_user_id', user_id: 'CO.2222222222222222' },
    });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'user.message', data: { type: 'text', text: 'hola' } });
    expect(events[0]!.data).not.toHaveProperty('edit');
    expect(events[0]!.data).not.toHaveProperty('revoke');
  });

  test('a system message without its body is a user message of type system, not a change of BSUID', () => {
    const { events } = messages({ type: 'system', from_user_id: BSUID });
    expect(events).toEqual([expect.objectContaining({ type: 'user.message', key: PHONE, data: expect.objectContaining({ type: 'system' }) })]);
  });

  test('a system note of another kind is no change of BSUID, even when it names the user id', () => {
    const { events } = messages({ type: 'system', from_user_id: BSUID, system: { type: 'user_changed_number', new_wa_id: OTHER, user_id: BSUID } });
    expect(events.map((event) => event.type)).toEqual(['user.message']);
  });

  test('a `user_id_update` value that is itself the change, not a list of them, is read', () => {
    const { events } = parse('user_id_update', { user_id: { previous: BSUID, current: 'CO.2222222222222222' }, wa_id: PHONE, timestamp: SECONDS });
    expect(events).toEqual([
      expect.objectContaining({
        type: 'user.id_changed',
        key: BSUID,
        data: { previousBsuid: BSUID, bsuid: 'CO.2222222222222222', phone: PHONE, timestamp: AT },
      }),
    ]);
  });
});

describe('templates and handovers that say too little', () => {
  test('a template update without a name, or a status update without an event, is reported, never kept', () => {
    const { templateUpdates, ignored } = parseWhatsAppWebhook(
      changesOf(
        ['message_template_status_update', { event: 'APPROVED', message_template_language: 'es' }],
        ['template_category_update', { new_category: 'MARKETING' }],
        ['message_template_status_update', { message_template_name: 'seguimiento' }],
      ),
    );
    expect(templateUpdates).toEqual([]);
    expect(ignored).toEqual([
      'message_template_status_update without a template name or event',
      'template_category_update without a template name or event',
      'message_template_status_update without a template name or event',
    ]);
  });

  test('a handover naming neither event nor type is "(unnamed)" on both webhooks; a seed event without thread_control is not understood', () => {
    const unnamed = envelope('messaging_handovers', { timestamp: SECONDS });
    expect(parseWhatsAppWebhook(unnamed).ignored).toEqual(['handover event (unnamed) names no user']);
    expect(parseThreadControlWebhook(unnamed, '').ignored).toEqual(['handover event (unnamed) not understood']);
    expect(parseThreadControlWebhook(envelope('messaging_handovers', { event: 'pass_thread_control' }), '').ignored).toEqual([
      'handover event pass_thread_control not understood',
    ]);
  });

  test('a ticket is read from the ticket_id of JSON metadata only, never from other text in it', () => {
    const metadata = JSON.stringify({ note: 'see TK-2026-000042' });
    const { items } = parseThreadControlWebhook(
      envelope('messaging_handovers', { event: 'pass_thread_control', thread_control: { app_id: '1', metadata } }),
      '1',
    );
    expect(items[0]!.control).toMatchObject({ metadata, ticketId: undefined });
  });

  test('a pass to a role whose name begins with "escalation" is a pass to the CRM', () => {
    const passed = envelope('messaging_handovers', {
      type: 'control_passed',
      sender: { phone_number: PHONE },
      control_passed: { new_owner_role: 'ESCALATION_PARTNER' },
    });
    expect(parseThreadControlWebhook(passed, '').items[0]!.control).toMatchObject({ toCrm: true, owner: 'crm' });
  });
});
