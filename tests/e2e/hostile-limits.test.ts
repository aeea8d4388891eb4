import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { eventually, SECRETS, sendUser, startStack, text, type TestStack } from '../support/harness';

/**
 * Issue 13, item 6, over real sockets: each case asserts the exact statuses,
 * then that a legitimate message is applied within a second.
 */
const ADMIN_TOKEN = 'admin-token-for-hostile-limits';
const METRICS_TOKEN = 'metrics-token-for-hostile-limits';
const FLOWS_WITHIN_MS = 1000;

let phones = 0;
const freshPhone = () => `5732${String(process.pid % 1000).padStart(3, '0')}${String(++phones).padStart(5, '0')}`;

async function stillFlows(phone: string, on: TestStack): Promise<void> {
  const id = await sendUser(on, phone, text('¿siguen ahí?'));
  await eventually(
    async () => (await on.sql`select 1 from processed_events where id = ${`wa:msg:${id}`}`).length > 0,
    `the message from ${phone}`,
    FLOWS_WITHIN_MS,
  );
}

/** 6. Budgets small enough to spend in a test, no proxy trusted: every request here comes from 127.0.0.1. */
describe('rate limits that cannot be turned against the CRM', () => {
  let limited: TestStack;
  beforeAll(async () => {
    limited = await startStack('hostile_limits', { ADMIN_TOKEN, METRICS_TOKEN, CRM_RATE_LIMIT_PER_MINUTE: '3', ADMIN_RATE_LIMIT_PER_MINUTE: '3' });
  }, 30_000);
  afterAll(() => limited.stop());

  const statuses = async (count: number, request: (n: number) => Promise<Response>) => {
    const seen: number[] = [];
    for (let n = 0; n < count; n++) seen.push((await request(n)).status);
    return seen;
  };
  const get = (path: string, headers: Record<string, string>) => fetch(`${limited.service.url}${path}`, { headers });

  test('wrong tokens, each with a forged X-Forwarded-For, spend one budget of failures; the CRM keeps its own', async () => {
    const junk = await statuses(4, (n) =>
      get('/api/crm/handover-status/TK-2026-000001', { authorization: `Bearer guess-${n}`, 'x-forwarded-for': `203.0.113.${n}` }),
    );
    expect(junk).toEqual([401, 401, 401, 429]);
    const limitedAnswer = (await (await get('/api/crm/handover-status/TK-2026-000001', { authorization: 'Bearer guess' })).json()) as Record<string, string>;
    expect(limitedAnswer).toMatchObject({ success: false, error: 'rate_limited' });

    expect((await get('/api/crm/handover-status/TK-2026-000001', { authorization: `Bearer ${SECRETS.crmToken}` })).status).toBe(404);
    await stillFlows(freshPhone(), limited);
  });

  test('the admin API has a limit of its own', async () => {
    expect(await statuses(4, () => get('/api/admin/dead-letters', { authorization: `Bearer ${ADMIN_TOKEN}` }))).toEqual([200, 200, 200, 429]);
    await stillFlows(freshPhone(), limited);
  });

  test('the KPIs and /metrics share a limit', async () => {
    const kpis = () => get('/api/metrics/kpis?from=2026-11-01&to=2026-11-02', { authorization: `Bearer ${METRICS_TOKEN}` });
    expect(await statuses(3, kpis)).toEqual([200, 200, 200]);
    expect((await get('/metrics', { authorization: `Bearer ${METRICS_TOKEN}` })).status).toBe(429);
    await stillFlows(freshPhone(), limited);
  });
});
