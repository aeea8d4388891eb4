import { expect, test } from 'bun:test';
import { bearerToken } from '../../../src/routes/http/bearer-auth';

test('the token is what follows the Bearer scheme and one space; the scheme in any case', () => {
  expect(bearerToken('Bearer abc.def')).toBe('abc.def');
  expect(bearerToken('bearer abc')).toBe('abc');
  expect(bearerToken('BEARER abc')).toBe('abc');
});

test('anything else carries no bearer token', () => {
  for (const header of [null, '', 'Bearer', 'Bearer ', 'Bearerabc', 'BearerXabc', 'Basic YWxhZGRpbjpvcGVuc2VzYW1l', 'Token abc']) {
    expect(bearerToken(header)).toBeUndefined();
  }
});

test('a second space is part of the token, which then matches nothing', () => {
  expect(bearerToken('Bearer  abc')).toBe(' abc');
});
