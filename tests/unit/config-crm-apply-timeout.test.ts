import { expect, test } from 'bun:test';
import { loadConfig } from '../../src/config';
import { configProblems } from '../support/config-problems';

test('CRM_APPLY_TIMEOUT_MS waits a few seconds by default, may be 0 (never wait), and refuses a negative, a word, or more than 30 s, in one line', () => {
  expect(loadConfig({}).CRM_APPLY_TIMEOUT_MS).toBe(3000);
  expect(loadConfig({ CRM_APPLY_TIMEOUT_MS: '0' }).CRM_APPLY_TIMEOUT_MS).toBe(0);
  for (const value of ['-1', 'soon', '30001']) {
    const problems = configProblems({ CRM_APPLY_TIMEOUT_MS: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toStartWith('CRM_APPLY_TIMEOUT_MS: ');
    expect(problems[0]).toContain(value);
  }
});
