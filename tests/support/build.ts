import { join } from 'node:path';

export const ROOT = join(import.meta.dir, '../..');

const scripts = ((await Bun.file(join(ROOT, 'package.json')).json()) as { scripts: Record<string, string> }).scripts;

/** Where `bun run build` writes the executable (its `--outfile`), relative to the repository: what the image copies. */
export const BUILD_OUTPUT = /--outfile\s+(\S+)/.exec(scripts.build ?? '')?.[1] ?? '';
