import { describe, expect, test } from 'bun:test';
import type { EchoMessage, HistoryMessage, InboundMessage } from '../../../../src/domain/events';
import { BatchRows } from '../../../../src/actors/runtime/rows';
import { originOf } from '../../../../src/actors/runtime/state';

/** The rows a batch appends besides the actors' own: what the history keeps of each message, and the outbox's rows. */

const KEY = '573001112233';
const AT = '2026-11-30T15:00:00.000Z';
const WROTE = '2026-11-30T14:59:58.000Z';
const origin = () => originOf({ id: 'wa:msg:wamid.in.1', key: KEY, at: AT, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
const inbound = (fields: Partial<InboundMessage>): InboundMessage => ({
  user: { phone: KEY },
  waMessageId: 'wamid.in.1',
  timestamp: WROTE,
  type: 'text',
  ...fields,
});

describe("a user's message in the history", () => {
  test('a plain text: its words, its wamid, when the user wrote it, received, no details', () => {
    const rows = new BatchRows();
    rows.received(KEY, 'TK-2026-000001', inbound({ text: 'hola' }));
    expect(rows.writes().messages).toEqual([
      {
        conversationKey: KEY,
        ticketId: 'TK-2026-000001',
        direction: 'inbound',
        author: 'user',
        type: 'text',
        body: 'hola',
        media: null,
        details: null,
        waMessageId: 'wamid.in.1',
        status: 'received',
        createdAt: new Date(WROTE),
      },
    ]);
    expect(rows.writes().messageRevisions).toEqual([]);
  });

  test('keeps what it answers, reacts to, points at or shares, and whether it came on standby', () => {
    const rows = new BatchRows();
    const media = { id: 'media-1', mimeType: 'image/jpeg' };
    const details = {
      replyTo: 'wamid.out.1',
      reaction: { waMessageId: 'wamid.out.1', emoji: '👍' },
      location: { latitude: 4.6, longitude: -74.1 },
      contacts: [{ name: 'Ana' }],
      standby: true,
    };
    rows.received(KEY, null, inbound({ type: 'image', media, ...details } as Partial<InboundMessage>));
    expect(rows.writes().messages[0]).toMatchObject({ body: null, media, details });
  });

  test('an edit or a revoke is kept with its details and changes the message it names', () => {
    const rows = new BatchRows();
    const edit = { waMessageId: 'wamid.in.0', type: 'text', text: 'hola de nuevo' };
    rows.received(KEY, null, inbound({ type: 'edit', edit }));
    rows.received(KEY, null, inbound({ waMessageId: 'wamid.in.2', type: 'edit', edit: { waMessageId: 'wamid.in.9', type: 'image' } }));
    rows.received(KEY, null, inbound({ waMessageId: 'wamid.in.3', type: 'revoke', revoke: { waMessageId: 'wamid.in.0' } }));
    const { messages, messageRevisions } = rows.writes();
    expect(messages.map((message) => message.details)).toEqual([{ edit }, { edit: { waMessageId: 'wamid.in.9', type: 'image' } }, { revoke: { waMessageId: 'wamid.in.0' } }]);
    expect(messageRevisions).toEqual([
      { conversationKey: KEY, waMessageId: 'wamid.in.0', body: 'hola de nuevo', editedAt: new Date(WROTE) },
      { conversationKey: KEY, waMessageId: 'wamid.in.9', body: null, editedAt: new Date(WROTE) },
      { conversationKey: KEY, waMessageId: 'wamid.in.0', deletedAt: new Date(WROTE) },
    ]);
  });

  test('the document number typed in is masked in that message only, wherever it stands in the words', () => {
    const rows = new BatchRows();
    rows.received(KEY, null, inbound({ text: 'mi cédula es 1.020.304.050' }));
    rows.received(KEY, null, inbound({ waMessageId: 'wamid.in.2', text: '1020304050' }));
    rows.received(KEY, null, inbound({ waMessageId: 'wamid.in.3', type: 'image' }));
    rows.sendWhatsApp(origin(), { ticketId: null, author: 'bot', authorId: null, type: 'text', body: '1020304050', payload: { to: KEY } as never });
    rows.maskTypedDocument('wamid.in.1', '1020304050');
    rows.maskTypedDocument('wamid.in.3', '1020304050');
    expect(rows.writes().messages.map((message) => message.body)).toEqual(['mi cédula es ********50', '1020304050', null, '1020304050']);
  });
});

describe('what the bot or an agent sends', () => {
  test('one outbox row in the user lane, keyed by the event and its place, carrying the trace, and its history row linked by that key', () => {
    const rows = new BatchRows();
    const from = origin();
    rows.sendWhatsApp(from, {
      ticketId: 'TK-2026-000001',
      author: 'agent',
      authorId: 'ag-1',
      type: 'image',
      body: 'Tu recibo',
      payload: { to: KEY, type: 'image' } as never,
      media: { url: 'https://crm.example.co/r.png' },
      crmKey: 'k-1',
    });
    const key = rows.enqueue(from, 'crm.user_message', 'TK-2026-000001', { text: 'x' });
    const { outbox, messages } = rows.writes();
    expect(key).toBe('wa:msg:wamid.in.1#1');
    expect(outbox).toEqual([
      {
        kind: 'whatsapp.send',
        lane: `wa:${KEY}`,
        payload: { to: KEY, type: 'image' },
        idempotencyKey: 'wa:msg:wamid.in.1#0',
        ticketId: 'TK-2026-000001',
        author: 'agent',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      },
      {
        kind: 'crm.user_message',
        lane: `crm:${KEY}`,
        payload: { text: 'x' },
        idempotencyKey: 'wa:msg:wamid.in.1#1',
        ticketId: 'TK-2026-000001',
        author: undefined,
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      },
    ]);
    expect(messages).toEqual([
      {
        conversationKey: KEY,
        ticketId: 'TK-2026-000001',
        direction: 'outbound',
        author: 'agent',
        authorId: 'ag-1',
        type: 'image',
        body: 'Tu recibo',
        media: { url: 'https://crm.example.co/r.png' },
        crmKey: 'k-1',
        status: 'queued',
        outboxKey: 'wa:msg:wamid.in.1#0',
        createdAt: new Date(AT),
      },
    ]);
  });

  test('without media, a CRM key or a trace, those are null', () => {
    const rows = new BatchRows();
    rows.sendWhatsApp(originOf({ id: 'e', key: KEY, at: AT }), { ticketId: null, author: 'bot', authorId: null, type: 'text', body: 'hola', payload: {} as never });
    expect(rows.writes().messages[0]).toMatchObject({ media: null, crmKey: null });
    expect(rows.writes().outbox[0]!.traceparent).toBeNull();
  });
});

describe('what the business sent without us', () => {
  const echo = (fields: Partial<EchoMessage>): EchoMessage => ({
    user: { phone: KEY },
    waMessageId: 'wamid.e1',
    timestamp: WROTE,
    type: 'text',
    source: 'business_app',
    ...fields,
  });

  test("from the Business app: an agent's message WhatsApp already sent", () => {
    const rows = new BatchRows();
    rows.echoed(KEY, 'TK-2026-000001', echo({ text: 'Ya te llamo', media: { id: 'm' } }));
    expect(rows.writes().messages).toEqual([
      {
        conversationKey: KEY,
        ticketId: 'TK-2026-000001',
        direction: 'outbound',
        author: 'agent',
        authorId: 'whatsapp_business_app',
        type: 'text',
        body: 'Ya te llamo',
        media: { id: 'm' },
        details: null,
        waMessageId: 'wamid.e1',
        status: 'sent',
        createdAt: new Date(WROTE),
      },
    ]);
  });

  test("another responder's edit carries the new text and changes its message; a revoke deletes it", () => {
    const rows = new BatchRows();
    const edit = { waMessageId: 'wamid.e0', type: 'text', text: 'Corrijo' };
    rows.echoed(KEY, null, echo({ source: 'other_responder', type: 'edit', edit }));
    rows.echoed(KEY, null, echo({ waMessageId: 'wamid.e2', type: 'revoke', revoke: { waMessageId: 'wamid.e0' } }));
    const { messages, messageRevisions } = rows.writes();
    expect(messages.map(({ authorId, body, media, details }) => ({ authorId, body, media, details }))).toEqual([
      { authorId: 'other_responder', body: 'Corrijo', media: null, details: { edit } },
      { authorId: 'whatsapp_business_app', body: null, media: null, details: { revoke: { waMessageId: 'wamid.e0' } } },
    ]);
    expect(messageRevisions).toEqual([
      { conversationKey: KEY, waMessageId: 'wamid.e0', body: 'Corrijo', editedAt: new Date(WROTE) },
      { conversationKey: KEY, waMessageId: 'wamid.e0', deletedAt: new Date(WROTE) },
    ]);
  });

  test("a past chat's messages are stored as they were, the user's received and the business's with their status", () => {
    const rows = new BatchRows();
    const past = (fields: Partial<HistoryMessage>): HistoryMessage => ({
      user: { phone: KEY },
      waMessageId: 'wamid.h1',
      timestamp: WROTE,
      type: 'text',
      fromBusiness: false,
      ...fields,
    });
    rows.history(KEY, past({ text: '¿abren hoy?', media: { id: 'm' } }));
    rows.history(KEY, past({ waMessageId: 'wamid.h2', fromBusiness: true, text: 'Sí', status: 'read' }));
    rows.history(KEY, past({ waMessageId: 'wamid.h3', fromBusiness: true }));
    expect(rows.writes().messages).toEqual([
      {
        conversationKey: KEY,
        ticketId: null,
        direction: 'inbound',
        author: 'user',
        authorId: null,
        type: 'text',
        body: '¿abren hoy?',
        media: { id: 'm' },
        details: { history: true },
        waMessageId: 'wamid.h1',
        status: 'received',
        createdAt: new Date(WROTE),
      },
      expect.objectContaining({ direction: 'outbound', author: 'agent', authorId: 'whatsapp_business_app', body: 'Sí', media: null, status: 'read' }),
      expect.objectContaining({ waMessageId: 'wamid.h3', body: null, status: 'sent' }),
    ]);
  });
});

test('a status settles the send in doubt it names once, by the first status that named it; one without callback data settles nothing', () => {
  const rows = new BatchRows();
  const status = { waMessageId: 'wamid.out.1', timestamp: AT, user: { phone: KEY } };
  rows.status({ ...status, status: 'sent', callbackData: 'evt#0' }, []);
  rows.status({ ...status, status: 'delivered', callbackData: 'evt#0' }, []);
  rows.status({ ...status, status: 'read' }, []);
  expect(rows.writes().settledSends).toEqual([{ outboxKey: 'evt#0', status: 'sent' }]);
});
