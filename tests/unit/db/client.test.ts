import { expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import { openDatabase } from '../../../src/db/client';
import { createTestDatabase } from '../../support/harness';

/** Several instances starting at once on a fresh database: the migrations run under a lock, once. */
test('three instances migrating a fresh database at the same time all open it, migrated once', async () => {
  const fresh = await createTestDatabase('migrate_race', { fresh: true });
  try {
    const opened = await Promise.all([0, 1, 2].map(() => openDatabase({ databaseUrl: fresh.url, dataDir: '' })));
    const [applied] = await opened[0]!.rows<{ n: number }>(opened[0]!.db, sql`select count(*)::int as n from drizzle.__drizzle_migrations`);
    const journal = (await Bun.file(new URL('../../../src/db/migrations/meta/_journal.json', import.meta.url)).json()) as { entries: unknown[] };
    expect(applied!.n).toBe(journal.entries.length);
    await Promise.all(opened.map((each) => each.close()));
  } finally {
    await fresh.drop();
  }
});
