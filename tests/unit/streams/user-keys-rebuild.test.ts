import { afterAll, beforeAll, expect, test } from 'bun:test';
import postgres from 'postgres';
import { openDatabase, type Database } from '../../../src/db/client';
import { pipelineEvent } from '../../../src/domain/events';
import { createUserKeys } from '../../../src/streams/user-keys';
import { rebuildUserKeys } from '../../../src/streams/user-keys-rebuild';
import type { UserIds } from '../../../src/domain/user-ids';
import { createTestDatabase } from '../../support/harness';
import { redisFixture } from './redis-fixture';

/** The map of user ids to conversation keys, put back from the conversations table after Redis lost it. */
let testDatabase: Awaited<ReturnType<typeof createTestDatabase>>;
let database: Database;
let sql: postgres.Sql;
const { redis, keys, drop } = redisFixture('user-keys-rebuild');

beforeAll(async () => {
  testDatabase = await createTestDatabase('user_keys_rebuild');
  database = await openDatabase({ databaseUrl: testDatabase.url, dataDir: '' });
  sql = postgres(testDatabase.url, { max: 1, onnotice: () => {} });
});
afterAll(async () => {
  await drop();
  await sql.end();
  await database.close();
  await testDatabase.drop();
});

async function conversation(key: string, ids: { phone?: string; bsuid?: string }, updatedAt: string) {
  await sql.unsafe(`insert into conversations (conversation_key, user_phone, bsuid, state, snapshot, updated_at) values ($1, $2, $3, 'menu', '{}', $4)`, [
    key,
    ids.phone ?? null,
    ids.bsuid ?? null,
    updatedAt,
  ]);
}

const resolveKey = async (user: UserIds) =>
  (
    await createUserKeys(redis, keys.users).resolve([
      pipelineEvent('user.message', user.phone ?? user.bsuid!, `wa:msg:${crypto.randomUUID()}`, {
        user,
        waMessageId: 'wamid.x',
        timestamp: '2026-11-30T15:00:00.000Z',
        type: 'text',
        text: 'hola',
      }),
    ])
  )[0]!.key;

test('every id a conversation row knows maps back to its key; newer rows win a reassigned phone; what Redis still holds is kept', async () => {
  await conversation('573000000001', { phone: '573000000001' }, '2026-11-01T00:00:00Z');
  await conversation('CO.1000000000000001', { bsuid: 'CO.1000000000000001' }, '2026-11-01T00:00:00Z');
  // First seen with a phone, since then hiding it behind a username: keyed by the phone, found by the BSUID.
  await conversation('573000000002', { phone: '573000000002', bsuid: 'CO.1000000000000002' }, '2026-11-02T00:00:00Z');
  // A phone given up and reassigned: its new owner (a later row) was keyed by BSUID and holds the phone now.
  await conversation('573000000003', { phone: '573000000003', bsuid: 'CO.1000000000000003' }, '2026-11-03T00:00:00Z');
  await conversation('CO.1000000000000004', { phone: '573000000003', bsuid: 'CO.1000000000000004' }, '2026-11-04T00:00:00Z');
  // A row from before the ids were stored knows the user only by its key.
  await conversation('573000000005', {}, '2026-11-05T00:00:00Z');
  // Redis still maps this phone elsewhere (resolved after Postgres last wrote): Redis is newer, and kept.
  await conversation('573000000006', { phone: '573000000006' }, '2026-11-06T00:00:00Z');
  await redis.hset(keys.users, 'id:573000000006', 'CO.9000000000000006');

  expect(await rebuildUserKeys(redis, keys.users, database)).toBe(12);
  expect(await redis.hgetall(keys.users)).toEqual({
    'id:573000000001': '573000000001',
    'id:CO.1000000000000001': 'CO.1000000000000001',
    'bsuid:CO.1000000000000001': 'CO.1000000000000001',
    'id:CO.1000000000000002': '573000000002',
    'bsuid:573000000002': 'CO.1000000000000002',
    'id:573000000002': '573000000002',
    'id:CO.1000000000000003': '573000000003',
    'bsuid:573000000003': 'CO.1000000000000003',
    'id:CO.1000000000000004': 'CO.1000000000000004',
    'bsuid:CO.1000000000000004': 'CO.1000000000000004',
    'id:573000000003': 'CO.1000000000000004',
    'id:573000000005': '573000000005',
    'id:573000000006': 'CO.9000000000000006',
  });
  // The resolver finds the conversations again: the username user is not given a new one.
  expect(await resolveKey({ bsuid: 'CO.1000000000000002' })).toBe('573000000002');
  expect(await resolveKey({ phone: '573000000003', bsuid: 'CO.1000000000000004' })).toBe('CO.1000000000000004');
  // Run again, nothing is missing: nothing is written.
  expect(await rebuildUserKeys(redis, keys.users, database)).toBe(0);
});

test('rows are read page by page without skipping any, even when they share an update time', async () => {
  await sql.unsafe(
    `insert into conversations (conversation_key, user_phone, state, snapshot, updated_at)
     select '5731' || lpad(g::text, 8, '0'), '5731' || lpad(g::text, 8, '0'), 'menu', '{}', '2026-10-01T00:00:00.123456Z'
     from generate_series(1, 4500) g`,
  );
  expect(await rebuildUserKeys(redis, keys.users, database)).toBe(4500);
  expect(await redis.hget(keys.users, 'id:573100004500')).toBe('573100004500');
});
