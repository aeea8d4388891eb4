import type Redis from 'ioredis';
import type { RedisOptions } from 'ioredis';
import type { Config } from '../config';
import type { Database } from '../db/client';
import { appliedMarkOf } from '../db/partition-owners';
import { startEmbeddedRedis } from '../redis/embedded';
import { errorSummary } from '../errors';
import type { Logger } from '../logger';
import type { Metrics } from '../observability/metrics';
import { createRedisClient, logConnectionErrors } from '../redis/client';
import { describePersistence, readPersistence, type PersistenceReport } from '../redis/persistence';
import type { StreamKeys } from '../streams/codec';
import { createResetDetector, watchRunIds } from '../streams/reset';
import { rebuildUserKeys } from '../streams/user-keys-rebuild';

/** A start that cannot go on, said in one line (main logs its message alone, without a stack). */
export class StartupError extends Error {}

/** How often each primary's run id is asked: a restart is noticed within this. */
const RUN_ID_CHECK_MS = 5000;

async function connectRedis(url: string, options: RedisOptions, logger: Logger): Promise<Redis> {
  const client = createRedisClient(url, options);
  // Until the first connection a failure is the one start line below, not a "reconnecting" warning before it.
  // Its cause is the socket's error (ECONNREFUSED, ENOTFOUND, NOAUTH): connect() itself often only says "Connection is closed."
  let cause: Error | undefined;
  const quiet = (error: Error) => void (cause ??= error);
  client.on('error', quiet);
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    const where = url.replace(/\/\/[^@]*@/, '//');
    // A cluster's own failure ("Failed to refresh slots cache.") carries its last node's error; the first that says more than
    // ioredis's "Connection is closed." is the reason.
    const reasons = [(cause as { lastNodeError?: Error } | undefined)?.lastNodeError, error as Error, cause].flatMap((candidate) => candidate?.message ?? []);
    const reason = reasons.find((message) => message !== 'Connection is closed.') ?? reasons[0];
    throw new StartupError(`Redis is unreachable at ${where} (${reason}): start it, or leave REDIS_URL unset for a private redis-server`);
  }
  client.off('error', quiet);
  return logConnectionErrors(client, 'main', logger);
}

/**
 * Logs what Redis keeps of what it acknowledges, in one line; in production
 * refuses a Redis without AOF unless REDIS_ALLOW_NO_AOF accepts the loss.
 */
export async function checkPersistence(redis: Redis, config: Config, logger: Logger): Promise<PersistenceReport> {
  const report = await readPersistence(redis);
  const line = describePersistence(report);
  const fields = { event: 'redis.persistence', aof: report.aof, nodes: report.nodes };
  if (report.aof) {
    logger.info(fields, line);
    return report;
  }
  if (config.NODE_ENV === 'production' && !config.REDIS_ALLOW_NO_AOF) {
    throw new StartupError(`${line}. Refusing to start with NODE_ENV=production; or set REDIS_ALLOW_NO_AOF=true to accept losing those events`);
  }
  logger.warn(fields, config.REDIS_ALLOW_NO_AOF ? `${line} (accepted: REDIS_ALLOW_NO_AOF=true)` : line);
  return report;
}

/**
 * Redis as REDIS_URL names it, or a private redis-server under DATA_DIR when
 * it is unset (DESIGN 2.5); connected, its persistence checked. `url` is what
 * the other connections (the stream readers) use.
 */
export async function openRedis(config: Config, options: RedisOptions, logger: Logger) {
  const embedded = config.REDIS_URL
    ? null
    : await startEmbeddedRedis(config.DATA_DIR, logger).catch((error: Error) => {
        throw new StartupError(error.message);
      });
  const url = embedded?.url ?? config.REDIS_URL;
  try {
    const redis = await connectRedis(url, options, logger);
    const persistence = await checkPersistence(redis, config, logger).catch((error: unknown) => {
      redis.disconnect();
      throw error;
    });
    return {
      url,
      redis,
      persistence,
      /** The connection, then the private server (after every other connection is closed). */
      async close(): Promise<void> {
        await redis.quit().catch(() => redis.disconnect());
        await embedded?.stop();
      },
    };
  } catch (error) {
    await embedded?.stop();
    throw error;
  }
}

export interface DurabilityDeps {
  redis: Redis;
  database: Database;
  keys: StreamKeys;
  logger: Logger;
  metrics: Metrics;
}

/**
 * What keeps a Redis that lost data from going unnoticed: the reset check the
 * worker runs before reading a partition, the run-id watch that re-checks the
 * partitions held when Redis restarts, and the rebuild of the user-id map
 * from Postgres when Redis lost it.
 */
export function createDurabilityChecks(deps: DurabilityDeps) {
  const { redis, database, keys, logger, metrics } = deps;
  let rebuilding: Promise<void> | null = null;

  /** One rebuild at a time: the partitions found reset together ask for one. */
  const rebuildUsers = (reason: string): Promise<void> =>
    (rebuilding ??= rebuildUserKeys(redis, keys.users, database)
      .then((written) => {
        if (written > 0) logger.warn({ event: 'redis.user_keys_rebuilt', reason, written }, `user-id map: ${written} ids put back from Postgres (${reason})`);
      })
      .catch((error: unknown) =>
        logger.error({ event: 'redis.user_keys_rebuild_failed', error: errorSummary(error) }, 'could not rebuild the user-id map from Postgres'),
      )
      .finally(() => (rebuilding = null)));

  const detector = createResetDetector({
    redis,
    keys,
    logger,
    markOf: (partition) => appliedMarkOf(database, partition),
    onReset(report) {
      metrics.redisResets.inc({ partition: String(report.partition) });
      metrics.redisLastReset.set(Date.parse(report.detectedAt) / 1000);
      void rebuildUsers('Redis lost data');
    },
  });

  /** At start and after a restart: a Redis without the map (new, or emptied) gets it back before users are resolved against it. */
  const ensureUserKeys = async () => {
    if ((await redis.exists(keys.users)) === 0) await rebuildUsers('the map was missing');
  };

  return {
    detector,
    ensureUserKeys,
    /** Watches the run ids; a restart re-reads persistence and re-checks the partitions this instance reads. */
    watch(ownedPartitions: () => number[]) {
      return watchRunIds({
        redis,
        logger,
        intervalMs: RUN_ID_CHECK_MS,
        async onRestart() {
          metrics.redisRestarts.inc();
          const persistence = await readPersistence(redis);
          metrics.redisAof.set(persistence.aof ? 1 : 0);
          const held = ownedPartitions();
          let behind = 0;
          for (const partition of held) if (await detector.checkPartition(partition)) behind++;
          await ensureUserKeys();
          const found =
            held.length === 0
              ? 'no partition is read here now (each is checked when taken over)'
              : behind === 0
                ? `its streams reach what Postgres applied (the ${held.length} partitions read here)`
                : `${behind} of the ${held.length} partitions read here were behind Postgres (errors above)`;
          return `${found}. ${describePersistence(persistence)}`;
        },
      });
    },
  };
}
