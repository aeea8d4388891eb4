import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { signBody } from '../../src/lib/security';
import {
  crmCall,
  eventually,
  metaJson,
  outboxSettled,
  postWebhook,
  readable,
  SECRETS,
  sentTo,
  startStack,
  takeDatabaseAway,
  text,
  userMessagePayload,
  type TestStack,
} from '../support/harness';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts): this file's, through the whole service.
setDefaultTimeout(30_000);

/**
 * Postgres and Redis go away (a TCP proxy between them and the service is
 * cut; the shared servers stay up for the other test files) and come back.
 * Each outage has its own service; both run at once.
 */
const TIMEOUT_MS = 40_000;
let pgDown: TestStack;
let redisDown: TestStack;

beforeAll(async () => {
  [pgDown, redisDown] = await Promise.all([startStack('pgdown', {}, { proxy: { database: true } }), startStack('redisdown', {}, { proxy: { redis: true } })]);
});
// Stopping a service just back from an outage once took more than the hook's default 5 s in CI, on a loaded
// machine (here it takes 0.1 to 0.6 s); the service's own bound on a stop is 15 s.
afterAll(() => Promise.all([pgDown, redisDown].map((stack) => stack?.stop())), 20_000);

const ready = async (stack: TestStack) => {
  const response = await fetch(`${stack.service.url}/health/ready`);
  return { status: response.status, body: (await response.json()) as { status: string; checks: Record<string, string> } };
};

const postUser = async (stack: TestStack, phone: string, body: string) => {
  const { id, payload } = userMessagePayload(phone, text(body));
  const raw = metaJson(payload);
  return { id, response: await postWebhook(stack, raw, signBody(SECRETS.metaSecret, raw)) };
};

describe.concurrent('Postgres down', () => {
  test(
    'webhooks keep answering 200 while Redis holds the backlog; every message the worker failed on is applied, once and in order, when Postgres is back',
    async () => {
      const stack = pgDown;
      const phones = Array.from({ length: 6 }, (_, n) => `57300000080${n}`);
      const words = ['Hola', 'soporte', '2020202020'];
      await takeDatabaseAway(stack);
      const health = await eventually(async () => {
        const result = await ready(stack);
        return result.status === 503 && result;
      }, 'not ready');
      expect(health.body.checks.database).toStartWith('unavailable');
      expect(health.body.checks.redis).toBe('ok');
      const accepted = new Map<string, string[]>(phones.map((phone) => [phone, []]));
      for (const word of words) {
        for (const phone of phones) {
          const { response, id } = await postUser(stack, phone, word);
          expect(response.status).toBe(200);
          accepted.get(phone)!.push(id);
        }
      }
      // The CRM's routes read the ticket: they ask the CRM to retry instead of failing for good.
      const status = await crmCall(stack, 'GET', '/api/crm/handover-status/TK-2026-000001');
      expect(status).toMatchObject({ status: 503, body: { error: 'database_unavailable' } });
      // The worker has read some of them and failed on the outage: an entry
      // acknowledged before its commit would be gone now, and missing below.
      await eventually(() => stack.logs.some((line) => line.event === 'stream.partition_stalled'), 'a partition failing on the outage');
      expect(phones.flatMap((phone) => sentTo(stack, phone))).toEqual([]);

      stack.proxies.database!.restore();
      await eventually(
        () =>
          phones.every(
            (phone) => sentTo(stack, phone).length >= 2 && stack.crm.to('/api/bot/agent-request').some((request) => (request.body as any).userPhone === phone),
          ),
        'every answer and ticket after the outage',
        30_000,
      );
      for (const phone of phones) {
        const texts = sentTo(stack, phone).map(readable);
        expect(texts[0]).toContain('¿En qué te podemos ayudar?');
        expect(texts[1]).toContain('número de documento');
        const inbound = await stack.sql`select body, wa_message_id from messages where conversation_key = ${phone} and direction = 'inbound' order by id`;
        // The document is kept masked once the identification step took it (issue 21): the history holds it so.
        expect(inbound.map((row) => row.body)).toEqual(['Hola', 'soporte', '********20']);
        expect(inbound.map((row) => row.wa_message_id)).toEqual(accepted.get(phone)!);
      }
      expect((await ready(stack)).status).toBe(200);
    },
    TIMEOUT_MS,
  );
});

describe.concurrent('Redis down', () => {
  test(
    'webhooks get 503 (Meta retries), readiness says why, and the same delivery succeeds once Redis is back',
    async () => {
      const stack = redisDown;
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
      await outboxSettled(stack);
      expect(sentTo(stack, phone)).toHaveLength(1);
      expect((await ready(stack)).status).toBe(200);
    },
    TIMEOUT_MS,
  );
});
