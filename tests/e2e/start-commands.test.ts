import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/chromium';
import { createTestDatabase, eventually, REDIS_URL } from '../support/harness';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts): this file's, through the whole service.
setDefaultTimeout(30_000);

/**
 * The two commands a newcomer runs, run as they would: `bun run start`
 * (its configuration errors, its embedded database, a Redis it cannot
 * reach) and `bun run demo` (from the repository, with nothing configured
 * but a free port, Redis on its default address). The demo must serve the
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
/** Each test starts a whole process (PGlite's first boot included), beside the others: more than the default 5 s. */
const BOOT_TIMEOUT_MS = 60_000;

// The start script's own command, run without the `bun run` wrapper so the signal reaches the service itself.
const startCommand = ((await Bun.file(join(ROOT, 'package.json')).json()) as { scripts: { start: string } }).scripts.start.split(' ');

function start(env: Record<string, string>) {
  return Bun.spawn(startCommand, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  });
}

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
    'without DATABASE_URL it runs on the embedded database, answers ready, and stops cleanly on SIGTERM',
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'hb-boot-'));
      const port = 20000 + Math.floor(Math.random() * 20000);
      const child = start({ PORT: String(port), DATA_DIR: dataDir, REDIS_URL, REDIS_KEY_PREFIX: `hbtest:boot:${process.pid}:`, LOG_LEVEL: 'warn' });
      try {
        // Alone, the instance comes to hold the lease of every partition (readiness itself does not wait for them).
        const ready = await eventually(
          async () => {
            const response = await fetch(`http://127.0.0.1:${port}/health/ready`);
            const body = response.status === 200 && ((await response.json()) as { partitions: { owned: number[] } });
            return body && body.partitions.owned.length === 8 && body;
          },
          'readiness with every partition',
          50_000,
        );
        expect(ready).toMatchObject({ status: 'ready', checks: { redis: 'ok', database: 'ok' }, partitions: { owned: [0, 1, 2, 3, 4, 5, 6, 7] } });
        child.kill('SIGTERM');
        expect(await child.exited).toBe(0);
      } finally {
        child.kill('SIGKILL');
        rmSync(dataDir, { recursive: true, force: true });
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
        expect(stdout).toContain('Redis is unreachable at redis://127.0.0.1:1');
        expect(stdout).toContain('start redis-server or set REDIS_URL');
      } finally {
        await database.drop();
      }
    },
    BOOT_TIMEOUT_MS,
  );
});

/** `bun run demo` and a browser, started once for the demo's tests; the other tests run meanwhile. */
interface DemoUnderTest {
  base: string;
  browser: Browser;
}
let demo: ReturnType<typeof Bun.spawn<'ignore', 'pipe', 'pipe'>> | undefined;
let launchedBrowser: Browser | undefined;
let demoStarted: Promise<DemoUnderTest>;

async function startDemo(): Promise<DemoUnderTest> {
  const spawned = Bun.spawn(['bun', 'run', 'demo'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0' },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  });
  demo = spawned;
  const launching = launchChromium().then((launched) => (launchedBrowser = launched));
  const decoder = new TextDecoder();
  let output = '';
  let base = '';
  const reader = spawned.stdout.getReader();
  while (!base) {
    const { done, value } = await reader.read();
    if (done) break;
    output += decoder.decode(value);
    base = /demo ready: (http:\/\/localhost:\d+)\/simulator/.exec(output)?.[1] ?? '';
  }
  // What the demo writes from now on is read and dropped: a full pipe would block it.
  void (async () => {
    while (!(await reader.read()).done);
  })();
  await launching;
  if (!base) throw new Error(`bun run demo exited (${await spawned.exited}) without serving: ${output}${await new Response(spawned.stderr).text()}`);
  return { base, browser: launchedBrowser! };
}

beforeAll(() => {
  demoStarted = startDemo();
  // Each demo test awaits it and reports a failure; unawaited here, it must not be an unhandled rejection.
  demoStarted.catch(() => {});
});

afterAll(async () => {
  await demoStarted.catch(() => {});
  await launchedBrowser?.close();
  demo?.kill('SIGTERM');
  await demo?.exited;
}, 30_000);

/** A page that records every problem the browser saw: script errors, what the Content-Security-Policy blocked, failed loads. */
async function watchedPage(browser: Browser): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('console', (message) => message.text().includes('Content Security Policy') && problems.push(message.text()));
  // The browser's own favicon probe is no problem.
  page.on(
    'response',
    (response) => response.status() >= 400 && !response.url().endsWith('/favicon.ico') && problems.push(`${response.status()} ${response.url()}`),
  );
  page.on('request', (request) => new URL(request.url()).hostname !== 'localhost' && problems.push(`fetched ${request.url()}`));
  return { page, problems };
}

const phone = (page: Page) => page.locator('#chat');
const agentChat = (page: Page) => page.locator('#agent-chat');
async function type(page: Page, input: string, send: string, text: string) {
  await page.fill(input, text);
  await page.click(send);
}

describe.concurrent('bun run demo', () => {
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
    'the reference page renders every route offline: nothing is fetched from another host, nothing is blocked',
    async () => {
      const { base, browser } = await demoStarted;
      const { page, problems } = await watchedPage(browser);
      try {
        await page.goto(`${base}/docs`);
        await page.getByText('/api/crm/send-message').first().waitFor({ timeout: 20_000 });
        await page.getByText('Calls to the CRM').first().waitFor();
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

        await type(page, '#phone-text', '#phone-send', 'Hola');
        await phone(page).getByRole('button', { name: 'Contactar Soporte' }).click();
        await phone(page).getByText('número de documento').waitFor();
        await type(page, '#phone-text', '#phone-send', '1010101010');

        const ticket = page.locator('#tickets button').first();
        await ticket.getByText('waiting').waitFor();
        expect(await ticket.innerText()).toContain('Juan Pérez');
        expect(await ticket.innerText()).toContain('reactivacion_servicio');
        expect(await ticket.innerText()).toContain('alta');

        await page.click('#take');
        await phone(page).getByText('Agente María González conectado').waitFor();
        await type(page, '#agent-text', '#agent-send', 'Hola Juan, soy María. Ya veo su pago.');
        await phone(page).locator('.from-agent', { hasText: 'Ya veo su pago' }).waitFor();
        await type(page, '#phone-text', '#phone-send', 'Gracias, pagué ayer');
        await agentChat(page).getByText('Gracias, pagué ayer').waitFor();
        await page.click('#phone-picture');
        await agentChat(page).getByText('[image: Así está el router]').waitFor();
        await page.click('#send-document');
        await phone(page).getByText('PDF · paz-y-salvo.pdf').waitFor();
        // Every message the service sent got its receipts back from the Graph stand-in, as signed status webhooks.
        await phone(page).locator('.from-agent[data-kind="document"] .ticks[data-status="read"]').waitFor();
        await page.locator('#phone-pane').screenshot({ path: join(ARTIFACTS, 'simulator-phone.png') });

        await page.click('#give-back');
        await phone(page).getByRole('button', { name: '5 - Excelente' }).click();
        await phone(page).getByText('¡Gracias por tu calificación!').waitFor();
        await page.locator('#ticket-events').getByText('ticket-update: csat (5/5)').waitFor();
        await page.locator('#agent-pane').screenshot({ path: join(ARTIFACTS, 'simulator-agent.png') });
        expect(problems).toEqual([]);
      } finally {
        await page.close();
      }
    },
    BOOT_TIMEOUT_MS + 90_000,
  );
});
