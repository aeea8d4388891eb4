import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { startStack, type TestStack } from '../support/harness';
import { launchChromium } from '../support/chromium';

/**
 * /dashboard in Debian's Chromium (installed by .ci/run), on a database
 * seeded with ten days of tickets and one lone day: every chart draws data,
 * changing the range changes it, and a screenshot is kept in artifacts/.
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
      -- 20 November: one ticket alone (reactivation, resolved by Carlos Ruiz, rated 5).
      union all select 1004, timestamptz '2026-11-20 05:00:00+00'
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

const LONE_DAY = '2026-11-20';

/** Per chart: its labels and whether any dataset holds a value above zero. */
const chartData = () =>
  Object.fromEntries(
    Object.entries(
      (window as unknown as { dashboardCharts: Record<string, { data: { labels: string[]; datasets: { data: (number | null)[] }[] } }> }).dashboardCharts,
    ).map(([id, chart]) => [id, { labels: chart.data.labels, drew: chart.data.datasets.some((dataset) => dataset.data.some((value) => (value ?? 0) > 0)) }]),
  );

type Charts = Record<
  string,
  {
    config: { type: string };
    data: { labels: string[]; datasets: { label: string; backgroundColor?: string | string[]; borderColor?: string; data: unknown[] }[] };
    scales: Record<string, { ticks: { value: number }[] }>;
    getDatasetMeta(index: number): { data: { width?: number }[] };
  }
>;

/** Every colour each series or doughnut slice is drawn in, by its label, across all charts. */
const coloursByLabel = () => {
  const colours: Record<string, string[]> = {};
  const add = (label: string, colour: string | undefined) => {
    colours[label] = [...new Set([...(colours[label] ?? []), String(colour)])];
  };
  for (const chart of Object.values((window as unknown as { dashboardCharts: Charts }).dashboardCharts)) {
    for (const dataset of chart.data.datasets) {
      if (chart.config.type === 'doughnut') chart.data.labels.forEach((label, index) => add(label, (dataset.backgroundColor as string[])[index]));
      else add(dataset.label, chart.config.type === 'line' ? dataset.borderColor : (dataset.backgroundColor as string));
    }
  }
  return colours;
};

async function openWithToken(token: string, from: string, to: string) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1800 } });
  await page.goto(`${stack.service.url}/dashboard?from=${from}&to=${to}`);
  await page.fill('#token', token);
  await page.click('button[type=submit]');
  await page.waitForSelector('body[data-state=ready], body[data-state=error]');
  return page;
}

test('before a token is typed, the page asks for it and shows no empty cards or charts', async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(`${stack.service.url}/dashboard`);
  const prompt = page.locator('#prompt');
  expect(await prompt.isVisible()).toBe(true);
  expect(await prompt.innerText()).toContain('Escriba el token');
  expect(await prompt.innerText()).toContain('METRICS_TOKEN');
  expect(await page.locator('#summary').isVisible()).toBe(false);
  expect(await page.locator('.grid').isVisible()).toBe(false);
  expect(await page.evaluate(() => [document.body.dataset.state, document.activeElement?.id])).toEqual(['idle', 'token']);
  await page.close();
}, 30_000);

test('a wrong token is one sentence in Spanish, and no report stays on the page', async () => {
  const page = await openWithToken('not-the-token', '2026-11-01', '2026-11-10');
  expect(await page.evaluate(() => document.body.dataset.state)).toBe('error');
  expect(await page.textContent('#status')).toBe('El token no es correcto. Escriba el METRICS_TOKEN del servicio y pulse Actualizar.');
  expect(await page.locator('#report').isVisible()).toBe(false);

  // A good token shows the report; a wrong one after it takes it away again.
  await page.fill('#token', METRICS_TOKEN);
  await page.click('button[type=submit]');
  await page.waitForSelector('body[data-state=ready]');
  expect(await page.locator('#report').isVisible()).toBe(true);
  await page.fill('#token', 'wrong');
  await page.click('button[type=submit]');
  await page.waitForSelector('body[data-state=error]');
  expect(await page.locator('#report').isVisible()).toBe(false);
  expect(await page.textContent('#status')).toBe('El token no es correcto. Escriba el METRICS_TOKEN del servicio y pulse Actualizar.');

  // Dates the service would refuse are said before asking it.
  await page.fill('#token', METRICS_TOKEN);
  await page.fill('#from', '2026-11-10');
  await page.fill('#to', '2026-11-01');
  await page.click('button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'La fecha «Hasta» es anterior a «Desde».');
  await page.close();
}, 30_000);

test('a category has one colour in every chart, used for nothing else', async () => {
  const page = await openWithToken(METRICS_TOKEN, '2026-11-01', '2026-11-10');
  const colours = await page.evaluate(coloursByLabel);
  expect(colours['Reactivación']).toHaveLength(1);
  expect(colours['Soporte general']).toHaveLength(1);
  const categoryColours = [...colours['Reactivación']!, ...colours['Soporte general']!];
  expect(new Set(categoryColours).size).toBe(2);
  const reused = Object.entries(colours).filter(
    ([label, used]) => !['Reactivación', 'Soporte general'].includes(label) && used.some((colour) => categoryColours.includes(colour)),
  );
  expect(reused).toEqual([]);
  await page.close();
}, 30_000);

test("a single day: counts step by whole numbers, and the day's times are bars, not a lone dot", async () => {
  const page = await openWithToken(METRICS_TOKEN, LONE_DAY, LONE_DAY);
  expect(await page.textContent('#status')).toContain('1 ticket entre');
  const axes = await page.evaluate(() => {
    const all = (window as unknown as { dashboardCharts: Charts }).dashboardCharts;
    const values = (chart: string, axis: string) => all[chart]!.scales[axis]!.ticks.map((tick) => tick.value);
    return { tickets: values('tickets', 'y'), csat: values('csat', 'y'), agents: values('agents', 'y'), reasons: values('reasons', 'x') };
  });
  for (const [chart, values] of Object.entries(axes)) {
    expect({ chart, steps: values.length > 1, whole: values.every(Number.isInteger) }).toEqual({ chart, steps: true, whole: true });
  }
  const trends = await page.evaluate(() =>
    ['times', 'resolution'].map((id) => {
      const chart = (window as unknown as { dashboardCharts: Charts }).dashboardCharts[id]!;
      return { id, type: chart.config.type, width: Math.round(chart.getDatasetMeta(0).data[0]?.width ?? 0) };
    }),
  );
  for (const trend of trends) {
    expect(trend.type).toBe('bar');
    expect(trend.width).toBeGreaterThan(20);
  }
  await page.close();
}, 30_000);

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
}, 60_000);
