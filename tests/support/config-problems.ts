import { ConfigError, loadConfig } from '../../src/config';

/** What the configuration refuses in `env`, one line per problem; none when it loads. Any other error is thrown on. */
export function configProblems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems;
  }
}
