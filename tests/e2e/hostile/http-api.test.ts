import { expect, test } from 'bun:test';
import { signBody } from '../../../src/lib/security';
import { SECRETS } from '../../support/harness';
import { ADMIN_TOKEN, freshPhone, hostileCases, hostileStack, LONE_SURROGATE, METRICS_TOKEN, NUL, type Hostile, type Target } from './support';

/** Issue 13 against the CRM's API, the operators' API and the server itself (items 1, 3, 4, 5 and 7). */
const hostile = hostileStack('hostile_http');
const DEEP = 100_000;

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

const CASES: Hostile[] = [
  // 1. Text Postgres cannot store: refused with the field's name on the CRM API.
  {
    name: "an agent's text with NUL",
    send: (t) => hostile.crm('POST', '/api/crm/send-message', agentText(t, `hola${NUL}x`)),
    status: 400,
    error: 'invalid_request',
    names: 'message',
  },
  {
    name: "an agent's text with an unpaired surrogate",
    send: (t) => hostile.crm('POST', '/api/crm/send-message', agentText(t, `${LONE_SURROGATE}x`)),
    status: 400,
    names: 'message',
  },
  {
    name: 'a handover whose agentName holds NUL',
    send: (t) => hostile.crm('POST', '/api/crm/handover', { ...giveBack(t), handoverType: 'bot_to_human', agentId: 'agent_9', agentName: `Ana${NUL}` }),
    status: 400,
    names: 'agentName',
  },
  {
    name: 'a handover whose metadata key holds NUL',
    send: (t) => hostile.crm('POST', '/api/crm/handover', giveBack(t, { metadata: { [`k${NUL}`]: 1 } })),
    status: 400,
    names: 'metadata',
  },
  // 3. Bearer tokens from the Authorization header only, with the exact scheme.
  {
    name: 'the CRM token in ?access_token=',
    send: (t) => fetch(hostile.url(`/api/crm/handover-status/${t.ticketId}?access_token=${SECRETS.crmToken}`)),
    status: 401,
    error: 'unauthorized',
  },
  {
    name: 'the admin token in ?access_token=',
    needs: 'conversation',
    send: () => fetch(hostile.url(`/api/admin/dead-letters?access_token=${ADMIN_TOKEN}`)),
    status: 401,
  },
  {
    name: 'the metrics token in ?access_token=',
    needs: 'conversation',
    send: () => fetch(hostile.url(`/api/metrics/kpis?from=2026-11-01&to=2026-11-02&access_token=${METRICS_TOKEN}`)),
    status: 401,
  },
  {
    name: 'BearerX<token>, the scheme matched by prefix',
    send: (t) => fetch(hostile.url(`/api/crm/handover-status/${t.ticketId}`), { headers: { authorization: `BearerX${SECRETS.crmToken}` } }),
    status: 401,
  },
  {
    name: 'Bearer with two spaces before the token',
    send: (t) => fetch(hostile.url(`/api/crm/handover-status/${t.ticketId}`), { headers: { authorization: `Bearer  ${SECRETS.crmToken}` } }),
    status: 401,
  },
  // 4. No 500 for token holders.
  { name: 'handover-status of %00', needs: 'conversation', send: () => hostile.crm('GET', '/api/crm/handover-status/%00'), status: 400, names: 'ticketId' },
  {
    name: 'handover-status of an id past 64 characters',
    needs: 'conversation',
    send: () => hostile.crm('GET', `/api/crm/handover-status/${'T'.repeat(65)}`),
    status: 400,
    names: 'ticketId',
  },
  {
    name: 'handover-status of bytes that are not UTF-8 (an encoded surrogate): read as replacement characters, no such ticket',
    needs: 'conversation',
    send: () => hostile.crm('GET', '/api/crm/handover-status/%ED%A0%80'),
    status: 404,
    error: 'ticket_not_found',
  },
  {
    name: 'a ticketId with NUL in a body',
    send: (t) => hostile.crm('POST', '/api/crm/send-message', { ...agentText(t, 'hola'), ticketId: `${t.ticketId}${NUL}` }),
    status: 400,
    names: 'ticketId',
  },
  {
    name: 'an agent message timestamp in year 0',
    send: (t) => hostile.crm('POST', '/api/crm/send-message', agentText(t, 'hola', { timestamp: '0000-01-01T00:00:00Z' })),
    status: 400,
    names: 'timestamp',
  },
  {
    name: 'metadata with a number JSON makes infinite',
    send: (t) =>
      hostile.crm('POST', '/api/crm/handover', `{"ticketId":"${t.ticketId}","userPhone":"${t.phone}","handoverType":"human_to_bot","metadata":{"n":1e400}}`),
    status: 400,
    names: 'metadata.n',
  },
  {
    name: `metadata nested ${DEEP} levels deep`,
    send: (t) =>
      hostile.crm(
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
    send: () => hostile.operator(ADMIN_TOKEN, '/api/admin/dead-letters?after=99999999999999999999999-0'),
    status: 400,
    names: 'after',
  },
  {
    name: 'a redrive id Redis would refuse',
    needs: 'conversation',
    send: () =>
      hostile.operator(ADMIN_TOKEN, '/api/admin/dead-letters/redrive', { method: 'POST', body: JSON.stringify({ ids: ['1-99999999999999999999999'] }) }),
    status: 400,
    names: 'ids',
  },
  {
    name: 'KPIs from 0000-01-01',
    needs: 'conversation',
    send: () => hostile.operator(METRICS_TOKEN, '/api/metrics/kpis?from=0000-01-01&to=0000-01-02'),
    status: 400,
    names: 'from',
  },
  {
    name: 'KPIs to 9999-12-31',
    needs: 'conversation',
    send: () => hostile.operator(METRICS_TOKEN, '/api/metrics/kpis?from=9999-12-30&to=9999-12-31'),
    status: 400,
    names: 'from',
  },
  // 5. An Idempotency-Key means one request, on one ticket.
  {
    name: 'an Idempotency-Key reused with a different body',
    send: async (t) => {
      const key = { 'idempotency-key': `agent-msg-${t.ticketId}` };
      expect((await hostile.crm('POST', '/api/crm/send-message', agentText(t, 'primero'), key)).status).toBe(200);
      return hostile.crm('POST', '/api/crm/send-message', agentText(t, 'otro mensaje'), key);
    },
    status: 409,
    error: 'idempotency_key_reused',
  },
  {
    name: 'an Idempotency-Key used for another ticket is another request',
    send: async (t) => {
      const other = freshPhone();
      const otherTicket = await hostile.activeTicket(other);
      const key = { 'idempotency-key': 'console-retry-1' };
      expect((await hostile.crm('POST', '/api/crm/send-message', agentText({ phone: other, ticketId: otherTicket }, 'hola'), key)).status).toBe(200);
      return hostile.crm('POST', '/api/crm/send-message', agentText(t, 'hola'), key);
    },
    status: 200,
  },
  // 7. Every error is the JSON error body, the server's own 413 included.
  {
    name: 'a CRM body past MAX_BODY_BYTES by its Content-Length',
    send: (t) => hostile.crm('POST', '/api/crm/send-message', agentText(t, 'x'.repeat(hostile.stack.config.MAX_BODY_BYTES))),
    status: 413,
    error: 'payload_too_large',
  },
  {
    name: 'a chunked CRM body past MAX_BODY_BYTES',
    send: () => hostile.chunked('/api/crm/send-message', { authorization: `Bearer ${SECRETS.crmToken}` }),
    status: 413,
    error: 'payload_too_large',
  },
  {
    name: 'a chunked webhook past MAX_BODY_BYTES',
    needs: 'conversation',
    send: () => hostile.chunked('/webhook', { 'x-hub-signature-256': signBody(SECRETS.metaSecret, 'x') }),
    status: 413,
    error: 'payload_too_large',
  },
  {
    name: 'a body past MAX_BODY_BYTES to a route that does not exist',
    needs: 'conversation',
    send: () => fetch(hostile.url('/nowhere'), { method: 'POST', body: 'x'.repeat(hostile.stack.config.MAX_BODY_BYTES + 1) }),
    status: 413,
    error: 'payload_too_large',
  },
  { name: 'a body that is not JSON', send: () => hostile.crm('POST', '/api/crm/send-message', '{"ticketId":'), status: 400, error: 'invalid_json' },
];

hostileCases('hostile HTTP requests: the exact answer, and the partition keeps flowing', hostile, CASES);

test('the dashboard forbids inline scripts, framing and referrers, and the service still flows', async () => {
  const response = await fetch(hostile.url('/dashboard'));
  expect(response.status).toBe(200);
  expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
  expect(response.headers.get('x-frame-options')).toBe('DENY');
  expect(response.headers.get('referrer-policy')).toBe('no-referrer');
  await hostile.stillFlows(freshPhone());
});
