import { describe, expect, test } from 'bun:test';
import { addressOf, crmUserFields, identityChange, idsOfRow, isBsuid, knownIds, mergeIds, phoneOf, splitBsuid } from '../../../src/domain/user-ids';

const PHONE = '573001112233';
const BSUID = 'CO.1047385771169864';

describe("a user's ids", () => {
  test('a BSUID is a country code, a dot, and up to 128 letters and digits; a parent has ENT in between', () => {
    expect([BSUID, 'US.ENT.11815799212886844830', 'BR.abc123'].every(isBsuid)).toBe(true);
    expect([PHONE, 'CO.', 'co.123', 'COL.123', 'CO.12-3'].some(isBsuid)).toBe(false);
  });

  test('a BSUID splits into its prefix and its id; anything else does not', () => {
    expect(splitBsuid('US.ENT.118157')).toEqual({ prefix: 'US.ENT.', id: '118157' });
    expect(splitBsuid(PHONE)).toBeUndefined();
  });

  test("the user's phone is the one stored, else a key that is a phone; a BSUID key is never a phone", () => {
    expect(phoneOf({ phone: '573009998877' }, PHONE)).toBe('573009998877');
    expect(phoneOf({ bsuid: BSUID }, PHONE)).toBe(PHONE);
    expect(phoneOf({ bsuid: BSUID }, BSUID)).toBeUndefined();
  });

  test('a webhook that hides the phone does not make us forget it; a new BSUID replaces the old', () => {
    const known = { phone: PHONE, bsuid: BSUID };
    expect(mergeIds(known, { bsuid: 'CO.555', username: 'juan.p' })).toEqual({ phone: PHONE, bsuid: 'CO.555', username: 'juan.p' });
  });

  test('a row from before the ids were stored knows its user by its key', () => {
    expect(knownIds({}, PHONE)).toEqual({ phone: PHONE });
    expect(knownIds({}, BSUID)).toEqual({ bsuid: BSUID });
    expect(knownIds({ bsuid: 'CO.555' }, PHONE)).toEqual({ bsuid: 'CO.555' });
  });

  test('a send goes `to` the phone when known, else to the BSUID as `recipient`', () => {
    expect(addressOf({ phone: PHONE, bsuid: BSUID })).toEqual({ to: PHONE });
    expect(addressOf({ bsuid: BSUID })).toEqual({ recipient: BSUID });
  });

  test('the CRM gets userPhone only when known, userId and username when Meta gave them', () => {
    expect(crmUserFields({ bsuid: BSUID, username: 'juan.p' })).toEqual({ userId: BSUID, username: 'juan.p' });
    expect(crmUserFields({ phone: PHONE })).toEqual({ userPhone: PHONE });
  });
});

test("a conversation row's columns give only the ids they hold", () => {
  expect(idsOfRow({ userPhone: '573001112233', bsuid: null, username: '', parentBsuid: undefined })).toEqual({ phone: '573001112233' });
  expect(idsOfRow({ bsuid: 'CO.1', username: '@ana', parentBsuid: 'CO.ENT.1' })).toEqual({ bsuid: 'CO.1', username: '@ana', parentBsuid: 'CO.ENT.1' });
  expect(idsOfRow({})).toEqual({});
  // As the store gives a row back: an unknown id is a null column, and no id at all.
  expect(idsOfRow({ userPhone: null, bsuid: 'CO.1', username: null, parentBsuid: null })).toEqual({ bsuid: 'CO.1' });
});

describe('a change of identity the CRM must hear of', () => {
  test('a phone or a BSUID replaced by another; both sides named by what they hold', () => {
    expect(identityChange({ phone: PHONE, bsuid: BSUID }, { phone: '573009998877', bsuid: BSUID })).toEqual({
      previous: { phone: PHONE, bsuid: BSUID },
      current: { phone: '573009998877', bsuid: BSUID },
    });
    expect(identityChange({ bsuid: BSUID }, { bsuid: 'CO.555', username: 'juan.p' })).toEqual({ previous: { bsuid: BSUID }, current: { bsuid: 'CO.555' } });
  });

  test('none when an id is learnt where none was known, or is missing from what is now known: nothing replaced it', () => {
    expect(identityChange({ bsuid: BSUID }, { phone: PHONE, bsuid: BSUID })).toBeNull();
    expect(identityChange({ phone: PHONE, bsuid: BSUID }, { bsuid: BSUID })).toBeNull();
    expect(identityChange({ phone: PHONE }, { phone: PHONE, username: 'juan.p' })).toBeNull();
  });

  test('a stored conversation without a phone that learns it: no change', () => {
    const known = idsOfRow({ userPhone: null, bsuid: BSUID, username: null, parentBsuid: null });
    expect(identityChange(known, mergeIds(known, { phone: PHONE, bsuid: BSUID }))).toBeNull();
  });
});

test('a send goes to the phone, else to the BSUID; a user with neither cannot be written to', () => {
  expect(addressOf({ phone: '573001112233', bsuid: 'CO.1' })).toEqual({ to: '573001112233' });
  expect(addressOf({ bsuid: 'CO.1' })).toEqual({ recipient: 'CO.1' });
  expect(() => addressOf({ username: '@ana' })).toThrow('a user with neither phone nor BSUID cannot be written to');
});
