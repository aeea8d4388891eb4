import { describe, expect, test } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { embeddedRedisPaths } from '../../src/redis/embedded';
import { createTestDatabase, eventually, REDIS_URL } from '../support/harness';
import { startPrivateRedis } from '../support/private-redis';
import { BOOT_TIMEOUT_MS, start, startCommand } from '../support/start-command';

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
          // PGlite's first boot (initdb) is about 6.5 s of CPU: on the shared 2-core machine under load, 25 s was not always enough.
          50_000,
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
        expect(stdout).toContain('Redis is unreachable at redis://127.0.0.1:1 (connect ECONNREFUSED 127.0.0.1:1)');
        expect(stdout).toContain('leave REDIS_URL unset for a private redis-server');
        expect(stdout.trim().split('\n')).toHaveLength(1);
      } finally {
        await database.drop();
      }
    },
    BOOT_TIMEOUT_MS,
  );

  test(
    'in production a Redis without AOF stops the boot in one line; REDIS_ALLOW_NO_AOF=true lets it start',
    async () => {
      const [database, redis] = await Promise.all([createTestDatabase('boot_no_aof'), startPrivateRedis('off')]);
      const production = {
        NODE_ENV: 'production',
        DATABASE_URL: database.url,
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: `hbtest:boot-aof:${process.pid}:`,
        ...Object.fromEntries(
          ['CRM_API_TOKEN', 'BOT_API_TOKEN', 'BOT_SIGNING_SECRET', 'META_WEBHOOK_SECRET', 'WEBHOOK_VERIFY_TOKEN', 'WHATSAPP_TOKEN'].map((key) => [key, 'x']),
        ),
        CRM_BASE_URL: 'http://127.0.0.1:9',
        WHATSAPP_PHONE_NUMBER_ID: '1234567890',
        PUBLIC_BASE_URL: 'https://handover.example.com',
      };
      try {
        const refused = start({ ...production, PORT: '0' });
        expect(await refused.exited).toBe(1);
        const lines = (await new Response(refused.stdout).text()).trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(JSON.parse(lines[0]!)).toMatchObject({ level: 60, event: 'service.start_failed' });
        expect(lines[0]).toContain('AOF off, no RDB snapshots');
        expect(lines[0]).toContain('REDIS_ALLOW_NO_AOF=true');

        const port = 20000 + Math.floor(Math.random() * 20000);
        const accepted = start({ ...production, PORT: String(port), REDIS_ALLOW_NO_AOF: 'true' });
        try {
          await eventually(async () => (await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200, 'readiness', 25_000);
          accepted.kill('SIGTERM');
          expect(await accepted.exited).toBe(0);
          const log = (await new Response(accepted.stdout).text())
            .trim()
            .split('\n')
            .map((line) => JSON.parse(line) as { event?: string; msg?: string });
          expect(log.find((line) => line.event === 'redis.persistence')?.msg).toEndWith('(accepted: REDIS_ALLOW_NO_AOF=true)');
        } finally {
          accepted.kill('SIGKILL');
        }
      } finally {
        await Promise.all([database.drop(), redis.stop()]);
      }
    },
    BOOT_TIMEOUT_MS,
  );
});

describe.concurrent('bun run start without REDIS_URL: a private redis-server', () => {
  const isAlive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  /** Starts the service on its own database and DATA_DIR; resolves once ready with the private server's pid. */
  async function startEmbedded(label: string) {
    const database = await createTestDatabase(label);
    const dataDir = mkdtempSync(join(tmpdir(), 'hb-boot-embedded-'));
    const port = 20000 + Math.floor(Math.random() * 20000);
    const child = start({ PORT: String(port), DATA_DIR: dataDir, DATABASE_URL: database.url, LOG_LEVEL: 'info' });
    await eventually(async () => (await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200, 'readiness', 25_000);
    const redisPid = Number(readFileSync(embeddedRedisPaths(dataDir).pidFile, 'utf8'));
    return {
      child,
      redisPid,
      async cleanup() {
        child.kill('SIGKILL');
        rmSync(dataDir, { recursive: true, force: true });
        await database.drop();
      },
    };
  }

  test(
    'it is started with the service, AOF on, and stopped with it on SIGTERM',
    async () => {
      const service = await startEmbedded('boot_embedded');
      try {
        expect(isAlive(service.redisPid)).toBe(true);
        service.child.kill('SIGTERM');
        expect(await service.child.exited).toBe(0);
        expect(isAlive(service.redisPid)).toBe(false);
        const log = (await new Response(service.child.stdout).text())
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as Record<string, unknown>);
        expect(log.find((line) => line.event === 'redis.embedded_started')).toMatchObject({ pid: service.redisPid });
        expect(log.find((line) => line.event === 'redis.persistence')).toMatchObject({ level: 30, aof: true });
      } finally {
        await service.cleanup();
      }
    },
    BOOT_TIMEOUT_MS,
  );

  test(
    'a service killed with SIGKILL takes its redis-server with it',
    async () => {
      const service = await startEmbedded('boot_embedded_kill');
      try {
        service.child.kill('SIGKILL');
        await service.child.exited;
        await eventually(() => !isAlive(service.redisPid), 'the private redis-server to stop');
      } finally {
        await service.cleanup();
      }
    },
    BOOT_TIMEOUT_MS,
  );

  test(
    'with no redis-server on PATH one line says how to install it, and the start exits 1',
    async () => {
      const database = await createTestDatabase('boot_no_redis_server');
      const onlyBun = mkdtempSync(join(tmpdir(), 'hb-path-'));
      symlinkSync(process.execPath, join(onlyBun, 'bun'));
      try {
        const child = start({ PORT: '0', DATABASE_URL: database.url, PATH: onlyBun }, [process.execPath, ...startCommand.slice(1)]);
        expect(await child.exited).toBe(1);
        const lines = (await new Response(child.stdout).text()).trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(JSON.parse(lines[0]!)).toMatchObject({ level: 60, event: 'service.start_failed' });
        expect(lines[0]).toContain('no redis-server is on PATH');
        expect(lines[0]).toContain('apt-get install redis-server');
      } finally {
        rmSync(onlyBun, { recursive: true, force: true });
        await database.drop();
      }
    },
    BOOT_TIMEOUT_MS,
  );
});
