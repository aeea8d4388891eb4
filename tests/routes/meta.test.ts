import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { createLogger } from '../../src/logger';
import { signBody } from '../../src/lib/security';
import { metaJson, text, userMessagePayload } from '../support/harness';
import { call, freshPhone, routeContext, SECRETS, type RouteContext, type TestApp } from './support';

let context: RouteContext;
let app: TestApp;
beforeAll(async () => {
  context = await routeContext('meta');
  app = context.app();
});
afterAll(() => context.close());

const BASE = 'http://localhost';
const signed = (body: string) => signBody(SECRETS.metaSecret, body);

function delivery(body: string, signature: string | null = signed(body), path = '/webhook'): Request {
  return new Request(`${BASE}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(signature === null ? {} : { 'x-hub-signature-256': signature }) },
    body,
  });
}

const userMessage = (phone: string, words: string) => metaJson(userMessagePayload(phone, text(words)).payload);
const entriesFor = async (phone: string) => (await app.entries()).filter((entry) => entry.key === phone);

function threadControl(value: Record<string, unknown>) {
  return metaJson({
    object: 'whatsapp_business_account',
    entry: [{ id: 'WABA', changes: [{ field: 'messaging_handovers', value: { messaging_product: 'whatsapp', ...value } }] }],
  });
}

describe('GET /webhook (verification handshake)', () => {
  test('echoes hub.challenge as text when the verify token matches', async () => {
    const response = await app.handle(new Request(`${BASE}/webhook?hub.mode=subscribe&hub.verify_token=${SECRETS.verifyToken}&hub.challenge=1158201444`));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toStartWith('text/plain');
    expect(await response.text()).toBe('1158201444');
  });

  test('a wrong token or another mode is 403 verification_failed', async () => {
    for (const query of [
      'hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1',
      `hub.mode=unsubscribe&hub.verify_token=${SECRETS.verifyToken}&hub.challenge=1`,
    ]) {
      const { status, body } = await call(app, new Request(`${BASE}/webhook?${query}`));
      expect(status).toBe(403);
      expect(body).toMatchObject({ success: false, error: 'verification_failed' });
    }
  });
});

describe('POST /webhook', () => {
  test("a signed user message is queued under the user's phone", async () => {
    const phone = freshPhone();
    const { id, payload } = userMessagePayload(phone, text('Hola'));
    const { status, body } = await call(app, delivery(metaJson(payload)));
    expect(status).toBe(200);
    expect(body).toEqual({ success: true, accepted: 1, ignored: 0 });
    expect(await entriesFor(phone)).toMatchObject([{ type: 'user.message', id: `wa:msg:${id}`, data: { user: { phone }, waMessageId: id, text: 'Hola' } }]);
  });

  test('accents and emoji escaped as Meta escapes them pass the signature check and arrive intact', async () => {
    const phone = freshPhone();
    const body = userMessage(phone, 'Señor, ¿está caído el servicio? 😡');
    expect(body).toContain('\\u00f1');
    expect((await app.handle(delivery(body))).status).toBe(200);
    expect(await entriesFor(phone)).toMatchObject([{ data: { text: 'Señor, ¿está caído el servicio? 😡' } }]);
  });

  test('a signature over the re-serialised JSON (not the bytes received) is refused', async () => {
    const phone = freshPhone();
    const body = userMessage(phone, 'canción');
    const { status } = await call(app, delivery(body, signed(JSON.stringify(JSON.parse(body)))));
    expect(status).toBe(401);
  });

  test('a wrong or missing signature is 401 and queues nothing', async () => {
    const phone = freshPhone();
    const body = userMessage(phone, 'firmado mal');
    for (const signature of [signBody('not-the-secret', body), null, '', 'sha256=']) {
      const { status, body: answer } = await call(app, delivery(body, signature));
      expect(status).toBe(401);
      expect(answer).toMatchObject({ success: false, error: 'unauthorized' });
    }
    expect(await entriesFor(phone)).toEqual([]);
  });

  test('a signed body that is not JSON is 400 invalid_json', async () => {
    const { status, body } = await call(app, delivery('not json'));
    expect(status).toBe(400);
    expect(body).toMatchObject({ success: false, error: 'invalid_json' });
  });

  test('a body over MAX_BODY_BYTES is a JSON 413', async () => {
    const body = JSON.stringify({ entry: [], padding: 'x'.repeat(app.config.MAX_BODY_BYTES) });
    const response = await app.handle(delivery(body));
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ success: false, error: 'payload_too_large' });
  });

  test('an unknown shape is acknowledged and counted as ignored', async () => {
    const body = metaJson({ object: 'page', entry: [] });
    expect(await call(app, delivery(body))).toEqual({ status: 200, body: { success: true, accepted: 0, ignored: 0 } });
  });
});

describe('POST /api/crm/meta-handover-webhook (signed by Meta, not by the CRM)', () => {
  const path = '/api/crm/meta-handover-webhook';

  test("the seed's pass_thread_control is queued for the ticket its metadata names", async () => {
    const ticket = await context.insertTicket();
    const body = threadControl({ event: 'pass_thread_control', thread_control: { app_id: 'CRM_APP_ID', metadata: JSON.stringify({ ticket_id: ticket.id }) } });
    const { status, body: answer } = await call(app, delivery(body, signed(body), path));
    expect(status).toBe(200);
    expect(answer).toEqual({ success: true, accepted: 1, ignored: 0 });
    const [entry] = await entriesFor(ticket.conversationKey);
    expect(entry).toMatchObject({ type: 'meta.thread_control', data: { event: 'pass_thread_control', ticketId: ticket.id } });
    expect(entry!.id).toStartWith('meta:handover:');
  });

  test("Conversation Routing's control_passed finds the user's open ticket by phone", async () => {
    const ticket = await context.insertTicket();
    const body = threadControl({
      sender: { phone_number: ticket.userPhone },
      type: 'control_passed',
      timestamp: '1750101000',
      control_passed: { previous_owner_role: 'escalation', new_owner_role: 'customer_service', metadata: 'agent done' },
    });
    expect((await app.handle(delivery(body, signed(body), path))).status).toBe(200);
    expect(await entriesFor(ticket.conversationKey)).toMatchObject([{ type: 'meta.thread_control', data: { ticketId: ticket.id } }]);
  });

  test('an event for no known ticket or user is acknowledged and ignored', async () => {
    const body = threadControl({
      event: 'pass_thread_control',
      thread_control: { app_id: 'CRM_APP_ID', metadata: JSON.stringify({ ticket_id: 'TK-1999-000009' }) },
    });
    expect(await call(app, delivery(body, signed(body), path))).toEqual({ status: 200, body: { success: true, accepted: 0, ignored: 1 } });
  });

  test('an unknown shape is acknowledged; a wrong signature is 401', async () => {
    const body = metaJson({ object: 'page', entry: [{ id: '1', time: 1, messaging: [{}] }] });
    expect(await call(app, delivery(body, signed(body), path))).toMatchObject({ status: 200, body: { success: true, accepted: 0 } });
    expect((await call(app, delivery(body, 'sha256=00', path))).status).toBe(401);
  });

  test('a CRM bearer token is no substitute for the signature', async () => {
    const body = threadControl({ event: 'pass_thread_control', thread_control: { app_id: 'CRM_APP_ID', metadata: '{}' } });
    const request = new Request(`${BASE}${path}`, { method: 'POST', headers: { authorization: `Bearer ${SECRETS.crmToken}` }, body });
    const { status, body: answer } = await call(app, request);
    expect(status).toBe(401);
    expect(answer.message).toContain('X-Hub-Signature-256');
  });
});

describe('rate limits', () => {
  const limit = 3;

  test('a signed burst far above the per-client limit is accepted in full', async () => {
    const limited = context.app({ WEBHOOK_RATE_LIMIT_PER_MINUTE: String(limit) });
    const phone = freshPhone();
    const statuses = [];
    for (let n = 0; n < limit * 5; n++) statuses.push((await limited.handle(delivery(userMessage(phone, `hola ${n}`)))).status);
    expect(statuses).toEqual(Array(limit * 5).fill(200));
    expect(await limited.entries()).toHaveLength(limit * 5);
  });

  test('bad and missing signatures are limited per client, and signed deliveries from that client still pass', async () => {
    const limited = context.app({ WEBHOOK_RATE_LIMIT_PER_MINUTE: String(limit) });
    const body = userMessage(freshPhone(), 'hola');
    const refused = [];
    for (let n = 0; n < limit + 2; n++) refused.push((await limited.handle(delivery(body, n % 2 === 0 ? 'sha256=00' : null))).status);
    expect(refused).toEqual([401, 401, 401, 429, 429]);
    const handover = threadControl({ event: 'pass_thread_control', thread_control: { app_id: 'X', metadata: '{}' } });
    const rejected = await call(limited, delivery(handover, 'sha256=00', '/api/crm/meta-handover-webhook'));
    expect(rejected).toMatchObject({ status: 429, body: { success: false, error: 'rate_limited' } });
    expect((await limited.handle(delivery(body))).status).toBe(200);
  });

  test('guessing the verify token spends the same budget', async () => {
    const limited = context.app({ WEBHOOK_RATE_LIMIT_PER_MINUTE: String(limit) });
    const statuses = [];
    for (let n = 0; n < limit + 1; n++)
      statuses.push((await limited.handle(new Request(`${BASE}/webhook?hub.mode=subscribe&hub.verify_token=guess${n}&hub.challenge=1`))).status);
    expect(statuses).toEqual([403, 403, 403, 429]);
  });

  test('oversized bodies spend it too: they cannot be verified', async () => {
    const limited = context.app({ WEBHOOK_RATE_LIMIT_PER_MINUTE: '1' });
    const body = JSON.stringify({ padding: 'x'.repeat(limited.config.MAX_BODY_BYTES) });
    expect((await limited.handle(delivery(body))).status).toBe(413);
    expect((await limited.handle(delivery(body))).status).toBe(429);
  });
});

describe('what Postgres could not store', () => {
  test('a signed message with NUL and an impossible timestamp is accepted cleaned, and the cleaning is logged by place, never by content', async () => {
    const lines: string[] = [];
    const logged = context.app({}, createLogger('info', { write: (line: string) => void lines.push(line) }));
    const phone = freshPhone();
    const { id, payload } = userMessagePayload(phone, text('secreto\u0000'));
    (payload.entry[0]!.changes[0]!.value as unknown as { messages: { timestamp: string }[] }).messages[0]!.timestamp = '99999999999999999999';
    const body = metaJson(payload);

    const response = await call(logged, delivery(body));

    expect(response).toEqual({ status: 200, body: { success: true, accepted: 1, ignored: 0 } });
    const [event] = (await logged.entries()).filter((entry) => entry.key === phone);
    expect(event).toMatchObject({ id: `wa:msg:${id}`, data: { text: 'secreto' } });
    const cleaned = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.event === 'webhook.cleaned');
    expect(cleaned).toMatchObject({
      count: 2,
      fields: ['entry.0.changes.0.value.messages.0.text.body: NUL or unpaired surrogate removed', 'message.timestamp out of range: time of receipt used'],
    });
    expect(lines.join('\n')).not.toContain('secreto');
    expect(lines.join('\n')).not.toContain(phone);
  });
});
