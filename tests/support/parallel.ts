import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `bun test` spreads the files over worker processes: one after another, the end-to-end files left the cores idle
 * while they waited (a lease to expire, a deadline to fire, a process to boot), and the suite took three minutes;
 * spread out, the waits overlap and both cores stay busy. Bun 1.4.5
 * takes `--parallel` on the command line only (bunfig.toml has no key for it), so this first preload of a plain
 * `bun test` runs the same command again with it and exits with its code. A run that names `--parallel` itself,
 * the workers, and `HANDOVER_TEST_SERIAL=1 bun test` (one file after another) go on as they are.
 *
 * Each worker keeps its module registry across its files (`--no-isolate`), as a serial run does: every file
 * already isolates itself (own database, own key prefix). `tests/timings.json` (`bun run test:timings` rewrites
 * it) starts the slowest files first.
 */
const TEST_WORKERS = 4;
const TIMINGS = join(import.meta.dir, '..', 'timings.json');

function commandLine(): string[] {
  try {
    // The preload's process.argv holds the first test file, not the flags: Linux keeps the command line here.
    return readFileSync('/proc/self/cmdline', 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

const [, subcommand, ...flags] = commandLine();
const spreadOut =
  subcommand === 'test' &&
  !process.env.BUN_TEST_WORKER_ID &&
  !process.env.HANDOVER_TEST_SERIAL &&
  !flags.some((flag) => flag.startsWith('--parallel') || flag === '--test-worker');

if (spreadOut) {
  const timings = flags.some((flag) => flag.startsWith('--timings')) ? [] : [`--timings=${TIMINGS}`];
  const run = Bun.spawn([process.execPath, 'test', `--parallel=${TEST_WORKERS}`, '--no-isolate', ...timings, ...flags], {
    stdio: ['inherit', 'inherit', 'inherit'],
  });
  // Ctrl-C reaches both through the terminal; a SIGTERM sent to this process alone is passed on.
  process.on('SIGTERM', () => run.kill('SIGTERM'));
  process.exit(await run.exited);
}
