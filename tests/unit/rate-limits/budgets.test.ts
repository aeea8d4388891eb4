import { expect, test } from 'bun:test';
import { memoryRateLimit } from '../../../src/rate-limits/budgets';

test('a budget refuses the request past it with a 429 that says when to retry', async () => {
  const limit = memoryRateLimit(2);
  await limit.consume('a');
  await limit.consume('a');
  await limit.consume('b');
  const refusal = await limit.consume('a').catch((error) => error);
  expect(refusal).toMatchObject({ status: 429, code: 'rate_limited', retryable: true });
  expect(refusal.message).toMatch(/retry in \d+s/);
});
