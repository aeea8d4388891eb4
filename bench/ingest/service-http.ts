/**
 * The service's own HTTP app (createApp: rate limit, signature over raw
 * bytes, parsing, XADD), served without the worker and the outbox loops so
 * that the ingest benchmark measures the webhook path alone.
 */
import Redis from 'ioredis';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/db/client';
import { createQueries } from '../../src/db/queries';
import { createLogger } from '../../src/logger';
import { createServiceMetrics } from '../../src/boot/metrics';
import { createAppliedEvents, subscriberConnection } from '../../src/streams/applied';
import { streamKeys } from '../../src/streams/codec';
import { createDeadLetters } from '../../src/streams/dead-letters';
import { createProducer } from '../../src/streams/producer';

const config = loadConfig(process.env);
const database = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR });
const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: false, enableAutoPipelining: true, lazyConnect: true });
// Connected before the first request, as index.ts does: without an offline queue an early webhook would get a 503.
await redis.connect();
const keys = streamKeys(config.REDIS_KEY_PREFIX);
const deadLetters = createDeadLetters(redis, keys, config.STREAM_PARTITIONS);
const logger = createLogger('warn');
// Subscribed as index.ts does; the webhook never waits on it.
const appliedEvents = createAppliedEvents({
  redis,
  subscriber: () => subscriberConnection(redis),
  keys,
  partitions: config.STREAM_PARTITIONS,
  committedOf: createQueries(database.db).committedOf,
  logger,
});
await appliedEvents.start();
const app = createApp({
  config,
  database,
  redis,
  producer: createProducer(redis, keys, config.STREAM_PARTITIONS),
  appliedEvents,
  deadLetters,
  metrics: createServiceMetrics({ database, deadLetters, redis, keys, partitions: config.STREAM_PARTITIONS }),
  logger,
});
app.listen({ port: config.PORT, hostname: '127.0.0.1' });
// A clean exit on SIGTERM, so that `bun --cpu-prof` writes its profile.
process.on('SIGTERM', () => process.exit(0));
