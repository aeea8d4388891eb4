import { afterAll, expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { embeddedRedisPaths, RedisNotInstalledError, startEmbeddedRedis } from '../../../src/redis/embedded';
import { createLogger } from '../../../src/logger';
import { parseInfo } from '../../../src/redis/persistence';
import { eventually, type LogLine } from '../../support/harness';

/** The private redis-server the service runs when REDIS_URL is unset (DESIGN 2.5). */
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hb-embedded-'));
  dirs.push(dir);
  return dir;
}

function logger() {
  const logs: LogLine[] = [];
  return { logs, logger: createLogger('info', { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) }) };
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('it runs with AOF under DATA_DIR/redis, on a socket only this user may open, and is gone once stopped', async () => {
  const dir = dataDir();
  const { logs, logger: log } = logger();
  const embedded = await startEmbeddedRedis(dir, log);
  const client = new Redis(embedded.url);
  try {
    expect(embedded.url).toBe(join(dir, 'redis', 'redis.sock'));
    expect(statSync(embedded.url).mode & 0o777).toBe(0o700);
    expect(parseInfo(await client.info('persistence')).get('aof_enabled')).toBe('1');
    expect(await client.config('GET', 'appendfsync')).toEqual(['appendfsync', 'everysec']);
    expect(await client.config('GET', 'dir')).toEqual(['dir', join(dir, 'redis')]);
    expect(logs).toEqual([expect.objectContaining({ level: 30, event: 'redis.embedded_started', pid: embedded.pid })]);
  } finally {
    client.disconnect();
    await embedded.stop();
  }
  expect(isAlive(embedded.pid)).toBe(false);
});

test('a server that dies on its own is said to have died, in an error line naming its log', async () => {
  const { logs, logger: log } = logger();
  const embedded = await startEmbeddedRedis(dataDir(), log);
  process.kill(embedded.pid, 'SIGKILL');
  const died = await eventually(() => logs.find((line) => line.event === 'redis.embedded_exited'), 'the error line');
  expect(died.level).toBe(50);
  expect(died.msg).toContain('redis.log');
  await embedded.stop();
  expect(logs.filter((line) => line.event === 'redis.embedded_exited')).toHaveLength(1);
});

test('what it acknowledged is there after a restart on the same DATA_DIR', async () => {
  const dir = dataDir();
  const first = await startEmbeddedRedis(dir, logger().logger);
  const writer = new Redis(first.url);
  await writer.xadd('kept', '*', 'f', 'v');
  writer.disconnect();
  await first.stop();
  const second = await startEmbeddedRedis(dir, logger().logger);
  const reader = new Redis(second.url);
  try {
    expect(await reader.xlen('kept')).toBe(1);
  } finally {
    reader.disconnect();
    await second.stop();
  }
});

test('a redis-server an earlier run left behind (its pidfile) is stopped before a new one starts', async () => {
  const dir = dataDir();
  const { dir: redisDir, pidFile } = embeddedRedisPaths(dir);
  mkdirSync(redisDir, { recursive: true });
  const leftover = Bun.spawn(['redis-server', '--port', '0', '--unixsocket', join(redisDir, 'old.sock'), '--pidfile', pidFile, '--save', ''], {
    stdout: 'ignore',
    stderr: 'ignore',
  });
  await eventually(() => Bun.file(pidFile).exists(), 'the leftover pidfile');
  const { logs, logger: log } = logger();
  const embedded = await startEmbeddedRedis(dir, log);
  try {
    expect(await leftover.exited).toBe(0);
    expect(logs[0]).toMatchObject({ level: 40, event: 'redis.embedded_leftover_stopped', pid: leftover.pid });
    expect(embedded.pid).not.toBe(leftover.pid);
  } finally {
    await embedded.stop();
  }
  // Two redis-servers started and stopped: seconds on a busy machine, past the 5 s a test file gets by default.
}, 30_000);

test('without redis-server on PATH it says how to install one', async () => {
  const refusal = await startEmbeddedRedis(dataDir(), logger().logger, '/nonexistent').then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(refusal).toBeInstanceOf(RedisNotInstalledError);
  expect((refusal as Error).message).toContain('apt-get install redis-server');
});

test('a DATA_DIR too deep for a unix socket path gets its socket in the temporary directory', () => {
  const deep = join('/', 'x'.repeat(120));
  const paths = embeddedRedisPaths(deep);
  expect(paths.dir).toBe(join(deep, 'redis'));
  expect(paths.socket.startsWith(tmpdir())).toBe(true);
  expect(paths.socket.length).toBeLessThanOrEqual(100);
});
