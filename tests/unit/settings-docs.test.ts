import { expect, test } from 'bun:test';
import { join } from 'node:path';
import { ConfigSchema } from '../../src/config';

const root = join(import.meta.dir, '../..');
const settings = Object.keys(ConfigSchema.properties);

test('every setting the service reads is in .env.example, with its default, and in docs/SETTINGS.md', async () => {
  const example = await Bun.file(join(root, '.env.example')).text();
  const reference = await Bun.file(join(root, 'docs/SETTINGS.md')).text();
  const named = (text: string, name: string) => new RegExp(`(^|[^A-Z0-9_])${name}([^A-Z0-9_]|$)`).test(text);
  expect(settings.length).toBeGreaterThan(50);
  expect(settings.filter((name) => !new RegExp(`^#? ?${name}=`, 'm').test(example))).toEqual([]);
  expect(settings.filter((name) => !named(reference, name))).toEqual([]);
});
