import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { eq } from 'drizzle-orm';
import { conversations, processedEvents, tickets } from '../../src/db/schema';
import { bearer, call, freshPhone, jsonRequest, routeContext, SECRETS, type RouteContext, type TestApp, type TestTicket } from './support';

let context: RouteContext;
let app: TestApp;
beforeAll(async () => {
  context = await routeContext('crm');
  app = context.app();
});
afterAll(() => context.close());

const crm = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  call(app, jsonRequest(method, path, body, { ...bearer(SECRETS.crmToken), ...headers }));
const entriesFor = async (key: string) => (await app.entries()).filter((entry) => entry.key === key);
const HOUR_MS = 3600_000;
/** No worker runs here: a queued event is not applied within CRM_APPLY_TIMEOUT_MS, and the CRM hears so. */
const NOT_APPLIED_YET = { success: true, applied: false, message: 'Accepted, not applied yet: it will be applied in order shortly' };

describe('POST /api/crm/handover', () => {
  test('an agent taking a pending ticket is queued for the ticket, with the agent', async () => {
    const ticket = await context.insertTicket({ status: 'pending', phase: 'waiting_agent', agentId: null, agentName: null });
    const body = {
      ticketId: ticket.id,
      userPhone: ticket.userPhone,
      agentId: 'agent_9',
      agentName: 'Ana',
      handoverType: 'bot_to_human',
      metadata: { queue: 'soporte' },
    };
    const response = await crm('POST', '/api/crm/handover', body);
    expect(response).toEqual({ status: 202, body: { ...NOT_APPLIED_YET, ticketId: ticket.id } });
    const [entry, ...others] = await entriesFor(ticket.conversationKey);
    expect(others).toEqual([]);
    expect(entry).toMatchObject({
      type: 'crm.handover',
      data: { ticketId: ticket.id, handoverType: 'bot_to_human', agentId: 'agent_9', agentName: 'Ana', metadata: { queue: 'soporte' } },
    });
    expect(entry!.id).toStartWith('crm:handover:body:');
  });

  test('the userPhone may be written with a plus and spaces', async () => {
    const ticket = await context.insertTicket();
    const userPhone = `+${ticket.userPhone!.slice(0, 2)} ${ticket.userPhone!.slice(2)}`;
    const response = await crm('POST', '/api/crm/handover', { ticketId: ticket.id, userPhone, handoverType: 'human_to_bot' });
    expect(response.status).toBe(202);
  });

  test('a missing ticketId is 400 and names it', async () => {
    const { status, body } = await crm('POST', '/api/crm/handover', { userPhone: freshPhone(), handoverType: 'human_to_bot' });
    expect(status).toBe(400);
    expect(body).toMatchObject({ success: false, error: 'invalid_request' });
    expect(body.message).toContain('ticketId');
  });

  test('bot_to_human without the agent is 400 and names agentId and agentName', async () => {
    const ticket = await context.insertTicket({ status: 'pending' });
    const { status, body } = await crm('POST', '/api/crm/handover', { ticketId: ticket.id, userPhone: ticket.userPhone, handoverType: 'bot_to_human' });
    expect(status).toBe(400);
    expect(body).toMatchObject({ success: false, error: 'invalid_request' });
    expect(body.message).toContain('agentId');
    expect(body.message).toContain('agentName');
    expect(await entriesFor(ticket.conversationKey)).toEqual([]);
  });

  test('an unknown handoverType is 400 and lists the accepted ones', async () => {
    const { status, body } = await crm('POST', '/api/crm/handover', { ticketId: 'TK-1', userPhone: '573', handoverType: 'bot_to_bot' });
    expect(status).toBe(400);
    expect(body.message).toBe('handoverType: expected one of bot_to_human, human_to_bot');
  });

  test('an unknown ticket is 404', async () => {
    const { status, body } = await crm('POST', '/api/crm/handover', { ticketId: 'TK-1999-000001', userPhone: freshPhone(), handoverType: 'human_to_bot' });
    expect(status).toBe(404);
    expect(body).toMatchObject({ success: false, error: 'ticket_not_found' });
  });

  test("a userPhone that is not the ticket's is 400", async () => {
    const ticket = await context.insertTicket();
    const { status, body } = await crm('POST', '/api/crm/handover', { ticketId: ticket.id, userPhone: freshPhone(), handoverType: 'human_to_bot' });
    expect(status).toBe(400);
    expect(body.error).toBe('user_phone_mismatch');
  });

  test('a closed ticket is 409 and nothing is queued', async () => {
    const ticket = await context.insertTicket({ status: 'closed', phase: 'closed', closeReason: 'resolved' });
    const { status, body } = await crm('POST', '/api/crm/handover', {
      ticketId: ticket.id,
      userPhone: ticket.userPhone,
      agentId: 'a',
      agentName: 'A',
      handoverType: 'bot_to_human',
    });
    expect(status).toBe(409);
    expect(body).toMatchObject({ success: false, error: 'ticket_closed' });
    expect(await entriesFor(ticket.conversationKey)).toEqual([]);
  });

  test('the same Idempotency-Key twice is one event id, queued again while not applied; once applied, a retry is 200 and queues nothing, even on the ticket it closed', async () => {
    const ticket = await context.insertTicket();
    const body = { ticketId: ticket.id, userPhone: ticket.userPhone, handoverType: 'human_to_bot' };
    const key = { 'idempotency-key': `close-${ticket.id}` };
    expect((await crm('POST', '/api/crm/handover', body, key)).status).toBe(202);
    expect((await crm('POST', '/api/crm/handover', body, key)).status).toBe(202);
    const queued = await entriesFor(ticket.conversationKey);
    expect(queued).toHaveLength(2);
    expect(new Set(queued.map((entry) => entry.id)).size).toBe(1);

    // The worker applied it and closed the ticket: the CRM's next retry still hears 200.
    await context.database.db.insert(processedEvents).values({ id: queued[0]!.id, streamEntryId: '1-0' });
    await context.database.db.update(tickets).set({ status: 'closed' }).where(eq(tickets.id, ticket.id));
    expect((await crm('POST', '/api/crm/handover', body, key)).status).toBe(200);
    expect(await entriesFor(ticket.conversationKey)).toHaveLength(queued.length);
  });

  test('an Idempotency-Key reused with a different body is 409 idempotency_key_reused and queues nothing more', async () => {
    const ticket = await context.insertTicket();
    const body = { ticketId: ticket.id, userPhone: ticket.userPhone, handoverType: 'human_to_bot' };
    const key = { 'idempotency-key': `reused-${ticket.id}` };
    expect((await crm('POST', '/api/crm/handover', body, key)).status).toBe(202);

    const reused = await crm('POST', '/api/crm/handover', { ...body, metadata: { retry: 1 } }, key);
    expect(reused.status).toBe(409);
    expect(reused.body).toMatchObject({ success: false, error: 'idempotency_key_reused' });
    const elsewhere = await crm(
      'POST',
      '/api/crm/send-message',
      { ticketId: ticket.id, userPhone: ticket.userPhone, message: 'hola', messageType: 'text' },
      key,
    );
    expect(elsewhere.status).toBe(409);
    expect(await entriesFor(ticket.conversationKey)).toHaveLength(1);
  });

  test('a request refused as malformed (400) or for an unknown ticket (404) leaves its Idempotency-Key free for the corrected request', async () => {
    const ticket = await context.insertTicket();
    const key = { 'idempotency-key': `corrected-${ticket.id}` };
    const body = { ticketId: ticket.id, userPhone: ticket.userPhone, message: 'hola', messageType: 'text' };
    const wrongUser = await crm('POST', '/api/crm/send-message', { ...body, userPhone: '573009999999' }, key);
    expect(wrongUser.body).toMatchObject({ error: 'user_phone_mismatch' });
    const unknown = await crm('POST', '/api/crm/send-message', { ...body, ticketId: 'TK-2026-999999', message: 'otra' }, key);
    expect(unknown.status).toBe(404);
    expect(await entriesFor(ticket.conversationKey)).toHaveLength(0);

    expect((await crm('POST', '/api/crm/send-message', body, key)).status).toBe(202);
    expect(await entriesFor(ticket.conversationKey)).toHaveLength(1);
  });

  test('an Idempotency-Key belongs to its ticket: the same key on another ticket is another request', async () => {
    const [first, second] = [await context.insertTicket(), await context.insertTicket()];
    const key = { 'idempotency-key': 'agent-console-1' };
    for (const ticket of [first, second]) {
      const response = await crm('POST', '/api/crm/handover', { ticketId: ticket.id, userPhone: ticket.userPhone, handoverType: 'human_to_bot' }, key);
      expect(response.status).toBe(202);
    }
    const [one, two] = [(await entriesFor(first.conversationKey))[0]!, (await entriesFor(second.conversationKey))[0]!];
    expect(one.id).not.toBe(two.id);
  });

  test('without an Idempotency-Key, the same body at the same ticket revision is the same event', async () => {
    const ticket = await context.insertTicket();
    const body = { ticketId: ticket.id, userPhone: ticket.userPhone, handoverType: 'human_to_bot' };
    await crm('POST', '/api/crm/handover', body);
    await crm('POST', '/api/crm/handover', body);
    const ids = (await entriesFor(ticket.conversationKey)).map((entry) => entry.id);
    expect(ids).toHaveLength(2);
    expect(ids[0]).toBe(ids[1]!);
  });
});

describe('POST /api/crm/send-message', () => {
  test("an agent's text for an active ticket is queued", async () => {
    const ticket = await context.insertTicket();
    const response = await crm('POST', '/api/crm/send-message', {
      ticketId: ticket.id,
      userPhone: ticket.userPhone,
      agentId: 'agent_007',
      message: 'Hola, ¿en qué te ayudo?',
      messageType: 'text',
    });
    expect(response).toEqual({ status: 202, body: { ...NOT_APPLIED_YET, ticketId: ticket.id } });
    expect(await entriesFor(ticket.conversationKey)).toMatchObject([
      { type: 'crm.message', data: { ticketId: ticket.id, agentId: 'agent_007', message: 'Hola, ¿en qué te ayudo?', messageType: 'text' } },
    ]);
  });

  test('a document by https URL is queued with its file name and caption', async () => {
    const ticket = await context.insertTicket();
    const message = {
      ticketId: ticket.id,
      userPhone: ticket.userPhone,
      message: 'https://files.example/f.pdf',
      messageType: 'document',
      filename: 'f.pdf',
      caption: 'Factura',
    };
    expect((await crm('POST', '/api/crm/send-message', message)).status).toBe(202);
    expect(await entriesFor(ticket.conversationKey)).toMatchObject([
      { type: 'crm.message', data: { messageType: 'document', filename: 'f.pdf', caption: 'Factura' } },
    ]);
  });

  test('a missing message, a bad messageType and a media that is not an https URL are 400s naming the field', async () => {
    const ticket = await context.insertTicket();
    const base = { ticketId: ticket.id, userPhone: ticket.userPhone };
    const missing = await crm('POST', '/api/crm/send-message', { ...base, messageType: 'text' });
    expect(missing).toMatchObject({ status: 400, body: { error: 'invalid_request', message: 'message is required' } });
    const badType = await crm('POST', '/api/crm/send-message', { ...base, message: 'x', messageType: 'sticker' });
    expect(badType).toMatchObject({
      status: 400,
      body: { error: 'invalid_request', message: 'messageType: expected one of text, image, document, audio, video' },
    });
    const badUrl = await crm('POST', '/api/crm/send-message', { ...base, message: 'file.pdf', messageType: 'image' });
    expect(badUrl).toMatchObject({ status: 400, body: { error: 'invalid_media_url' } });
    expect(badUrl.body.message).toContain('message must be the https URL');
    expect(await entriesFor(ticket.conversationKey)).toEqual([]);
  });

  test('an unknown ticket is 404', async () => {
    const { status, body } = await crm('POST', '/api/crm/send-message', {
      ticketId: 'TK-1999-000002',
      userPhone: freshPhone(),
      message: 'hola',
      messageType: 'text',
    });
    expect(status).toBe(404);
    expect(body.error).toBe('ticket_not_found');
  });

  test('a ticket still waiting for its agent is 409 ticket_not_active', async () => {
    const ticket = await context.insertTicket({ status: 'pending', phase: 'waiting_agent' });
    const { status, body } = await crm('POST', '/api/crm/send-message', {
      ticketId: ticket.id,
      userPhone: ticket.userPhone,
      message: 'hola',
      messageType: 'text',
    });
    expect(status).toBe(409);
    expect(body).toMatchObject({ success: false, error: 'ticket_not_active' });
  });

  test('a closed ticket is 409 ticket_closed', async () => {
    const ticket = await context.insertTicket({ status: 'closed', phase: 'closed' });
    const { status, body } = await crm('POST', '/api/crm/send-message', {
      ticketId: ticket.id,
      userPhone: ticket.userPhone,
      message: 'tarde',
      messageType: 'text',
    });
    expect(status).toBe(409);
    expect(body.error).toBe('ticket_closed');
    expect(await entriesFor(ticket.conversationKey)).toEqual([]);
  });

  test('past the 24-hour window without a template it is 409 outside_window; with one it is queued', async () => {
    const lastUserMessageAt = new Date(Date.now() - 25 * HOUR_MS);
    const ticket = await context.insertTicket({ lastUserMessageAt, lastActivityAt: lastUserMessageAt });
    const message = { ticketId: ticket.id, userPhone: ticket.userPhone, message: '¿Sigues ahí?', messageType: 'text' };
    const refused = await crm('POST', '/api/crm/send-message', message);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ success: false, error: 'outside_window' });
    expect(await entriesFor(ticket.conversationKey)).toEqual([]);

    const templated = context.app({ WHATSAPP_REENGAGE_TEMPLATE: 'reengage' });
    const accepted = await call(templated, jsonRequest('POST', '/api/crm/send-message', message, bearer(SECRETS.crmToken)));
    expect(accepted.status).toBe(202);
    expect(await templated.entries()).toMatchObject([{ type: 'crm.message', key: ticket.conversationKey }]);
  });
});

describe('GET /api/crm/handover-status/:ticketId', () => {
  test("answers the ticket's state, agent and counts", async () => {
    const requestedAt = new Date('2026-03-01T10:00:00.000Z');
    const ticket = await context.insertTicket({
      requestedAt,
      assignedAt: requestedAt,
      lastActivityAt: requestedAt,
      lastUserMessageAt: requestedAt,
      messageCount: 3,
    });
    const { status, body } = await crm('GET', `/api/crm/handover-status/${ticket.id}`);
    expect(status).toBe(200);
    expect(body).toEqual({
      ticketId: ticket.id,
      // No number configured in these tests: none to name.
      businessPhoneNumberId: null,
      userPhone: ticket.userPhone,
      userId: null,
      username: null,
      status: 'active',
      phase: 'with_agent',
      closeReason: null,
      category: 'soporte_agente',
      priority: 'media',
      assignedAgent: { id: 'agent_007', name: 'Carlos Ruiz' },
      startTime: '2026-03-01T10:00:00.000Z',
      assignedTime: '2026-03-01T10:00:00.000Z',
      closedTime: null,
      lastActivity: '2026-03-01T10:00:00.000Z',
      lastUserMessage: '2026-03-01T10:00:00.000Z',
      lastUserMessageType: null,
      lastUserMessageText: null,
      messageCount: 3,
      escalations: 0,
      survey: null,
      // Nothing billable yet, and no rate card configured: no estimate.
      cost: { billableMessages: 0, byCategory: {}, estimatedCost: null, currency: null },
    });
  });

  test('an unknown ticket is 404', async () => {
    const { status, body } = await crm('GET', '/api/crm/handover-status/TK-1999-000003');
    expect(status).toBe(404);
    expect(body).toMatchObject({ success: false, error: 'ticket_not_found' });
  });
});

describe('the bodies', () => {
  test('a body that is not JSON is 400 invalid_json', async () => {
    const { status, body } = await crm('POST', '/api/crm/handover', '{"ticketId":');
    expect(status).toBe(400);
    expect(body).toMatchObject({ success: false, error: 'invalid_json' });
  });

  test('a body over MAX_BODY_BYTES is a JSON 413', async () => {
    const response = await app.handle(
      jsonRequest('POST', '/api/crm/send-message', { padding: 'x'.repeat(app.config.MAX_BODY_BYTES) }, bearer(SECRETS.crmToken)),
    );
    expect(response.status).toBe(413);
    expect(response.headers.get('content-type')).toStartWith('application/json');
    expect(await response.json()).toMatchObject({ success: false, error: 'payload_too_large' });
  });
});

describe('input Postgres could not store, refused where it enters', () => {
  const deep = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
  const refusals: [string, string, (ticket: TestTicket) => string, string][] = [
    [
      'a text with NUL',
      '/api/crm/send-message',
      (t) => JSON.stringify({ ticketId: t.id, userPhone: t.userPhone, message: 'a\u0000b', messageType: 'text' }),
      'message must not contain NUL',
    ],
    [
      'a caption with an unpaired surrogate',
      '/api/crm/send-message',
      (t) => JSON.stringify({ ticketId: t.id, userPhone: t.userPhone, message: 'hola', messageType: 'text', caption: '\ud800' }),
      'caption must not contain',
    ],
    [
      'a timestamp in year 0',
      '/api/crm/send-message',
      (t) => JSON.stringify({ ticketId: t.id, userPhone: t.userPhone, message: 'hola', messageType: 'text', timestamp: '0000-01-01T00:00:00Z' }),
      'timestamp must be an ISO 8601 date-time',
    ],
    [
      'a timestamp a year ahead',
      '/api/crm/send-message',
      (t) =>
        JSON.stringify({
          ticketId: t.id,
          userPhone: t.userPhone,
          message: 'hola',
          messageType: 'text',
          timestamp: new Date(Date.now() + 366 * 86400_000).toISOString(),
        }),
      'timestamp must be',
    ],
    [
      'an agentName with NUL',
      '/api/crm/handover',
      (t) => JSON.stringify({ ticketId: t.id, userPhone: t.userPhone, handoverType: 'human_to_bot', agentName: 'Ana\u0000' }),
      'agentName must not contain',
    ],
    [
      'metadata 33 levels deep',
      '/api/crm/handover',
      (t) => `{"ticketId":"${t.id}","userPhone":"${t.userPhone}","handoverType":"human_to_bot","metadata":{"a":${deep(32)}}}`,
      'is nested deeper than 32 levels',
    ],
    [
      'a metadata number JSON makes infinite',
      '/api/crm/handover',
      (t) => `{"ticketId":"${t.id}","userPhone":"${t.userPhone}","handoverType":"human_to_bot","metadata":{"n":-1e400}}`,
      'metadata.n must be a finite number',
    ],
  ];

  for (const [what, path, body, message] of refusals) {
    test(`${what} is 400 naming the field, and nothing is queued`, async () => {
      const ticket = await context.insertTicket();
      const response = await crm('POST', path, body(ticket));
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({ success: false, error: 'invalid_request' });
      expect(response.body.message).toContain(message);
      expect(await entriesFor(ticket.conversationKey)).toEqual([]);
    });
  }

  test('a timestamp of a real moment and metadata 31 levels deep are accepted', async () => {
    const ticket = await context.insertTicket();
    const body = { ticketId: ticket.id, userPhone: ticket.userPhone, message: 'hola', messageType: 'text', timestamp: new Date().toISOString() };
    expect((await crm('POST', '/api/crm/send-message', body)).status).toBe(202);
    const handover = `{"ticketId":"${ticket.id}","userPhone":"${ticket.userPhone}","handoverType":"human_to_bot","metadata":{"a":${deep(30)}}}`;
    expect((await crm('POST', '/api/crm/handover', handover)).status).toBe(202);
  });

  test('handover-status of a ticket id with NUL or past 64 characters is 400 naming ticketId', async () => {
    for (const id of ['%00', 'TK%00', 'T'.repeat(65)]) {
      const { status, body } = await crm('GET', `/api/crm/handover-status/${id}`);
      expect(status).toBe(400);
      expect(body.message).toContain('ticketId');
    }
  });
});

describe('authentication', () => {
  const routes = [
    ['POST', '/api/crm/handover'],
    ['POST', '/api/crm/send-message'],
    ['GET', '/api/crm/handover-status/TK-2026-000001'],
  ] as const;
  const refusals: [string, Record<string, string>, string][] = [
    ['no Authorization header', {}, ''],
    ['a wrong token', bearer('wrong'), ''],
    ['the scheme glued to the token', { authorization: `Bearer${SECRETS.crmToken}` }, ''],
    ['another character after the scheme', { authorization: `BearerX${SECRETS.crmToken}` }, ''],
    ['two spaces after the scheme', { authorization: `Bearer  ${SECRETS.crmToken}` }, ''],
    ['the token in the query string', {}, `?access_token=${SECRETS.crmToken}`],
  ];

  for (const [method, path] of routes) {
    for (const [what, headers, query] of refusals) {
      test(`${method} ${path} with ${what} is 401, before the body is read`, async () => {
        const { status, body } = await call(app, jsonRequest(method, `${path}${query}`, method === 'POST' ? '{' : undefined, headers));
        expect(status).toBe(401);
        expect(body).toMatchObject({ success: false, error: 'unauthorized' });
        expect(body.message).toContain('CRM_API_TOKEN');
        expect(body.message).not.toContain(SECRETS.crmToken);
      });
    }
  }

  test('the scheme name is case-insensitive (RFC 7235)', async () => {
    const { status } = await call(
      app,
      jsonRequest('GET', '/api/crm/handover-status/TK-1999-000004', undefined, { authorization: `bearer ${SECRETS.crmToken}` }),
    );
    expect(status).toBe(404);
  });

  test('an unset CRM_API_TOKEN refuses everyone', async () => {
    const closed = context.app({ CRM_API_TOKEN: '' });
    const { status } = await call(closed, jsonRequest('GET', '/api/crm/handover-status/TK-1', undefined, { authorization: 'Bearer ' }));
    expect(status).toBe(401);
  });
});

describe('rate limits', () => {
  test('a flood with wrong tokens is limited without spending the authenticated client its budget', async () => {
    const limited = context.app({ CRM_RATE_LIMIT_PER_MINUTE: '3' });
    const junk = [];
    for (let n = 0; n < 6; n++) junk.push((await call(limited, jsonRequest('GET', '/api/crm/handover-status/TK-1', undefined, bearer(`guess-${n}`)))).status);
    expect(junk).toEqual([401, 401, 401, 429, 429, 429]);
    const crmClient = [];
    for (let n = 0; n < 4; n++)
      crmClient.push((await call(limited, jsonRequest('GET', '/api/crm/handover-status/TK-1', undefined, bearer(SECRETS.crmToken)))).status);
    expect(crmClient).toEqual([404, 404, 404, 429]);
  });

  test('a 429 says how long to wait', async () => {
    const limited = context.app({ CRM_RATE_LIMIT_PER_MINUTE: '1' });
    await limited.handle(jsonRequest('GET', '/api/crm/handover-status/TK-1', undefined, bearer(SECRETS.crmToken)));
    const { status, body } = await call(limited, jsonRequest('GET', '/api/crm/handover-status/TK-1', undefined, bearer(SECRETS.crmToken)));
    expect(status).toBe(429);
    expect(body).toMatchObject({ success: false, error: 'rate_limited' });
    expect(body.message).toMatch(/retry in \d+s/);
  });
});

describe('the CRM names the user by userPhone or userId (the BSUID)', () => {
  let bsuidCounter = 0;
  /** A ticket of a user the service knows by BSUID, with the phone when `phone` is given. */
  async function ticketOfBsuidUser(phone?: string) {
    const bsuid = `CO.${process.pid}${String(++bsuidCounter).padStart(6, '0')}`;
    const key = phone ?? bsuid;
    await context.database.db
      .insert(conversations)
      .values({ conversationKey: key, userPhone: phone ?? null, bsuid, username: 'juan.p', state: '"menu"', snapshot: {} });
    return { ticket: await context.insertTicket({ conversationKey: key, status: 'pending', phase: 'waiting_agent', agentId: null, agentName: null }), bsuid };
  }

  test('a user without a phone is named by userId alone', async () => {
    const { ticket, bsuid } = await ticketOfBsuidUser();
    const response = await crm('POST', '/api/crm/handover', { ticketId: ticket.id, userId: bsuid, agentId: 'a', agentName: 'A', handoverType: 'bot_to_human' });
    expect(response.status).toBe(202);
    expect(await entriesFor(bsuid)).toMatchObject([{ type: 'crm.handover', data: { ticketId: ticket.id } }]);
  });

  test('a user known by both may be named by either, or both', async () => {
    const phone = freshPhone();
    const { ticket, bsuid } = await ticketOfBsuidUser(phone);
    for (const named of [{ userId: bsuid }, { userPhone: phone }, { userPhone: phone, userId: bsuid }]) {
      const response = await crm('POST', '/api/crm/handover', { ticketId: ticket.id, ...named, handoverType: 'human_to_bot' });
      expect(response.status).toBe(202);
    }
  });

  test('a userId of someone else is 400 user_id_mismatch; naming nobody is 400 missing_user', async () => {
    const { ticket } = await ticketOfBsuidUser();
    const wrong = await crm('POST', '/api/crm/handover', { ticketId: ticket.id, userId: 'CO.1', handoverType: 'human_to_bot' });
    expect(wrong).toMatchObject({ status: 400, body: { error: 'user_id_mismatch' } });
    const nobody = await crm('POST', '/api/crm/handover', { ticketId: ticket.id, handoverType: 'human_to_bot' });
    expect(nobody).toMatchObject({ status: 400, body: { error: 'missing_user' } });
  });

  test('a userPhone made of the digits of a BSUID key does not match: the key is not a phone', async () => {
    const { ticket, bsuid } = await ticketOfBsuidUser();
    const response = await crm('POST', '/api/crm/handover', { ticketId: ticket.id, userPhone: bsuid.slice(3), handoverType: 'human_to_bot' });
    expect(response).toMatchObject({ status: 400, body: { error: 'user_phone_mismatch' } });
  });

  test('a userPhone for a user who never showed a phone does not match', async () => {
    const { ticket } = await ticketOfBsuidUser();
    const response = await crm('POST', '/api/crm/handover', { ticketId: ticket.id, userPhone: freshPhone(), handoverType: 'human_to_bot' });
    expect(response).toMatchObject({ status: 400, body: { error: 'user_phone_mismatch' } });
  });

  test('handover-status shows the phone, the BSUID and the username, null when unknown', async () => {
    const { ticket, bsuid } = await ticketOfBsuidUser();
    const { body } = await crm('GET', `/api/crm/handover-status/${ticket.id}`);
    expect(body).toMatchObject({ ticketId: ticket.id, userPhone: null, userId: bsuid, username: 'juan.p' });
  });
});
