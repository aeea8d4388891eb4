import { afterAll, beforeAll, expect, test } from 'bun:test';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/chromium';

/**
 * `bun run demo` as a newcomer runs it: from the repository, with nothing
 * configured but a free port (Redis on its default address). It must serve
 * the simulator and the API reference, the reference must render with
 * nothing fetched from outside this machine, and the seed's
 * suspended-subscriber flow must play by hand in /simulator, in Debian's
 * Chromium: the phone pane posts signed webhooks, the console pane calls the
 * CRM routes, the real service in between. One demo and one browser serve
 * every test (the demo's embedded database takes seconds to create).
 * Screenshots are kept in artifacts/ (the copies in docs/, shown by the
 * README, are refreshed from there by hand, so a test run leaves the work
 * tree clean).
 */
const ROOT = join(import.meta.dir, '../..');
const ARTIFACTS = join(ROOT, 'artifacts');
let demo: ReturnType<typeof Bun.spawn<'ignore', 'pipe', 'pipe'>>;
let browser: Browser;
let base = '';

beforeAll(async () => {
  demo = Bun.spawn(['bun', 'run', 'demo'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0' },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const launching = launchChromium();
  const decoder = new TextDecoder();
  let output = '';
  const reader = demo.stdout.getReader();
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
  browser = await launching;
  if (!base) throw new Error(`bun run demo exited (${await demo.exited}) without serving: ${output}${await new Response(demo.stderr).text()}`);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  demo?.kill('SIGTERM');
  await demo?.exited;
});

/** A page that records every problem the browser saw: script errors, what the Content-Security-Policy blocked, failed loads. */
async function watchedPage(): Promise<{ page: Page; problems: string[] }> {
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

test('serves the simulator, the OpenAPI document and its reference page', async () => {
  const simulator = await fetch(`${base}/simulator`);
  expect(simulator.status).toBe(200);
  expect(await simulator.text()).toContain("The agent's console");
  const document = await fetch(`${base}/openapi.json`);
  expect(((await document.json()) as { openapi: string }).openapi).toBe('3.1.0');
  const docs = await fetch(`${base}/docs`);
  expect(docs.status).toBe(200);
  expect(await docs.text()).toContain('/docs/vendor/scalar.js');
});

test('the reference page renders every route offline: nothing is fetched from another host, nothing is blocked', async () => {
  const { page, problems } = await watchedPage();
  try {
    await page.goto(`${base}/docs`);
    await page.getByText('/api/crm/send-message').first().waitFor({ timeout: 20_000 });
    await page.getByText('Calls to the CRM').first().waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'api-reference.png') });
    expect(problems).toEqual([]);
  } finally {
    await page.close();
  }
}, 60_000);

const phone = (page: Page) => page.locator('#chat');
const agentChat = (page: Page) => page.locator('#agent-chat');
async function type(page: Page, input: string, send: string, text: string) {
  await page.fill(input, text);
  await page.click(send);
}

test('in the simulator, a suspended subscriber asks for support, talks to the agent who took the ticket, and rates the agent once given back', async () => {
  const { page, problems } = await watchedPage();
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
}, 90_000);
