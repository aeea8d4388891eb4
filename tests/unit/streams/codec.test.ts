import { describe, expect, test } from 'bun:test';
import type { PipelineEvent } from '../../../src/events';
import { CODEC_VERSION, CodecError, deadLetterFields, decodeEvent, encodeEvent, partitionOf, splitDeadLetter, streamKeys } from '../../../src/streams/codec';

const EVENT: PipelineEvent = {
  type: 'user.message',
  key: '573001112233',
  id: 'wa:msg:wamid.ABC',
  at: '2026-11-30T15:00:00.000Z',
  data: { user: { phone: '573001112233' }, waMessageId: 'wamid.ABC', timestamp: '2026-11-30T14:59:58.000Z', type: 'text', text: 'Hola, ¿cómo estás? 👋' },
};

/** The fields of an encoded event with one of them replaced or removed. */
function withField(name: string, value: string | undefined): string[] {
  const fields = encodeEvent(EVENT);
  const index = fields.indexOf(name);
  if (value === undefined) fields.splice(index, 2);
  else fields[index + 1] = value;
  return fields;
}

describe('the stream entry codec', () => {
  test('an event comes back exactly as it was encoded, non-ASCII text included', () => {
    expect(decodeEvent(encodeEvent(EVENT))).toEqual(EVENT);
  });

  test('the entry names its type, conversation, id and codec version in fields of their own', () => {
    const fields = encodeEvent(EVENT);
    const map = Object.fromEntries(Array.from({ length: fields.length / 2 }, (_, i) => [fields[2 * i], fields[2 * i + 1]]));
    expect(map).toMatchObject({ t: 'user.message', k: EVENT.key, id: EVENT.id, v: CODEC_VERSION, at: EVENT.at });
  });

  for (const field of ['t', 'k', 'id', 'd', 'at']) {
    test(`an entry without its "${field}" field is refused with the fields it has`, () => {
      expect(() => decodeEvent(withField(field, undefined))).toThrow(CodecError);
      expect(() => decodeEvent(withField(field, undefined))).toThrow(/lacks a field/);
    });
  }

  test('an entry of another codec version is refused', () => {
    expect(() => decodeEvent(withField('v', '2'))).toThrow(new CodecError('unknown codec version 2'));
    expect(() => decodeEvent(withField('v', undefined))).toThrow(new CodecError('unknown codec version undefined'));
  });

  test('an entry whose data is not JSON is refused', () => {
    expect(() => decodeEvent(withField('d', '{"phone":'))).toThrow(new CodecError('entry data is not JSON'));
  });

  test('an empty entry is refused, not crashed on', () => {
    expect(() => decodeEvent([])).toThrow(CodecError);
  });
});

describe('partitions', () => {
  test('a conversation always lands on the same partition', () => {
    // Pinned values (CRC-32): a change would send a live backlog's later events to another partition, out of order.
    expect(partitionOf('573001112233', 8)).toBe(2);
    expect(partitionOf('573009998877', 8)).toBe(6);
    expect(partitionOf('573150000000', 16)).toBe(0);
  });

  test('conversations spread over every partition', () => {
    const used = new Set(Array.from({ length: 200 }, (_, i) => partitionOf(`57300${String(i).padStart(7, '0')}`, 8)));
    expect([...used].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  test('keys live under the configured prefix, and every key of a partition shares its Redis Cluster hash tag', () => {
    const keys = streamKeys('hb:');
    expect(keys.partition(3)).toBe('hb:events:{3}');
    expect(keys.lease(3)).toBe('hb:events:{3}:lease');
    expect(keys.leaseToken(3)).toBe('hb:events:{3}:token');
    expect(keys.failures(keys.partition(3), '1-0')).toBe('hb:events:{3}:failures:1-0');
    expect(keys.deadLetter).toBe('hb:events:dead');
    expect(keys.legacyPartition(3)).toBe('hb:events:3');
  });
});

describe('dead-letter fields', () => {
  test('the reason travels in front of the original fields and splits back off them', () => {
    const info = { stream: 'hb:events:1', entry: '1700000000000-0', error: 'boom', failedAt: '2026-11-30T15:00:00.000Z', deliveries: 5 };
    const original = encodeEvent(EVENT);
    const { info: back, original: rest } = splitDeadLetter([...deadLetterFields(info), ...original]);
    expect(back).toEqual(info);
    expect(decodeEvent(rest)).toEqual(EVENT);
  });

  test('a long error is cut to 2000 characters', () => {
    const fields = deadLetterFields({ stream: 's', entry: '1-0', error: 'x'.repeat(5000), failedAt: '', deliveries: 1 });
    expect(fields[fields.indexOf('error') + 1]).toHaveLength(2000);
  });
});
