import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config';
import { openDatabase } from '../db/client';
import { AppError } from '../errors';
import { createLogger } from '../logger';
import { externalDirectoryOf } from '../integrations/customers';
import { createMediaCache } from '../media/cache';
import { createSubscriberRights, subscriberIds } from '../privacy/subscribers';
import { embeddedRedisPaths } from '../redis/embedded';
import { createRedisClient } from '../redis/client';
import { streamKeys } from '../streams/codec';
import { runCommand } from './run';

const USAGE =
  'usage: bun run subscribers export|erase [--phone <phone>] [--user-id <BSUID>] [--username <name>] [--document <number>]  (at least one; JSON on stdout)';

const FLAGS: Record<string, 'phone' | 'userId' | 'username' | 'document'> = {
  '--phone': 'phone',
  '--user-id': 'userId',
  '--username': 'username',
  '--document': 'document',
};

/**
 * A subscriber's export or erasure from a shell (DESIGN 7), the same operations as
 * GET /api/admin/subscribers and POST /api/admin/subscribers/erase, recorded as asked by `cli <user>@<host>`.
 */
export async function main(args: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  const [command, ...rest] = args;
  const named: Record<string, string> = {};
  for (let i = 0; i < rest.length; i += 2) {
    const name = FLAGS[rest[i]!];
    if (!name || rest[i + 1] === undefined) {
      console.error(USAGE);
      return 2;
    }
    named[name] = rest[i + 1]!;
  }
  if (command !== 'export' && command !== 'erase') {
    console.error(USAGE);
    return 2;
  }
  let ids;
  try {
    ids = subscriberIds(named);
  } catch (error) {
    console.error(`${(error as AppError).message}\n${USAGE}`);
    return 2;
  }
  const config = loadConfig(env);
  const database = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DATA_DIR, poolSize: 2 });
  // No REDIS_URL: the private redis-server of the service running on this DATA_DIR, through its socket.
  const redis = createRedisClient(config.REDIS_URL || embeddedRedisPaths(config.DATA_DIR).socket, { maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const media = createMediaCache({ dir: join(config.DATA_DIR, 'media'), retentionMs: 0, maxBytes: 0, idleTimeoutMs: config.HTTP_TIMEOUT_MS });
    const rights = createSubscriberRights({
      database,
      redis,
      keys: streamKeys(config.REDIS_KEY_PREFIX),
      partitions: config.STREAM_PARTITIONS,
      forgetMedia: (mediaId) => media.forget(mediaId),
      directory: externalDirectoryOf(config, database.db),
      logger: createLogger(config.LOG_LEVEL, { write: (line: string) => void process.stderr.write(line) }),
    });
    const requestedBy = `cli ${userInfo().username}@${hostname()}`;
    const result = command === 'export' ? await rights.export(ids, requestedBy) : await rights.erase(ids, requestedBy);
    console.log(JSON.stringify(result, null, 2));
    return 0;
  } finally {
    redis.disconnect();
    await database.close();
  }
}

if (import.meta.main) await runCommand(main);
