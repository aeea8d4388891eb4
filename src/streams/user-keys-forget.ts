import type Redis from 'ioredis';

/**
 * Takes a conversation's ids out of the user-id map (user-keys.ts), when the
 * conversation itself goes (its retention ran out, or its subscriber was
 * erased). An id is removed only while it still names that conversation: a
 * phone given up and reassigned maps to its new owner's key, which stays.
 * One script per conversation, so a webhook resolving the same user runs
 * before or after it, never between.
 */
const FORGET = `
local users, key = KEYS[1], ARGV[1]
local removed = redis.call('HDEL', users, 'bsuid:' .. key)
for i = 2, #ARGV do
  if redis.call('HGET', users, 'id:' .. ARGV[i]) == key then removed = removed + redis.call('HDEL', users, 'id:' .. ARGV[i]) end
end
return removed
`;

type WithForget = { forgetUserKey(usersKey: string, key: string, ...ids: string[]): unknown };

export interface ForgottenUser {
  conversationKey: string;
  /** Every id the user was known by: phone, BSUID (the key itself is always included). */
  ids: (string | null | undefined)[];
}

/** Removes each user's ids from the map; returns how many fields went. */
export async function forgetUserKeys(redis: Redis, usersKey: string, users: ForgottenUser[]): Promise<number> {
  if (users.length === 0) return 0;
  if (!('forgetUserKey' in redis)) redis.defineCommand('forgetUserKey', { numberOfKeys: 1, lua: FORGET });
  const pipeline = redis.pipeline();
  for (const user of users) {
    const ids = [...new Set([user.conversationKey, ...user.ids.filter((id): id is string => !!id)])];
    (pipeline as unknown as WithForget).forgetUserKey(usersKey, user.conversationKey, ...ids);
  }
  let removed = 0;
  for (const [error, count] of (await pipeline.exec()) ?? []) {
    if (error) throw error;
    removed += Number(count);
  }
  return removed;
}

/**
 * Every id that names one of `conversationKeys`, found by walking the whole
 * map: ids a user had before a `user_id_update` are in no table. For a
 * subscriber's export or erasure (rare, and it must find them all), not for the purge.
 */
export async function idsMappedTo(redis: Redis, usersKey: string, conversationKeys: string[]): Promise<string[]> {
  const keys = new Set(conversationKeys);
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, fields] = await redis.hscan(usersKey, cursor, 'COUNT', 1000);
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i]!.startsWith('id:') && keys.has(fields[i + 1]!)) found.push(fields[i]!.slice('id:'.length));
    }
    cursor = next;
  } while (cursor !== '0');
  return found;
}
