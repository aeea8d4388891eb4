import { Elysia, type AnyElysia } from 'elysia';
import type Redis from 'ioredis';
import { join } from 'node:path';
import { numbersOf, ratesOf, trustedProxies, type Config } from './config';
import type { Database } from './db/client';
import { createQueries } from './db/queries';
import { AppError, errorDetail, errorSummary, isDatabaseOutage } from './errors';
import { externalDirectoryOf } from './integrations/customers';
import { mediaHostPolicy } from './integrations/media-hosts';
import { createWhatsAppMedia } from './integrations/whatsapp-media';
import type { Logger } from './logger';
import { createMediaCache } from './media/cache';
import { createSubscriberRights } from './privacy/subscribers';
import { streamKeys } from './streams/codec';
import { childFor, type Metrics, type Ownership } from './observability/metrics';
import { adminRoutes } from './routes/admin';
import { crmRoutes } from './routes/crm';
import { redisIdempotencyKeys } from './routes/crm/idempotency';
import { createCrmService } from './routes/crm/service';
import { dashboardRoutes } from './routes/dashboard';
import { healthRoutes } from './routes/health';
import { assertDeclaredSize } from './routes/http/body';
import { clientAddressOf } from './routes/http/client-address';
import { createRejectionLog } from './routes/http/rejection-log';
import { memoryRateLimit, redisRateLimit, reservedRedisRateLimit } from './rate-limits/budgets';
import { metaRoutes } from './routes/meta';
import { servedByBun, webhookHandler } from './routes/meta/webhook';
import { createMetaService } from './routes/meta/service';
import { mediaRoutes } from './routes/media';
import { createTemplateStatus } from './redis/template-status';
import { createMediaService, type MediaServiceDeps } from './routes/media/service';
import { metricsRoutes } from './routes/metrics';
import { liveRoutes } from './routes/live';
import { createLiveView, type LiveFeed } from './live';
import { openApiRoutes } from './routes/openapi';
import type { AppliedEvents } from './streams/applied';
import type { DeadLetters } from './streams/dead-letters';
import type { Producer } from './streams/producer';

export interface AppDeps {
  config: Config;
  database: Database;
  redis: Redis;
  producer: Producer;
  /** What the CRM routes wait on: their event committed by the partition's owner (DESIGN 2.1). */
  appliedEvents: AppliedEvents;
  deadLetters: DeadLetters;
  metrics: Metrics;
  logger: Logger;
  /** The partitions this instance holds, shown by /health/ready. */
  ownership?: () => Ownership;
  /** Where media users sent are fetched from and kept; by default WhatsApp's media API and DATA_DIR/media. */
  media?: Pick<MediaServiceDeps, 'whatsapp' | 'cache'>;
  /** The live views this instance serves (GET /api/live); index.ts closes them before the server stops. */
  live?: LiveFeed;
  /** The simulator's routes (src/demo), mounted only when DEMO_MODE is on. */
  demoRoutes?: AnyElysia;
}

const errorBody = (status: number, error: string, message: string) =>
  new Response(JSON.stringify({ success: false, error, message }), { status, headers: { 'content-type': 'application/json' } });

const DAY_MS = 24 * 3600 * 1000;

function mediaSources(config: Config): Pick<MediaServiceDeps, 'whatsapp' | 'cache'> {
  return {
    whatsapp: createWhatsAppMedia({
      apiUrl: config.WHATSAPP_API_URL,
      token: config.WHATSAPP_TOKEN,
      timeoutMs: config.HTTP_TIMEOUT_MS,
      allowed: mediaHostPolicy(config.WHATSAPP_MEDIA_HOSTS, config.WHATSAPP_API_URL),
    }),
    cache: createMediaCache({
      dir: join(config.DATA_DIR, 'media'),
      retentionMs: config.MEDIA_RETENTION_DAYS * DAY_MS,
      maxBytes: config.MEDIA_CACHE_MAX_BYTES,
      idleTimeoutMs: config.HTTP_TIMEOUT_MS,
    }),
  };
}

/** Builds the HTTP app. Tests call `app.handle(new Request(...))`; index.ts listens. */
export function createApp(deps: AppDeps) {
  const { config, logger } = deps;
  const queries = createQueries(deps.database.db);
  const media = deps.media ?? mediaSources(config);
  const clientAddress = clientAddressOf(trustedProxies(config));
  // Operators' budgets: per instance, so /metrics still answers while Redis is down.
  const operatorLimits = () => ({
    clientAddress,
    failures: memoryRateLimit(config.ADMIN_RATE_LIMIT_PER_MINUTE),
    authenticated: memoryRateLimit(config.ADMIN_RATE_LIMIT_PER_MINUTE),
  });

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
  const crmGuard = {
    secretName: 'CRM_API_TOKEN',
    token: config.CRM_API_TOKEN,
    clientAddress,
    failures: redisRateLimit(deps.redis, `${config.REDIS_KEY_PREFIX}ratelimit:crm-auth-failures`, config.CRM_RATE_LIMIT_PER_MINUTE),
    authenticated: reservedRedisRateLimit(deps.redis, `${config.REDIS_KEY_PREFIX}ratelimit:crm`, config.CRM_RATE_LIMIT_PER_MINUTE),
  };
  const templateStatuses = createTemplateStatus(deps.redis, streamKeys(config.REDIS_KEY_PREFIX).templates);
  const metaService = createMetaService({
    queries,
    producer: deps.producer,
    logger,
    webhookEvents: deps.metrics.webhookEvents,
    crmAppId: config.CRM_META_APP_ID,
    numbers: numbersOf(config),
    templates: { used: [config.WHATSAPP_REENGAGE_TEMPLATE].filter((name) => name !== ''), statuses: templateStatuses },
  });
  const signed = {
    secret: config.META_WEBHOOK_SECRET,
    maxBodyBytes: config.MAX_BODY_BYTES,
    clientAddress,
    // In memory: the webhook is the hot path (a Redis round trip per request cost a quarter of its throughput,
    // docs/bench-ingest.md), and a flood of bad signatures is stopped as well by each instance's own budget.
    unsigned: memoryRateLimit(config.WEBHOOK_RATE_LIMIT_PER_MINUTE),
    rejections: createRejectionLog(logger, { event: 'webhook.signature_rejected' }),
  };
  const webhookDuration = childFor((status) => deps.metrics.httpDuration.labels({ method: 'POST', route: '/webhook', status }));
  const webhook = webhookHandler({ service: metaService, signed, errorResponse: (error, request) => errorResponse('UNKNOWN', error, request) });
  const bunWebhook = servedByBun(webhook, (status, seconds) => webhookDuration(String(status)).observe(seconds));

  // One POST /webhook handler: Bun's router serves it when the app listens; the Elysia route (app.handle) delegates to it.
  return new Elysia({ serve: { routes: { '/webhook': { POST: bunWebhook } } } })
    .onRequest(({ request }) => {
      startedAt.set(request, performance.now());
      // On every route, known or not: past MAX_BODY_BYTES the answer is the JSON 413, never Bun's empty one.
      assertDeclaredSize(request, config.MAX_BODY_BYTES);
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
    .use(
      healthRoutes({
        timeoutMs: 2000,
        checks: { redis: async () => void (await deps.redis.ping()), database: () => deps.database.ping() },
        details: async () => ({
          ...(deps.ownership ? { partitions: partitionsView(deps.ownership()) } : {}),
          // What Meta last said of the templates the service sends: a paused re-engagement template is seen here.
          templates: await templateStatuses.all().catch(() => 'unavailable'),
        }),
      }),
    )
    .use(
      metaRoutes({
        service: metaService,
        verifyToken: config.WEBHOOK_VERIFY_TOKEN,
        signed,
        webhook,
        verifications: createRejectionLog(logger, { event: 'webhook.verification_rejected' }),
      }),
    )
    .use(
      crmRoutes({
        service: createCrmService({
          queries,
          producer: deps.producer,
          window: { windowS: config.WHATSAPP_WINDOW_S, reengageTemplate: config.WHATSAPP_REENGAGE_TEMPLATE !== '' },
          idempotency: redisIdempotencyKeys(deps.redis, config.REDIS_KEY_PREFIX, config.CRM_IDEMPOTENCY_TTL_S),
          applied: deps.appliedEvents,
          applyTimeoutMs: config.CRM_APPLY_TIMEOUT_MS,
          logger,
          numbers: numbersOf(config),
          rates: ratesOf(config),
          identityChangeGraceS: config.IDENTITY_CHANGE_GRACE_S,
        }),
        maxBodyBytes: config.MAX_BODY_BYTES,
        guard: crmGuard,
      }),
    )
    .use(
      mediaRoutes({
        service: createMediaService({
          queries,
          logger,
          downloadTimeoutMs: config.MEDIA_DOWNLOAD_TIMEOUT_MS,
          ...media,
        }),
        guard: crmGuard,
      }),
    )
    .use(dashboardRoutes())
    .use(openApiRoutes())
    .use(config.DEMO_MODE && deps.demoRoutes ? deps.demoRoutes : new Elysia())
    .use(
      metricsRoutes({
        metrics: deps.metrics,
        database: deps.database,
        businessTimeZone: config.TZ_BUSINESS,
        primaryNumber: numbersOf(config).primary,
        rates: ratesOf(config),
        guard: { secretName: 'METRICS_TOKEN', token: config.METRICS_TOKEN, ...operatorLimits() },
      }),
    )
    .use(
      liveRoutes({
        feed: deps.live ?? createLiveView({ database: deps.database, redis: deps.redis, keyPrefix: config.REDIS_KEY_PREFIX, logger }),
        guard: { secretName: 'METRICS_TOKEN', token: config.METRICS_TOKEN, ...operatorLimits() },
      }),
    )
    .use(
      adminRoutes({
        deadLetters: deps.deadLetters,
        logger,
        subscribers: createSubscriberRights({
          database: deps.database,
          redis: deps.redis,
          keys: streamKeys(config.REDIS_KEY_PREFIX),
          partitions: config.STREAM_PARTITIONS,
          forgetMedia: (mediaId) => media.cache.forget(mediaId),
          directory: externalDirectoryOf(config, deps.database.db),
          logger,
        }),
        guard: { secretName: 'ADMIN_TOKEN', token: config.ADMIN_TOKEN, ...operatorLimits() },
      }),
    );
}

export type App = ReturnType<typeof createApp>;

/** Readiness does not wait for partitions (an instance with none still takes webhooks); operators see what it holds. */
function partitionsView(ownership: Ownership) {
  return {
    owned: ownership.owned.map((lease) => lease.partition),
    leaseAgeMs: Object.fromEntries(ownership.owned.map((lease) => [lease.partition, lease.ageMs])),
    takeovers: ownership.takeovers,
  };
}
