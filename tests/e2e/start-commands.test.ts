import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { embeddedRedisPaths } from '../../src/redis/embedded';
import { startDemo, watchedPage, type DemoUnderTest } from '../support/demo';
import { createTestDatabase, eventually, REDIS_URL } from '../support/harness';
import { startPrivateRedis } from '../support/private-redis';
import { BOOT_TIMEOUT_MS, start, startCommand } from '../support/start-command';
import { freePort } from '../support/ports';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts): this file's, through the whole service.
setDefaultTimeout(30_000);

/**
 * The two commands a newcomer runs, run as they would: `bun run start`
 * (its configuration errors, its embedded database, a Redis it cannot
 * reach or that keeps no AOF in production, the private redis-server it
 * starts without REDIS_URL) and `bun run demo` (from the repository, with
 * nothing configured but a free port; REDIS_URL unset: a private
 * redis-server). The demo must say it listens on loopback only, serve the
 * simulator and the API reference, the reference must render with nothing
 * fetched from outside this machine, and the seed's suspended-subscriber
 * flow must play by hand in /simulator, in Debian's Chromium: the phone pane
 * posts signed webhooks, the console pane calls the CRM routes, the real
 * service in between. One demo and one browser serve the demo's tests.
 * Every test runs at once: each start creates an embedded database, seconds
 * of work on one core. Screenshots are kept in artifacts/ (the copies in
 * docs/, shown by the README, are refreshed from there by hand, so a test
 * run leaves the work tree clean).
 */
const ROOT = join(import.meta.dir, '../..');
const ARTIFACTS = join(ROOT, 'artifacts');

describe.concurrent('bun run start', () => {
  test(
    'an invalid configuration stops the boot with one line per problem',
    async () => {
      const child = start({ PORT: 'abc', REDIS_URL: 'localhost', LOG_LEVEL: 'loud' });
      const code = await child.exited;
      const stderr = await new Response(child.stderr).text();
      expect(code).toBe(2);
      const lines = stderr.trim().split('\n');
      expect(lines).toEqual([
        'config: PORT: expected integer (got "abc")',
        'config: LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent (got "loud")',
        'config: REDIS_URL: malformed value (got "<hidden>")',
      ]);
    },
    BOOT_TIMEOUT_MS,
  );

  test(
    'without DATABASE_URL it runs on the embedded database, answers ready, and stops cleanly on SIGTERM; a cache it cannot write costs only time',
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'hb-boot-'));
      const port = freePort();
      // XDG_CACHE_HOME under a file: no cached cluster can be made or read, so this boot runs PGlite's initdb in DATA_DIR
      // (the cached copy is tests/unit/db/embedded-cluster.test.ts's subject, and what the demo's boots use).
      const noCache = mkdtempSync(join(tmpdir(), 'hb-no-cache-'));
      const unwritableCache = join(noCache, 'a-file');
      await Bun.write(unwritableCache, '');
      const child = start({
        PORT: String(port),
        DATA_DIR: dataDir,
        XDG_CACHE_HOME: unwritableCache,
        REDIS_URL,
        REDIS_KEY_PREFIX: `hbtest:boot:${process.pid}:`,
        LOG_LEVEL: 'warn',
      });
      try {
        // Alone, the instance comes to hold the lease of every partition (readiness itself does not wait for them).
        const ready = await eventually(
          async () => {
            const response = await fetch(`http://127.0.0.1:${port}/health/ready`);
            const body = response.status === 200 && ((await response.json()) as { partitions: { owned: number[] } });
            return body && body.partitions.owned.length === 8 && body;
          },
          'readiness with every partition',
          // PGlite's first boot (initdb) is about 6.5 s of CPU, here beside the demo's: on the shared 2-core machine under load, 25 s was not always enough.
          50_000,
        );
        expect(ready).toMatchObject({ status: 'ready', checks: { redis: 'ok', database: 'ok' }, partitions: { owned: [0, 1, 2, 3, 4, 5, 6, 7] } });
        child.kill('SIGTERM');
        expect(await child.exited).toBe(0);
      } finally {
        child.kill('SIGKILL');
        rmSync(dataDir, { recursive: true, force: true });
        rmSync(noCache, { recursive: true, force: true });
      }
    },
    BOOT_TIMEOUT_MS,
  );

  test(
    'an unreachable Redis is explained in one line',
    async () => {
      // A Postgres database of its own: the embedded one's first boot is the test above's subject, not this one's.
      const database = await createTestDatabase('boot_redis');
      try {
        const child = start({ PORT: '0', DATABASE_URL: database.url, REDIS_URL: 'redis://127.0.0.1:1' });
        expect(await child.exited).toBe(1);
        const stdout = await new Response(child.stdout).text();
        expect(stdout).toContain('Redis is unreachable at redis://127.0.0.1:1 (connect ECONNREFUSED 127.0.0.1:1)');
        expect(stdout).toContain('leave REDIS_URL unset for a private redis-server');
        expect(stdout.trim().split('\n')).toHaveLength(1);
      } finally {
        await database.drop();
      }
    },
    BOOT_TIMEOUT_MS,
  );

  test(
    'in production a Redis without AOF stops the boot in one line; REDIS_ALLOW_NO_AOF=true lets it start',
    async () => {
      const [database, redis] = await Promise.all([createTestDatabase('boot_no_aof'), startPrivateRedis('off')]);
      const production = {
        NODE_ENV: 'production',
        DATABASE_URL: database.url,
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: `hbtest:boot-aof:${process.pid}:`,
        ...Object.fromEntries(
          ['CRM_API_TOKEN', 'BOT_API_TOKEN', 'BOT_SIGNING_SECRET', 'META_WEBHOOK_SECRET', 'WEBHOOK_VERIFY_TOKEN', 'WHATSAPP_TOKEN'].map((key) => [key, 'x']),
        ),
        CRM_BASE_URL: 'http://127.0.0.1:9',
        WHATSAPP_PHONE_NUMBER_ID: '1234567890',
        PUBLIC_BASE_URL: 'https://handover.example.com',
      };
      try {
        const refused = start({ ...production, PORT: '0' });
        expect(await refused.exited).toBe(1);
        const lines = (await new Response(refused.stdout).text()).trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(JSON.parse(lines[0]!)).toMatchObject({ level: 60, event: 'service.start_failed' });
        expect(lines[0]).toContain('AOF off, no RDB snapshots');
        expect(lines[0]).toContain('REDIS_ALLOW_NO_AOF=true');

        const port = freePort();
        const accepted = start({ ...production, PORT: String(port), REDIS_ALLOW_NO_AOF: 'true' });
        try {
          // Beside the demo's and the embedded database's first boots: the bound only stops a broken run.
          await eventually(async () => (await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200, 'readiness', 40_000);
          accepted.kill('SIGTERM');
          expect(await accepted.exited).toBe(0);
          const log = (await new Response(accepted.stdout).text())
            .trim()
            .split('\n')
            .map((line) => JSON.parse(line) as { event?: string; msg?: string });
          expect(log.find((line) => line.event === 'redis.persistence')?.msg).toEndWith('(accepted: REDIS_ALLOW_NO_AOF=true)');
        } finally {
          accepted.kill('SIGKILL');
        }
      } finally {
        await Promise.all([database.drop(), redis.stop()]);
      }
    },
    BOOT_TIMEOUT_MS,
  );
});

describe.concurrent('bun run start without REDIS_URL: a private redis-server', () => {
  const isAlive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  /** Starts the service on its own database and DATA_DIR; resolves once ready with the private server's pid. */
  async function startEmbedded(label: string) {
    const database = await createTestDatabase(label);
    const dataDir = mkdtempSync(join(tmpdir(), 'hb-boot-embedded-'));
    const port = freePort();
    const child = start({ PORT: String(port), DATA_DIR: dataDir, DATABASE_URL: database.url, LOG_LEVEL: 'info' });
    // Beside the demo's and the embedded database's first boots: the bound only stops a broken run.
    await eventually(async () => (await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200, 'readiness', 40_000);
    const redisPid = Number(readFileSync(embeddedRedisPaths(dataDir).pidFile, 'utf8'));
    return {
      child,
      redisPid,
      async cleanup() {
        child.kill('SIGKILL');
        rmSync(dataDir, { recursive: true, force: true });
        await database.drop();
      },
    };
  }

  test(
    'it is started with the service, AOF on, and stopped with it on SIGTERM',
    async () => {
      const service = await startEmbedded('boot_embedded');
      try {
        expect(isAlive(service.redisPid)).toBe(true);
        service.child.kill('SIGTERM');
        expect(await service.child.exited).toBe(0);
        expect(isAlive(service.redisPid)).toBe(false);
        const log = (await new Response(service.child.stdout).text())
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as Record<string, unknown>);
        expect(log.find((line) => line.event === 'redis.embedded_started')).toMatchObject({ pid: service.redisPid });
        expect(log.find((line) => line.event === 'redis.persistence')).toMatchObject({ level: 30, aof: true });
      } finally {
        await service.cleanup();
      }
    },
    BOOT_TIMEOUT_MS,
  );

  test(
    'a service killed with SIGKILL takes its redis-server with it',
    async () => {
      const service = await startEmbedded('boot_embedded_kill');
      try {
        service.child.kill('SIGKILL');
        await service.child.exited;
        await eventually(() => !isAlive(service.redisPid), 'the private redis-server to stop');
      } finally {
        await service.cleanup();
      }
    },
    BOOT_TIMEOUT_MS,
  );

  test(
    'with no redis-server on PATH one line says how to install it, and the start exits 1',
    async () => {
      const database = await createTestDatabase('boot_no_redis_server');
      const onlyBun = mkdtempSync(join(tmpdir(), 'hb-path-'));
      symlinkSync(process.execPath, join(onlyBun, 'bun'));
      try {
        const child = start({ PORT: '0', DATABASE_URL: database.url, PATH: onlyBun }, [process.execPath, ...startCommand.slice(1)]);
        expect(await child.exited).toBe(1);
        const lines = (await new Response(child.stdout).text()).trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(JSON.parse(lines[0]!)).toMatchObject({ level: 60, event: 'service.start_failed' });
        expect(lines[0]).toContain('no redis-server is on PATH');
        expect(lines[0]).toContain('apt-get install redis-server');
      } finally {
        rmSync(onlyBun, { recursive: true, force: true });
        await database.drop();
      }
    },
    BOOT_TIMEOUT_MS,
  );
});

/** `bun run demo` and a browser, started once for the demo's tests; the other tests run meanwhile. */
let demo: ReturnType<typeof startDemo>;
let demoStarted: Promise<DemoUnderTest>;

beforeAll(() => {
  demo = startDemo();
  demoStarted = demo.ready;
});

afterAll(() => demo.stop(), 30_000);

const phone = (page: Page) => page.locator('#chat');
const agentChat = (page: Page) => page.locator('#agent-chat');
async function type(page: Page, input: string, send: string, text: string) {
  await page.fill(input, text);
  await page.click(send);
}

describe.concurrent('bun run demo', () => {
  test(
    'says it listens on loopback only, and how to open it to the network',
    async () => {
      const { banner } = await demoStarted;
      expect(banner).toContain('listening on 127.0.0.1 only');
      expect(banner).toContain('DEMO_HOST=0.0.0.0');
    },
    BOOT_TIMEOUT_MS,
  );

  test(
    'serves the simulator, the OpenAPI document and its reference page',
    async () => {
      const { base } = await demoStarted;
      const simulator = await fetch(`${base}/simulator`);
      expect(simulator.status).toBe(200);
      expect(await simulator.text()).toContain("The agent's console");
      const document = await fetch(`${base}/openapi.json`);
      expect(((await document.json()) as { openapi: string }).openapi).toBe('3.1.0');
      const docs = await fetch(`${base}/docs`);
      expect(docs.status).toBe(200);
      expect(await docs.text()).toContain('/docs/vendor/scalar.js');
    },
    BOOT_TIMEOUT_MS,
  );

  test(
    'the reference page renders every route offline, with real examples: nothing fetched from another host, no warning in the console',
    async () => {
      const { base, browser } = await demoStarted;
      const { page, problems } = await watchedPage(browser);
      try {
        await page.goto(`${base}/docs`);
        await page.getByText('/api/crm/send-message').first().waitFor({ timeout: 20_000 });
        await page.getByText('Calls to the CRM').first().click();
        const agentRequest = page.getByRole('heading', { name: 'A ticket was created (agent-request)' });
        await agentRequest.waitFor();
        await agentRequest.scrollIntoViewIfNeeded();
        // Its body is shown with the example's values, not with empty strings.
        await page.getByText('"TK-2026-000123"').first().waitFor();
        const text = await page.locator('body').innerText();
        expect(text).not.toContain('"ticketId": ""');
        // The calls to the CRM read as what happened, once, not "POST POST CRM_AGENT_NOTIFICATION_URL…".
        expect(text).not.toMatch(/POST\s*POST/);
        expect(text).toContain('Sent as POST CRM_AGENT_NOTIFICATION_URL');
        await page.screenshot({ path: join(ARTIFACTS, 'api-reference.png') });
        expect(problems).toEqual([]);
      } finally {
        await page.close();
      }
    },
    BOOT_TIMEOUT_MS + 60_000,
  );

  test(
    'in the simulator, a suspended subscriber asks for support, talks to the agent who took the ticket, and rates the agent once given back',
    async () => {
      const { base, browser } = await demoStarted;
      const { page, problems } = await watchedPage(browser);
      try {
        await page.goto(`${base}/simulator`);
        await page.click('#subscribers button[data-phone="573001234567"]');
        // An empty chat says what to write first.
        const hint = phone(page).locator('.empty-chat');
        expect(await hint.innerText()).toContain('“Hola”');
        expect(await hint.innerText()).toContain('1010101010');

        await type(page, '#phone-text', '#phone-send', 'Hola');
        await hint.waitFor({ state: 'detached' });
        await phone(page).getByRole('button', { name: 'Contactar Soporte' }).click();
        await phone(page).getByText('número de documento').waitFor();
        await type(page, '#phone-text', '#phone-send', '1010101010');

        // The new ticket is listed and opened in the console.
        const ticket = page.locator('#tickets button').first();
        await ticket.getByText('waiting').waitFor();
        expect(await ticket.innerText()).toContain('Juan Pérez');
        expect(await ticket.innerText()).toContain('reactivacion_servicio');
        expect(await ticket.innerText()).toContain('alta');
        expect(await ticket.getAttribute('aria-pressed')).toBe('true');
        expect(await page.locator('#ticket-title').innerText()).toContain(String(await ticket.getAttribute('data-ticket')));

        // Writing while waiting brings the bot's notice, whose formatting is rendered, not shown as asterisks: "Escribe *cancelar* si…".
        await type(page, '#phone-text', '#phone-send', '¿Ya casi?');
        await phone(page).locator('.from-bot strong', { hasText: 'cancelar' }).first().waitFor();
        expect(await phone(page).innerText()).not.toContain('*cancelar*');

        await page.click('#take');
        await phone(page).getByText('Agente María González conectado').waitFor();
        await type(page, '#agent-text', '#agent-send', 'Hola Juan, soy María. Ya veo su *pago de ayer*.');
        await phone(page).locator('.from-agent strong', { hasText: 'pago de ayer' }).waitFor();
        await agentChat(page).locator('strong', { hasText: 'pago de ayer' }).waitFor();

        // What the subscriber types is formatted too, on the phone and in the console.
        await type(page, '#phone-text', '#phone-send', 'Gracias, pagué _ayer_ en la tarde');
        const mine = phone(page).locator('.from-user', { hasText: 'Gracias, pagué' });
        await mine.locator('em', { hasText: 'ayer' }).waitFor();
        await agentChat(page).locator('em', { hasText: 'ayer' }).waitFor();

        // Ticks are the sender's: the subscriber's message is delivered once the service took it; what the phone received has none.
        await mine.locator('.ticks[data-status="delivered"]').waitFor();
        expect(await phone(page).locator('.from-bot .ticks, .from-agent .ticks').count()).toBe(0);

        // The photo reaches the console as a picture, fetched through the service's media route with the CRM token.
        await page.click('#phone-picture');
        const photo = agentChat(page).locator('[data-kind="image"]');
        await photo.getByText('Así está el router').waitFor();
        await page.waitForFunction(() => (document.querySelector('#agent-chat [data-kind="image"] img') as HTMLImageElement | null)?.naturalWidth === 480);

        // The agent's document shows with its caption, on the phone and in the console.
        await page.click('#send-document');
        await phone(page).getByText('PDF · paz-y-salvo.pdf').waitFor();
        const sentDocument = agentChat(page).locator('[data-kind="document"]');
        expect(await sentDocument.innerText()).toContain('PDF · paz-y-salvo.pdf');
        expect(await sentDocument.innerText()).toContain('Su paz y salvo');

        // The agent marks the chat read: the subscriber's ticks turn blue, as the screenshot shows them.
        await page.click('#mark-read');
        await mine.locator('.ticks[data-status="read"]').waitFor();
        await page.locator('#phone-pane').screenshot({ path: join(ARTIFACTS, 'simulator-phone.png') });

        await page.click('#give-back');
        await phone(page).getByRole('button', { name: '5 - Excelente' }).click();
        await phone(page).getByText('¡Gracias por tu calificación!').waitFor();
        await page.locator('#ticket-events').getByText('Rated the agent 5/5').waitFor();
        await page.locator('#agent-pane').screenshot({ path: join(ARTIFACTS, 'simulator-agent.png') });
        expect(problems).toEqual([]);
      } finally {
        await page.close();
      }
    },
    BOOT_TIMEOUT_MS + 90_000,
  );

  test(
    'in the simulator, markup a subscriber types is shown as typed, never run; every WhatsApp style is rendered',
    async () => {
      const { base, browser } = await demoStarted;
      const { page, problems } = await watchedPage(browser);
      try {
        await page.goto(`${base}/simulator`);
        // Ana: the flow above is Juan's, on the same demo at the same time.
        await page.click('#subscribers button[data-phone="573007654321"]');
        const typed = '*Hola* _señores_ ~ayer~ ```REF-2026``` <img src=x onerror="window.injected=1"> <b>sin negrita</b> 2*3*4 snake_case_name';
        await type(page, '#phone-text', '#phone-send', typed);
        const mine = phone(page).locator('.from-user', { hasText: 'REF-2026' });
        await mine.waitFor();
        expect(await mine.locator('strong').allInnerTexts()).toEqual(['Hola']);
        expect(await mine.locator('em').allInnerTexts()).toEqual(['señores']);
        expect(await mine.locator('s').allInnerTexts()).toEqual(['ayer']);
        expect(await mine.locator('code').allInnerTexts()).toEqual(['REF-2026']);
        expect(await mine.locator('.text').innerText()).toBe(
          'Hola señores ayer REF-2026 <img src=x onerror="window.injected=1"> <b>sin negrita</b> 2*3*4 snake_case_name',
        );
        expect(await mine.locator('img, b').count()).toBe(0);
        expect(await page.evaluate(() => (window as unknown as { injected?: number }).injected)).toBeUndefined();
        expect(problems).toEqual([]);
      } finally {
        await page.close();
      }
    },
    BOOT_TIMEOUT_MS + 60_000,
  );
});
