import { describe, expect, test } from 'bun:test';
import type { PipelineEvent } from '../../../src/domain/events';
import { CODEC_VERSION, CodecError, deadLetterFields, decodeEvent, encodeEvent, partitionOf, splitDeadLetter, streamKeys } from '../../../src/streams/codec';

const EVENT: PipelineEvent = {
  type: 'user.message',
  key: '573001112233',
  id: 'wa:msg:wamid.ABC',
  at: '2026-11-30T15:00:00.000Z',
  data: { user: { phone: '573001112233' }, waMessageId: 'wamid.ABC', timestamp: '2026-11-30T14:59:58.000Z', type: 'text', text: 'Hola, ¿cómo estás? 👋' },
};

/** The fields of an encoded event, the event's JSON changed by `change`. */
function withEvent(change: (event: Record<string, unknown>) => void): string[] {
  const fields = encodeEvent(EVENT);
  const event = JSON.parse(fields[fields.indexOf('e') + 1]!) as Record<string, unknown>;
  change(event);
  fields[fields.indexOf('e') + 1] = JSON.stringify(event);
  return fields;
}

/** How version 1 wrote an event: each part in a field of its own. */
const versionOne = (event: PipelineEvent) => ['t', event.type, 'k', event.key, 'id', event.id, 'v', '1', 'd', JSON.stringify(event.data), 'at', event.at];

describe('the stream entry codec', () => {
  test('an event comes back exactly as it was encoded, non-ASCII text included', () => {
    expect(decodeEvent(encodeEvent(EVENT))).toEqual(EVENT);
  });

  test('the entry is the codec version and the event as JSON: two fields, the fewest arguments for the XADD', () => {
    const fields = encodeEvent(EVENT);
    expect(fields).toHaveLength(4);
    expect(fields.slice(0, 3)).toEqual(['v', CODEC_VERSION, 'e']);
    expect(JSON.parse(fields[3]!)).toEqual({ t: 'user.message', k: EVENT.key, id: EVENT.id, at: EVENT.at, d: EVENT.data });
  });

  test('an entry written by version 1 (a field per part) still decodes: a stream may hold them across an upgrade', () => {
    expect(decodeEvent(versionOne(EVENT))).toEqual(EVENT);
  });

  test('version 1 can still be written, for a fleet whose older instances read only that (STREAM_CODEC_VERSION=1)', () => {
    expect(encodeEvent(EVENT, '1')).toEqual(versionOne(EVENT));
    expect(decodeEvent(encodeEvent(EVENT, '1'))).toEqual(EVENT);
  });

  const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

  for (const version of ['1', '2'] as const) {
    test(`a version ${version} entry carries the trace context in a field of its own, after the fields every reader knows`, () => {
      const fields = encodeEvent(EVENT, version, TRACEPARENT);
      // An instance that knows nothing of traces reads the same fields, by name, and passes over "tp".
      expect(fields.slice(0, -2)).toEqual(encodeEvent(EVENT, version));
      expect(fields.slice(-2)).toEqual(['tp', TRACEPARENT]);
      expect(decodeEvent(fields)).toEqual({ ...EVENT, traceparent: TRACEPARENT });
    });
  }

  test('an entry written before traces (no "tp") decodes as before, with no trace context', () => {
    expect(decodeEvent(encodeEvent(EVENT)).traceparent).toBeUndefined();
    expect(decodeEvent(versionOne(EVENT)).traceparent).toBeUndefined();
  });

  test('a malformed trace context is left out, never a reason to refuse the entry', () => {
    for (const bad of ['', 'junk', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331', `${TRACEPARENT}\nx`]) {
      const decoded = decodeEvent([...encodeEvent(EVENT), 'tp', bad]);
      expect(decoded).toEqual(EVENT);
      expect(decoded.traceparent).toBeUndefined();
    }
  });

  for (const part of ['t', 'k', 'id', 'd', 'at']) {
    test(`an entry whose event lacks "${part}" is refused with the parts it has`, () => {
      const fields = withEvent((event) => delete event[part]);
      expect(() => decodeEvent(fields)).toThrow(CodecError);
      expect(() => decodeEvent(fields)).toThrow(/lacks a field/);
    });

    test(`a version 1 entry without its "${part}" field is refused`, () => {
      const fields = versionOne(EVENT);
      fields.splice(fields.indexOf(part), 2);
      expect(() => decodeEvent(fields)).toThrow(/lacks a field/);
    });
  }

  test('an entry of another codec version, or of none, is refused', () => {
    expect(() => decodeEvent(['v', '3', 'e', '{}'])).toThrow(new CodecError('unknown codec version 3'));
    expect(() => decodeEvent(['e', '{}'])).toThrow(new CodecError('unknown codec version undefined'));
  });

  test('an entry without its event, or whose event is not a JSON object, is refused', () => {
    expect(() => decodeEvent(['v', CODEC_VERSION])).toThrow(/lacks a field/);
    expect(() => decodeEvent(['v', CODEC_VERSION, 'e', '{nope'])).toThrow(new CodecError('entry event is not JSON'));
    expect(() => decodeEvent(['v', CODEC_VERSION, 'e', '"text"'])).toThrow(new CodecError('entry event is not an object'));
  });

  test('a version 1 entry whose data is not JSON is refused', () => {
    const fields = versionOne(EVENT);
    fields[fields.indexOf('d') + 1] = '{"phone":';
    expect(() => decodeEvent(fields)).toThrow(new CodecError('entry data is not JSON'));
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
