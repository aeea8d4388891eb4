import { expect, test } from 'bun:test';
import type { Page } from 'playwright-core';
import { startDemo } from '../../src/demo';
import { launchChromium } from '../support/chromium';
import { watchedPage } from '../support/demo';

/**
 * The agent's console over minutes, in seconds: a demo of its own (the one
 * `bun run demo` starts waits a minute before an escalation), with
 * two-second assignment deadlines, in Debian's Chromium. What the bot
 * decides alone reads as what happened, and a ticket that arrives while
 * another is open is opened. Then the console as the CRM showing the
 * agent's typing and read (POST /api/crm/typing, /api/crm/read): the phone
 * shows what the Graph stand-in was asked for.
 */
const phone = (page: Page) => page.locator('#chat');
async function type(page: Page, input: string, send: string, text: string) {
  await page.fill(input, text);
  await page.click(send);
}

async function askForAnAgent(page: Page, subscriberPhone: string, document: string) {
  await page.click(`#subscribers button[data-phone="${subscriberPhone}"]`);
  await type(page, '#phone-text', '#phone-send', 'Hola');
  await phone(page).getByRole('button', { name: 'Contactar Soporte' }).last().click();
  await phone(page).getByText('número de documento').last().waitFor();
  await type(page, '#phone-text', '#phone-send', document);
}

test('an escalation and the fallback read as what happened; a newer ticket is opened in the console as it arrives', async () => {
  // No agent takes Ana's ticket: with two-second deadlines it escalates once, then falls back to the emergency line.
  const [quick, browser] = await Promise.all([
    startDemo({ PORT: '0', LOG_LEVEL: 'silent' }, { HANDOVER_ASSIGN_TIMEOUT_S: '2', HANDOVER_MAX_ESCALATIONS: '1' }),
    launchChromium(),
  ]);
  try {
    const { page, problems } = await watchedPage(browser);
    await page.goto(`http://localhost:${quick.port}/simulator`);
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
    await browser.close();
    await quick.stop();
  }
}, 90_000);

test('the agent typing shows "typing…" on the phone until the reply; Mark read turns the subscriber\'s ticks blue, only when clicked', async () => {
  const [demo, browser] = await Promise.all([startDemo({ PORT: '0', LOG_LEVEL: 'silent' }), launchChromium()]);
  try {
    const { page, problems } = await watchedPage(browser);
    await page.goto(`http://localhost:${demo.port}/simulator`);
    await askForAnAgent(page, '573001234567', '1010101010');
    await page.click('#take');
    await phone(page).getByText('Agente María González conectado').waitFor();

    await type(page, '#phone-text', '#phone-send', 'Sigo sin internet');
    const mine = phone(page).locator('.from-user');
    await mine.filter({ hasText: 'Sigo sin internet' }).locator('.ticks[data-status="delivered"]').waitFor();
    // Taken, relayed and answered by nobody yet: nothing is read until the agent says so.
    await page.locator('#agent-chat').getByText('Sigo sin internet').waitFor();
    expect(await mine.locator('.ticks[data-status="read"]').count()).toBe(0);

    await page.click('#mark-read');
    await page.waitForFunction(() => {
      const ticks = [...document.querySelectorAll('#chat .from-user .ticks')];
      return ticks.length > 0 && ticks.every((tick) => tick.getAttribute('data-status') === 'read');
    });
    await page.locator('#ticket-events').getByText("Marked the subscriber's messages read").waitFor();

    // Keystrokes in the reply box: the console tells the service, the service tells Graph, the phone shows it.
    const typing = page.locator('#phone-typing');
    expect(await typing.isVisible()).toBe(false);
    await page.locator('#agent-text').pressSequentially('Ya lo reviso', { delay: 30 });
    await typing.waitFor({ state: 'visible' });
    expect(await typing.innerText()).toBe('typing…');

    await page.click('#agent-send');
    await phone(page).locator('.from-agent', { hasText: 'Ya lo reviso' }).waitFor();
    await typing.waitFor({ state: 'hidden' });
    expect(await page.locator('#agent-error').innerText()).toBe('');
    expect(problems).toEqual([]);
    await page.close();
  } finally {
    await browser.close();
    await demo.stop();
  }
}, 90_000);
