import { expect, test } from 'bun:test';
import { SECRETS } from '../../support/harness';
import { ADMIN_TOKEN, freshPhone, hostileStack, METRICS_TOKEN } from './support';

/**
 * Issue 13, item 6: rate limits that cannot be turned against the CRM.
 * Budgets small enough to spend in a test, no proxy trusted: every request
 * here comes from 127.0.0.1, whatever X-Forwarded-For says.
 */
const hostile = hostileStack('hostile_limits', { CRM_RATE_LIMIT_PER_MINUTE: '3', ADMIN_RATE_LIMIT_PER_MINUTE: '3' });

const statuses = async (count: number, request: (n: number) => Promise<Response>) => {
  const seen: number[] = [];
  for (let n = 0; n < count; n++) seen.push((await request(n)).status);
  return seen;
};
const get = (path: string, headers: Record<string, string>) => fetch(hostile.url(path), { headers });

test('wrong tokens, each with a forged X-Forwarded-For, spend one budget of failures; the CRM keeps its own', async () => {
  const junk = await statuses(4, (n) =>
    get('/api/crm/handover-status/TK-2026-000001', { authorization: `Bearer guess-${n}`, 'x-forwarded-for': `203.0.113.${n}` }),
  );
  expect(junk).toEqual([401, 401, 401, 429]);
  const refused = (await (await get('/api/crm/handover-status/TK-2026-000001', { authorization: 'Bearer guess' })).json()) as Record<string, string>;
  expect(refused).toMatchObject({ success: false, error: 'rate_limited' });

  expect((await get('/api/crm/handover-status/TK-2026-000001', { authorization: `Bearer ${SECRETS.crmToken}` })).status).toBe(404);
  await hostile.stillFlows(freshPhone());
});

test('the admin API has a limit of its own', async () => {
  expect(await statuses(4, () => get('/api/admin/dead-letters', { authorization: `Bearer ${ADMIN_TOKEN}` }))).toEqual([200, 200, 200, 429]);
  await hostile.stillFlows(freshPhone());
});

test('the KPIs and /metrics share a limit', async () => {
  const kpis = () => get('/api/metrics/kpis?from=2026-11-01&to=2026-11-02', { authorization: `Bearer ${METRICS_TOKEN}` });
  expect(await statuses(3, kpis)).toEqual([200, 200, 200]);
  expect((await get('/metrics', { authorization: `Bearer ${METRICS_TOKEN}` })).status).toBe(429);
  await hostile.stillFlows(freshPhone());
});
