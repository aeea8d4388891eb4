import { CodecError } from './codec';

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
