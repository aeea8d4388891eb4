import { isIP } from 'node:net';
import { hostname } from 'node:os';
import type { AnyElysia } from 'elysia';
import { createRuntime, type PartitionBatch } from './actors/runtime';
import { createApp } from './app';
import { agentRequestUrl, ConfigError, loadConfig, numbersOf, type Config } from './config';
import { errorDetail } from './errors';
import { openDatabase } from './db/client';
import { checkFence, fenceOf } from './db/partition-owners';
import { createQueries } from './db/queries';
import { createRedisClient, logConnectionErrors } from './redis/client';
import { createDurabilityChecks, openRedis, StartupError } from './boot/redis';
import { waitingForReplicas } from './streams/replica-wait';
import { drainLegacyStreams } from './streams/legacy';
import { createCrmClient } from './integrations/crm';
import { createCustomerDirectory } from './integrations/customers';
import { createWhatsAppClient } from './integrations/whatsapp';
import { createLogger, loggerFromSettings, type Logger } from './logger';
import { warnUnsetSecrets } from './boot/unset-secrets';
import { startTracing } from './boot/tracing';
import { createDispatcher } from './outbox/dispatcher';
import { createSendRate } from './rate-limits/send-rate';
import { createAppliedEvents, subscriberConnection } from './streams/applied';
import { streamKeys } from './streams/codec';
import { createProducer } from './streams/producer';
import { createStreamWorker } from './streams/worker';
import { createCoalescer } from './streams/coalesce';
import { createDeadLetters } from './streams/dead-letters';
import { createServiceMetrics } from './boot/metrics';
import { createTimerScheduler } from './timers/scheduler';
import { createKpiRollups, KPI_ROLLUP_POLL_MS } from './kpis/rollups';
import { startRetentionPurge } from './retention/purge';
import { loadTexts } from './domain/texts';
import { privacyNoticeOf } from './domain/privacy-notice';
import { healthcheck } from './cli/healthcheck';
import { handoverPolicy } from './boot/policy';
import { createChangeSignal, createLiveView } from './live';

export interface Service {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** A ping's outcome as "the database is out": false when it answered, true when it failed. */
const OUTAGE_IF_REJECTED = [() => false, () => true] as const;

/** How long a transaction applying several partitions' batches waits on any lock before it is split up. */
const GROUP_LOCK_TIMEOUT_MS = 1000;

/** Where this process reaches itself: loopback when listening everywhere, else the address it listens on. */
const reachableHost = (address: string) => (address === '0.0.0.0' || address === '::' ? '127.0.0.1' : isIP(address) === 6 ? `[${address}]` : address);

/**
 * The composition root: config → database → Redis → services → HTTP app and
 * workers. `bun run start` and the end-to-end tests both come through here.
 */
export async function startService(
  config: Config,
  logger: Logger = createLogger(config.LOG_LEVEL),
  /** The demo's: its simulator routes, and the address it listens on (a deployment listens on every interface). */
  { demoRoutes, listenHost = '0.0.0.0' }: { demoRoutes?: AnyElysia; listenHost?: string } = {},
): Promise<Service> {
  const texts = loadTexts(config.BOT_TEXTS_FILE);
  // Redis first: without a redis-server to start, the one line saying so comes before the embedded database's first boot.
  // Commands fail fast while Redis is away (no offline queue): a webhook then gets a 503 and Meta retries.
  const connection = await openRedis(config, { maxRetriesPerRequest: 1, enableOfflineQueue: false, enableAutoPipelining: true }, logger);
  const redis = connection.redis;
  const closers: (() => Promise<unknown>)[] = [startTracing(config, logger).stop, () => connection.close()];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch(() => {});
  };
  try {
    const database = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR, poolSize: config.DATABASE_POOL_SIZE }).catch(
      (error: Error) => {
        throw new StartupError(`database unavailable (${config.DATABASE_URL ? 'DATABASE_URL' : `embedded PGlite in ${config.DATA_DIR}`}): ${error.message}`);
      },
    );
    closers.push(() => database.close());

    const keys = streamKeys(config.REDIS_KEY_PREFIX);
    const consumer = config.CONSUMER_NAME || hostname();
    await drainLegacyStreams(redis, keys, config.STREAM_PARTITIONS, logger);
    const numbers = numbersOf(config);
    const published = createProducer(redis, keys, config.STREAM_PARTITIONS, config.STREAM_CODEC_VERSION, numbers);
    const producer =
      config.REDIS_WAIT_REPLICAS > 0 ? waitingForReplicas(published, redis, config.REDIS_WAIT_REPLICAS, config.REDIS_WAIT_TIMEOUT_MS) : published;
    const deadLetters = createDeadLetters(redis, keys, config.STREAM_PARTITIONS);
    const metrics = createServiceMetrics({ database, deadLetters, redis, keys, partitions: config.STREAM_PARTITIONS });
    metrics.redisAof.set(connection.persistence.aof ? 1 : 0);
    const durability = createDurabilityChecks({ redis, database, keys, logger, metrics });
    await durability.ensureUserKeys();
    const reengageTemplate = config.WHATSAPP_REENGAGE_TEMPLATE
      ? { name: config.WHATSAPP_REENGAGE_TEMPLATE, languageCode: config.WHATSAPP_TEMPLATE_LANGUAGE }
      : null;
    // The live views' signal: every commit that changed tickets, throttled, on one Redis channel.
    const ticketChanges = createChangeSignal(redis, config.REDIS_KEY_PREFIX, logger);
    closers.push(async () => ticketChanges.close());
    const runtime = createRuntime({
      ticketsChanged: ticketChanges.touch,
      database,
      texts,
      emergencyPhone: config.EMERGENCY_PHONE,
      logger,
      handoverPolicy: handoverPolicy(config),
      conversationPolicy: { surveyTimeoutS: config.SURVEY_TIMEOUT_S },
      reengageTemplate,
      publicBaseUrl: config.PUBLIC_BASE_URL,
      metrics,
      numbers,
      botPauseAfterBusinessReplyS: config.BOT_PAUSE_AFTER_BUSINESS_REPLY_S,
      privacyNotice: privacyNoticeOf(texts.privacyNotice, config.PRIVACY_NOTICE_VERSION),
    });
    const crm = createCrmClient({
      baseUrl: config.CRM_BASE_URL,
      agentRequestUrl: agentRequestUrl(config),
      botApiToken: config.BOT_API_TOKEN,
      signingSecret: config.BOT_SIGNING_SECRET,
      timeoutMs: config.HTTP_TIMEOUT_MS,
    });
    const whatsapp = createWhatsAppClient({
      apiUrl: config.WHATSAPP_API_URL,
      token: config.WHATSAPP_TOKEN,
      phoneNumberId: config.WHATSAPP_PHONE_NUMBER_ID,
      timeoutMs: config.HTTP_TIMEOUT_MS,
    });
    const customers = createCustomerDirectory(
      { url: config.CUSTOMER_LOOKUP_URL, token: config.CUSTOMER_LOOKUP_TOKEN, timeoutMs: config.HTTP_TIMEOUT_MS },
      database.db,
    );
    const dispatcher = createDispatcher({
      database,
      crm,
      whatsapp,
      customers,
      producer,
      logger,
      maxAttempts: config.OUTBOX_MAX_ATTEMPTS,
      concurrency: config.OUTBOX_CONCURRENCY,
      pollMs: config.OUTBOX_POLL_MS,
      leaseMs: config.PARTITION_LEASE_TTL_MS,
      claimant: `${consumer}#${crypto.randomUUID().slice(0, 8)}`,
      metrics,
      breaker: { threshold: config.CIRCUIT_BREAKER_THRESHOLD, halfOpenAfterMs: config.CIRCUIT_BREAKER_HALF_OPEN_MS },
      sendPermit: createSendRate(redis, { keyPrefix: config.REDIS_KEY_PREFIX, perSecond: config.WHATSAPP_SENDS_PER_SECOND, phoneNumberId: numbers.primary }),
      reconcileAfterMs: config.WHATSAPP_RECONCILE_MS,
      numbers,
    });
    // The CRM routes' waits: announced by the worker after each commit, listened to before the app takes a request.
    const appliedEvents = createAppliedEvents({
      redis,
      subscriber: () => logConnectionErrors(subscriberConnection(redis), 'applied events subscriber', logger),
      keys,
      partitions: config.STREAM_PARTITIONS,
      committedOf: createQueries(database.db).committedOf,
      logger,
    });
    closers.push(() => appliedEvents.close());
    await appliedEvents.start();
    const applyCoalesced = createCoalescer<PartitionBatch>({
      // A group must not wait on one partition's lock (a fence held by a paused ex-owner's transaction): past a second
      // it fails, and each batch goes alone, beside the next groups.
      applyTogether: async (batches) => void (await runtime.applyBatches(batches, { lockTimeoutMs: GROUP_LOCK_TIMEOUT_MS })),
      applyAlone: async (batch) => void (await runtime.applyBatches([batch])),
    });
    const worker = createStreamWorker({
      redis,
      blockingConnection: () => logConnectionErrors(createRedisClient(connection.url, { maxRetriesPerRequest: null }), 'stream reader', logger),
      keys,
      partitions: config.STREAM_PARTITIONS,
      consumer,
      batchSize: config.STREAM_BATCH_SIZE,
      maxDeliveries: config.STREAM_MAX_DELIVERIES,
      claimIdleMs: config.PARTITION_LEASE_TTL_MS * 2,
      retentionMs: config.STREAM_RETENTION_S * 1000,
      blockMs: Math.min(1000, Math.floor(config.PARTITION_LEASE_TTL_MS / 3)),
      leaseTtlMs: config.PARTITION_LEASE_TTL_MS,
      fenceOf: (partition) => fenceOf(database, partition),
      logger,
      handle: async (entries, lease) => {
        await applyCoalesced({ entries, fence: (tx) => checkFence(tx, lease, entries.at(-1)?.entryId) });
        // Right after the commit, before the XACK: the CRM's answer waits on this, not on the acknowledgement.
        appliedEvents.announce(lease.partition, entries);
      },
      isOutage: () => database.ping().then(...OUTAGE_IF_REJECTED),
      onCommitted: () => dispatcher.poke(),
      onTakeover: () => metrics.partitionTakeovers.inc(),
      beforeTakeOver: (partition) => durability.detector.checkPartition(partition),
    });
    metrics.observeOwnership(worker.status);

    const live = createLiveView({ database, redis, keyPrefix: config.REDIS_KEY_PREFIX, logger });
    const app = createApp({ config, database, redis, producer, appliedEvents, deadLetters, metrics, logger, ownership: worker.status, demoRoutes, live });
    // Bun's own 413 has an empty body, so the app enforces MAX_BODY_BYTES itself (the JSON 413): by Content-Length on every
    // request, by bytes read in the one body reader, which stops at the limit. Bun never buffers a body nobody reads.
    app.listen({ port: config.PORT, hostname: listenHost, maxRequestBodySize: Number.MAX_SAFE_INTEGER });
    const server = app.server!;
    let listening = true;
    const stopHttp = async () => {
      if (!listening) return;
      listening = false;
      // The live views' streams never end by themselves: closed first, or the server would wait for them.
      live.close();
      await app.stop();
    };
    closers.push(stopHttp);
    await worker.start();
    const runIds = durability.watch(() => worker.status().owned.map((lease) => lease.partition));
    await runIds.start();
    closers.push(async () => runIds.stop());
    dispatcher.start();
    closers.push(() => dispatcher.close());
    const scheduler = createTimerScheduler({ database, producer, logger, pollMs: config.TIMER_POLL_MS });
    await scheduler.start();
    closers.push(() => scheduler.close());
    const kpiRollups = createKpiRollups({ database, timeZone: config.TZ_BUSINESS, logger, pollMs: KPI_ROLLUP_POLL_MS });
    kpiRollups.start();
    closers.push(() => kpiRollups.close());
    closers.push(startRetentionPurge(config, { database, redis, keys, logger, metrics }));
    // Closed first: its leases are freed as soon as the batches in hand are acknowledged, so another instance takes over at once.
    closers.push(() => worker.close());

    warnUnsetSecrets(config, logger);
    logger.info(
      { event: 'service.started', port: server.port, database: database.kind, partitions: config.STREAM_PARTITIONS },
      `handover service listening on port ${server.port}`,
    );
    let stopping: Promise<void> | null = null;
    return {
      url: `http://${reachableHost(listenHost)}:${server.port}`,
      port: server.port!,
      // HTTP first (no new work is taken), then the loops finish what they hold, then the connections close.
      stop: () =>
        (stopping ??= (async () => {
          await stopHttp().catch(() => {});
          await closeAll();
          logger.info({ event: 'service.stopped' }, 'stopped: batch in hand applied and acknowledged, connections closed');
        })()),
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const problem of error.problems) console.error(`config: ${problem}`);
      process.exit(2);
    }
    throw error;
  }
  const logger = loggerFromSettings(config);
  // Handlers go in before the start: a SIGTERM that arrives while it runs still gets a clean stop.
  let service: Promise<Service | undefined> = Promise.resolve(undefined);
  let exitCode = 0;
  let stopping = false;
  const stop = (code: number) => {
    exitCode = Math.max(exitCode, code);
    if (stopping) return;
    stopping = true;
    const deadline = setTimeout(() => process.exit(1), 15_000);
    service
      .then((running) => running?.stop())
      .catch((error: unknown) => {
        logger.error({ event: 'service.stop_failed', error: errorDetail(error) }, 'clean stop failed');
        exitCode = 1;
      })
      .finally(() => {
        clearTimeout(deadline);
        process.exit(exitCode);
      });
  };
  const onSignal = (signal: string) => {
    logger.info({ event: 'service.stopping', signal }, 'stopping: finishing the batch in hand');
    stop(0);
  };
  // The pipeline is at-least-once: crashing and restarting loses nothing, carrying on in an unknown state might.
  const onCrash = (kind: string) => (error: unknown) => {
    logger.fatal({ event: 'service.crashed', kind, error: errorDetail(error) }, `${kind}: stopping; a restart resumes from the streams`);
    stop(1);
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.on('unhandledRejection', onCrash('unhandledRejection'));
  process.on('uncaughtException', onCrash('uncaughtException'));
  service = startService(config, logger).catch((error: unknown) => {
    logger.fatal({ event: 'service.start_failed' }, error instanceof StartupError ? error.message : errorDetail(error));
    process.exit(1);
  });
}

// `handover healthcheck` (the container's HEALTHCHECK) is this same executable asking the running service.
if (import.meta.main) await (process.argv[2] === 'healthcheck' ? healthcheck(process.env).then((code) => process.exit(code)) : main());
