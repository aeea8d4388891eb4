import { expect, test } from 'bun:test';
import { loadConfig } from '../../src/config';
import { configProblems } from '../support/config-problems';

/** The Redis settings: an unset REDIS_URL means the private redis-server, which production may not use. */

test('unset, REDIS_URL means a private redis-server; durability settings default to off', () => {
  const config = loadConfig({});
  expect(config.REDIS_URL).toBe('');
  expect(config.REDIS_ALLOW_NO_AOF).toBe(false);
  expect(config.REDIS_WAIT_REPLICAS).toBe(0);
  expect(config.REDIS_WAIT_TIMEOUT_MS).toBe(200);
});

test('production names its Redis', () => {
  expect(configProblems({ NODE_ENV: 'production' })).toContain('REDIS_URL: required when NODE_ENV=production');
});

test('WAIT for replicas is refused with a Redis Cluster, where each shard has its own primary', () => {
  expect(configProblems({ REDIS_URL: 'redis+cluster://10.0.0.1:6379', REDIS_WAIT_REPLICAS: '1' })).toEqual([
    'REDIS_WAIT_REPLICAS: not supported with a Redis Cluster REDIS_URL (set it to 0)',
  ]);
  expect(configProblems({ REDIS_URL: 'redis://10.0.0.1:6379', REDIS_WAIT_REPLICAS: '1' })).toEqual([]);
  expect(configProblems({ REDIS_ALLOW_NO_AOF: 'perhaps' })).toEqual(['REDIS_ALLOW_NO_AOF: expected boolean (got "perhaps")']);
});
