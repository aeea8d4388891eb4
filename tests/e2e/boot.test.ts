import { describe, expect, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, eventually, REDIS_URL } from '../support/harness';

const root = join(import.meta.dir, '../..');
/** Each test starts a whole process (PGlite's first boot included): more than the default 5 s on a busy machine. */
const BOOT_TIMEOUT_MS = 60_000;

// The start script's own command, run without the `bun run` wrapper so the signal reaches the service itself.
const startCommand = ((await Bun.file(join(root, 'package.json')).json()) as { scripts: { start: string } }).scripts.start.split(' ');

function start(env: Record<string, string>) {
  return Bun.spawn(startCommand, {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  });
}

describe.concurrent('bun run start', () => {
  test(
    'an invalid configuration stops the boot with one line per problem',
    async () => {
      const child = start({ PORT: 'abc', REDIS_URL: 'localhost', LOG_LEVEL: 'loud' });
      const code = await child.exited;
      const stderr = await new Response(child.stderr).text();
      expect(code).toBe(2);
      const lines = stderr.trim().split('\n');
      expect(lines).toEqual([
        'config: PORT: expected integer (got "abc")',
        'config: LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent (got "loud")',
        'config: REDIS_URL: malformed value (got "<hidden>")',
      ]);
    },
    BOOT_TIMEOUT_MS,
  );

  test(
    'without DATABASE_URL it runs on the embedded database, answers ready, and stops cleanly on SIGTERM',
    async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'hb-boot-'));
      const port = 20000 + Math.floor(Math.random() * 20000);
      const child = start({ PORT: String(port), DATA_DIR: dataDir, REDIS_URL, REDIS_KEY_PREFIX: `hbtest:boot:${process.pid}:`, LOG_LEVEL: 'warn' });
      try {
        // Alone, the instance comes to hold the lease of every partition (readiness itself does not wait for them).
        const ready = await eventually(
          async () => {
            const response = await fetch(`http://127.0.0.1:${port}/health/ready`);
            const body = response.status === 200 && ((await response.json()) as { partitions: { owned: number[] } });
            return body && body.partitions.owned.length === 8 && body;
          },
          'readiness with every partition',
          25_000,
        );
        expect(ready).toMatchObject({ status: 'ready', checks: { redis: 'ok', database: 'ok' }, partitions: { owned: [0, 1, 2, 3, 4, 5, 6, 7] } });
        child.kill('SIGTERM');
        expect(await child.exited).toBe(0);
      } finally {
        child.kill('SIGKILL');
        rmSync(dataDir, { recursive: true, force: true });
      }
    },
    BOOT_TIMEOUT_MS,
  );

  test(
    'an unreachable Redis is explained in one line',
    async () => {
      // A Postgres database of its own: the embedded one's first boot is the test above's subject, not this one's.
      const database = await createTestDatabase('boot_redis');
      try {
        const child = start({ PORT: '0', DATABASE_URL: database.url, REDIS_URL: 'redis://127.0.0.1:1' });
        expect(await child.exited).toBe(1);
        const stdout = await new Response(child.stdout).text();
        expect(stdout).toContain('Redis is unreachable at redis://127.0.0.1:1');
        expect(stdout).toContain('start redis-server or set REDIS_URL');
      } finally {
        await database.drop();
      }
    },
    BOOT_TIMEOUT_MS,
  );
});
