import { afterAll, expect, test } from 'bun:test';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { embeddedClusterCache, openEmbeddedCluster, publishImage } from '../../../src/db/embedded-pglite';

/**
 * A fresh embedded cluster is a copy of one initdb made per machine and engine (initdb is seconds of CPU, paid by
 * every demo before). Without a writable cache it is made in place: the boot of `bun run start` without
 * DATABASE_URL in tests/e2e/start-commands.test.ts runs with an unwritable cache and covers that path.
 */
const scratch = mkdtempSync(join(tmpdir(), 'hb-cluster-cache-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

test('a first boot makes the cached cluster; the next fresh directory is a copy of it, with nothing of the first', async () => {
  const cache = join(scratch, 'cache');
  const first = await openEmbeddedCluster(join(scratch, 'a'), cache);
  await first.exec('create table written_in_a (id int)');
  await first.close();

  // One image, no half-made copy left beside it.
  const images = readdirSync(cache);
  expect(images).toHaveLength(1);
  expect(existsSync(join(cache, images[0]!, 'PG_VERSION'))).toBe(true);

  const second = await openEmbeddedCluster(join(scratch, 'b'), cache);
  const { rows } = await second.query<{ name: string | null }>(`select to_regclass('written_in_a')::text as name`);
  expect(rows).toEqual([{ name: null }]);
  expect((await second.query<{ answer: number }>('select 6 * 7 as answer')).rows).toEqual([{ answer: 42 }]);
  await second.close();

  // A directory that already holds a cluster is opened as it is, never overwritten by the image.
  const again = await openEmbeddedCluster(join(scratch, 'a'), cache);
  expect((await again.query<{ name: string | null }>(`select to_regclass('written_in_a')::text as name`)).rows).toEqual([{ name: 'written_in_a' }]);
  await again.close();
}, 60_000);

/** A made cluster as publishing sees it: a directory with PG_VERSION and whatever else initdb wrote. */
function madeCluster(path: string, marker: string): string {
  mkdirSync(path, { recursive: true });
  writeFileSync(join(path, 'PG_VERSION'), '17\n');
  writeFileSync(join(path, 'made-by'), marker);
  return path;
}

test('of two first boots at once, the one that finishes second uses the image of the first and leaves it whole', () => {
  const image = join(scratch, 'race', 'image');
  expect(publishImage(madeCluster(join(scratch, 'race', 'making-1'), 'first'), image)).toBe(image);
  const second = madeCluster(join(scratch, 'race', 'making-2'), 'second');

  expect(publishImage(second, image)).toBe(image);
  expect(readFileSync(join(image, 'made-by'), 'utf8')).toBe('first');
  expect(readdirSync(image).sort()).toEqual(['PG_VERSION', 'made-by']);
});

test('a rename that fails for another reason than a published image is not taken for one', () => {
  const nowhere = join(scratch, 'race', 'no-such-making');
  expect(() => publishImage(nowhere, join(scratch, 'race', 'other-image'))).toThrow(/ENOENT/);
});

test('the cache is the XDG cache of the user running the service', () => {
  expect(embeddedClusterCache({ XDG_CACHE_HOME: '/var/cache/svc' })).toBe('/var/cache/svc/conecta2tel-handover/pglite');
  expect(embeddedClusterCache({})).toEndWith('/.cache/conecta2tel-handover/pglite');
});
