import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Redis from 'ioredis';
import type { Logger } from '../logger';

/** No REDIS_URL and no redis-server to start: the one line the operator reads. */
export class RedisNotInstalledError extends Error {
  constructor() {
    super(
      'REDIS_URL is not set and no redis-server is on PATH to start a private one: install it ' +
        '(Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or set REDIS_URL',
    );
  }
}

export interface EmbeddedRedis {
  /** The unix socket, as REDIS_URL: ioredis takes a path for one. */
  url: string;
  pid: number;
  /** Redis's own pidfile: what the next start reads to stop a server an earlier run left behind. */
  pidFile: string;
  stop(): Promise<void>;
}

/** Longest unix socket path every platform takes (sun_path is 104 bytes on macOS, 108 on Linux). */
const MAX_SOCKET_PATH = 100;
const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;

/**
 * The watchdog between the service and redis-server. Its stdin is a pipe
 * from the service, which a background `cat` reads (through fd 3: a
 * background command's own stdin is /dev/null): when the pipe closes (a
 * clean stop, a crash, or a SIGKILL nobody could catch) the server gets
 * SIGTERM, flushes its AOF and exits. The watchdog exits with the server, so
 * the service also learns when the server died on its own. It runs in its
 * own session: a Ctrl-C at the terminal reaches only the service, which
 * still needs Redis to finish its batch.
 */
const WATCHDOG = [
  'server="$1"; shift',
  'exec 3<&0',
  '"$server" "$@" </dev/null 3<&- &',
  'pid=$!',
  '(cat <&3 >/dev/null; kill -TERM "$pid" 2>/dev/null) &',
  'exec 3<&-',
  'wait "$pid"',
].join('\n');

/** Where the private server lives: DATA_DIR/redis (its AOF, pidfile, log), and its socket there when the path fits. */
export function embeddedRedisPaths(dataDir: string) {
  const dir = resolve(dataDir, 'redis');
  const socketInDir = join(dir, 'redis.sock');
  const socket = socketInDir.length <= MAX_SOCKET_PATH ? socketInDir : join(tmpdir(), `hb-redis-${Bun.hash.crc32(dir).toString(16)}.sock`);
  return { dir, socket, pidFile: join(dir, 'redis.pid'), logFile: join(dir, 'redis.log') };
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return new TextDecoder().decode(Bun.spawnSync(['ps', '-p', String(pid), '-o', 'command=']).stdout);
  }
}

async function exited(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (isAlive(pid)) {
    if (performance.now() > deadline) return false;
    await Bun.sleep(50);
  }
  return true;
}

/**
 * A redis-server an earlier run left (its watchdog was killed too, or it is
 * a version of this service without one): stopped cleanly (SIGTERM flushes
 * its AOF) before a new one opens the same files.
 */
async function stopLeftover(pidFile: string, logger: Logger): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid) && commandOf(pid).includes('redis-server')) {
    process.kill(pid, 'SIGTERM');
    if (!(await exited(pid, STOP_TIMEOUT_MS))) process.kill(pid, 'SIGKILL');
    logger.warn({ event: 'redis.embedded_leftover_stopped', pid }, `stopped the private redis-server (pid ${pid}) an earlier run left behind`);
  }
  rmSync(pidFile, { force: true });
}

async function waitUntilReady(socket: string, child: Bun.Subprocess, logFile: string): Promise<void> {
  const deadline = performance.now() + READY_TIMEOUT_MS;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) break;
    const probe = new Redis(socket, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') return;
    } catch {
      // Not listening yet.
    } finally {
      probe.disconnect();
    }
    await Bun.sleep(50);
  }
  const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join(' | ') : '';
  throw new Error(`the private redis-server did not start (${child.exitCode === null ? 'no answer' : `exit ${child.exitCode}`}): ${log}`);
}

/**
 * DESIGN 2.5's default, as PGlite is for Postgres: with no REDIS_URL the
 * service runs its own redis-server (the one on PATH) as a child, with AOF
 * (appendfsync everysec) under DATA_DIR/redis, reachable only through a unix
 * socket only this user may open, and stopped with the service.
 */
export async function startEmbeddedRedis(dataDir: string, logger: Logger, path = process.env.PATH ?? ''): Promise<EmbeddedRedis> {
  const server = Bun.which('redis-server', { PATH: path });
  if (!server) throw new RedisNotInstalledError();
  const { dir, socket, pidFile, logFile } = embeddedRedisPaths(dataDir);
  mkdirSync(dir, { recursive: true });
  await stopLeftover(pidFile, logger);
  // Order matters: `dir` first, so the AOF directory lands there.
  const settings = [
    ['dir', dir],
    ['port', '0'],
    ['unixsocket', socket],
    ['unixsocketperm', '700'],
    ['appendonly', 'yes'],
    ['appendfsync', 'everysec'],
    ['save', ''],
    ['pidfile', pidFile],
    ['logfile', logFile],
    ['daemonize', 'no'],
  ];
  const child = Bun.spawn(['/bin/sh', '-c', WATCHDOG, 'redis-watchdog', server, ...settings.flatMap(([name, value]) => [`--${name}`, value!])], {
    stdin: 'pipe',
    stdout: 'ignore',
    stderr: 'ignore',
    detached: true,
  });
  // Said only of a server that was up: one that fails to start is the start's own error.
  let ready = false;
  let stopping = false;
  void child.exited.then((code) => {
    if (ready && !stopping) {
      logger.error(
        { event: 'redis.embedded_exited', code, log: logFile },
        `the private redis-server exited on its own (code ${code}): Redis is unreachable until the service restarts; its log is ${logFile}`,
      );
    }
  });
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    // Closing the pipe stops the server, and ends the watchdog's reader even when the server is gone already.
    await Promise.resolve(child.stdin.end()).catch(() => {});
    const done = await Promise.race([child.exited.then(() => true), Bun.sleep(STOP_TIMEOUT_MS).then(() => false)]);
    // The whole session (watchdog and server) when the server would not stop in time.
    if (!done) process.kill(-child.pid, 'SIGKILL');
  };
  try {
    await waitUntilReady(socket, child, logFile);
    ready = true;
  } catch (error) {
    await stop();
    throw error;
  }
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  logger.info({ event: 'redis.embedded_started', pid, dir }, `no REDIS_URL: started a private redis-server (pid ${pid}, AOF in ${dir})`);
  return { url: socket, pid, pidFile, stop };
}
