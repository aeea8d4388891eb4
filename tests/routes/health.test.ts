import { afterAll, beforeAll, expect, test } from 'bun:test';
import { healthRoutes } from '../../src/routes/health';
import { routeContext, type RouteContext } from './support';

let context: RouteContext;
beforeAll(async () => {
  context = await routeContext('health');
});
afterAll(() => context.close());

test('live answers while the process runs; ready when Redis and Postgres both answer', async () => {
  const app = context.app();
  const live = await app.handle(new Request('http://localhost/health/live'));
  expect(await live.json()).toEqual({ status: 'ok' });
  const ready = await app.handle(new Request('http://localhost/health/ready'));
  expect(ready.status).toBe(200);
  // No template the service sends has changed: nothing to say of them.
  expect(await ready.json()).toEqual({ status: 'ready', checks: { redis: 'ok', database: 'ok' }, templates: {} });
});

test('an unknown route is a JSON 404', async () => {
  const response = await context.app().handle(new Request('http://localhost/api/crm/nothing'));
  expect(response.status).toBe(404);
  expect(await response.json()).toMatchObject({ success: false, error: 'route_not_found' });
});

test('a check or a detail that never answers (a half-open connection) makes ready say so, instead of hanging', async () => {
  const never = () => new Promise<never>(() => {});
  const app = healthRoutes({ checks: { redis: never, database: async () => {} }, details: never, timeoutMs: 50 });
  const ready = await app.handle(new Request('http://localhost/health/ready'));
  expect(ready.status).toBe(503);
  expect(await ready.json()).toEqual({ status: 'not_ready', checks: { redis: 'unavailable: no answer in 50 ms', database: 'ok' } });
});
