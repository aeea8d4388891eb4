import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import journal from '../../src/db/migrations/meta/_journal.json';
import { signBody } from '../../src/lib/security';
import { startFakeCrm, startFakeDirectory, startFakeGraph, type FakeServer } from '../support/fakes';
import { createTestDatabase, DIRECTORY, eventually, fakesEnvironment, metaJson, SECRETS, text, userMessagePayload } from '../support/harness';
import { BUILD_OUTPUT, ROOT as root } from '../support/build';
import { freePort } from '../support/ports';
import { startPrivateRedis, type PrivateRedis } from '../support/private-redis';

// The preload's 30 s default reaches the first file of a run only (tests/support/setup.ts): this file's, through the whole service.
setDefaultTimeout(30_000);

/** The build (about 3 s on an idle 2-core machine, more under the suite's load), then a whole service's start. */
const BUILD_TIMEOUT_MS = 120_000;

/**
 * `bun run build` itself, every time: a binary left by an earlier build could pass while the code it was built
 * from is gone. Then the executable alone, from a directory with no source tree, in production mode, as the
 * container runs it.
 */
describe('the executable `bun run build` makes', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'hb-binary-'));
  let redis: PrivateRedis;
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let fakes: { crm: FakeServer; graph: FakeServer; directory: FakeServer };
  let child: ReturnType<typeof Bun.spawn> | undefined;
  let stdout: Promise<string> = Promise.resolve('');
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;

  beforeAll(async () => {
    expect(BUILD_OUTPUT).toBe('dist/handover');
    const build = Bun.spawn(['bun', 'run', 'build'], { cwd: root, stdout: 'pipe', stderr: 'pipe' });
    const [code, output] = await Promise.all([build.exited, new Response(build.stderr).text()]);
    if (code !== 0) throw new Error(`bun run build failed (${code}): ${output}`);

    // Production refuses a Redis without AOF: the shared test Redis has none, so the binary gets one that has.
    [redis, database] = await Promise.all([startPrivateRedis('everysec'), createTestDatabase('binary')]);
    fakes = { crm: startFakeCrm(), graph: startFakeGraph(), directory: startFakeDirectory(DIRECTORY) };
    child = Bun.spawn([join(root, BUILD_OUTPUT)], {
      cwd,
      // No PATH: the executable needs no bun, node_modules or source beside it.
      env: {
        ...fakesEnvironment(fakes),
        NODE_ENV: 'production',
        PORT: String(port),
        DATA_DIR: join(cwd, 'data'),
        DATABASE_URL: database.url,
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: `hbtest:binary:${process.pid}:`,
        PUBLIC_BASE_URL: url,
        LOG_LEVEL: 'info',
      },
      stdout: 'pipe',
      stderr: 'pipe',
    });
    stdout = new Response(child.stdout as ReadableStream).text();
    await eventually(async () => (await fetch(`${url}/health/ready`)).status === 200, 'the binary to answer ready', 60_000).catch(async (error) => {
      child?.kill('SIGKILL');
      throw new Error(`${(error as Error).message}\n${await stdout}\n${await new Response(child?.stderr as ReadableStream).text()}`);
    });
  }, BUILD_TIMEOUT_MS);

  afterAll(async () => {
    child?.kill('SIGKILL');
    await Promise.all([redis?.stop(), database?.drop(), fakes?.crm.stop(), fakes?.graph.stop(), fakes?.directory.stop()]);
    rmSync(cwd, { recursive: true, force: true });
  });

  test('answers /health/ready with Redis and Postgres checked', async () => {
    const response = await fetch(`${url}/health/ready`);
    expect(await response.json()).toMatchObject({ status: 'ready', checks: { redis: 'ok', database: 'ok' } });
  });

  test('applied every migration it carries to the database', async () => {
    const sql = postgres(database.url, { max: 1, onnotice: () => {} });
    try {
      const rows = await sql`select created_at from drizzle.__drizzle_migrations order by created_at`;
      expect(rows.map((row) => Number(row.created_at))).toEqual(journal.entries.map((entry) => entry.when));
    } finally {
      await sql.end();
    }
  });

  test('serves the pages from inside itself, byte for byte the files in the repository', async () => {
    for (const [path, file] of [
      ['/dashboard', 'src/dashboard/index.html'],
      ['/dashboard/dashboard.js', 'src/dashboard/dashboard.js'],
      ['/docs', 'src/docs/index.html'],
      ['/dashboard/vendor/chart.umd.min.js', 'node_modules/chart.js/dist/chart.umd.min.js'],
      ['/docs/vendor/scalar.js', 'node_modules/@scalar/api-reference/dist/browser/standalone.js'],
    ]) {
      const response = await fetch(`${url}${path}`);
      expect(response.status).toBe(200);
      expect(Bun.hash(await response.arrayBuffer())).toBe(Bun.hash(await Bun.file(join(root, file!)).arrayBuffer()));
    }
  });

  test('a signed user message is answered with the menu through the Graph API', async () => {
    const phone = '573009990001';
    const body = metaJson(userMessagePayload(phone, text('Hola')).payload);
    const response = await fetch(`${url}/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(SECRETS.metaSecret, body) },
      body,
    });
    expect(response.status).toBe(200);
    await eventually(() => fakes.graph.requests.some((request) => (request.body as { to?: string })?.to === phone), 'the menu sent to the user');
  });

  /** The image's HEALTHCHECK: the same executable, asking the running one. */
  const healthcheck = async () => {
    const check = Bun.spawn([join(root, BUILD_OUTPUT), 'healthcheck'], { cwd, env: { PORT: String(port) }, stdout: 'pipe', stderr: 'pipe' });
    return { code: await check.exited, stderr: await new Response(check.stderr).text() };
  };

  test('`handover healthcheck` exits 0 while the service answers', async () => {
    expect(await healthcheck()).toEqual({ code: 0, stderr: '' });
  });

  test('stops cleanly on SIGTERM, and then `handover healthcheck` exits 1 saying why in one line', async () => {
    child!.kill('SIGTERM');
    expect(await child!.exited).toBe(0);
    expect(await stdout).toContain('"event":"service.stopped"');
    const { code, stderr } = await healthcheck();
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toStartWith(`healthcheck: http://127.0.0.1:${port}/health/live did not answer`);
  });
});
