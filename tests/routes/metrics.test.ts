import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { bearer, call, jsonRequest, METRICS_TOKEN, routeContext, type RouteContext, type TestApp } from './support';

let context: RouteContext;
let app: TestApp;
beforeAll(async () => {
  context = await routeContext('metrics');
  app = context.app();
});
afterAll(() => context.close());

const kpis = (target: TestApp, query: string, token = METRICS_TOKEN) =>
  call(target, jsonRequest('GET', `/api/metrics/kpis?${query}`, undefined, bearer(token)));

describe('GET /metrics', () => {
  test("Prometheus' text exposition, with the METRICS_TOKEN", async () => {
    const response = await app.handle(jsonRequest('GET', '/metrics', undefined, bearer(METRICS_TOKEN)));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    expect(await response.text()).toContain('\nhandover_dead_letter_entries 0\n');
  });

  test('refused without the token when one is set; open when METRICS_TOKEN is unset', async () => {
    const refused = await call(app, jsonRequest('GET', '/metrics'));
    expect(refused).toMatchObject({ status: 401, body: { success: false, error: 'unauthorized' } });
    expect(refused.body.message).toContain('METRICS_TOKEN');
    const open = context.app({ METRICS_TOKEN: '' });
    expect((await open.handle(jsonRequest('GET', '/metrics'))).status).toBe(200);
  });
});

describe('GET /api/metrics/kpis', () => {
  test('the KPIs of a range without tickets', async () => {
    const { status, body } = await kpis(app, 'from=2020-01-01&to=2020-01-31&groupBy=day&tz=America/Bogota');
    expect(status).toBe(200);
    expect(body.totals).toMatchObject({ tickets: 0, resolutionRate: null });
    expect(body.groups).toEqual([]);
  });

  test('a malformed date, a range backwards or too long, an unknown zone or grouping are 400s that say which', async () => {
    const malformed = await kpis(app, 'from=yesterday&to=2026-01-31');
    expect(malformed).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    expect(malformed.body.message).toContain('from');
    expect((await kpis(app, 'to=2026-01-31')).body.message).toBe('from is required');
    expect((await kpis(app, 'from=2026-02-30&to=2026-03-01')).body.message).toBe('from and to must be real dates (YYYY-MM-DD)');
    expect((await kpis(app, 'from=2026-02-01&to=2026-01-01')).body).toMatchObject({ error: 'invalid_range', message: 'to is before from' });
    expect((await kpis(app, 'from=2024-01-01&to=2026-01-01')).body.error).toBe('invalid_range');
    expect((await kpis(app, 'from=2026-01-01&to=2026-01-31&tz=Mars/Olympus')).body.error).toBe('invalid_time_zone');
    expect((await kpis(app, 'from=2026-01-01&to=2026-01-31&groupBy=hour')).body.message).toBe('groupBy: expected one of day, agent, category, number');
  });

  test('dates no ticket can have (year 0, year 9999) are 400s that say which, never a database error', async () => {
    expect(await kpis(app, 'from=0000-01-01&to=0000-01-02')).toMatchObject({ status: 400, body: { message: 'from must be a date between 2009 and 2999' } });
    expect(await kpis(app, 'from=2026-01-01&to=9999-12-31')).toMatchObject({ status: 400, body: { message: 'to must be a date between 2009 and 2999' } });
    expect((await kpis(app, 'from=9999-12-30&to=9999-12-31')).status).toBe(400);
  });

  test('the token is required even when /metrics is open', async () => {
    const open = context.app({ METRICS_TOKEN: '' });
    expect((await kpis(open, 'from=2020-01-01&to=2020-01-01', '')).status).toBe(401);
    for (const headers of [{}, bearer('wrong'), { authorization: `BearerX${METRICS_TOKEN}` }]) {
      expect((await call(app, jsonRequest('GET', '/api/metrics/kpis?from=2020-01-01&to=2020-01-01', undefined, headers))).status).toBe(401);
    }
    expect((await call(app, jsonRequest('GET', `/api/metrics/kpis?from=2020-01-01&to=2020-01-01&access_token=${METRICS_TOKEN}`))).status).toBe(401);
  });

  test('a supervisor over ADMIN_RATE_LIMIT_PER_MINUTE gets 429; wrong tokens do not spend that budget', async () => {
    const limited = context.app({ ADMIN_RATE_LIMIT_PER_MINUTE: '2' });
    const guesses = [];
    for (let n = 0; n < 3; n++) guesses.push((await kpis(limited, 'from=2020-01-01&to=2020-01-01', `guess-${n}`)).status);
    expect(guesses).toEqual([401, 401, 429]);
    const supervisor = [];
    for (let n = 0; n < 3; n++) supervisor.push((await kpis(limited, 'from=2020-01-01&to=2020-01-01')).status);
    expect(supervisor).toEqual([200, 200, 429]);
  });
});
