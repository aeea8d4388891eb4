import { describe, expect, test } from 'bun:test';
import { CodecError } from '../../../src/streams/codec';
import { isPermanentFailure } from '../../../src/streams/failure';

/** What Drizzle throws: its own "Failed query" error, the driver's error (with its SQLSTATE) as the cause. */
const failedQuery = (code: string, message = 'driver error') =>
  new Error('Failed query: insert into messages ...', { cause: Object.assign(new Error(message), { code }) });

describe('a failure that will happen every time', () => {
  test.each([
    ['22021', 'invalid byte sequence for encoding "UTF8": 0x00'],
    ['22P05', 'unsupported Unicode escape sequence'],
    ['22008', 'date/time field value out of range'],
    ['22P02', 'invalid input syntax for type json'],
    ['23502', 'null value in column violates not-null constraint'],
    ['23503', 'insert violates foreign key constraint'],
    ['42703', 'column does not exist'],
  ])('SQLSTATE %s (%s) is permanent', (code, message) => {
    expect(isPermanentFailure(failedQuery(code, message))).toBe(true);
  });

  test('an entry that does not decode, an impossible date and a field that is not JSON are permanent', () => {
    expect(isPermanentFailure(new CodecError('entry lacks a field'))).toBe(true);
    expect(isPermanentFailure(new RangeError('Invalid time value'))).toBe(true);
    expect(isPermanentFailure(new SyntaxError('JSON Parse error'))).toBe(true);
  });
});

describe('a failure worth retrying', () => {
  test.each([
    ['40001', 'could not serialize access'],
    ['40P01', 'deadlock detected'],
    ['55P03', 'lock not available'],
    ['57014', 'canceling statement due to statement timeout'],
    ['53300', 'too many connections'],
    ['23505', 'duplicate key value (another consumer applied the entry first)'],
  ])('SQLSTATE %s (%s) is transient', (code, message) => {
    expect(isPermanentFailure(failedQuery(code, message))).toBe(false);
  });

  test('a connection error or an error without a code is transient', () => {
    expect(isPermanentFailure(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(false);
    expect(isPermanentFailure(new Error('constraint violated'))).toBe(false);
    expect(isPermanentFailure('a string')).toBe(false);
  });
});
