import type { PipelineEvent } from '../domain/events';
import { isTraceparent } from '../domain/trace-context';

/**
 * One stream entry per event: `v` the codec version, `e` the event as JSON
 * (`t` type, `k` conversation key, i.e. the user's first phone or BSUID,
 * `id` the natural id used for dedupe, `at` when it was accepted, `d` its
 * data). Version 1 entries (type, key, id, data and time each in a field of
 * its own) are still read: a stream may hold them across an upgrade. Each
 * field costs the producer an argument to encode, and the webhook an XADD per
 * event: two fields instead of six took a third off the XADD's CPU.
 * An instance of a version before this one reads version 1 only, and would
 * dead-letter what it cannot read: STREAM_CODEC_VERSION=1 writes version 1
 * while such instances run (a rolling upgrade, a rollback).
 *
 * `tp`, in either version, is the W3C `traceparent` of the span that appended
 * the entry (tracing on): a field of its own, which every version reads past,
 * so an instance that knows nothing of it applies the entry as before; an
 * entry without it (or with a malformed one) is applied untraced.
 */
export type CodecVersion = '1' | '2';

export const CODEC_VERSION: CodecVersion = '2';

export class CodecError extends Error {}

export function encodeEvent(event: PipelineEvent, version: CodecVersion = CODEC_VERSION, traceparent?: string): string[] {
  const fields =
    version === '1'
      ? ['t', event.type, 'k', event.key, 'id', event.id, 'v', '1', 'd', JSON.stringify(event.data), 'at', event.at]
      : ['v', '2', 'e', JSON.stringify({ t: event.type, k: event.key, id: event.id, at: event.at, d: event.data })];
  if (traceparent) fields.push('tp', traceparent);
  return fields;
}

const text = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);

const parsed = (json: string, what: string): unknown => {
  try {
    return JSON.parse(json);
  } catch {
    throw new CodecError(`entry ${what} is not JSON`);
  }
};

export function decodeEvent(fields: string[]): PipelineEvent {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!, fields[i + 1]!);
  const version = map.get('v');
  let type: unknown, key: unknown, id: unknown, at: unknown, data: unknown;
  if (version === '2') {
    const json = map.get('e');
    if (!json) throw new CodecError(`entry lacks a field (has ${[...map.keys()].join(',')})`);
    const event = parsed(json, 'event');
    if (typeof event !== 'object' || event === null) throw new CodecError('entry event is not an object');
    const { t, k, id: eventId, at: acceptedAt, d } = event as Record<string, unknown>;
    [type, key, id, at, data] = [text(t), text(k), text(eventId), text(acceptedAt), d];
    if (!type || !key || !id || !at || typeof data !== 'object' || data === null) {
      throw new CodecError(`entry event lacks a field (has ${Object.keys(event).join(',')})`);
    }
  } else if (version === '1') {
    [type, key, id, at] = ['t', 'k', 'id', 'at'].map((name) => map.get(name));
    const json = map.get('d');
    if (!type || !key || !id || !json || !at) throw new CodecError(`entry lacks a field (has ${[...map.keys()].join(',')})`);
    data = parsed(json, 'data');
  } else {
    throw new CodecError(`unknown codec version ${version}`);
  }
  const traceparent = map.get('tp');
  return (isTraceparent(traceparent) ? { type, key, id, at, data, traceparent } : { type, key, id, at, data }) as PipelineEvent;
}

/** Stable partition of a conversation: all events of one user land in one stream, in order. */
export function partitionOf(key: string, partitions: number): number {
  return Bun.hash.crc32(key) % partitions;
}

/**
 * Redis keys. Every key of one partition carries the partition as its hash
 * tag (`hb:events:{3}`, `hb:events:{3}:lease`, `hb:events:{3}:failures:...`),
 * so on Redis Cluster they share a slot and a script or MULTI over them is
 * allowed; nothing atomic ever spans two partitions or the dead-letter stream.
 */
export interface StreamKeys {
  partition(index: number): string;
  /** Who reads the partition (`consumer|token`), with a TTL: the lease. */
  lease(index: number): string;
  /** The partition's fencing token, only ever incremented. */
  leaseToken(index: number): string;
  /** The live instances (sorted set, score = when the heartbeat lapses): how many share the partitions. */
  instances: string;
  deadLetter: string;
  /** The failure count of one entry of one partition stream. */
  failures(stream: string, entryId: string): string;
  group: string;
  /** The hash of user ids (phone, BSUID) → conversation key, written at ingest: see user-keys.ts. */
  users: string;
  /** The hash of the templates the service sends → what Meta last said of each (redis/template-status.ts). */
  templates: string;
  /** The pre-cluster name of a partition stream (no hash tag); drained into the new one at start. */
  legacyPartition(index: number): string;
}

export function streamKeys(prefix: string): StreamKeys {
  const partition = (index: number) => `${prefix}events:{${index}}`;
  return {
    partition,
    lease: (index) => `${partition(index)}:lease`,
    leaseToken: (index) => `${partition(index)}:token`,
    instances: `${prefix}instances`,
    deadLetter: `${prefix}events:dead`,
    failures: (stream, entryId) => `${stream}:failures:${entryId}`,
    group: 'workers',
    users: `${prefix}users`,
    templates: `${prefix}templates`,
    legacyPartition: (index) => `${prefix}events:${index}`,
  };
}

/** What the dead-letter stream adds in front of the original entry's fields. */
export interface DeadLetterInfo {
  /** The partition stream and the entry id it failed in. */
  stream: string;
  entry: string;
  error: string;
  failedAt: string;
  deliveries: number;
}

const DEAD_LETTER_FIELDS = ['stream', 'entry', 'error', 'failedAt', 'deliveries'] as const;

export function deadLetterFields(info: DeadLetterInfo): string[] {
  return DEAD_LETTER_FIELDS.flatMap((name) => [name, name === 'error' ? info.error.slice(0, 2000) : String(info[name])]);
}

/** Splits a dead-letter entry back into why it is there and the original fields (to decode or re-drive). */
export function splitDeadLetter(fields: string[]): { info: DeadLetterInfo; original: string[] } {
  const head = new Map<string, string>();
  for (let i = 0; i < DEAD_LETTER_FIELDS.length * 2 && i + 1 < fields.length; i += 2) head.set(fields[i]!, fields[i + 1]!);
  return {
    info: {
      stream: head.get('stream') ?? '',
      entry: head.get('entry') ?? '',
      error: head.get('error') ?? '',
      failedAt: head.get('failedAt') ?? '',
      deliveries: Number(head.get('deliveries') ?? 0),
    },
    original: fields.slice(DEAD_LETTER_FIELDS.length * 2),
  };
}
