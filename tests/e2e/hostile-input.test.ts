import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import Redis from 'ioredis';
import { pipelineEvent } from '../../src/events';
import { signBody } from '../../src/security';
import { streamKeys } from '../../src/streams/codec';
import { createProducer } from '../../src/streams/producer';
import {
  activeTicketFor,
  eventually,
  metaJson,
  postWebhook,
  REDIS_URL,
  SECRETS,
  sendUser,
  startStack,
  text,
  userMessagePayload,
  type TestStack,
} from '../support/harness';

/**
 * Issue 13, probed as an attacker or a careless client would: each case
 * asserts the exact status (and, for an error, the JSON error body), then
 * that a legitimate message on the same conversation, hence the same
 * partition, is applied within a second: nothing hostile may stall it.
 */
const ADMIN_TOKEN = 'admin-token-for-hostile-input';
const METRICS_TOKEN = 'metrics-token-for-hostile-input';
const DOCUMENT = '2020202020';
/** Past what the stall of issue 13 left (about 5 s per bad entry), within what a healthy partition needs many times over. */
const FLOWS_WITHIN_MS = 1000;

let stack: TestStack;
let redis: Redis;
beforeAll(async () => {
  stack = await startStack('hostile', { ADMIN_TOKEN, METRICS_TOKEN });
  redis = new Redis(REDIS_URL);
}, 30_000);
afterAll(async () => {
  redis.disconnect();
  await stack.stop();
});

let phones = 0;
const freshPhone = () => `5731${String(process.pid % 1000).padStart(3, '0')}${String(++phones).padStart(5, '0')}`;

const deadLetterCount = () => redis.xlen(streamKeys(stack.config.REDIS_KEY_PREFIX).deadLetter);
const processed = async (eventId: string, on = stack) => (await on.sql`select 1 from processed_events where id = ${eventId}`).length > 0;

/** The proof that the conversation's partition flows: a user's message, applied within a second of being accepted. */
async function stillFlows(phone: string, on = stack): Promise<void> {
  const id = await sendUser(on, phone, text('¿siguen ahí?'));
  await eventually(() => processed(`wa:msg:${id}`, on), `the legitimate message from ${phone}`, FLOWS_WITHIN_MS);
}

/** What a hostile request aims at: a conversation, with an active ticket when the case needs one. */
interface Target {
  phone: string;
  ticketId: string;
}

interface Hostile {
  name: string;
  /** An active ticket (by default), or a conversation that has none. */
  needs?: 'ticket' | 'conversation';
  send(target: Target): Promise<Response>;
  status: number;
  /** The JSON error code of a refusal. */
  error?: string;
  /** What the refusal's message must name (the field). */
  names?: string;
  /** Event ids the hostile request itself must have become, applied (a cleaned webhook is processed, not dropped). */
  applied?: (target: Target) => string[];
}

const url = (path: string) => `${stack.service.url}${path}`;
const withToken = (token: string, headers: Record<string, string> = {}) => ({
  authorization: `Bearer ${token}`,
  'content-type': 'application/json',
  ...headers,
});
/** A body sent as given: a string is sent verbatim, so it may hold what JSON.stringify would not write. */
const crm = (method: 'GET' | 'POST', path: string, body?: unknown, headers: Record<string, string> = {}) =>
  fetch(url(path), { method, headers: withToken(SECRETS.crmToken, headers), body: typeof body === 'string' ? body : JSON.stringify(body) });
const operator = (token: string, path: string, init: RequestInit = {}) => fetch(url(path), { ...init, headers: withToken(token) });

const agentText = (target: Target, message: string, extra: Record<string, unknown> = {}) => ({
  ticketId: target.ticketId,
  userPhone: target.phone,
  agentId: 'agent_007',
  message,
  messageType: 'text',
  ...extra,
});
const giveBack = (target: Target, extra: Record<string, unknown> = {}) => ({
  ticketId: target.ticketId,
  userPhone: target.phone,
  handoverType: 'human_to_bot',
  ...extra,
});

/** A signed Cloud API delivery of one message from the target, altered by `change` (which may break what Meta would send). */
function signedMessage(target: Target, id: string, change: (message: Record<string, any>, contact: Record<string, any>) => void) {
  const { payload } = userMessagePayload(target.phone, text('hola'), { id });
  const value = payload.entry[0]!.changes[0]!.value as Record<string, any>;
  change(value.messages[0], value.contacts[0]);
  return postWebhook(stack, metaJson(payload));
}

/** A signed thread-control delivery (`messaging_handovers`) carrying `value`. */
const signedThreadControl = (value: Record<string, unknown>) =>
  postWebhook(
    stack,
    metaJson({ object: 'whatsapp_business_account', entry: [{ id: 'WABA_ID', changes: [{ field: 'messaging_handovers', value }] }] }),
    undefined,
    '/api/crm/meta-handover-webhook',
  );

/** A body that streams past MAX_BODY_BYTES without announcing its length. */
const oversizedStream = () =>
  new ReadableStream({
    start(controller) {
      for (let sent = 0; sent <= stack.config.MAX_BODY_BYTES; sent += 64 * 1024) controller.enqueue(new Uint8Array(64 * 1024).fill(32));
      controller.close();
    },
  });
const chunked = (path: string, headers: Record<string, string>) =>
  fetch(url(path), { method: 'POST', headers, body: oversizedStream(), duplex: 'half' } as RequestInit);

const NUL = '\u0000';
const LONE_SURROGATE = '\ud800';
const DEEP = 100_000;

const CASES: Hostile[] = [
  // 1. Text Postgres cannot store: refused with the field's name on the CRM API.
  {
    name: "an agent's text with NUL",
    send: (t) => crm('POST', '/api/crm/send-message', agentText(t, `hola${NUL}x`)),
    status: 400,
    error: 'invalid_request',
    names: 'message',
  },
  {
    name: "an agent's text with an unpaired surrogate",
    send: (t) => crm('POST', '/api/crm/send-message', agentText(t, `${LONE_SURROGATE}x`)),
    status: 400,
    names: 'message',
  },
  {
    name: 'a handover whose agentName holds NUL',
    send: (t) => crm('POST', '/api/crm/handover', { ...giveBack(t), handoverType: 'bot_to_human', agentId: 'agent_9', agentName: `Ana${NUL}` }),
    status: 400,
    names: 'agentName',
  },
  {
    name: 'a handover whose metadata key holds NUL',
    send: (t) => crm('POST', '/api/crm/handover', giveBack(t, { metadata: { [`k${NUL}`]: 1 } })),
    status: 400,
    names: 'metadata',
  },
  // 1. ...and cleaned, logged and accepted on Meta's signed webhooks, which must get 200.
  {
    name: 'a signed webhook whose text holds NUL and an unpaired surrogate',
    needs: 'conversation',
    send: (t) => signedMessage(t, `wamid.nul.${t.phone}`, (message) => (message.text.body = `ho${NUL}la ${LONE_SURROGATE}`)),
    status: 200,
    applied: (t) => [`wa:msg:wamid.nul.${t.phone}`],
  },
  {
    name: 'a signed webhook whose sender (from, wa_id) and profile name hold NUL',
    send: (t) =>
      signedMessage(t, `wamid.from.${t.phone}`, (message, contact) => {
        message.from = `${t.phone}${NUL}`;
        contact.wa_id = `${t.phone}${NUL}`;
        contact.profile.name = `Juan${NUL}`;
      }),
    status: 200,
    applied: (t) => [`wa:msg:wamid.from.${t.phone}`],
  },
  // 2. A signed webhook never gets a 500.
  {
    name: 'a signed message whose timestamp is past what a Date holds',
    needs: 'conversation',
    send: (t) => signedMessage(t, `wamid.time.${t.phone}`, (message) => (message.timestamp = '99999999999999999999')),
    status: 200,
    applied: (t) => [`wa:msg:wamid.time.${t.phone}`],
  },
  {
    name: 'a signed status whose timestamp is past what a Date holds',
    needs: 'conversation',
    send: (t) =>
      postWebhook(
        stack,
        metaJson({
          object: 'whatsapp_business_account',
          entry: [
            {
              id: 'WABA_ID',
              changes: [
                {
                  field: 'messages',
                  value: { statuses: [{ id: `wamid.status.${t.phone}`, status: 'read', timestamp: '99999999999999999999', recipient_id: t.phone }] },
                },
              ],
            },
          ],
        }),
      ),
    status: 200,
  },
  {
    name: 'a signed status whose status and timestamp are nested deeper than a recursion survives',
    needs: 'conversation',
    send: (t) =>
      postWebhook(
        stack,
        `{"entry":[{"changes":[{"field":"messages","value":{"statuses":[{"id":"wamid.deep","recipient_id":"${t.phone}","status":${'['.repeat(DEEP)}${']'.repeat(DEEP)},"timestamp":${'['.repeat(DEEP)}${']'.repeat(DEEP)}}]}}]}]}`,
      ),
    status: 200,
  },
  {
    name: 'a signed handover webhook whose ticket_id holds NUL',
    send: (t) =>
      signedThreadControl({
        event: 'pass_thread_control',
        thread_control: { app_id: 'CRM_APP', metadata: JSON.stringify({ ticket_id: `${t.ticketId}${NUL}` }) },
      }),
    status: 200,
  },
  {
    name: 'a signed handover webhook whose sender.phone_number holds NUL',
    send: (t) => signedThreadControl({ type: 'control_taken', sender: { phone_number: `${t.phone}${NUL}` }, control_taken: { metadata: 'agent took it' } }),
    status: 200,
  },
  // 3. Bearer tokens from the Authorization header only, with the exact scheme.
  {
    name: 'the CRM token in ?access_token=',
    send: (t) => fetch(url(`/api/crm/handover-status/${t.ticketId}?access_token=${SECRETS.crmToken}`)),
    status: 401,
    error: 'unauthorized',
  },
  {
    name: 'the admin token in ?access_token=',
    needs: 'conversation',
    send: () => fetch(url(`/api/admin/dead-letters?access_token=${ADMIN_TOKEN}`)),
    status: 401,
  },
  {
    name: 'the metrics token in ?access_token=',
    needs: 'conversation',
    send: () => fetch(url(`/api/metrics/kpis?from=2026-11-01&to=2026-11-02&access_token=${METRICS_TOKEN}`)),
    status: 401,
  },
  {
    name: 'BearerX<token>, the scheme matched by prefix',
    send: (t) => fetch(url(`/api/crm/handover-status/${t.ticketId}`), { headers: { authorization: `BearerX${SECRETS.crmToken}` } }),
    status: 401,
  },
  {
    name: 'Bearer with two spaces before the token',
    send: (t) => fetch(url(`/api/crm/handover-status/${t.ticketId}`), { headers: { authorization: `Bearer  ${SECRETS.crmToken}` } }),
    status: 401,
  },
  // 4. No 500 for token holders.
  { name: 'handover-status of %00', needs: 'conversation', send: () => crm('GET', '/api/crm/handover-status/%00'), status: 400, names: 'ticketId' },
  {
    name: 'handover-status of an id past 64 characters',
    needs: 'conversation',
    send: () => crm('GET', `/api/crm/handover-status/${'T'.repeat(65)}`),
    status: 400,
    names: 'ticketId',
  },
  {
    name: 'handover-status of bytes that are not UTF-8 (an encoded surrogate): read as replacement characters, no such ticket',
    needs: 'conversation',
    send: () => crm('GET', '/api/crm/handover-status/%ED%A0%80'),
    status: 404,
    error: 'ticket_not_found',
  },
  {
    name: 'a ticketId with NUL in a body',
    send: (t) => crm('POST', '/api/crm/send-message', { ...agentText(t, 'hola'), ticketId: `${t.ticketId}${NUL}` }),
    status: 400,
    names: 'ticketId',
  },
  {
    name: 'an agent message timestamp in year 0',
    send: (t) => crm('POST', '/api/crm/send-message', agentText(t, 'hola', { timestamp: '0000-01-01T00:00:00Z' })),
    status: 400,
    names: 'timestamp',
  },
  {
    name: 'metadata with a number JSON makes infinite',
    send: (t) => crm('POST', '/api/crm/handover', `{"ticketId":"${t.ticketId}","userPhone":"${t.phone}","handoverType":"human_to_bot","metadata":{"n":1e400}}`),
    status: 400,
    names: 'metadata.n',
  },
  {
    name: `metadata nested ${DEEP} levels deep`,
    send: (t) =>
      crm(
        'POST',
        '/api/crm/handover',
        `{"ticketId":"${t.ticketId}","userPhone":"${t.phone}","handoverType":"human_to_bot","metadata":{"a":${'['.repeat(DEEP)}${']'.repeat(DEEP)}}}`,
      ),
    status: 400,
    names: 'metadata',
  },
  {
    name: 'a dead-letter cursor Redis would refuse',
    needs: 'conversation',
    send: () => operator(ADMIN_TOKEN, '/api/admin/dead-letters?after=99999999999999999999999-0'),
    status: 400,
    names: 'after',
  },
  {
    name: 'a redrive id Redis would refuse',
    needs: 'conversation',
    send: () => operator(ADMIN_TOKEN, '/api/admin/dead-letters/redrive', { method: 'POST', body: JSON.stringify({ ids: ['1-99999999999999999999999'] }) }),
    status: 400,
    names: 'ids',
  },
  {
    name: 'KPIs from 0000-01-01',
    needs: 'conversation',
    send: () => operator(METRICS_TOKEN, '/api/metrics/kpis?from=0000-01-01&to=0000-01-02'),
    status: 400,
    names: 'from',
  },
  {
    name: 'KPIs to 9999-12-31',
    needs: 'conversation',
    send: () => operator(METRICS_TOKEN, '/api/metrics/kpis?from=9999-12-30&to=9999-12-31'),
    status: 400,
    names: 'from',
  },
  // 5. An Idempotency-Key means one request, on one ticket.
  {
    name: 'an Idempotency-Key reused with a different body',
    send: async (t) => {
      const key = { 'idempotency-key': `agent-msg-${t.ticketId}` };
      expect((await crm('POST', '/api/crm/send-message', agentText(t, 'primero'), key)).status).toBe(200);
      return crm('POST', '/api/crm/send-message', agentText(t, 'otro mensaje'), key);
    },
    status: 409,
    error: 'idempotency_key_reused',
  },
  {
    name: 'an Idempotency-Key used for another ticket is another request',
    send: async (t) => {
      const other = freshPhone();
      const otherTicket = await activeTicketFor(stack, other, DOCUMENT);
      const key = { 'idempotency-key': 'console-retry-1' };
      expect((await crm('POST', '/api/crm/send-message', agentText({ phone: other, ticketId: otherTicket }, 'hola'), key)).status).toBe(200);
      return crm('POST', '/api/crm/send-message', agentText(t, 'hola'), key);
    },
    status: 200,
  },
  // 7. Every error is the JSON error body, the server's own 413 included.
  {
    name: 'a CRM body past MAX_BODY_BYTES by its Content-Length',
    send: (t) => crm('POST', '/api/crm/send-message', agentText(t, 'x'.repeat(stack.config.MAX_BODY_BYTES))),
    status: 413,
    error: 'payload_too_large',
  },
  {
    name: 'a chunked CRM body past MAX_BODY_BYTES',
    send: () => chunked('/api/crm/send-message', withToken(SECRETS.crmToken)),
    status: 413,
    error: 'payload_too_large',
  },
  {
    name: 'a chunked webhook past MAX_BODY_BYTES',
    needs: 'conversation',
    send: () => chunked('/webhook', { 'x-hub-signature-256': signBody(SECRETS.metaSecret, 'x') }),
    status: 413,
    error: 'payload_too_large',
  },
  {
    name: 'a body past MAX_BODY_BYTES to a route that does not exist',
    needs: 'conversation',
    send: () => fetch(url('/nowhere'), { method: 'POST', body: 'x'.repeat(stack.config.MAX_BODY_BYTES + 1) }),
    status: 413,
    error: 'payload_too_large',
  },
  { name: 'a body that is not JSON', send: () => crm('POST', '/api/crm/send-message', '{"ticketId":'), status: 400, error: 'invalid_json' },
];

describe('hostile input: the exact answer, and the partition keeps flowing', () => {
  for (const hostile of CASES) {
    test(
      hostile.name,
      async () => {
        const phone = freshPhone();
        const ticketId = hostile.needs === 'conversation' ? 'TK-NONE' : await activeTicketFor(stack, phone, DOCUMENT);
        const target = { phone, ticketId };
        const deadBefore = await deadLetterCount();

        const response = await hostile.send(target);

        expect(response.status).toBe(hostile.status);
        if (hostile.status >= 400) {
          expect(response.headers.get('content-type')).toStartWith('application/json');
          const body = (await response.json()) as { success: boolean; error: string; message: string };
          expect(body.success).toBe(false);
          if (hostile.error) expect(body.error).toBe(hostile.error);
          if (hostile.names) expect(body.message).toContain(hostile.names);
        }
        await stillFlows(phone);
        for (const eventId of hostile.applied?.(target) ?? []) expect(await processed(eventId)).toBe(true);
        expect(await deadLetterCount()).toBe(deadBefore);
      },
      30_000,
    );
  }
});

test('the dashboard forbids inline scripts, framing and referrers, and the service still flows', async () => {
  const response = await fetch(url('/dashboard'));
  expect(response.status).toBe(200);
  expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
  expect(response.headers.get('x-frame-options')).toBe('DENY');
  expect(response.headers.get('referrer-policy')).toBe('no-referrer');
  await stillFlows(freshPhone());
});

test('a message the webhook cleaned reaches the agent without the characters Postgres refuses', async () => {
  const phone = freshPhone();
  const ticketId = await activeTicketFor(stack, phone, DOCUMENT);
  const response = await signedMessage({ phone, ticketId }, `wamid.clean.${phone}`, (message) => (message.text.body = `ho${NUL}la${LONE_SURROGATE}`));
  expect(response.status).toBe(200);
  const forwarded = await eventually(
    () => stack.crm.to('/api/bot/user-message').find((request) => (request.body as { waMessageId?: string }).waMessageId === `wamid.clean.${phone}`),
    'the cleaned message forwarded to the CRM',
  );
  expect(forwarded.body).toMatchObject({ ticketId, message: 'hola' });
});

test('an entry Postgres refuses that was queued before these checks is dead-lettered at once, and the partition keeps flowing', async () => {
  const phone = freshPhone();
  const deadBefore = await deadLetterCount();
  const producer = createProducer(redis, streamKeys(stack.config.REDIS_KEY_PREFIX), stack.config.STREAM_PARTITIONS);
  const waMessageId = `wamid.queued.${phone}`;
  await producer.publish([
    pipelineEvent('user.message', phone, `wa:msg:${waMessageId}`, {
      phone,
      waMessageId,
      timestamp: new Date().toISOString(),
      type: 'text',
      text: `hola${NUL}`,
    }),
  ]);

  await stillFlows(phone);
  expect(await deadLetterCount()).toBe(deadBefore + 1);
  const [newest] = (await redis.xrevrange(streamKeys(stack.config.REDIS_KEY_PREFIX).deadLetter, '+', '-', 'COUNT', 1)) as [string, string[]][];
  expect(newest![1].join(' ')).toContain('permanent: ');
});
