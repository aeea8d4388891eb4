import { afterAll, describe, expect, test } from 'bun:test';
import Redis from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import { sharedWindow as insuredWindow } from '../../../src/rate-limits/windows';
import { blockSizeFor, reservedPoints } from '../../../src/rate-limits/reserved-points';
import { REDIS_URL } from '../../support/harness';

const redis = new Redis(REDIS_URL);
const prefix = `hbtest:reserved:${process.pid}:${Date.now().toString(36)}`;
afterAll(async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

let limiters = 0;
/** A window shared through the test Redis, as every instance shares it. */
const sharedWindow = (points: number, durationS: number) =>
  new RateLimiterRedis({ storeClient: redis, keyPrefix: `${prefix}:${limiters++}`, points, duration: durationS });

const granted = (results: { granted: boolean }[]) => results.filter((result) => result.granted).length;

describe('the block an instance reserves', () => {
  test('divides the window, so blocks fill it exactly; 5 % of it at most, and at most 100 points', () => {
    expect(blockSizeFor(6000)).toBe(100);
    expect(blockSizeFor(80)).toBe(4);
    expect(blockSizeFor(200)).toBe(10);
    expect(blockSizeFor(10_000_000)).toBe(100);
    expect(blockSizeFor(210)).toBe(10);
  });

  test('is a single point when nothing else divides the window, or the window is small', () => {
    expect(blockSizeFor(97)).toBe(1);
    expect(blockSizeFor(19)).toBe(1);
    expect(blockSizeFor(1)).toBe(1);
  });
});

describe('points reserved in blocks from a shared window', () => {
  test('one instance gets every point of the window, then a refusal that says when the window ends', async () => {
    const take = reservedPoints(sharedWindow(200, 60), 200);
    const results = await Promise.all(Array.from({ length: 230 }, () => take('crm')));
    expect(granted(results)).toBe(200);
    const refusal = results.find((result) => !result.granted) as { granted: false; msBeforeNext: number };
    expect(refusal.msBeforeNext).toBeGreaterThan(50_000);
  });

  test('concurrent callers share one reservation: the window counts whole blocks, not a call each', async () => {
    const limiter = sharedWindow(200, 60);
    const take = reservedPoints(limiter, 200);
    expect(granted(await Promise.all(Array.from({ length: 25 }, () => take('crm'))))).toBe(25);
    // 25 points out of blocks of 10: three reservations.
    expect((await limiter.get('crm'))?.consumedPoints).toBe(30);
  });

  test('two instances on one window never grant more than it holds between them', async () => {
    const limiter = sharedWindow(400, 60);
    const [first, second] = [reservedPoints(limiter, 400), reservedPoints(limiter, 400)];
    const results = await Promise.all(Array.from({ length: 300 }, (_, n) => (n % 2 === 0 ? first : second)('crm')));
    const more = await Promise.all(Array.from({ length: 200 }, (_, n) => (n % 2 === 0 ? first : second)('crm')));
    expect(granted(results) + granted(more)).toBe(400);
  });

  test('each client has its own window', async () => {
    const take = reservedPoints(sharedWindow(20, 60), 20);
    expect(granted(await Promise.all(Array.from({ length: 25 }, () => take('a'))))).toBe(20);
    expect(granted(await Promise.all(Array.from({ length: 25 }, () => take('b'))))).toBe(20);
  });

  test('points left in a block when its window ends are not spent in the next one', async () => {
    const limiter = sharedWindow(40, 1);
    const take = reservedPoints(limiter, 40);
    expect((await take('wa')).granted).toBe(true);
    await Bun.sleep(1100);
    expect((await take('wa')).granted).toBe(true);
    // The second point came from a fresh reservation in the new window, not from the first block's leftovers.
    expect((await limiter.get('wa'))?.consumedPoints).toBe(blockSizeFor(40));
  });

  test('an error of the store itself reaches the caller; the shared window the service builds counts in memory instead', async () => {
    const broken = new Redis({ port: 1, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    const take = reservedPoints(new RateLimiterRedis({ storeClient: broken, keyPrefix: `${prefix}:broken`, points: 10, duration: 1 }), 10);
    await expect(take('x')).rejects.toThrow();
    const insured = reservedPoints(insuredWindow(broken, `${prefix}:insured`, 10, 60), 10);
    expect(granted(await Promise.all(Array.from({ length: 12 }, () => insured('x'))))).toBe(10);
    broken.disconnect();
  });
});
