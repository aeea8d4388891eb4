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

test('a suspended subscriber asks for support, talks to the agent who took the ticket, and rates the agent once given back', async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  // Chromium reports what the Content-Security-Policy blocked as console errors; the browser's own favicon probe is no problem.
  page.on('console', (message) => message.text().includes('Content Security Policy') && problems.push(message.text()));
  page.on(
    'response',
    (response) => response.status() >= 400 && !response.url().endsWith('/favicon.ico') && problems.push(`${response.status()} ${response.url()}`),
  );
  await page.goto(`${demo.url}/simulator`);
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
  await page.close();
}, 90_000);
