import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test';
import { signBody } from '../../src/lib/security';
import { crmCall, metaJson, postWebhook, startStack, text, userMessagePayload, type TestStack } from '../support/harness';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts): this file's, through the whole service.
setDefaultTimeout(30_000);

/**
 * The rate-limit policy of DESIGN 2.1 over real sockets, where the client is
 * the peer address: a signed Meta delivery is never refused for rate, bad
 * signatures and wrong tokens are, and they cannot spend the CRM's budget.
 */
let stack: TestStack;
beforeAll(async () => {
  stack = await startStack('ratelimits', { WEBHOOK_RATE_LIMIT_PER_MINUTE: '3', CRM_RATE_LIMIT_PER_MINUTE: '2', TRUSTED_PROXIES: '127.0.0.1' });
});
afterAll(() => stack.stop());

const delivery = (n: number) => metaJson(userMessagePayload('573000000991', text(`hola ${n}`)).payload);

test('signed webhook deliveries above the per-client limit are all accepted; unsigned ones get 429 with the wait', async () => {
  const signed = [];
  for (let n = 0; n < 8; n++) signed.push((await postWebhook(stack, delivery(n))).status);
  expect(signed).toEqual(Array(8).fill(200));

  const unsigned = [];
  for (let n = 0; n < 4; n++) unsigned.push(await postWebhook(stack, delivery(n), signBody('not-the-secret', delivery(n))));
  expect(unsigned.map((response) => response.status)).toEqual([401, 401, 401, 429]);
  const limited = (await unsigned[3]!.json()) as Record<string, string>;
  expect(limited).toMatchObject({ success: false, error: 'rate_limited' });
  expect(limited.message).toMatch(/retry in \d+s/);

  expect((await postWebhook(stack, delivery(99))).status).toBe(200);
});

test('a flood of wrong CRM tokens is limited and leaves the CRM its own budget, which is limited too', async () => {
  const junk = [];
  for (let n = 0; n < 4; n++)
    junk.push((await crmCall(stack, 'GET', '/api/crm/handover-status/TK-2026-999999', undefined, { authorization: `Bearer guess-${n}` })).status);
  expect(junk).toEqual([401, 401, 429, 429]);

  const crm = [];
  for (let n = 0; n < 3; n++) crm.push((await crmCall(stack, 'GET', '/api/crm/handover-status/TK-2026-999999')).status);
  expect(crm).toEqual([404, 404, 429]);
});

test('behind a trusted proxy each forwarded client has its own budget', async () => {
  const unsigned = (client: string) =>
    fetch(`${stack.service.url}/webhook`, {
      method: 'POST',
      headers: { 'x-hub-signature-256': 'sha256=00', 'x-forwarded-for': `${client}, 127.0.0.1` },
      body: delivery(0),
    }).then((response) => response.status);
  const flooding = [];
  for (let n = 0; n < 4; n++) flooding.push(await unsigned('198.51.100.1'));
  expect(flooding).toEqual([401, 401, 401, 429]);
  expect(await unsigned('198.51.100.2')).toBe(401);
});
