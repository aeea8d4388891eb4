import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import type { Browser } from 'playwright-core';
import type { KpiReport, Kpis } from '../../src/kpis/query';
import { crmCall, eventually, openTicketFor, sendUser, sentTo, startStack, text, type TestStack } from '../support/harness';
import { launchChromium } from '../support/chromium';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts): this file's, through the whole service.
setDefaultTimeout(30_000);

/**
 * A known set of tickets, made through the real pipeline (webhooks, CRM
 * calls, deadlines), then every KPI checked: counts exactly, durations
 * against the ticket rows' own timestamps. And /dashboard in a browser, on a
 * service of its own seeded with ten days of tickets: it runs while the
 * known set waits for its deadlines.
 */
const METRICS_TOKEN = 'metrics-token-for-kpi-tests';
const ZONE = 'America/Bogota';
const SUSPENDED = '1010101010';
const ACTIVE = '2020202020';
let stack: TestStack;

const kpis = async (query: string, token = METRICS_TOKEN) => {
  const response = await fetch(`${stack.service.url}/api/metrics/kpis?${query}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: (await response.json()) as KpiReport & { error?: string } };
};

const handOver = (ticketId: string, phone: string, agentId: string, agentName: string) =>
  crmCall(stack, 'POST', '/api/crm/handover', { ticketId, userPhone: phone, agentId, agentName, handoverType: 'bot_to_human' });
const statusOf = async (ticketId: string) => (await crmCall(stack, 'GET', `/api/crm/handover-status/${ticketId}`)).body;

/** An agent takes the ticket, answers, resolves it; the user then answers the survey with `rating` (or skips it). */
async function resolvedTicket(phone: string, document: string, agent: [string, string], rating: string) {
  const ticketId = await openTicketFor(stack, phone, document);
  await handOver(ticketId, phone, ...agent);
  await eventually(async () => (await statusOf(ticketId)).status === 'active', 'active');
  await crmCall(stack, 'POST', '/api/crm/send-message', { ticketId, userPhone: phone, agentId: agent[0], message: 'Hola, te ayudo', messageType: 'text' });
  await eventually(async () => (await stack.sql`select first_agent_reply_at from tickets where id = ${ticketId}`)[0]?.first_agent_reply_at, 'first reply');
  await crmCall(stack, 'POST', '/api/crm/handover', { ticketId, userPhone: phone, handoverType: 'human_to_bot' });
  await eventually(() => sentTo(stack, phone).some((message) => message.type === 'interactive' && message.interactive.type === 'list'), 'survey');
  await sendUser(stack, phone, text(rating));
  await eventually(async () => ['answered', 'skipped'].includes((await statusOf(ticketId)).survey?.status), 'survey outcome');
  return ticketId;
}

/** Postgres's percentile_cont: linear interpolation between the closest ranks. */
function percentile(values: number[], fraction: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = fraction * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

function expectDurations(actual: Kpis['handoverWait'], seconds: number[]) {
  expect(actual.count).toBe(seconds.length);
  expect(actual.averageSeconds!).toBeCloseTo(seconds.reduce((sum, value) => sum + value, 0) / seconds.length, 3);
  expect(actual.medianSeconds!).toBeCloseTo(percentile(seconds, 0.5)!, 3);
  expect(actual.p90Seconds!).toBeCloseTo(percentile(seconds, 0.9)!, 3);
}

const between = (from: Date | null, to: Date | null) => (from && to ? (to.getTime() - from.getTime()) / 1000 : undefined);

/** Makes the known set: its unattended ticket takes two assignment deadlines to fall back, the seconds the dashboard's test runs in. */
async function makeKnownSet(): Promise<void> {
  stack = await startStack('kpis', {
    METRICS_TOKEN,
    // Short enough for the unattended ticket's fallback, long enough for the others to reach their agents first with
    // every core busy (3 s was not: the handovers came after it, and four tickets escalated).
    HANDOVER_ASSIGN_TIMEOUT_S: '8',
    HANDOVER_MAX_ESCALATIONS: '1',
    AGENT_REPLY_TIMEOUT_S: '600',
    QUEUE_UPDATE_INTERVAL_S: '600',
    SURVEY_TIMEOUT_S: '30',
  });
  // The known set, each ticket made by its own user at once: what the tests read, and nothing else.
  const cancelled = async () => {
    const ticketId = await openTicketFor(stack, '573000000904', ACTIVE);
    await sendUser(stack, '573000000904', text('cancelar'));
    await eventually(async () => (await statusOf(ticketId)).closeReason === 'cancelled', 'cancelled');
  };
  const withAgent = async () => {
    const ticketId = await openTicketFor(stack, '573000000906', SUSPENDED);
    await handOver(ticketId, '573000000906', 'agent_008', 'Lina Mora');
    await eventually(async () => (await statusOf(ticketId)).status === 'active', 'active');
  };
  // Nobody takes this one: one re-request, then the emergency-number fallback.
  const unattended = async () => {
    const ticketId = await openTicketFor(stack, '573000000905', ACTIVE);
    await eventually(async () => (await statusOf(ticketId)).closeReason === 'fallback', 'fallback', 40_000);
  };
  await Promise.all([
    resolvedTicket('573000000901', SUSPENDED, ['agent_007', 'Carlos Ruiz'], '5'),
    resolvedTicket('573000000902', ACTIVE, ['agent_008', 'Lina Mora'], '3'),
    resolvedTicket('573000000903', ACTIVE, ['agent_007', 'Carlos Ruiz'], 'hola'),
    cancelled(),
    withAgent(),
    unattended(),
  ]);
}

let knownSet: Promise<void>;
beforeAll(() => {
  knownSet = makeKnownSet();
  // Each test awaits it and reports its failure; unawaited here, it must not be an unhandled rejection.
  knownSet.catch(() => {});
});
afterAll(async () => {
  await knownSet.catch(() => {});
  await stack?.stop();
});
/** Long enough for the known set to be made first (two assignment deadlines and the rest), on a busy machine. */
const KNOWN_SET_TIMEOUT_MS = 90_000;

const today = () => DateTime.now().setZone(ZONE).toISODate()!;

describe.concurrent('GET /api/metrics/kpis', () => {
  test(
    'every KPI of the known set, exactly',
    async () => {
      await knownSet;
      const { status, body } = await kpis(`from=${today()}&to=${today()}&tz=${ZONE}`);
      expect(status).toBe(200);
      const totals = body.totals;
      expect(totals.tickets).toBe(6);
      expect(totals.categories).toEqual({ reactivacion_servicio: 2, soporte_agente: 4 });
      expect(totals.closed).toBe(5);
      expect(totals.resolved).toBe(3);
      expect(totals.resolutionRate).toBeCloseTo(3 / 5, 10);
      expect(totals.closeReasons).toEqual({
        resolved: 3,
        cancelled: 1,
        crm_unreachable: 0,
        fallback: 1,
        abandoned: 0,
        window_expired: 0,
        out_of_hours: 0,
      });
      expect(totals.csat).toEqual({ average: 4, offered: 3, responses: 2, responseRate: 2 / 3, distribution: { '1': 0, '2': 0, '3': 1, '4': 0, '5': 1 } });
      expect(totals.escalations).toBe(1);
      expect(totals.escalatedTickets).toBe(1);
      expect(totals.fallbacks).toBe(1);

      // The durations, against each ticket's own timestamps.
      const rows = await stack.sql`select requested_at, assigned_at, first_agent_reply_at, closed_at, close_reason from tickets`;
      const defined = (values: (number | undefined)[]) => values.filter((value): value is number => value !== undefined);
      expectDurations(totals.handoverWait, defined(rows.map((row) => between(row.requested_at, row.assigned_at))));
      expectDurations(totals.agentFirstResponse, defined(rows.map((row) => between(row.assigned_at, row.first_agent_reply_at))));
      expectDurations(
        totals.resolutionTime,
        defined(rows.filter((row) => row.close_reason === 'resolved').map((row) => between(row.requested_at, row.closed_at))),
      );
      expect(totals.handoverWait.count).toBe(4);
      expect(totals.agentFirstResponse.count).toBe(3);
    },
    KNOWN_SET_TIMEOUT_MS,
  );

  test(
    'by agent, by category and by day',
    async () => {
      await knownSet;
      const byAgent = (await kpis(`from=${today()}&to=${today()}&groupBy=agent`)).body;
      expect(byAgent.groups.map((group) => [group.key, group.label, group.kpis.tickets, group.kpis.resolved, group.kpis.csat.average])).toEqual([
        ['', '', 2, 0, null],
        ['agent_007', 'Carlos Ruiz', 2, 2, 5],
        ['agent_008', 'Lina Mora', 2, 1, 3],
      ]);
      expect(byAgent.totals.tickets).toBe(6);

      const byCategory = (await kpis(`from=${today()}&to=${today()}&groupBy=category`)).body;
      expect(byCategory.groups.map((group) => [group.key, group.kpis.tickets, group.kpis.closed, group.kpis.fallbacks])).toEqual([
        ['soporte_agente', 4, 4, 1],
        ['reactivacion_servicio', 2, 1, 0],
      ]);

      const byDay = (await kpis(`from=${today()}&to=${today()}&groupBy=day`)).body;
      const days = await stack.sql`select requested_at from tickets`;
      const expected = [
        ...new Set(
          days.map((row) =>
            DateTime.fromJSDate(row.requested_at as Date)
              .setZone(ZONE)
              .toISODate()!,
          ),
        ),
      ].sort();
      expect(byDay.groups.map((group) => group.key)).toEqual(expected);
      expect(byDay.groups.reduce((sum, group) => sum + group.kpis.tickets, 0)).toBe(6);
    },
    KNOWN_SET_TIMEOUT_MS,
  );

  test(
    'a range without tickets, and the errors',
    async () => {
      await knownSet;
      const empty = (await kpis('from=2020-01-01&to=2020-01-31&groupBy=day')).body;
      expect(empty.totals.tickets).toBe(0);
      expect(empty.totals.resolutionRate).toBeNull();
      expect(empty.totals.handoverWait).toEqual({ count: 0, averageSeconds: null, medianSeconds: null, p90Seconds: null });
      expect(empty.groups).toEqual([]);
      expect((await kpis(`from=${today()}&to=${today()}`, 'wrong')).status).toBe(401);
      expect((await kpis('from=2026-02-01&to=2026-01-01')).body.error).toBe('invalid_range');
      expect((await kpis('from=2024-01-01&to=2026-01-01')).body.error).toBe('invalid_range');
      expect((await kpis('from=2026-01-01&to=2026-01-31&tz=Mars/Olympus')).body.error).toBe('invalid_time_zone');
      expect((await kpis('from=yesterday&to=2026-01-31')).status).toBe(400);
      expect((await kpis('from=2026-01-01&to=2026-01-31&groupBy=hour')).status).toBe(400);
    },
    KNOWN_SET_TIMEOUT_MS,
  );
});

describe.concurrent('GET /metrics', () => {
  test(
    'Prometheus exposition of requests, webhook events, streams, open tickets and handover durations',
    async () => {
      await knownSet;
      const response = await fetch(`${stack.service.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/plain');
      const lines = (await response.text()).split('\n');
      const value = (series: string) => {
        const line = lines.find((candidate) => candidate.startsWith(`${series} `));
        return line === undefined ? undefined : Number(line.slice(series.length + 1));
      };
      expect(value('handover_http_request_duration_seconds_count{method="POST",route="/webhook",status="200"}')).toBeGreaterThan(0);
      expect(value('handover_http_request_duration_seconds_count{method="GET",route="/api/crm/handover-status/:ticketId",status="200"}')).toBeGreaterThan(0);
      expect(value('handover_webhook_events_total{type="user.message"}')).toBeGreaterThanOrEqual(19);
      expect(value('handover_stream_pending{partition="0"}')).toBe(0);
      expect(value('handover_stream_lag{partition="0"}')).toBe(0);
      expect(value('handover_open_tickets{phase="with_agent"}')).toBe(1);
      expect(value('handover_wait_seconds_count{category="reactivacion_servicio"}')).toBe(2);
      expect(value('handover_wait_seconds_count{category="soporte_agente"}')).toBe(2);
      expect(value('handover_ticket_duration_seconds_count{category="soporte_agente",close_reason="resolved"}')).toBe(2);
      expect(value('handover_ticket_duration_seconds_count{category="soporte_agente",close_reason="fallback"}')).toBe(1);
      expect(value('handover_ticket_duration_seconds_count{category="reactivacion_servicio",close_reason="resolved"}')).toBe(1);
      expect(value('handover_circuit_open{destination="whatsapp"}')).toBe(0);
    },
    KNOWN_SET_TIMEOUT_MS,
  );
});

/**
 * /dashboard in Debian's Chromium (installed by .ci/run), on a database
 * seeded with ten days of tickets and one lone day: every chart draws data,
 * changing the range changes it, and a screenshot is kept in artifacts/.
 */
const DASHBOARD_TOKEN = 'metrics-token-for-the-dashboard';
const SCREENSHOT = join(import.meta.dir, '../../artifacts/dashboard.png');
let dashboard: TestStack;
let browser: Browser;

beforeAll(async () => {
  dashboard = await startStack('dashboard', { METRICS_TOKEN: DASHBOARD_TOKEN });
  // Ten days of November 2026 (Bogotá), 3 to 12 tickets a day, two agents, both categories, every close reason the charts show.
  await dashboard.sql`
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
  await dashboard.sql`
    insert into ticket_kpis (ticket_id, requested_at, assigned_at, first_agent_reply_at, closed_at, status, close_reason, category, priority,
                             agent_id, agent_name, escalations, csat, survey_status)
    select id, requested_at, assigned_at, first_agent_reply_at, closed_at, status, close_reason, category, priority, agent_id, agent_name,
           escalations, csat, survey_status from tickets`;
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await dashboard?.stop();
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
  await page.goto(`${dashboard.service.url}/dashboard?from=${from}&to=${to}`);
  await page.fill('#token', token);
  await page.click('button[type=submit]');
  await page.waitForSelector('body[data-state=ready], body[data-state=error]');
  return page;
}

test.concurrent(
  'the dashboard: before a token is typed, the page asks for it and shows no empty cards or charts',
  async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(`${dashboard.service.url}/dashboard`);
    const prompt = page.locator('#prompt');
    expect(await prompt.isVisible()).toBe(true);
    expect(await prompt.innerText()).toContain('Escriba el token');
    expect(await prompt.innerText()).toContain('METRICS_TOKEN');
    expect(await page.locator('#summary').isVisible()).toBe(false);
    expect(await page.locator('.grid').isVisible()).toBe(false);
    expect(await page.evaluate(() => [document.body.dataset.state, document.activeElement?.id])).toEqual(['idle', 'token']);
    await page.close();
  },
  30_000,
);

test.concurrent(
  'the dashboard: a wrong token is one sentence in Spanish, and no report stays on the page',
  async () => {
    const page = await openWithToken('not-the-token', '2026-11-01', '2026-11-10');
    expect(await page.evaluate(() => document.body.dataset.state)).toBe('error');
    expect(await page.textContent('#status')).toBe('El token no es correcto. Escriba el METRICS_TOKEN del servicio y pulse Actualizar.');
    expect(await page.locator('#report').isVisible()).toBe(false);

    // A good token shows the report; a wrong one after it takes it away again.
    await page.fill('#token', DASHBOARD_TOKEN);
    await page.click('button[type=submit]');
    await page.waitForSelector('body[data-state=ready]');
    expect(await page.locator('#report').isVisible()).toBe(true);
    await page.fill('#token', 'wrong');
    await page.click('button[type=submit]');
    await page.waitForSelector('body[data-state=error]');
    expect(await page.locator('#report').isVisible()).toBe(false);
    expect(await page.textContent('#status')).toBe('El token no es correcto. Escriba el METRICS_TOKEN del servicio y pulse Actualizar.');

    // Dates the service would refuse are said before asking it.
    await page.fill('#token', DASHBOARD_TOKEN);
    await page.fill('#from', '2026-11-10');
    await page.fill('#to', '2026-11-01');
    await page.click('button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'La fecha «Hasta» es anterior a «Desde».');
    await page.close();
  },
  30_000,
);

test.concurrent(
  'the dashboard: a category has one colour in every chart, used for nothing else',
  async () => {
    const page = await openWithToken(DASHBOARD_TOKEN, '2026-11-01', '2026-11-10');
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
  },
  30_000,
);

test.concurrent(
  "the dashboard, a single day: counts step by whole numbers, and the day's times are bars, not a lone dot",
  async () => {
    const page = await openWithToken(DASHBOARD_TOKEN, LONE_DAY, LONE_DAY);
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
  },
  30_000,
);

test.concurrent(
  'the dashboard: every chart draws the seeded data; a narrower range redraws it; the numbers are in the tables',
  async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1800 } });
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    // Chromium reports what the Content-Security-Policy blocked as console errors.
    page.on('console', (message) => message.text().includes('Content Security Policy') && problems.push(message.text()));
    await page.goto(`${dashboard.service.url}/dashboard?from=2026-11-01&to=2026-11-10`);
    await page.fill('#token', DASHBOARD_TOKEN);
    await page.click('button[type=submit]');
    await page.waitForSelector('body[data-state=ready]');

    // The token lives as long as the tab, never on disk.
    expect(await page.evaluate(() => [localStorage.length, Object.values(sessionStorage)])).toEqual([0, [DASHBOARD_TOKEN]]);

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
  },
  60_000,
);
