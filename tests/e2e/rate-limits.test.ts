import { afterAll, beforeAll, expect, test } from 'bun:test';
import { crmCall, metaJson, postWebhook, startStack, text, userMessagePayload, type TestStack } from '../support/harness';

let stack: TestStack;
beforeAll(async () => {
  stack = await startStack('ratelimits', { WEBHOOK_RATE_LIMIT_PER_MINUTE: '3', CRM_RATE_LIMIT_PER_MINUTE: '2' });
});
afterAll(() => stack.stop());

test('a client over its budget gets 429 with the wait, on the webhook and on the CRM routes', async () => {
  const webhook = [];
  for (let n = 0; n < 4; n++) webhook.push(await postWebhook(stack, metaJson(userMessagePayload('573000000991', text(`hola ${n}`)).payload)));
  expect(webhook.map((response) => response.status)).toEqual([200, 200, 200, 429]);
  expect(await webhook[3]!.json()).toMatchObject({ success: false, error: 'rate_limited' });

  const crm = [];
  for (let n = 0; n < 3; n++) crm.push((await crmCall(stack, 'GET', '/api/crm/handover-status/TK-2026-999999')).status);
  expect(crm).toEqual([404, 404, 429]);
});
