import Redis, { Cluster, type RedisOptions } from 'ioredis';
import { errorSummary } from '../errors';
import type { Logger } from '../logger';

const CLUSTER_URL = /^redis\+cluster:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)/;

/**
 * A Redis client for REDIS_URL, not yet connected: one server
 * (`redis://host:port`), or a Redis Cluster named by some of its nodes
 * (`redis+cluster://host:port,host:port`, the rest are discovered).
 *
 * A Cluster client answers the same commands as a single one; every module
 * is typed against `Redis` and keeps each MULTI, script and blocking read to
 * one hash slot (see streamKeys), which is all a cluster asks.
 */
export function createRedisClient(url: string, options: RedisOptions): Redis {
  const cluster = CLUSTER_URL.exec(url);
  if (!cluster) return new Redis(url, { lazyConnect: true, connectTimeout: 5000, ...options });
  const [, username, password, hosts] = cluster;
  const nodes = hosts!.split(',').map((node) => {
    const [host, port] = node.split(':');
    return { host: host!, port: Number(port || 6379) };
  });
  const { enableOfflineQueue, ...redisOptions } = options;
  return new Cluster(nodes, {
    lazyConnect: true,
    enableOfflineQueue: enableOfflineQueue ?? true,
    redisOptions: {
      connectTimeout: 5000,
      ...redisOptions,
      ...(username ? { username: decodeURIComponent(username) } : {}),
      ...(password ? { password: decodeURIComponent(password) } : {}),
    },
  }) as unknown as Redis;
}

/** At most one log line per connection in this long: a Redis outage makes ioredis fail every reconnect attempt. */
const CONNECTION_ERROR_LOG_INTERVAL_MS = 10_000;

/**
 * Connection errors of one client as log lines (`redis.connection_error`,
 * which connection, the driver's message; Redis URLs never appear). Without
 * a listener ioredis prints "[ioredis] Unhandled error event" with a stack
 * for every failed reconnect, outside the structured log. The client keeps
 * reconnecting on its own; readiness reports the outage.
 */
export function logConnectionErrors(client: Redis, connection: string, logger: Logger): Redis {
  let lastLoggedAt = -Infinity;
  let suppressed = 0;
  client.on('error', (error: Error) => {
    const now = performance.now();
    if (now - lastLoggedAt < CONNECTION_ERROR_LOG_INTERVAL_MS) {
      suppressed++;
      return;
    }
    logger.warn(
      { event: 'redis.connection_error', connection, error: errorSummary(error), suppressed },
      `Redis connection (${connection}) failed; reconnecting`,
    );
    lastLoggedAt = now;
    suppressed = 0;
  });
  return client;
}
