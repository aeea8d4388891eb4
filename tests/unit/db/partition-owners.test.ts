import { afterAll, beforeAll, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { openDatabase, type Database } from '../../../src/db/client';
import { appliedMarkOf, checkFence, FencedError, fenceOf } from '../../../src/db/partition-owners';
import { createTestDatabase } from '../../support/harness';

/** The fence a batch transaction passes before it may commit for a partition. */
let testDatabase: Awaited<ReturnType<typeof createTestDatabase>>;
let database: Database;

beforeAll(async () => {
  testDatabase = await createTestDatabase('partition_owners');
  database = await openDatabase({ databaseUrl: testDatabase.url, dataDir: '' });
});
afterAll(async () => {
  await database.close();
  await testDatabase.drop();
});

const commitUnder = (partition: number, token: number, owner: string, lastEntryId?: string) =>
  database.db.transaction(async (tx) => {
    await checkFence(tx, { partition, token, owner }, lastEntryId);
    await tx.execute(sql`select 1`);
  });

test('a batch under the newest token commits and raises the fence; the same owner commits again under it', async () => {
  await commitUnder(1, 3, 'a');
  await commitUnder(1, 3, 'a');
  expect(await fenceOf(database, 1)).toBe(3);
});

test('once a newer owner committed, a batch under an older token is refused and the fence stays', async () => {
  await commitUnder(2, 4, 'old');
  await commitUnder(2, 5, 'new');
  await expect(commitUnder(2, 4, 'old')).rejects.toBeInstanceOf(FencedError);
  expect(await fenceOf(database, 2)).toBe(5);
});

test('an old owner that is mid-transaction when the new owner commits is refused at its commit', async () => {
  await commitUnder(3, 1, 'old');
  // The old owner is slow: its transaction has begun when the new owner's fence lands.
  const began = Promise.withResolvers<void>();
  const newOwnerCommitted = Promise.withResolvers<void>();
  const old = database.db.transaction(async (tx) => {
    await tx.execute(sql`select 1`);
    began.resolve();
    await newOwnerCommitted.promise;
    await checkFence(tx, { partition: 3, token: 1, owner: 'old' });
  });
  await began.promise;
  await commitUnder(3, 2, 'new');
  newOwnerCommitted.resolve();
  await expect(old).rejects.toBeInstanceOf(FencedError);
  expect(await fenceOf(database, 3)).toBe(2);
});

test('a partition no batch ever applied has fence 0', async () => {
  expect(await fenceOf(database, 7)).toBe(0);
});

test('the watermark is the highest entry id applied, in stream order: a replay of older entries does not lower it', async () => {
  expect(await appliedMarkOf(database, 4)).toBeNull();
  await commitUnder(4, 1, 'a', '1700000000000-5');
  // 999... > 1700... as numbers but not as text: the comparison must be numeric, part by part.
  await commitUnder(4, 1, 'a', '1700000000000-12');
  await commitUnder(4, 1, 'a', '999999999999-0');
  await commitUnder(4, 2, 'b');
  expect((await appliedMarkOf(database, 4))?.entryId).toBe('1700000000000-12');
  await commitUnder(4, 2, 'b', '1700000000001-0');
  const mark = await appliedMarkOf(database, 4);
  expect(mark?.entryId).toBe('1700000000001-0');
  expect(mark?.at).toBeInstanceOf(Date);
});

test('a fenced batch does not move the watermark', async () => {
  await commitUnder(5, 2, 'new', '1700000000000-0');
  await expect(commitUnder(5, 1, 'old', '1800000000000-0')).rejects.toBeInstanceOf(FencedError);
  expect((await appliedMarkOf(database, 5))?.entryId).toBe('1700000000000-0');
});
