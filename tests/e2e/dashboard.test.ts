import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { startStack, type TestStack } from '../support/harness';
import { launchChromium } from '../support/chromium';

/**
 * /dashboard in Debian's Chromium (installed by .ci/run), on a database
 * seeded with ten days of tickets: every chart draws data, changing the
 * range changes it, and a screenshot is kept in artifacts/.
 */
const METRICS_TOKEN = 'metrics-token-for-the-dashboard';
const SCREENSHOT = join(import.meta.dir, '../../artifacts/dashboard.png');
let stack: TestStack;
let browser: Browser;

beforeAll(async () => {
  stack = await startStack('dashboard', { METRICS_TOKEN });
  // Ten days of November 2026 (Bogotá), 3 to 12 tickets a day, two agents, both categories, every close reason the charts show.
  await stack.sql`
    insert into tickets (id, conversation_key, category, priority, status, phase, close_reason, agent_id, agent_name, requested_at, assigned_at,
                         first_agent_reply_at, closed_at, last_activity_at, escalations, csat, survey_status, snapshot)
    select 'TK-2026-' || lpad(n::text, 6, '0'), '5730000' || lpad(n::text, 5, '0'),
           (case when n % 4 = 0 then 'reactivacion_servicio' else 'soporte_agente' end)::ticket_category,
           (case when n % 4 = 0 then 'alta' else 'media' end)::ticket_priority,
           'closed', 'closed',
           (case when n % 7 = 0 then 'fallback' when n % 5 = 0 then 'cancelled' else 'resolved' end)::close_reason,
           case when n % 7 <> 0 and n % 5 <> 0 then 'agent_' || (n % 2) end,
           case when n % 7 <> 0 and n % 5 <> 0 then (case when n % 2 = 0 then 'Carlos Ruiz' else 'Lina Mora' end) end,
           day + interval '14 hours', day + interval '14 hours' + (30 + n % 90) * interval '1 second',
           day + interval '14 hours' + (60 + n % 120) * interval '1 second', day + interval '15 hours', day + interval '15 hours',
           case when n % 7 = 0 then 1 else 0 end,
           case when n % 7 <> 0 and n % 5 <> 0 and n % 3 <> 0 then 1 + n % 5 end,
           (case when n % 7 <> 0 and n % 5 <> 0 then (case when n % 3 <> 0 then 'answered' else 'expired' end) end)::survey_status,
           '{}'::jsonb
    from (
      select n, timestamptz '2026-11-01 05:00:00+00' + ((n * 7) % 10) * interval '1 day' as day
      from generate_series(1, 75) as n
    ) seeded`;
  await stack.sql`
    insert into ticket_kpis (ticket_id, requested_at, assigned_at, first_agent_reply_at, closed_at, status, close_reason, category, priority,
                             agent_id, agent_name, escalations, csat, survey_status)
    select id, requested_at, assigned_at, first_agent_reply_at, closed_at, status, close_reason, category, priority, agent_id, agent_name,
           escalations, csat, survey_status from tickets`;
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/** Per chart: its labels and whether any dataset holds a value above zero. */
const chartData = () =>
  Object.fromEntries(
    Object.entries(
      (window as unknown as { dashboardCharts: Record<string, { data: { labels: string[]; datasets: { data: (number | null)[] }[] } }> }).dashboardCharts,
    ).map(([id, chart]) => [id, { labels: chart.data.labels, drew: chart.data.datasets.some((dataset) => dataset.data.some((value) => (value ?? 0) > 0)) }]),
  );

test('every chart draws the seeded data; a narrower range redraws it; the numbers are in the tables', async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1800 } });
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  // Chromium reports what the Content-Security-Policy blocked as console errors.
  page.on('console', (message) => message.text().includes('Content Security Policy') && problems.push(message.text()));
  await page.goto(`${stack.service.url}/dashboard?from=2026-11-01&to=2026-11-10`);
  await page.fill('#token', METRICS_TOKEN);
  await page.click('button[type=submit]');
  await page.waitForSelector('body[data-state=ready]');

  // The token lives as long as the tab, never on disk.
  expect(await page.evaluate(() => [localStorage.length, Object.values(sessionStorage)])).toEqual([0, [METRICS_TOKEN]]);

  const wide = await page.evaluate(chartData);
  expect(Object.keys(wide).sort()).toEqual(['agents', 'category', 'csat', 'reasons', 'resolution', 'tickets', 'times']);
  for (const [id, chart] of Object.entries(wide)) expect({ id, drew: chart.drew }).toEqual({ id, drew: true });
  expect(wide.tickets!.labels).toHaveLength(10);
  expect(await page.textContent('#status')).toContain('75 tickets');
  expect(await page.locator('#table-tickets tbody tr').count()).toBe(10);
  expect(await page.textContent('#table-agents')).toContain('Carlos Ruiz');
  mkdirSync(join(SCREENSHOT, '..'), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });

  await page.fill('#from', '2026-11-05');
  await page.fill('#to', '2026-11-07');
  await page.click('button[type=submit]');
  await page.waitForFunction(() => document.body.dataset.state === 'ready' && !document.querySelector('#status')?.textContent?.includes('75 tickets'));
  const narrow = await page.evaluate(chartData);
  expect(narrow.tickets!.labels).toEqual(['2026-11-05', '2026-11-06', '2026-11-07']);
  expect(await page.locator('#table-tickets tbody tr').count()).toBe(3);
  expect(problems).toEqual([]);

  // A wrong token is said on the page, not thrown.
  await page.fill('#token', 'wrong');
  await page.click('button[type=submit]');
  await page.waitForSelector('body[data-state=error]');
  expect(await page.textContent('#status')).toContain('METRICS_TOKEN');
}, 60_000);
