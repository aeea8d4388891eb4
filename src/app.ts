import { Elysia } from 'elysia';
import type Redis from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from './config';
import type { Database } from './db/client';
import { createQueries } from './db/queries';
import { AppError, errorDetail, errorSummary, isDatabaseOutage, tooManyRequests } from './errors';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import { adminRoutes } from './routes/admin';
import { dashboardRoutes } from './routes/dashboard';
import { kpiRoutes } from './routes/kpis';
import { crmRoutes } from './routes/crm';
import { healthRoutes } from './routes/health';
import { webhookRoutes } from './routes/webhook';
import type { DeadLetters } from './streams/dead-letters';
import type { Producer } from './streams/producer';

export interface AppDeps {
  config: Config;
  database: Database;
  redis: Redis;
  producer: Producer;
  deadLetters: DeadLetters;
  metrics: Metrics;
  logger: Logger;
}

const errorBody = (status: number, error: string, message: string) =>
  new Response(JSON.stringify({ success: false, error, message }), { status, headers: { 'content-type': 'application/json' } });

/**
 * A per-client request budget shared by every instance through Redis; if
 * Redis itself fails the in-memory insurance limiter keeps counting.
 */
function rateLimiter(redis: Redis, prefix: string, name: string, perMinute: number) {
  return new RateLimiterRedis({
    storeClient: redis,
    keyPrefix: `${prefix}ratelimit:${name}`,
    points: perMinute,
    duration: 60,
    insuranceLimiter: new RateLimiterMemory({ points: perMinute, duration: 60 }),
  });
}

/** Builds the HTTP app. Tests call `app.handle(new Request(...))`; index.ts listens. */
export function createApp(deps: AppDeps) {
  const { config, logger } = deps;
  const queries = createQueries(deps.database.db);
  const limiters = {
    // Per instance, in memory: the webhook is the hot path (a Redis round trip per request cost a quarter of its
    // throughput, docs/bench-ingest.md), and a flood is stopped as well by each instance's own budget.
    webhook: new RateLimiterMemory({ points: config.WEBHOOK_RATE_LIMIT_PER_MINUTE, duration: 60 }),
    crm: rateLimiter(deps.redis, config.REDIS_KEY_PREFIX, 'crm', config.CRM_RATE_LIMIT_PER_MINUTE),
  };

  /** The JSON error body for anything a route threw; unexpected errors are logged without their query parameters. */
  function errorResponse(code: string | number, error: unknown, request: Request): Response {
    if (error instanceof AppError) {
      if (error.status >= 500)
        logger.error({ event: 'http.error', path: new URL(request.url).pathname, code: error.code, error: error.message }, 'request failed');
      return errorBody(error.status, error.code, error.message);
    }
    if (isDatabaseOutage(error)) {
      logger.warn(
        { event: 'http.database_unavailable', path: new URL(request.url).pathname, error: errorSummary(error) },
        'database unavailable; asked the caller to retry',
      );
      return errorBody(503, 'database_unavailable', 'the database is unavailable; retry later');
    }
    if (code === 'NOT_FOUND') return errorBody(404, 'route_not_found', `no route for ${request.method} ${new URL(request.url).pathname}`);
    if (code === 'PARSE') return errorBody(400, 'invalid_body', 'request body could not be parsed');
    if (code === 'VALIDATION') return errorBody(400, 'invalid_request', String((error as Error).message).slice(0, 500));
    logger.error({ event: 'http.unhandled', path: new URL(request.url).pathname, error: errorDetail(error) }, 'unhandled error');
    return errorBody(500, 'internal_error', 'internal error; the event was not accepted, retry later');
  }

  const startedAt = new WeakMap<Request, number>();

  return new Elysia()
    .onRequest(({ request }) => {
      startedAt.set(request, performance.now());
    })
    .onAfterResponse(({ request, route, set, responseValue }) => {
      const started = startedAt.get(request);
      if (started === undefined) return;
      // A handler's own Response carries its status; errors set it in onError.
      const status = responseValue instanceof Response ? responseValue.status : typeof set.status === 'number' ? set.status : 200;
      deps.metrics.httpDuration.observe({ method: request.method, route: route || 'unmatched', status: String(status) }, (performance.now() - started) / 1000);
    })
    .onError(({ code, error, request, set }) => {
      const response = errorResponse(code, error, request);
      set.status = response.status;
      return response;
    })
    .onBeforeHandle(async ({ request, server }) => {
      const path = new URL(request.url).pathname;
      const limiter = path.startsWith('/api/crm') ? limiters.crm : path === '/webhook' ? limiters.webhook : undefined;
      if (!limiter) return;
      const client = server?.requestIP(request)?.address ?? 'unknown';
      try {
        await limiter.consume(client);
      } catch (rejection) {
        if (rejection instanceof RateLimiterRes) throw tooManyRequests(Math.ceil(rejection.msBeforeNext / 1000));
        throw rejection;
      }
    })
    .use(healthRoutes({ timeoutMs: 2000, checks: { redis: async () => void (await deps.redis.ping()), database: () => deps.database.ping() } }))
    .use(
      webhookRoutes({
        verifyToken: config.WEBHOOK_VERIFY_TOKEN,
        appSecret: config.META_WEBHOOK_SECRET,
        maxBodyBytes: config.MAX_BODY_BYTES,
        producer: deps.producer,
        logger,
        webhookEvents: deps.metrics.webhookEvents,
      }),
    )
    .use(
      crmRoutes({
        apiToken: config.CRM_API_TOKEN,
        windowS: config.WHATSAPP_WINDOW_S,
        reengageTemplate: config.WHATSAPP_REENGAGE_TEMPLATE !== '',
        appSecret: config.META_WEBHOOK_SECRET,
        crmAppId: config.CRM_META_APP_ID,
        maxBodyBytes: config.MAX_BODY_BYTES,
        queries,
        producer: deps.producer,
        logger,
      }),
    )
    .use(dashboardRoutes())
    .use(kpiRoutes({ metricsToken: config.METRICS_TOKEN, businessTimeZone: config.TZ_BUSINESS, database: deps.database }))
    .use(adminRoutes({ adminToken: config.ADMIN_TOKEN, metricsToken: config.METRICS_TOKEN, deadLetters: deps.deadLetters, metrics: deps.metrics, logger }));
}

export type App = ReturnType<typeof createApp>;
