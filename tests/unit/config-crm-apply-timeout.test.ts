import { expect, test } from 'bun:test';
import { ConfigError, loadConfig } from '../../src/config';

const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return error.problems;
  }
};

test('CRM_APPLY_TIMEOUT_MS waits a few seconds by default, may be 0 (never wait), and refuses a negative, a word, or more than 30 s, in one line', () => {
  expect(loadConfig({}).CRM_APPLY_TIMEOUT_MS).toBe(3000);
  expect(loadConfig({ CRM_APPLY_TIMEOUT_MS: '0' }).CRM_APPLY_TIMEOUT_MS).toBe(0);
  for (const value of ['-1', 'soon', '30001']) {
    const problems = problemsOf({ CRM_APPLY_TIMEOUT_MS: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toStartWith('CRM_APPLY_TIMEOUT_MS: ');
    expect(problems[0]).toContain(value);
  }
});
