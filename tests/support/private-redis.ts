import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { freePort } from './ports';

/** How a private server keeps what it acknowledged: AOF with each fsync policy, or nothing. */
export type Persistence = 'always' | 'everysec' | 'off';

export interface PrivateRedis {
  url: string;
  port: number;
  dir: string;
  pid(): number;
  /** SIGKILL: no chance to flush anything the fsync policy had not written yet. */
  kill(): Promise<void>;
  /** Starts again on the same port and files (what it kept is what its persistence kept). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A redis-server of its own on loopback (never the shared one on 6379, which
 * other tests use and nobody may kill or reconfigure), with its files in a
 * fresh directory.
 */
export async function startPrivateRedis(persistence: Persistence, extraArgs: string[] = []): Promise<PrivateRedis> {
  const port = freePort();
  const dir = mkdtempSync(join(tmpdir(), 'hb-private-redis-'));
  const aof = persistence === 'off' ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', persistence];
  const args = ['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...aof, ...extraArgs];
  let server = Bun.spawn(args, { stdout: 'ignore', stderr: 'ignore' });

  const waitUp = async () => {
    for (let tries = 0; tries < 200; tries++) {
      const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => {});
      try {
        await probe.connect();
        // A server still loading its AOF answers LOADING: not up yet.
        if ((await probe.ping()) === 'PONG') return;
      } catch {
        // Not listening (or loading) yet.
      } finally {
        probe.disconnect();
      }
      await Bun.sleep(50);
    }
    throw new Error(`private redis-server on ${port} did not start`);
  };
  await waitUp();

  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    pid: () => server.pid,
    async kill() {
      server.kill('SIGKILL');
      await server.exited;
    },
    async restart() {
      server = Bun.spawn(args, { stdout: 'ignore', stderr: 'ignore' });
      await waitUp();
    },
    async stop() {
      server.kill('SIGKILL');
      await server.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
