import { expect, test } from 'bun:test';
import { createLogger } from '../../../src/logger';
import { createRedisClient, logConnectionErrors } from '../../../src/redis/client';

const closedPort = () => {
  const probe = Bun.serve({ port: 0, fetch: () => new Response() });
  const port = probe.port!;
  probe.stop(true);
  return port;
};

test('a Redis connection that keeps failing is one structured warning per interval, without the URL or its password', async () => {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger('warn', { write: (line: string) => void lines.push(JSON.parse(line)) });
  let errors = 0;
  const client = logConnectionErrors(
    createRedisClient(`redis://:s3cret-password@127.0.0.1:${closedPort()}`, { retryStrategy: () => 20, maxRetriesPerRequest: null }),
    'stream reader',
    logger,
  );
  client.on('error', () => errors++);
  client.connect().catch(() => {});
  try {
    const deadline = Date.now() + 5000;
    while (errors < 5 && Date.now() < deadline) await Bun.sleep(20);
    expect(errors).toBeGreaterThanOrEqual(5);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, event: 'redis.connection_error', connection: 'stream reader', suppressed: 0 });
    expect(String(lines[0]!.error)).toContain('ECONNREFUSED');
    expect(JSON.stringify(lines)).not.toContain('s3cret-password');
  } finally {
    client.disconnect();
  }
});
