/**
 * The mutation run's test command (stryker.config.json, `bun run mutation`):
 * runs the fast unit tests that can see the active mutant, not all of them.
 * Stryker's command runner names the mutant only by id
 * (`__STRYKER_ACTIVE_MUTANT__`); the instrumented sources in its sandbox say
 * which file holds it, and the file's layer which tests import it. A test
 * left out could only have killed more: the figure errs low, never high.
 * Without an active mutant (Stryker's first run) every test runs.
 */
import { Glob } from 'bun';

const DATABASE_TESTS = 'tests/unit/actors/runtime/{batch,status,apply-batches,agent-message-failures}.test.ts';

const ACTORS = ['tests/unit/handover-lifecycle.test.ts', 'tests/unit/actors'];
const META = ['tests/unit/integrations/meta-webhooks.test.ts', 'tests/unit/integrations/meta-calls-echoes.test.ts'];
const OUTBOX = ['tests/unit/outbox/outcome.test.ts', 'tests/unit/outbox/in-doubt.test.ts', 'tests/unit/outbox/breakers.test.ts'];
const KPIS = ['tests/unit/kpis/aggregate.test.ts', 'tests/unit/kpis/sketch.test.ts'];
/** Domain rules are read by every layer: their mutants face every test. */
const EVERYTHING = [...ACTORS, 'tests/unit/domain', ...META, 'tests/unit/integrations/media-hosts.test.ts', ...OUTBOX, ...KPIS];

/** The tests that import a mutated file, by its layer. */
function testsFor(file: string | undefined): string[] {
  if (file?.startsWith('src/actors/')) return ACTORS;
  if (file?.startsWith('src/integrations/meta-')) return META;
  if (file?.startsWith('src/outbox/')) return OUTBOX;
  if (file?.startsWith('src/kpis/')) return KPIS;
  return EVERYTHING;
}

/** The source file the instrumenter put a mutant in: each mutant's id appears in its file's `stryMutAct_9fa48("<id>")` guards. */
async function fileOf(mutantId: string): Promise<string | undefined> {
  const marker = `stryMutAct_9fa48("${mutantId}")`;
  for await (const file of new Glob('src/**/*.ts').scan('.')) {
    if ((await Bun.file(file).text()).includes(marker)) return file;
  }
  return undefined;
}

const mutant = process.env.__STRYKER_ACTIVE_MUTANT__;
const tests = mutant === undefined ? EVERYTHING : testsFor(await fileOf(mutant));
// One file after another: Stryker already runs several of these at once, one per core.
const run = Bun.spawn(['bun', 'test', '--bail', `--path-ignore-patterns=${DATABASE_TESTS}`, ...tests], {
  stdio: ['ignore', 'inherit', 'inherit'],
  env: { ...process.env, HANDOVER_TEST_SERIAL: '1' },
});
process.exit(await run.exited);
