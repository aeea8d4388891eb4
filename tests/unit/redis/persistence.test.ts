import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import Redis from 'ioredis';
import { checkPersistence, StartupError } from '../../../src/boot/redis';
import { loadConfig } from '../../../src/config';
import { createLogger } from '../../../src/logger';
import { describePersistence, readPersistence } from '../../../src/redis/persistence';
import type { LogLine } from '../../support/harness';
import { startPrivateRedis, type PrivateRedis } from '../../support/private-redis';

/**
 * What the boot line says of Redis's persistence, and the production refusal,
 * against redis-servers of this file's own (the shared one is never
 * reconfigured): AOF everysec, no persistence, RDB snapshots only, and one
 * that refuses CONFIG as managed services do.
 */
const servers: Record<string, PrivateRedis> = {};
const clients: Redis[] = [];

beforeAll(async () => {
  [servers.aof, servers.none, servers.rdb, servers.managed] = await Promise.all([
    startPrivateRedis('everysec'),
    startPrivateRedis('off'),
    startPrivateRedis('off', ['--save', '3600 1']),
    startPrivateRedis('always', ['--rename-command', 'CONFIG', '']),
  ]);
  // Four servers to start: more than the hook's default 5 s on a loaded machine.
}, 30_000);
afterAll(async () => {
  for (const client of clients) client.disconnect();
  await Promise.all(Object.values(servers).map((server) => server.stop()));
});

function connect(server: PrivateRedis): Redis {
  const client = new Redis(server.url);
  clients.push(client);
  return client;
}

/** checkPersistence reads NODE_ENV and REDIS_ALLOW_NO_AOF: production's required secrets are not its concern. */
function boot(server: PrivateRedis, settings: { NODE_ENV?: 'production'; REDIS_ALLOW_NO_AOF?: boolean } = {}) {
  const logs: LogLine[] = [];
  const logger = createLogger('info', { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
  const config = { ...loadConfig({ REDIS_URL: server.url }), ...settings };
  return { logs, run: () => checkPersistence(connect(server), config, logger) };
}

describe('what Redis says of its persistence', () => {
  test('AOF with appendfsync everysec, no RDB, no replica', async () => {
    const report = await readPersistence(connect(servers.aof!));
    expect(report).toMatchObject({ aof: true, unknown: false });
    expect(report.nodes[0]).toMatchObject({ node: `127.0.0.1:${servers.aof!.port}`, aof: true, appendfsync: 'everysec', rdbSave: '', replicas: 0 });
    expect(report.nodes[0]!.runId).toMatch(/^[0-9a-f]{40}$/);
    expect(describePersistence(report)).toBe(
      'Redis persistence: AOF on, appendfsync everysec (a crash of the machine can lose the last second acknowledged), 0 replicas',
    );
  });

  test('RDB snapshots alone are not enough: a restart loses what changed since the last one', async () => {
    const report = await readPersistence(connect(servers.rdb!));
    expect(report.aof).toBe(false);
    expect(describePersistence(report)).toStartWith('Redis persistence: AOF off, RDB snapshots only (save 3600 1), 0 replicas. A Redis restart loses');
  });

  test('a Redis that refuses CONFIG still says through INFO whether AOF is on; the line says CONFIG was refused', async () => {
    const report = await readPersistence(connect(servers.managed!));
    expect(report).toMatchObject({ aof: true, unknown: false });
    expect(report.nodes[0]!.appendfsync).toBeUndefined();
    expect(describePersistence(report)).toMatch(/^Redis persistence: AOF on, appendfsync unknown, 0 replicas, CONFIG GET refused \(.*unknown command.*\)$/);
  });
});

describe('the boot line, and the refusal in production', () => {
  test('AOF on: one info line with what was found', async () => {
    const { logs, run } = boot(servers.aof!, { NODE_ENV: 'production' });
    await run();
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ level: 30, event: 'redis.persistence', aof: true });
  });

  test('no persistence in development: one warning that acknowledged messages can be lost', async () => {
    const { logs, run } = boot(servers.none!);
    await run();
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ level: 40, event: 'redis.persistence', aof: false });
    expect(logs[0]!.msg).toBe(
      'Redis persistence: AOF off, no RDB snapshots, 0 replicas. A Redis restart loses the events acknowledged (200) and not yet applied, ' +
        'and Meta does not resend them: turn AOF on (appendonly yes; docs/OPERATIONS.md, "Running Redis for this service")',
    );
  });

  test('no persistence in production: the start is refused, naming the setting that would accept it', async () => {
    const { logs, run } = boot(servers.none!, { NODE_ENV: 'production' });
    const refusal = await run().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(StartupError);
    expect((refusal as Error).message).toContain('AOF off, no RDB snapshots');
    expect((refusal as Error).message).toContain('Refusing to start with NODE_ENV=production; or set REDIS_ALLOW_NO_AOF=true');
    expect(logs).toEqual([]);
  });

  test('REDIS_ALLOW_NO_AOF=true accepts it in production: the warning says it was accepted', async () => {
    const { logs, run } = boot(servers.rdb!, { NODE_ENV: 'production', REDIS_ALLOW_NO_AOF: true });
    await run();
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatchObject({ level: 40, event: 'redis.persistence', aof: false });
    expect(logs[0]!.msg).toEndWith('(accepted: REDIS_ALLOW_NO_AOF=true)');
  });
});
