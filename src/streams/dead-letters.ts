import type Redis from 'ioredis';
import type { PipelineEvent } from '../domain/events';
import { maskDigitRuns, maskKey, maskNumbers, withoutDocument } from '../domain/masking';
import { CodecError, decodeEvent, partitionOf, splitDeadLetter, type DeadLetterInfo, type StreamKeys } from './codec';

export interface DeadLetter extends DeadLetterInfo {
  /** The entry's id in the dead-letter stream: what a re-drive names. */
  id: string;
  /** The event as far as it decodes; its conversation key masked (the error's digits are too: `maskNumbers`). */
  event: { type: string; id: string; key: string; at: string } | { undecodable: string };
}

type RawEntry = [id: string, fields: string[]];

/** The document numbers an event carries: a lookup's, or a user's message that is one (typed with dots or spaces, perhaps). */
function documentsOf(event: PipelineEvent): string[] {
  if (event.type === 'customer.lookup.result') return [event.data.document];
  const typed = event.type === 'user.message' ? (event.data.text ?? '').replace(/[.\s-]/g, '') : '';
  return /^\d{5,15}$/.test(typed) ? [typed] : [];
}

function describe([id, fields]: RawEntry): DeadLetter {
  const { info, original } = splitDeadLetter(fields);
  let event: DeadLetter['event'];
  let documents: string[] = [];
  try {
    const decoded = decodeEvent(original);
    event = { type: decoded.type, id: maskDigitRuns(decoded.id), key: maskKey(decoded.key), at: decoded.at };
    documents = documentsOf(decoded);
  } catch (error) {
    if (!(error instanceof CodecError)) throw error;
    event = { undecodable: error.message };
  }
  // The error is the database's or the code's own text, which may quote what the event carried (a phone, a document
  // number): the event's documents are masked however written, and every other long run of digits as a document.
  const error = maskNumbers(documents.reduce(withoutDocument, info.error));
  return { id, ...info, error, event };
}

/**
 * The dead-letter stream: events that failed STREAM_MAX_DELIVERIES times with
 * the database up. They wait here, with their error, until someone re-drives
 * them (after a fix) — through the admin endpoint or `bun run dead-letters`.
 */
export function createDeadLetters(redis: Redis, keys: StreamKeys, partitions: number) {
  return {
    count: () => redis.xlen(keys.deadLetter),

    /** Oldest first; `after` is the last id of the previous page. */
    async list(options: { count: number; after?: string }): Promise<{ entries: DeadLetter[]; next: string | null }> {
      const start = options.after ? `(${options.after}` : '-';
      const raw = (await redis.xrange(keys.deadLetter, start, '+', 'COUNT', options.count)) as RawEntry[];
      const entries = raw.map(describe);
      return { entries, next: raw.length === options.count ? raw.at(-1)![0] : null };
    },

    /**
     * Puts entries back on their conversation's partition, as new entries,
     * then removes them from the dead-letter stream. The
     * event keeps its id: if it was applied after all, the worker's dedupe
     * drops it.
     */
    async redrive(ids: string[] | 'all'): Promise<{ redriven: string[]; missing: string[] }> {
      const raw: RawEntry[] = [];
      const missing: string[] = [];
      if (ids === 'all') {
        raw.push(...((await redis.xrange(keys.deadLetter, '-', '+')) as RawEntry[]));
      } else {
        for (const id of ids) {
          const [entry] = (await redis.xrange(keys.deadLetter, id, id)) as RawEntry[];
          if (entry) raw.push(entry);
          else missing.push(id);
        }
      }
      const redriven: string[] = [];
      for (const [id, fields] of raw) {
        const { info, original } = splitDeadLetter(fields);
        let stream = info.stream;
        if (!stream) {
          missing.push(id);
          continue;
        }
        try {
          stream = keys.partition(partitionOf(decodeEvent(original).key, partitions));
        } catch (error) {
          // An entry that does not decode goes back where it came from, to fail visibly again.
          if (!(error instanceof CodecError)) throw error;
        }
        // Two steps (the partition and the dead-letter stream are different slots on Redis Cluster), the copy first:
        // a failure in between leaves the entry in both, and the dedupe drops the second.
        await redis.xadd(stream, '*', ...original);
        await redis.xdel(keys.deadLetter, id);
        redriven.push(id);
      }
      return { redriven, missing };
    },
  };
}

export type DeadLetters = ReturnType<typeof createDeadLetters>;
