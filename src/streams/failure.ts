import type Redis from 'ioredis';
import type { Logger } from '../logger';
import { maskNumbers } from '../domain/masking';
import { CodecError, deadLetterFields, type StreamKeys } from './codec';
import { DEAD_LETTER_MAXLEN } from './retention';

/**
 * SQLSTATE classes of errors a statement gets every time it is run with the
 * same data: 22 data exceptions (22021 a NUL byte, 22P05 an untranslatable
 * character, 22008 a date out of range), 23 integrity violations, 42 syntax
 * errors and undefined objects. Retrying them only holds up the partition.
 */
const PERMANENT_CLASSES = new Set(['22', '23', '42']);

/**
 * A unique violation can be a race, not the data: a consumer that took over
 * an entry (XAUTOCLAIM) while its first consumer was still applying it. The
 * retry then finds the event processed and drops it.
 */
const RACES = new Set(['23505']);

const isPermanentSqlState = (code: unknown) =>
  typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !RACES.has(code) && PERMANENT_CLASSES.has(code.slice(0, 2));

/**
 * Errors of our own that the same entry raises every time: an entry that
 * does not decode, a value no Date can hold (RangeError), a field that is
 * not JSON (SyntaxError).
 */
const isDataError = (error: Error): boolean => error instanceof CodecError || error instanceof RangeError || error instanceof SyntaxError;

/**
 * Whether applying an entry failed for a reason that will not go away: the
 * worker dead-letters such an entry at once instead of retrying it. Drizzle
 * wraps the driver's error, so the whole `cause` chain is read.
 */
export function isPermanentFailure(error: unknown): boolean {
  let current: unknown = error;
  while (current instanceof Error) {
    if (isDataError(current) || isPermanentSqlState((current as { code?: unknown }).code)) return true;
    current = current.cause;
  }
  return false;
}

/** A failure count outlives any retry sequence; an entry applied later in a whole batch leaves its count to expire. */
const FAILURE_COUNT_TTL_S = 24 * 3600;

/** The worker's record of entries that fail: their failure counts, and the dead-letter stream. */
export function entryFailures(redis: Redis, keys: StreamKeys, logger: Logger) {
  /**
   * Two steps, as the dead-letter stream and the partition live in different
   * slots on Redis Cluster: the copy first, then the acknowledgement. A crash
   * between them leaves the entry pending too: it fails again and is
   * dead-lettered twice, never lost.
   */
  async function deadLetter(stream: string, entryId: string, fields: string[], failure: string, deliveries: number): Promise<void> {
    // Kept and logged without what the error may quote of the event (a phone, a document number): its digits masked.
    const reason = maskNumbers(failure);
    await redis.xadd(
      keys.deadLetter,
      'MAXLEN',
      '~',
      DEAD_LETTER_MAXLEN,
      '*',
      ...deadLetterFields({ stream, entry: entryId, error: reason, failedAt: new Date().toISOString(), deliveries }),
      ...fields,
    );
    await redis.multi().xack(stream, keys.group, entryId).del(keys.failures(stream, entryId)).exec();
    logger.error({ event: 'stream.dead_letter', stream, entryId, deliveries, error: reason }, 'entry moved to the dead-letter stream');
  }

  /**
   * Counts the failures of one entry while the database was up, in Redis so
   * that a restart keeps the count. Not XPENDING's delivery count: a
   * partition waiting out a database outage re-reads its entries every
   * second, which would count the outage against them.
   */
  async function countFailure(stream: string, entryId: string): Promise<number> {
    const key = keys.failures(stream, entryId);
    const [[, count]] = (await redis.multi().incr(key).expire(key, FAILURE_COUNT_TTL_S).exec()) as [[Error | null, number]];
    return Number(count);
  }

  return { deadLetter, countFailure };
}
