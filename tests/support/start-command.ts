import { join } from 'node:path';

const root = join(import.meta.dir, '../..');

/** Each test starts a whole process (PGlite's first boot included): more than the default 5 s on a busy machine. */
export const BOOT_TIMEOUT_MS = 60_000;

/** The start script's own command, run without the `bun run` wrapper so the signal reaches the service itself. */
export const startCommand = ((await Bun.file(join(root, 'package.json')).json()) as { scripts: { start: string } }).scripts.start.split(' ');

/** `bun run start` in the repository with only `env` (plus PATH and HOME): no .env, no settings of the test process. */
export function start(env: Record<string, string>, command = startCommand) {
  return Bun.spawn(command, {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  });
}
