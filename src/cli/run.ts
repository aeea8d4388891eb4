import { ConfigError } from '../config';

/** Runs a command's `main` and exits with its code; a bad setting or a failure is one clear line each, never a stack. */
export async function runCommand(main: (args: string[]) => Promise<number>): Promise<never> {
  try {
    process.exit(await main(process.argv.slice(2)));
  } catch (error) {
    if (error instanceof ConfigError) for (const problem of error.problems) console.error(`config: ${problem}`);
    else console.error((error as Error).message);
    process.exit(1);
  }
}
