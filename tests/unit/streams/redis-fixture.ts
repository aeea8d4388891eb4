import Redis from 'ioredis';
import { pipelineEvent, type PipelineEvent } from '../../../src/domain/events';
import { streamKeys, type StreamKeys } from '../../../src/streams/codec';
import { REDIS_URL } from '../../support/harness';

let sequence = 0;

/** A Redis connection and stream keys under a prefix of this test's own; `drop` deletes every key under it. */
export function redisFixture(file: string): { redis: Redis; keys: StreamKeys; prefix: string; drop(): Promise<void> } {
  const prefix = `hbtest:${file}:${process.pid}:${Date.now().toString(36)}:${++sequence}:`;
  const redis = new Redis(REDIS_URL);
  return {
    redis,
    keys: streamKeys(prefix),
    prefix,
    async drop() {
      const found = await redis.keys(`${prefix}*`);
      if (found.length > 0) await redis.del(...found);
      await redis.quit();
    },
  };
}

/** A small event for one conversation; `id` is its natural id, what the tests follow. */
export const timerEvent = (key: string, id: string): PipelineEvent =>
  pipelineEvent('timer.fired', key, id, { timer: 'survey', dueAt: '2026-11-30T15:00:00.000Z' });

/** A promise the test settles by hand: stands for a transaction still running. */
export function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}
