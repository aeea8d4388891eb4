import { afterEach, describe, expect, test } from 'bun:test';
import { CODEC_VERSION, deadLetterFields, decodeEvent, encodeEvent, partitionOf } from '../../../src/streams/codec';
import { createDeadLetters } from '../../../src/streams/dead-letters';
import { pipelineEvent } from '../../../src/domain/events';
import { redisFixture, timerEvent } from './redis-fixture';

const PARTITIONS = 4;
const PHONE = '573001112233';
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

function deadLetterFixture() {
  const fixture = redisFixture('unit-dead-letters');
  cleanups.push(fixture.drop);
  const { redis, keys } = fixture;
  /** Dead-letters `original` as the worker does, as having failed in `stream`. */
  const bury = async (original: string[], stream = keys.partition(0), error = 'constraint violated') =>
    (await redis.xadd(
      keys.deadLetter,
      '*',
      ...deadLetterFields({ stream, entry: '1700000000000-0', error, failedAt: '2026-11-30T15:00:00.000Z', deliveries: 5 }),
      ...original,
    )) as string;
  return { ...fixture, bury, deadLetters: createDeadLetters(redis, keys, PARTITIONS) };
}

describe('listing dead letters', () => {
  test('shows why each event failed and what it was, with the phone masked', async () => {
    const { bury, deadLetters } = deadLetterFixture();
    const id = await bury(encodeEvent(timerEvent(PHONE, 'timer:1')));

    const { entries, next } = await deadLetters.list({ count: 10 });
    expect(next).toBeNull();
    expect(entries).toEqual([
      {
        id,
        stream: expect.stringContaining('events:{0}'),
        entry: '1700000000000-0',
        error: 'constraint violated',
        failedAt: '2026-11-30T15:00:00.000Z',
        deliveries: 5,
        event: { type: 'timer.fired', id: 'timer:1', key: '57300*****33', at: expect.any(String) },
      },
    ]);
    expect(JSON.stringify(entries)).not.toContain(PHONE);
  });

  test("a username-only user's BSUID is masked like a phone, in the key and in the id", async () => {
    const { bury, deadLetters } = deadLetterFixture();
    const bsuid = 'CO.1047385771169864';
    await bury(encodeEvent(timerEvent(bsuid, `timer:${bsuid}`)));
    const { entries } = await deadLetters.list({ count: 10 });
    expect(entries[0]!.event).toMatchObject({ key: 'CO.10473*********64', id: 'timer:CO.10473*********64' });
    expect(JSON.stringify(entries)).not.toContain('1047385771169864');
  });

  test('a document number the entry carries and its error quotes is masked in the listing (only its last two digits show)', async () => {
    const { bury, deadLetters } = deadLetterFixture();
    const document = '7392046185';
    const lookup = pipelineEvent('customer.lookup.result', PHONE, 'outbox:42:result', { document, outcome: 'not_found' });
    await bury(encodeEvent(lookup), undefined, `permanent: invalid input for document ${document} (7.392.046.185) in "customers"`);

    const { entries } = await deadLetters.list({ count: 10 });

    expect(entries[0]!.error).toBe('permanent: invalid input for document ********85 (********85) in "customers"');
    const listed = JSON.stringify(entries);
    for (let start = 0; start + 5 <= document.length; start++) expect(listed).not.toContain(document.slice(start, start + 5));
  });

  test('an event that does not decode is listed with the reason', async () => {
    const { bury, deadLetters } = deadLetterFixture();
    await bury(['v', CODEC_VERSION]);

    const { entries } = await deadLetters.list({ count: 10 });
    expect(entries[0]!.event).toEqual({ undecodable: expect.stringContaining('lacks a field') });
  });

  test('pages oldest first, each page naming where the next starts', async () => {
    const { bury, deadLetters } = deadLetterFixture();
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await bury(encodeEvent(timerEvent(PHONE, `timer:${i}`))));

    const first = await deadLetters.list({ count: 2 });
    const second = await deadLetters.list({ count: 2, after: first.next! });
    const third = await deadLetters.list({ count: 2, after: second.next! });
    expect([...first.entries, ...second.entries, ...third.entries].map((entry) => entry.id)).toEqual(ids);
    expect(third.next).toBeNull();
    expect(await deadLetters.count()).toBe(5);
  });
});

describe('re-driving dead letters', () => {
  test("an event goes back, as a new entry, onto its conversation's partition and leaves the dead-letter stream", async () => {
    const { redis, keys, bury, deadLetters } = deadLetterFixture();
    const event = timerEvent(PHONE, 'timer:1');
    // Recorded as failed on partition 0, but its conversation's partition is where order holds.
    const id = await bury(encodeEvent(event), keys.partition(0));
    const home = keys.partition(partitionOf(PHONE, PARTITIONS));

    expect(await deadLetters.redrive([id])).toEqual({ redriven: [id], missing: [] });
    const entries = await redis.xrange(home, '-', '+');
    expect(entries.map(([, fields]) => decodeEvent(fields))).toEqual([event]);
    expect(await deadLetters.count()).toBe(0);
  });

  test('an undecodable event goes back where it failed, to fail visibly again', async () => {
    const { redis, keys, bury, deadLetters } = deadLetterFixture();
    const id = await bury(['t', 'user.message'], keys.partition(3));

    expect(await deadLetters.redrive([id])).toEqual({ redriven: [id], missing: [] });
    expect(await redis.xlen(keys.partition(3))).toBe(1);
  });

  test('ids that are not in the stream are reported missing; the others are re-driven', async () => {
    const { bury, deadLetters } = deadLetterFixture();
    const id = await bury(encodeEvent(timerEvent(PHONE, 'timer:1')));

    expect(await deadLetters.redrive(['1-1', id])).toEqual({ redriven: [id], missing: ['1-1'] });
  });

  test('"all" empties the stream', async () => {
    const { redis, keys, bury, deadLetters } = deadLetterFixture();
    for (const phone of ['573001112233', '573009998877', '573150000000']) await bury(encodeEvent(timerEvent(phone, `timer:${phone}`)));

    const { redriven } = await deadLetters.redrive('all');
    expect(redriven).toHaveLength(3);
    expect(await deadLetters.count()).toBe(0);
    let back = 0;
    for (let index = 0; index < PARTITIONS; index++) back += await redis.xlen(keys.partition(index));
    expect(back).toBe(3);
  });
});
