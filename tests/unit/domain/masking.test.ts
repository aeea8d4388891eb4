import { expect, test } from 'bun:test';
import { maskDigitRuns, maskKey, maskPhone } from '../../../src/domain/masking';
import { maskLane } from '../../../src/domain/lanes';

test('phones are masked in logs; any long run of digits in outside text too', () => {
  expect(maskPhone('573001234567')).toBe('57300*****67');
  expect(maskPhone('12345')).toBe('12***');
  expect(maskDigitRuns('{"error":"unknown user 573001234567, doc 1010101010, ticket TK-2026-000042"}')).toBe(
    '{"error":"unknown user 57300*****67, doc 10101***10, ticket TK-2026-000042"}',
  );
});

test('a conversation key is masked as what it holds: a phone as a phone, a BSUID with its country prefix kept', () => {
  expect(maskKey('573001234567')).toBe('57300*****67');
  expect(maskKey('CO.1047385771169864')).toBe('CO.10473*********64');
  expect(maskKey('US.ENT.11815799212886844830')).toBe('US.ENT.11815*************30');
});

test('a BSUID is masked like a phone, its country prefix kept, in outside text and in a lane', () => {
  expect(maskDigitRuns('no such recipient CO.1047385771169864')).toBe('no such recipient CO.10473*********64');
  expect(maskLane('wa:CO.1047385771169864')).toBe('wa:CO.10473*********64');
});
