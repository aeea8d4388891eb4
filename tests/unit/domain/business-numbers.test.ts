import { describe, expect, test } from 'bun:test';
import { businessNumbers, conversationKeyOf, isServed, numberOfKey, numbersProblems, userKeyOf } from '../../../src/domain/business-numbers';
import { knownIds, phoneOf } from '../../../src/domain/user-ids';
import { maskKey } from '../../../src/domain/masking';

const numbers = businessNumbers('1111', '1111, 2222');
const none = businessNumbers('');

describe('the numbers a service serves', () => {
  test('are the primary first, then the others listed, once each', () => {
    expect(numbers).toEqual({ primary: '1111', served: ['1111', '2222'] });
    expect(businessNumbers('', '3333,4444')).toEqual({ primary: '3333', served: ['3333', '4444'] });
  });

  test('a webhook for another number is not ours; with none configured, every one is', () => {
    expect(isServed(numbers, '2222')).toBe(true);
    expect(isServed(numbers, '9999')).toBe(false);
    expect(isServed(none, '9999')).toBe(true);
    // A body without metadata (older samples) is the primary's.
    expect(isServed(numbers, undefined)).toBe(true);
  });
});

describe("a conversation's key", () => {
  test("is the user's key alone for the primary number, as before several numbers", () => {
    expect(conversationKeyOf(numbers, '573001112233', '1111')).toBe('573001112233');
    expect(conversationKeyOf(numbers, '573001112233', undefined)).toBe('573001112233');
    expect(conversationKeyOf(none, 'CO.1047385771169864', '2222')).toBe('CO.1047385771169864');
  });

  test('names the other number it belongs to, and gives the user and the number back', () => {
    const key = conversationKeyOf(numbers, 'CO.1047385771169864', '2222');
    expect(key).toBe('CO.1047385771169864@2222');
    expect(userKeyOf(key)).toBe('CO.1047385771169864');
    expect(numberOfKey(numbers, key)).toBe('2222');
    expect(numberOfKey(numbers, '573001112233')).toBe('1111');
    expect(numberOfKey(none, '573001112233')).toBe('');
  });

  test('of another number is never taken for a phone, and is masked with its number kept', () => {
    expect(phoneOf({}, '573001112233@2222')).toBe('573001112233');
    expect(phoneOf({}, 'CO.1047385771169864@2222')).toBeUndefined();
    expect(knownIds({}, 'CO.1047385771169864@2222')).toEqual({ bsuid: 'CO.1047385771169864' });
    expect(maskKey('573001112233@2222')).toBe('57300*****33@2222');
    expect(maskKey('CO.1047385771169864@2222')).toBe('CO.10473*********64@2222');
  });
});

describe('WHATSAPP_PHONE_NUMBER_IDS', () => {
  test('ids are digits only, each named when it is not', () => {
    expect(numbersProblems('', '1111, 22a2, x3333, 4444x')).toEqual([
      'WHATSAPP_PHONE_NUMBER_IDS: "22a2" is not a phone number id (digits)',
      'WHATSAPP_PHONE_NUMBER_IDS: "x3333" is not a phone number id (digits)',
      'WHATSAPP_PHONE_NUMBER_IDS: "4444x" is not a phone number id (digits)',
    ]);
    expect(numbersProblems('1111', '1111, 2222')).toEqual([]);
  });

  test('start with WHATSAPP_PHONE_NUMBER_ID when both are set; either alone is fine', () => {
    expect(numbersProblems('1111', '2222, 1111')).toEqual([
      'WHATSAPP_PHONE_NUMBER_IDS: must start with WHATSAPP_PHONE_NUMBER_ID (the first number keeps the conversations it has)',
    ]);
    expect(numbersProblems('', '2222, 1111')).toEqual([]);
    expect(numbersProblems('1111', '')).toEqual([]);
  });

  test("a key's number is its suffix at the end only", () => {
    expect(numberOfKey(numbers, '573001112233@2222x')).toBe('1111');
  });
});
