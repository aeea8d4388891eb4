import Redis, { Cluster, type RedisOptions } from 'ioredis';

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
