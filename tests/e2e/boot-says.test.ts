import { describe, expect, setDefaultTimeout, test } from 'bun:test';
import { createTestDatabase, eventually, REDIS_URL } from '../support/harness';
import { BOOT_TIMEOUT_MS, start } from '../support/start-command';
import { freePort } from '../support/ports';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts): this file's, through the whole service.
setDefaultTimeout(30_000);

/**
 * What a person starting the service reads: each missing production setting once, each unset secret once with
 * what stops working, a failed start as one line (readable with LOG_FORMAT=pretty). One process at a time.
 */
describe('bun run start: what it says', () => {
  test(
    'LOG_FORMAT=pretty: a failed start is one readable line',
    async () => {
      const database = await createTestDatabase('boot_pretty');
      try {
        const child = start({ PORT: '0', DATABASE_URL: database.url, REDIS_URL: 'redis://127.0.0.1:1', LOG_FORMAT: 'pretty' });
        expect(await child.exited).toBe(1);
        const lines = (await new Response(child.stdout).text()).trimEnd().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(
          /^\[\d\d:\d\d:\d\d\.\d{3}\] FATAL: service\.start_failed: Redis is unreachable at redis:\/\/127\.0\.0\.1:1 \(connect ECONNREFUSED/,
        );
      } finally {
        await database.drop();
      }
    },
    BOOT_TIMEOUT_MS,
  );

  test(
    'NODE_ENV=production with nothing else set: one line per missing setting, and nothing starts',
    async () => {
      const child = start({ NODE_ENV: 'production' });
      expect(await child.exited).toBe(2);
      expect(await new Response(child.stdout).text()).toBe('');
      expect((await new Response(child.stderr).text()).trim().split('\n')).toEqual(
        [
          'DATABASE_URL',
          'REDIS_URL',
          'CRM_BASE_URL',
          'CRM_API_TOKEN',
          'BOT_API_TOKEN',
          'BOT_SIGNING_SECRET',
          'META_WEBHOOK_SECRET',
          'WEBHOOK_VERIFY_TOKEN',
          'WHATSAPP_TOKEN',
          'WHATSAPP_PHONE_NUMBER_ID',
          'PUBLIC_BASE_URL',
        ].map((setting) => `config: ${setting}: required when NODE_ENV=production`),
      );
    },
    BOOT_TIMEOUT_MS,
  );

  test(
    'a development start without secrets warns once per secret, saying what stops working',
    async () => {
      const database = await createTestDatabase('boot_unset');
      const port = freePort();
      const child = start({
        PORT: String(port),
        DATABASE_URL: database.url,
        REDIS_URL,
        REDIS_KEY_PREFIX: `hbtest:boot-unset:${process.pid}:`,
        LOG_LEVEL: 'warn',
      });
      try {
        await eventually(async () => (await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200, 'readiness', 25_000);
        child.kill('SIGTERM');
        expect(await child.exited).toBe(0);
        const warnings = (await new Response(child.stdout).text())
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as { event?: string; setting?: string; msg?: string })
          .filter((line) => line.event === 'config.unset');
        expect(warnings.map((line) => line.setting)).toEqual([
          'META_WEBHOOK_SECRET',
          'WEBHOOK_VERIFY_TOKEN',
          'WHATSAPP_TOKEN',
          'WHATSAPP_PHONE_NUMBER_ID',
          'CRM_BASE_URL',
          'CRM_API_TOKEN',
          'BOT_API_TOKEN',
          'BOT_SIGNING_SECRET',
          'ADMIN_TOKEN',
          'METRICS_TOKEN',
        ]);
        expect(warnings[0]!.msg).toBe(
          'META_WEBHOOK_SECRET is not set: every POST /webhook and /api/crm/meta-handover-webhook is refused with 401: no message from WhatsApp gets in',
        );
      } finally {
        child.kill('SIGKILL');
        await database.drop();
      }
    },
    BOOT_TIMEOUT_MS,
  );
});
