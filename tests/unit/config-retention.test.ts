import { expect, test } from 'bun:test';
import { loadConfig } from '../../src/config';
import { retentionPeriods } from '../../src/retention/purge';
import { configProblems } from '../support/config-problems';

const DAY_MS = 24 * 3600 * 1000;

test('every store has a retention by default: dedupe past Meta’s week, the history a year, KPIs longer', () => {
  const config = loadConfig({});
  expect(retentionPeriods(config)).toEqual({
    dedupeMs: 8 * DAY_MS,
    outboxMs: 7 * DAY_MS,
    historyMs: 365 * DAY_MS,
    kpiMs: 730 * DAY_MS,
    deadLettersMs: 30 * DAY_MS,
  });
  expect(config.CRM_IDEMPOTENCY_TTL_S).toBe(24 * 3600);
  expect([config.RETENTION_PURGE_INTERVAL_S, config.RETENTION_PURGE_BATCH_SIZE]).toEqual([60, 500]);
});

test('a fraction of a day is a retention (a benchmark’s minutes); zero, a negative or a word is refused, naming the setting', () => {
  expect(retentionPeriods(loadConfig({ RETENTION_HISTORY_DAYS: '0.5' })).historyMs).toBe(DAY_MS / 2);
  for (const value of ['0', '-1', 'forever']) {
    const problems = configProblems({ RETENTION_OUTBOX_DAYS: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toStartWith('RETENTION_OUTBOX_DAYS: ');
  }
});

test('KPIs kept less than the history they count is refused', () => {
  expect(configProblems({ RETENTION_HISTORY_DAYS: '400', RETENTION_KPI_DAYS: '365' })).toEqual([
    'RETENTION_KPI_DAYS: must be at least RETENTION_HISTORY_DAYS (400): KPIs outlive the history they count',
  ]);
});

test('in production, dedupe records kept less than Meta’s 7 days of redelivery are refused; elsewhere (tests, benchmarks) allowed', () => {
  expect(loadConfig({ RETENTION_DEDUPE_DAYS: '0.01' }).RETENTION_DEDUPE_DAYS).toBe(0.01);
  const problems = configProblems({ NODE_ENV: 'production', RETENTION_DEDUPE_DAYS: '6' });
  expect(problems.filter((problem) => problem.startsWith('RETENTION_DEDUPE_DAYS'))).toEqual([
    'RETENTION_DEDUPE_DAYS: at least 7 when NODE_ENV=production (Meta redelivers for 7 days; got 6)',
  ]);
});
