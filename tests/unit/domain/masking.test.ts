import { expect, test } from 'bun:test';
import { maskDigitRuns, maskDocument, maskKey, maskNumbers, maskPhone, withoutDocument } from '../../../src/domain/masking';
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

test('a document number shows its last two digits only, wherever it is quoted and however it is formatted', () => {
  expect(maskDocument('1010101010')).toBe('********10');
  expect(maskDocument('12')).toBe('**');
  expect(withoutDocument('document 1010101010 (1.010.101.010, 1010 101 010) unknown', '1010101010')).toBe(
    'document ********10 (********10, ********10) unknown',
  );
  expect(withoutDocument('no document here: 2020202020', '1010101010')).toBe('no document here: 2020202020');
});

test("an operator's listing masks every run of 5 or more digits as a document; shorter numbers stay", () => {
  expect(maskNumbers('duplicate 1010101010 at line 1234 of 2026; phone 573001234567, doc 12345')).toBe(
    'duplicate ********10 at line 1234 of 2026; phone **********67, doc ***45',
  );
});

test('nothing to mask is nothing; a short number keeps two digits; a key of another number keeps its suffix only at the end', () => {
  expect(maskPhone('')).toBe('');
  expect(maskPhone(undefined)).toBe('');
  expect(maskKey('')).toBe('');
  expect(maskKey(null)).toBe('');
  expect(maskPhone('1234567')).toBe('12*****');
  expect(maskPhone('12345678')).toBe('12345*78');
  expect(maskKey('573001112233@1111')).toBe('57300*****33@1111');
  expect(maskKey('573001112233@1111x')).toBe('57300***********1x');
});

test('a document is masked only when it is all digits', () => {
  expect(withoutDocument('mi cédula 1020304050', 'x1020304050')).toBe('mi cédula 1020304050');
  expect(withoutDocument('mi cédula 1020304050', '1020304050x')).toBe('mi cédula 1020304050');
  // Not even with characters a pattern would choke on, before or after the digits: the text is left as it is.
  expect(withoutDocument('mi cédula (1020304050', '(1020304050')).toBe('mi cédula (1020304050');
  expect(withoutDocument('mi cédula 1020304050)', '1020304050)')).toBe('mi cédula 1020304050)');
});
