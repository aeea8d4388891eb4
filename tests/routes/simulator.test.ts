import { afterAll, beforeAll, expect, test } from 'bun:test';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { simulatorRoutes } from '../../src/demo/routes';
import { createWorld } from '../../src/demo/world';
import { createQueries } from '../../src/db/queries';
import { createLogger } from '../../src/logger';
import { createServiceMetrics } from '../../src/boot/metrics';
import { createAppliedEvents, subscriberConnection } from '../../src/streams/applied';
import { streamKeys } from '../../src/streams/codec';
import { createDeadLetters } from '../../src/streams/dead-letters';
import { createProducer } from '../../src/streams/producer';
import { routeContext, type RouteContext } from './support';

let context: RouteContext;
beforeAll(async () => {
  context = await routeContext('simulator');
});
afterAll(() => context.close());

/** The app as index.ts builds it, handed the simulator's routes, with DEMO_MODE as given. */
function appWithSimulator(demoMode: string) {
  const config = loadConfig({ NODE_ENV: 'test', REDIS_KEY_PREFIX: `hbtest:routes:simulator:${process.pid}:`, DEMO_MODE: demoMode });
  const keys = streamKeys(config.REDIS_KEY_PREFIX);
  const deadLetters = createDeadLetters(context.redis, keys, config.STREAM_PARTITIONS);
  const demoRoutes = simulatorRoutes({
    world: createWorld(),
    serviceUrl: () => 'http://127.0.0.1:9',
    crmApiToken: 'demo',
    metaWebhookSecret: 'demo',
    phoneNumberId: '1',
    agent: { id: 'a', name: 'A' },
    loopbackOnly: true,
  });
  return createApp({
    config,
    database: context.database,
    redis: context.redis,
    producer: createProducer(context.redis, keys, config.STREAM_PARTITIONS),
    // Not subscribed: these tests send no CRM request that would wait on it.
    appliedEvents: createAppliedEvents({
      redis: context.redis,
      subscriber: () => subscriberConnection(context.redis),
      keys,
      partitions: config.STREAM_PARTITIONS,
      committedOf: createQueries(context.database.db).committedOf,
      logger: createLogger('silent'),
    }),
    deadLetters,
    metrics: createServiceMetrics({ database: context.database, deadLetters, redis: context.redis, keys, partitions: config.STREAM_PARTITIONS }),
    logger: createLogger('silent'),
    demoRoutes,
  });
}

const get = (app: ReturnType<typeof createApp>, path: string) => app.handle(new Request(`http://localhost${path}`));

test('without DEMO_MODE the simulator and its API do not exist, even when the routes are handed to the app', async () => {
  const app = appWithSimulator('false');
  for (const path of ['/simulator', '/simulator/simulator.js', '/simulator/api/state']) {
    const response = await get(app, path);
    expect({ path, status: response.status, body: await response.json() }).toMatchObject({ path, status: 404, body: { error: 'route_not_found' } });
  }
});

test("with DEMO_MODE the simulator page is served under the dashboard's strict policy", async () => {
  const response = await get(appWithSimulator('true'), '/simulator');
  expect(response.status).toBe(200);
  expect(await response.text()).toContain('<script src="/simulator/simulator.js"></script>');
  expect(response.headers.get('content-security-policy')).toContain("script-src 'self';");
});
