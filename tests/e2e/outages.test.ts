import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { signBody } from '../../src/security';
import {
  crmCall,
  eventually,
  metaJson,
  postWebhook,
  readable,
  SECRETS,
  sentTo,
  startStack,
  text,
  userMessagePayload,
  type TestStack,
} from '../support/harness';

/**
 * Postgres and Redis go away (a TCP proxy between them and the service is
 * cut; the shared servers stay up for the other test files) and come back.
 */
const TIMEOUT_MS = 40_000;

const ready = async (stack: TestStack) => {
  const response = await fetch(`${stack.service.url}/health/ready`);
  return { status: response.status, body: (await response.json()) as { status: string; checks: Record<string, string> } };
};

const postUser = (stack: TestStack, phone: string, body: string) => {
  const { payload } = userMessagePayload(phone, text(body));
  const raw = metaJson(payload);
  return postWebhook(stack, raw, signBody(SECRETS.metaSecret, raw));
};

describe('Postgres down', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack('pgdown', {}, { proxy: { database: true } });
  });
  // A connection cut mid-query lets the pool's 5 s end-timeout run out on close.
  afterAll(() => stack.stop(), 30_000);

  test(
    'webhooks keep answering 200 while Redis holds the backlog; the worker drains it, in order, when Postgres is back',
    async () => {
      const phone = '573000000801';
      stack.proxies.database!.cut();
      const health = await eventually(async () => {
        const result = await ready(stack);
        return result.status === 503 && result;
      }, 'not ready');
      expect(health.body.checks.database).toStartWith('unavailable');
      expect(health.body.checks.redis).toBe('ok');
      for (const word of ['Hola', 'soporte', '2020202020']) expect((await postUser(stack, phone, word)).status).toBe(200);
      // The CRM's routes read the ticket: they ask the CRM to retry instead of failing for good.
      const status = await crmCall(stack, 'GET', '/api/crm/handover-status/TK-2026-000001');
      expect(status).toMatchObject({ status: 503, body: { error: 'database_unavailable' } });
      await Bun.sleep(1500);
      expect(sentTo(stack, phone)).toEqual([]);

      stack.proxies.database!.restore();
      await eventually(
        () => stack.crm.to('/api/bot/agent-request').some((request) => (request.body as any).userPhone === phone),
        'ticket after the outage',
        20_000,
      );
      const texts = sentTo(stack, phone).map(readable);
      expect(texts[0]).toContain('¿En qué te podemos ayudar?');
      expect(texts[1]).toContain('número de documento');
      const inbound = await stack.sql`select body from messages where phone = ${phone} and direction = 'inbound' order by id`;
      expect(inbound.map((row) => row.body)).toEqual(['Hola', 'soporte', '2020202020']);
      expect((await ready(stack)).status).toBe(200);
    },
    TIMEOUT_MS,
  );
});

describe('Redis down', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack('redisdown', {}, { proxy: { redis: true } });
  });
  // A connection cut mid-query lets the pool's 5 s end-timeout run out on close.
  afterAll(() => stack.stop(), 30_000);

  test(
    'webhooks get 503 (Meta retries), readiness says why, and the same delivery succeeds once Redis is back',
    async () => {
      const phone = '573000000811';
      const { payload } = userMessagePayload(phone, text('Hola'));
      const raw = metaJson(payload);
      stack.proxies.redis!.cut();
      const refused = await eventually(async () => {
        const response = await postWebhook(stack, raw, signBody(SECRETS.metaSecret, raw));
        return response.status === 503 && ((await response.json()) as Record<string, string>);
      }, '503 from the webhook');
      expect(refused).toMatchObject({ success: false, error: 'queue_unavailable' });
      const health = await ready(stack);
      expect(health.status).toBe(503);
      expect(health.body.checks.redis).toStartWith('unavailable');

      stack.proxies.redis!.restore();
      // Meta's redelivery of the very same payload.
      await eventually(async () => (await postWebhook(stack, raw, signBody(SECRETS.metaSecret, raw))).status === 200, 'accepted again', 20_000);
      await eventually(() => sentTo(stack, phone).length === 1, 'menu', 20_000);
      await Bun.sleep(500);
      expect(sentTo(stack, phone)).toHaveLength(1);
      expect((await ready(stack)).status).toBe(200);
    },
    TIMEOUT_MS,
  );
});
