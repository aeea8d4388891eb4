import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { signBody } from '../../src/lib/security';
import { eventually, postWebhook, SECRETS, sendUser, sentTo, startStack, text, type TestStack } from '../support/harness';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts): this file's, through the whole service.
setDefaultTimeout(30_000);

/**
 * Real payloads from public WhatsApp libraries' test suites (../shared, which
 * CI provides; never copied here). Each, signed as Meta signs, must get a 200
 * and leave the pipeline flowing.
 */
const FIXTURES = join(import.meta.dir, '../../../shared/fixtures/meta-webhooks');
const present = existsSync(FIXTURES);
if (!present) console.warn(`meta webhook fixtures not found at ${FIXTURES}: the fixture test does not run here (CI has them)`);

const files = present
  ? readdirSync(FIXTURES, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .flatMap((dir) =>
        readdirSync(join(FIXTURES, dir.name))
          .filter((file) => file.endsWith('.json'))
          .map((file) => join(dir.name, file)),
      )
  : [];

describe.skipIf(!present)('real Meta webhook payloads', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startStack('fixtures');
  });
  afterAll(() => stack.stop());

  test('there are fixtures to replay', () => {
    expect(files.length).toBeGreaterThan(40);
  });

  for (const file of files) {
    test(`${file} is accepted on both webhooks`, async () => {
      // The exact bytes of the file, as Meta would send them.
      const body = readFileSync(join(FIXTURES, file), 'utf8');
      const signature = signBody(SECRETS.metaSecret, body);
      const webhook = await postWebhook(stack, body, signature);
      expect(webhook.status).toBe(200);
      const handover = await postWebhook(stack, body, signature, '/api/crm/meta-handover-webhook');
      expect(handover.status).toBe(200);
    });
  }

  test('after all of them, every partition still flows and nothing was dead-lettered', async () => {
    const phones = Array.from({ length: stack.config.STREAM_PARTITIONS * 3 }, (_, i) => `5730077${String(i).padStart(5, '0')}`);
    for (const phone of phones) await sendUser(stack, phone, text('Hola'));
    await eventually(() => phones.every((phone) => sentTo(stack, phone).length === 1), 'a menu for every new user', 20_000);
    const redis = new (await import('ioredis')).default(stack.config.REDIS_URL);
    const dead = await redis.xlen(`${stack.config.REDIS_KEY_PREFIX}events:dead`);
    redis.disconnect();
    expect(dead).toBe(0);
  });
});
