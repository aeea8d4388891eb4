import { afterAll, beforeAll, expect, test } from 'bun:test';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startDemo, type Demo } from '../../src/demo';
import { launchChromium } from '../support/chromium';

/**
 * The seed's suspended-subscriber flow played by hand in /simulator, in
 * Debian's Chromium: the phone pane posts signed webhooks, the console pane
 * calls the CRM routes, the real service in between. Screenshots of both
 * panes are kept in artifacts/ (the copies in docs/, shown by the README, are
 * refreshed from there by hand, so a test run leaves the work tree clean).
 */
const ARTIFACTS = join(import.meta.dir, '../../artifacts');
let demo: Demo;
let browser: Browser;

beforeAll(async () => {
  demo = await startDemo({ PORT: '0', LOG_LEVEL: 'silent' });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

const phone = (page: Page) => page.locator('#chat');
const agentChat = (page: Page) => page.locator('#agent-chat');
async function type(page: Page, input: string, send: string, text: string) {
  await page.fill(input, text);
  await page.click(send);
}

/** A page that records what a visitor would see go wrong: a script error, a warning or error in the console, a failed request. */
async function simulator(url: string) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('console', (message) => ['warning', 'error'].includes(message.type()) && problems.push(`${message.type()}: ${message.text()}`));
  page.on('response', (response) => response.status() >= 400 && problems.push(`${response.status()} ${response.url()}`));
  await page.goto(`${url}/simulator`);
  return { page, problems };
}

async function askForAnAgent(page: Page, subscriberPhone: string, document: string) {
  await page.click(`#subscribers button[data-phone="${subscriberPhone}"]`);
  await type(page, '#phone-text', '#phone-send', 'Hola');
  await phone(page).getByRole('button', { name: 'Contactar Soporte' }).last().click();
  await phone(page).getByText('número de documento').last().waitFor();
  await type(page, '#phone-text', '#phone-send', document);
}

test('a suspended subscriber asks for support, talks to the agent who took the ticket, and rates the agent once given back', async () => {
  const { page, problems } = await simulator(demo.url);
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
  await page.locator('#phone-pane').screenshot({ path: join(ARTIFACTS, 'simulator-phone.png') });

  await page.click('#give-back');
  await phone(page).getByRole('button', { name: '5 - Excelente' }).click();
  await phone(page).getByText('¡Gracias por tu calificación!').waitFor();
  await page.locator('#ticket-events').getByText('Rated the agent 5/5').waitFor();
  await page.locator('#agent-pane').screenshot({ path: join(ARTIFACTS, 'simulator-agent.png') });
  expect(problems).toEqual([]);
  await page.close();
}, 90_000);

test('markup a subscriber types is shown as typed, never run; every WhatsApp style is rendered', async () => {
  const { page, problems } = await simulator(demo.url);
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
  await page.close();
}, 60_000);

test('an escalation and the fallback read as what happened; a newer ticket is opened in the console as it arrives', async () => {
  // No agent takes Ana's ticket: with two-second deadlines it escalates once, then falls back to the emergency line.
  const quick = await startDemo({ PORT: '0', LOG_LEVEL: 'silent' }, { HANDOVER_ASSIGN_TIMEOUT_S: '2', HANDOVER_MAX_ESCALATIONS: '1' });
  try {
    const { page, problems } = await simulator(quick.url);
    expect(await page.locator('#tickets').innerText()).toContain('No ticket yet');
    await askForAnAgent(page, '573007654321', '2020202020');
    const events = page.locator('#ticket-events');
    await events.getByText(/Escalated: priority \w+, no agent after \d+ s$/).waitFor({ timeout: 20_000 });
    await events.getByText('Closed: no agent came; the subscriber was given the emergency line').waitFor({ timeout: 20_000 });
    expect(await events.innerText()).not.toContain('ticket-update:');
    const first = String(await page.locator('#tickets button[aria-pressed="true"]').getAttribute('data-ticket'));

    await askForAnAgent(page, '573001234567', '1010101010');
    await page.waitForFunction((earlier) => {
      const selected = document.querySelector('#tickets button[aria-pressed="true"]')?.getAttribute('data-ticket');
      return selected && selected !== earlier;
    }, first);
    expect(await page.locator('#ticket-title').innerText()).toContain('Juan Pérez');
    expect(problems).toEqual([]);
    await page.close();
  } finally {
    await quick.stop();
  }
}, 90_000);
