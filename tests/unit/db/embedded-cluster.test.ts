import { afterAll, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { embeddedClusterCache, openEmbeddedCluster } from '../../../src/db/embedded-pglite';

/**
 * A fresh embedded cluster is a copy of one initdb made per machine and engine (initdb is seconds of CPU, paid by
 * every demo before). Without a writable cache it is made in place: the boot of `bun run start` without
 * DATABASE_URL in tests/e2e/start-commands.test.ts runs with an unwritable cache and covers that path.
 */
const scratch = mkdtempSync(join(tmpdir(), 'hb-cluster-cache-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

test('two first boots at once make one cached cluster; the next fresh directory is a copy of it, with nothing of the others', async () => {
  const cache = join(scratch, 'cache');
  const [first, second] = await Promise.all([openEmbeddedCluster(join(scratch, 'a'), cache), openEmbeddedCluster(join(scratch, 'b'), cache)]);
  await first.exec('create table written_in_a (id int)');
  await Promise.all([first.close(), second.close()]);

  // One image, no half-made copy left beside it.
  const images = readdirSync(cache);
  expect(images).toHaveLength(1);
  expect(existsSync(join(cache, images[0]!, 'PG_VERSION'))).toBe(true);

  const third = await openEmbeddedCluster(join(scratch, 'c'), cache);
  const { rows } = await third.query<{ name: string | null }>(`select to_regclass('written_in_a')::text as name`);
  expect(rows).toEqual([{ name: null }]);
  expect((await third.query<{ answer: number }>('select 6 * 7 as answer')).rows).toEqual([{ answer: 42 }]);
  await third.close();

  // A directory that already holds a cluster is opened as it is, never overwritten by the image.
  const again = await openEmbeddedCluster(join(scratch, 'a'), cache);
  expect((await again.query<{ name: string | null }>(`select to_regclass('written_in_a')::text as name`)).rows).toEqual([{ name: 'written_in_a' }]);
  await again.close();
}, 60_000);

test('the cache is the XDG cache of the user running the service', () => {
  expect(embeddedClusterCache({ XDG_CACHE_HOME: '/var/cache/svc' })).toBe('/var/cache/svc/conecta2tel-handover/pglite');
  expect(embeddedClusterCache({})).toEndWith('/.cache/conecta2tel-handover/pglite');
});
