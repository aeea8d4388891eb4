import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/chromium';
import { crmCall, openTicketFor, startStack, type TestStack } from '../support/harness';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts).
setDefaultTimeout(60_000);

/**
 * The live view (/dashboard/live) in Chromium against the real service: a new waiting ticket, its escalation and
 * its assignment appear from the service's events alone (the page is never reloaded), no phone number is on the
 * page, and a screenshot is kept (docs/dashboard-live.png).
 */
const TOKEN = 'metrics-token-for-the-live-page';
const ARTIFACTS = join(import.meta.dir, '../../artifacts');
let stack: TestStack;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  // An assignment timeout of 3 s: the ticket escalates while the page watches; five rungs before any fallback.
  stack = await startStack('live_page', { METRICS_TOKEN: TOKEN, HANDOVER_ASSIGN_TIMEOUT_S: '3', HANDOVER_MAX_ESCALATIONS: '5' });
  // A desk already at work: agents with tickets, others waiting, one that fell back to the emergency number this morning.
  await stack.sql`
    insert into tickets (id, conversation_key, category, priority, status, phase, close_reason, agent_id, agent_name, requested_at, assigned_at,
                         closed_at, last_activity_at, escalations, snapshot)
    values
      ('TK-2026-000101', '573009990101', 'soporte_agente', 'media', 'active', 'with_agent', null, 'agent_1', 'Carlos Ruiz',
       now() - interval '25 minutes', now() - interval '22 minutes', null, now() - interval '40 seconds', 0, '{}'),
      ('TK-2026-000102', '573009990102', 'reactivacion_servicio', 'alta', 'active', 'with_agent', null, 'agent_1', 'Carlos Ruiz',
       now() - interval '12 minutes', now() - interval '9 minutes', null, now() - interval '3 minutes', 0, '{}'),
      ('TK-2026-000103', '573009990103', 'soporte_agente', 'media', 'active', 'agent_reminded', null, 'agent_2', 'Lina Mora',
       now() - interval '18 minutes', now() - interval '15 minutes', null, now() - interval '6 minutes', 0, '{}'),
      ('TK-2026-000104', '573009990104', 'soporte_agente', 'media', 'pending', 'waiting_agent', null, null, null,
       now() - interval '4 minutes', null, null, now() - interval '4 minutes', 0, '{}'),
      ('TK-2026-000105', '573009990105', 'soporte_agente', 'baja', 'pending', 'waiting_agent', null, null, null,
       now() - interval '90 seconds', null, null, now() - interval '90 seconds', 0, '{}'),
      ('TK-2026-000099', '573009990099', 'reactivacion_servicio', 'alta', 'closed', 'closed', 'fallback', null, null,
       now() - interval '3 hours', null, now() - interval '2 hours', now() - interval '2 hours', 2, '{}')`;
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

const row = (table: string, ticketId: string) => page.locator(`#${table} tr[data-ticket="${ticketId}"]`);

describe('the live view in a browser', () => {
  test('asks for the token first, then shows the desk as it is', async () => {
    await page.goto(`${stack.service.url}/dashboard/live`);
    expect(await page.locator('#prompt').isVisible()).toBe(true);
    await page.fill('#token', 'wrong');
    await page.click('button[type=submit]');
    await page.waitForFunction(() => document.body.dataset.state === 'error');
    expect(await page.textContent('#status')).toContain('El token no es correcto');
    await page.fill('#token', TOKEN);
    await page.click('button[type=submit]');
    await row('with-agent', 'TK-2026-000101').waitFor();
    expect(await row('with-agent', 'TK-2026-000101').innerText()).toContain('Carlos Ruiz');
    expect(await row('waiting', 'TK-2026-000104').locator('td').first().innerText()).toBe('1');
    expect(await row('escalated', 'TK-2026-000099').innerText()).toContain('emergencia');
    expect(await page.locator('#agents').innerText()).toMatch(/Carlos Ruiz\s+2/);
  });

  test('a new ticket appears waiting, then escalated, then with its agent, from the service’s events alone', async () => {
    // A mark the page keeps only while it is not reloaded.
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    const phone = '573007770001';
    const ticketId = await openTicketFor(stack, phone, '1010101010');
    await row('waiting', ticketId).waitFor();
    // Reactivation is alta: first in the queue, before the media and baja tickets already waiting.
    expect(await row('waiting', ticketId).locator('td').first().innerText()).toBe('1');
    await row('escalated', ticketId).waitFor();
    expect(await row('waiting', ticketId).innerText()).toContain('Escalado');

    const taken = await crmCall(stack, 'POST', '/api/crm/handover', {
      ticketId,
      userPhone: phone,
      agentId: 'agent_2',
      agentName: 'Lina Mora',
      handoverType: 'bot_to_human',
    });
    expect(taken.status).toBe(200);
    await row('with-agent', ticketId).waitFor();
    expect(await row('with-agent', ticketId).innerText()).toContain('Lina Mora');
    await row('waiting', ticketId).waitFor({ state: 'detached' });
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect(await page.locator('#agents').innerText()).toMatch(/Lina Mora\s+2/);
    expect(await page.content()).not.toContain(phone);
    expect(await page.content()).not.toContain('573009990101');

    mkdirSync(ARTIFACTS, { recursive: true });
    const screenshot = join(ARTIFACTS, 'dashboard-live.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    if (process.env.UPDATE_SCREENSHOTS) copyFileSync(screenshot, join(import.meta.dir, '../../docs/dashboard-live.png'));
  });
});
