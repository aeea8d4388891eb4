import { expect, test } from 'bun:test';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { withMigrationsFolder } from '../../../src/db/embedded-migrations';

const committed = join(import.meta.dir, '../../../src/db/migrations');

test('the migrations the service carries are the committed ones, every file of them, byte for byte', async () => {
  const sqlFiles = readdirSync(committed).filter((name) => name.endsWith('.sql'));
  const written = await withMigrationsFolder(async (folder) => {
    expect(
      readdirSync(folder)
        .filter((name) => name.endsWith('.sql'))
        .sort(),
    ).toEqual(sqlFiles.sort());
    for (const name of sqlFiles) expect(readFileSync(join(folder, name), 'utf8')).toBe(readFileSync(join(committed, name), 'utf8'));
    expect(JSON.parse(readFileSync(join(folder, 'meta/_journal.json'), 'utf8'))).toEqual(
      JSON.parse(readFileSync(join(committed, 'meta/_journal.json'), 'utf8')),
    );
    return folder;
  });
  expect(sqlFiles.length).toBeGreaterThan(10);
  expect(existsSync(written)).toBe(false);
});
