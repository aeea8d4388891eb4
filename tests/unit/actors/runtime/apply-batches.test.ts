import { afterAll, beforeAll, expect, test } from 'bun:test';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { checkFence } from '../../../../src/db/partition-owners';
import { processedEvents } from '../../../../src/db/schema';
import { inTexts } from '../../../../src/db/bulk';
import { ADMIN_URL } from '../../../support/harness';
import { openRuntimeFixture, UserScript, type RuntimeFixture } from './runtime-fixture';

/** Several partitions' batches in one transaction, as the worker's coalescer hands them. */
let fixture: RuntimeFixture;
beforeAll(async () => {
  fixture = await openRuntimeFixture('runtime_apply_batches');
});
afterAll(async () => {
  await fixture.close();
});

let entry = 0;
const entriesOf = (...events: ReturnType<UserScript['writes']>[]) => events.map((event) => ({ entryId: `9-${entry++}`, event }));
const lease = (partition: number) => ({ partition, token: 1, owner: 'test' });

test('the batches of several partitions commit together, each fenced, each event applied once', async () => {
  const [ana, beto] = [new UserScript(), new UserScript()];
  const batches = [
    { entries: entriesOf(ana.writes('hola'), ana.later(1).writes('otra')), fence: (tx: Parameters<typeof checkFence>[0]) => checkFence(tx, lease(1)) },
    { entries: entriesOf(beto.writes('hola')), fence: (tx: Parameters<typeof checkFence>[0]) => checkFence(tx, lease(2)) },
  ];
  expect(await fixture.runtime.applyBatches(batches)).toEqual({ applied: 3, duplicates: 0 });
  const ids = batches.flatMap((batch) => batch.entries.map((item) => item.event.id));
  const stored = await fixture.database.db.select({ id: processedEvents.id }).from(processedEvents).where(inTexts(processedEvents.id, ids));
  expect(stored).toHaveLength(3);
  expect(await fixture.runtime.applyBatches(batches)).toEqual({ applied: 0, duplicates: 3 });
});

test('with a lock timeout, a group does not wait behind one partition whose fence another transaction holds', async () => {
  const [{ name }] = (await fixture.database.rows<{ name: string }>(fixture.database.db, sql`select current_database() as name`)) as [{ name: string }];
  const holder = postgres(ADMIN_URL.replace(/\/[^/]*$/, `/${name}`), { max: 1, onnotice: () => {} });
  const user = new UserScript();
  const release = Promise.withResolvers<void>();
  const locked = Promise.withResolvers<void>();
  const held = holder.begin(async (sql) => {
    await sql`insert into partition_owners (partition, token, owner) values (7, 1, 'paused') on conflict (partition) do update set owner = 'paused'`;
    locked.resolve();
    await release.promise;
  });
  try {
    await locked.promise;
    const refused = await fixture.runtime
      .applyBatches([{ entries: entriesOf(user.writes('hola')), fence: (tx) => checkFence(tx, lease(7)) }], { lockTimeoutMs: 200 })
      .catch((error: Error & { cause?: { code?: string } }) => error.cause?.code ?? (error as { code?: string }).code);
    // Without the timeout it would wait until the holder ends (this test would time out).
    expect(refused).toBe('55P03');
  } finally {
    release.resolve();
    await held;
    await holder.end();
  }
});
