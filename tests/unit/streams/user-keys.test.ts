import { afterEach, describe, expect, test } from 'bun:test';
import { pipelineEvent, type PipelineEvent } from '../../../src/domain/events';
import { createUserKeys } from '../../../src/streams/user-keys';
import type { UserIds } from '../../../src/domain/user-ids';
import { redisFixture } from './redis-fixture';

const PHONE = '573001112233';
const BSUID = 'CO.1047385771169864';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

let sequence = 0;
const message = (user: UserIds): PipelineEvent =>
  pipelineEvent('user.message', user.phone ?? user.bsuid!, `wa:msg:${++sequence}`, {
    user,
    waMessageId: `wamid.${sequence}`,
    timestamp: '2026-11-30T15:00:00.000Z',
    type: 'text',
    text: 'hola',
  });
const status = (user: UserIds): PipelineEvent =>
  pipelineEvent('whatsapp.status', user.phone ?? user.bsuid!, `wa:status:${++sequence}`, {
    user,
    waMessageId: `wamid.${sequence}`,
    status: 'read',
    timestamp: '2026-11-30T15:00:00.000Z',
  });
const change = (previousBsuid: string, bsuid: string, phone?: string): PipelineEvent =>
  pipelineEvent('user.id_changed', previousBsuid, `wa:user_id:${previousBsuid}:${bsuid}`, {
    previousBsuid,
    bsuid,
    ...(phone ? { phone } : {}),
    timestamp: '2026-11-30T15:00:00.000Z',
  });

/** A resolver on keys of this test's own; `keysOf` resolves events one webhook at a time and returns their keys. */
function resolver() {
  const fixture = redisFixture('user-keys');
  cleanups.push(fixture.drop);
  const userKeys = createUserKeys(fixture.redis, fixture.keys.users);
  return { fixture, keysOf: async (...events: PipelineEvent[]) => (await userKeys.resolve(events)).map((event) => event.key) };
}

describe('one conversation key per person, decided at ingest', () => {
  test('a user first seen with a phone keeps the phone as key when later webhooks carry only the BSUID, or both', async () => {
    const { keysOf } = resolver();
    expect(await keysOf(message({ phone: PHONE }))).toEqual([PHONE]);
    expect(await keysOf(message({ phone: PHONE, bsuid: BSUID }))).toEqual([PHONE]);
    expect(await keysOf(message({ bsuid: BSUID }), status({ bsuid: BSUID }))).toEqual([PHONE, PHONE]);
  });

  test('a username-only user is keyed by BSUID, and stays so when the phone appears later', async () => {
    const { keysOf } = resolver();
    expect(await keysOf(message({ bsuid: BSUID, username: 'juan.p' }))).toEqual([BSUID]);
    expect(await keysOf(message({ phone: PHONE, bsuid: BSUID }), message({ phone: PHONE }))).toEqual([BSUID, BSUID]);
  });

  test('a pre-2026 conversation keyed by phone is found again by the first webhook with both ids', async () => {
    const { keysOf } = resolver();
    expect(await keysOf(message({ phone: PHONE, bsuid: BSUID }))).toEqual([PHONE]);
    expect(await keysOf(message({ bsuid: BSUID }))).toEqual([PHONE]);
  });

  test("a user_id_update moves the new BSUID onto the person's key, and their new phone after it", async () => {
    const { keysOf } = resolver();
    await keysOf(message({ bsuid: BSUID }));
    expect(await keysOf(change(BSUID, 'CO.555'))).toEqual([BSUID]);
    expect(await keysOf(message({ phone: '573009998877', bsuid: 'CO.555' }))).toEqual([BSUID]);
    expect(await keysOf(message({ phone: '573009998877' }))).toEqual([BSUID]);
  });

  test('a phone given up and reassigned to someone else (another BSUID) is not the same person', async () => {
    const { keysOf } = resolver();
    await keysOf(message({ phone: PHONE, bsuid: BSUID }));
    expect(await keysOf(message({ phone: PHONE, bsuid: 'CO.999' }))).toEqual(['CO.999']);
    expect(await keysOf(message({ bsuid: BSUID }))).toEqual([PHONE]);
  });

  test('events that already carry their key (the CRM, timers) are left as they are', async () => {
    const { keysOf } = resolver();
    const timer = pipelineEvent('timer.fired', 'CO.42', 'timer:1', { timer: 'survey', dueAt: '2026-11-30T15:00:00.000Z' });
    expect(await keysOf(timer)).toEqual(['CO.42']);
  });

  test('ids this process resolved before are answered from memory, without the script', async () => {
    const { keysOf, fixture } = resolver();
    expect(await keysOf(message({ phone: PHONE, bsuid: BSUID }))).toEqual([PHONE]);
    await fixture.redis.del(fixture.keys.users);
    expect(await keysOf(message({ phone: PHONE, bsuid: BSUID }), status({ phone: PHONE }))).toEqual([PHONE, PHONE]);
    // Other ids, or a change, still go to Redis: the hash is empty now.
    expect(await keysOf(message({ bsuid: 'CO.777' }))).toEqual(['CO.777']);
  });

  test('a phone reassigned through this process is keyed anew at once, also for phone-only events', async () => {
    const { keysOf } = resolver();
    expect(await keysOf(message({ phone: PHONE, bsuid: BSUID }), message({ phone: PHONE }))).toEqual([PHONE, PHONE]);
    expect(await keysOf(message({ phone: PHONE, bsuid: 'CO.999' }))).toEqual(['CO.999']);
    expect(await keysOf(status({ phone: PHONE }), message({ bsuid: BSUID, phone: PHONE }))).toEqual(['CO.999', PHONE]);
  });
});
