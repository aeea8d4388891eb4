import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import packageJson from '../../../package.json';
import { preparedStatement, runPrepared } from '../../../src/db/bulk';
import { openDatabase, type Database } from '../../../src/db/client';
import { createTestDatabase } from '../../support/harness';

/**
 * db/bulk.ts makes one private drizzle call, `executor._.session.prepareQuery(query, fields, name, arrayMode)`:
 * the only way to have postgres.js prepare a statement text drizzle did not build. These tests fail, saying
 * what changed, if an upgrade moves or reshapes it; then read `runPrepared` in db/bulk.ts before anything else.
 */
const WHY = 'db/bulk.ts calls drizzle’s private executor._.session.prepareQuery';

let testDatabase: Awaited<ReturnType<typeof createTestDatabase>>;
let database: Database;
beforeAll(async () => {
  testDatabase = await createTestDatabase('drizzle_private');
  database = await openDatabase({ databaseUrl: testDatabase.url, dataDir: '', poolSize: 1 });
});
afterAll(async () => {
  await database.close();
  await testDatabase.drop();
});

type Session = { prepareQuery?: (...args: unknown[]) => unknown };
const sessionOf = (executor: unknown) => (executor as { _?: { session?: Session } })._?.session;

describe("drizzle's private prepareQuery, which db/bulk.ts relies on", () => {
  test('drizzle-orm is pinned to one exact version, the one installed', async () => {
    const pinned = packageJson.dependencies['drizzle-orm'];
    const installedDrizzle = (await Bun.file(Bun.resolveSync('drizzle-orm/package.json', import.meta.dir)).json()) as { version: string };
    expect(pinned, `${WHY}: pin drizzle-orm to an exact version in package.json (found "${pinned}")`).toMatch(/^\d+\.\d+\.\d+$/);
    expect(installedDrizzle.version, `${WHY}: the installed drizzle-orm is not the pinned one: run bun install`).toBe(pinned);
  });

  test('the pool and a transaction both have a session with prepareQuery(query, fields, name, arrayMode, …)', async () => {
    for (const [where, session] of [
      ['the pool', sessionOf(database.db)],
      ['a transaction', await database.db.transaction(async (tx) => sessionOf(tx))],
    ] as const) {
      expect(typeof session?.prepareQuery, `${WHY}: ${where} has no _.session.prepareQuery any more`).toBe('function');
      expect(session!.prepareQuery!.length, `${WHY}: prepareQuery takes fewer parameters than (query, fields, name, arrayMode)`).toBeGreaterThanOrEqual(4);
    }
  });

  test('a named statement is prepared on the connection, and answers with its rows', async () => {
    const statement = preparedStatement('select $1::int + 1 as "next", \'drizzle-private-probe\' as probe');
    const prepared = await database.db.transaction(async (tx) => {
      const rows = await runPrepared<{ next: number; probe: string }>(tx, statement, [41]);
      expect(rows, `${WHY}: its result is no longer the rows (an array, or { rows })`).toEqual([{ next: 42, probe: 'drizzle-private-probe' }]);
      return database.rows<{ statement: string }>(tx, sql`select statement from pg_prepared_statements where statement like '%drizzle-private-probe%' and statement not like '%pg_prepared_statements%'`);
    });
    expect(prepared.map((row) => row.statement), `${WHY}: a name no longer makes postgres.js prepare the statement (prepare: true)`).toEqual([statement.text]);
  });
});
