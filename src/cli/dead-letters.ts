import { loadConfig } from '../config';
import { embeddedRedisPaths } from '../redis/embedded';
import { createRedisClient } from '../redis/client';
import { runCommand } from './run';
import { streamKeys } from '../streams/codec';
import { createDeadLetters } from '../streams/dead-letters';

const USAGE = 'usage: bun run dead-letters list [count] | bun run dead-letters redrive <entry-id>... | bun run dead-letters redrive --all';

/** The operator's side of the dead-letter stream, the same operations as /api/admin/dead-letters. */
export async function main(args: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  const [command, ...rest] = args;
  if (command !== 'list' && !(command === 'redrive' && rest.length > 0)) {
    console.error(USAGE);
    return 2;
  }
  const config = loadConfig(env);
  // No REDIS_URL: the private redis-server of the service running on this DATA_DIR, through its socket.
  const redis = createRedisClient(config.REDIS_URL || embeddedRedisPaths(config.DATA_DIR).socket, { maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    const deadLetters = createDeadLetters(redis, streamKeys(config.REDIS_KEY_PREFIX), config.STREAM_PARTITIONS);
    if (command === 'list') {
      const { entries } = await deadLetters.list({ count: Number(rest[0] ?? 100) });
      for (const entry of entries) {
        const what = 'type' in entry.event ? `${entry.event.type} ${entry.event.id} (${entry.event.key})` : `undecodable: ${entry.event.undecodable}`;
        console.log(`${entry.id}  ${entry.failedAt}  ${entry.deliveries} deliveries  ${what}\n    ${entry.error.split('\n')[0]}`);
      }
      console.log(`${await deadLetters.count()} dead letters`);
      return 0;
    }
    const { redriven, missing } = await deadLetters.redrive(rest[0] === '--all' ? 'all' : rest);
    console.log(`${redriven.length} re-driven${missing.length > 0 ? `; not found: ${missing.join(', ')}` : ''}`);
    return missing.length > 0 ? 1 : 0;
  } finally {
    redis.disconnect();
  }
}

if (import.meta.main) await runCommand(main);
