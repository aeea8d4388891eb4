import { userKeyOf } from './business-numbers';

/**
 * Who a WhatsApp user is (DESIGN 2.6). Since April 2026 Meta names a user by
 * a business-scoped user id (BSUID, `CO.1047385771169864`, or a parent
 * `CO.ENT.…`) and, unless they hid it behind a username, by their phone.
 * The service keys a conversation by the first of them it saw (the phone
 * when Meta gave one, else the BSUID) and keeps every id beside that key.
 */
export interface UserIds {
  phone?: string;
  bsuid?: string;
  username?: string;
  parentBsuid?: string;
}

/** A BSUID: a country code, `ENT.` for a parent id, then the id (`CO.1047385771169864`, `US.ENT.11815799212886844830`). */
const BSUID = /^([A-Z]{2}\.(?:ENT\.)?)([A-Za-z0-9]{1,128})$/;

export const isBsuid = (id: string): boolean => BSUID.test(id);

/** A BSUID's prefix (`CO.`, `US.ENT.`) and id; undefined for anything else. */
export function splitBsuid(id: string): { prefix: string; id: string } | undefined {
  const match = BSUID.exec(id);
  return match ? { prefix: match[1]!, id: match[2]! } : undefined;
}

/** The ids a conversation row keeps in its columns (`user_phone`, `bsuid`, `username`, `parent_bsuid`), null when unknown. */
export interface StoredIds {
  userPhone?: string | null;
  bsuid?: string | null;
  username?: string | null;
  parentBsuid?: string | null;
}

/** The ids a conversation row's columns hold, as the code names them (a column's phone is `phone` here). */
export function idsOfRow(row: StoredIds): UserIds {
  const ids: UserIds = {};
  if (row.userPhone) ids.phone = row.userPhone;
  if (row.bsuid) ids.bsuid = row.bsuid;
  if (row.username) ids.username = row.username;
  if (row.parentBsuid) ids.parentBsuid = row.parentBsuid;
  return ids;
}

/** The key a user never seen before gets: their phone when Meta gave it (a pre-2026 conversation is keyed so), else their BSUID. */
export const firstKeyOf = (ids: UserIds): string | undefined => ids.phone ?? ids.bsuid;

/**
 * The user's phone: the one stored, else the conversation key when that is a
 * phone (a conversation filed under it before the ids were stored apart). A
 * key that is a BSUID is never taken for a phone.
 */
export const phoneOf = (ids: UserIds, conversationKey: string): string | undefined => {
  const userKey = userKeyOf(conversationKey);
  return ids.phone ?? (isBsuid(userKey) ? undefined : userKey);
};

/**
 * The ids a stored conversation knows, completed from its key: a row from
 * before the ids were stored knows the user only by the key it was filed under.
 */
export function knownIds(ids: UserIds, key: string): UserIds {
  if (ids.phone || ids.bsuid) return ids;
  const userKey = userKeyOf(key);
  return isBsuid(userKey) ? { ...ids, bsuid: userKey } : { ...ids, phone: userKey };
}

/** What a webhook says of the user, laid over what was known: a webhook that hides the phone does not make us forget it. */
export function mergeIds(known: UserIds, seen: UserIds): UserIds {
  const merged: UserIds = { ...known };
  for (const field of ['phone', 'bsuid', 'username', 'parentBsuid'] as const) if (seen[field]) merged[field] = seen[field];
  return merged;
}

/** Where a Cloud API send goes: `to` the phone when known (Meta's preference), else `recipient` the BSUID, never both. */
export function addressOf(ids: UserIds): { to: string } | { recipient: string } {
  if (ids.phone) return { to: ids.phone };
  if (ids.bsuid) return { recipient: ids.bsuid };
  throw new Error('a user with neither phone nor BSUID cannot be written to');
}

/** How a CRM call names the user (DESIGN 2.2): `userPhone` only when known, `userId` and `username` when Meta gave them. */
export function crmUserFields(ids: UserIds): { userPhone?: string; userId?: string; username?: string } {
  return {
    ...(ids.phone ? { userPhone: ids.phone } : {}),
    ...(ids.bsuid ? { userId: ids.bsuid } : {}),
    ...(ids.username ? { username: ids.username } : {}),
  };
}

/** A user's phone or BSUID replaced by another (a new phone for their BSUID, a `user_id_update`): what was known, and what is now. */
export interface IdentityChange {
  previous: Pick<UserIds, 'phone' | 'bsuid'>;
  current: Pick<UserIds, 'phone' | 'bsuid'>;
}

/**
 * Whether `merged` replaced the phone or the BSUID `known` had (null: it did not). An id learnt where none was
 * known (a phone a username-only user shows) is no change: nothing the CRM holds stops naming them.
 */
export function identityChange(known: UserIds, merged: UserIds): IdentityChange | null {
  const replaced = (field: 'phone' | 'bsuid') => known[field] !== undefined && merged[field] !== undefined && known[field] !== merged[field];
  if (!replaced('phone') && !replaced('bsuid')) return null;
  const pick = (ids: UserIds) => ({ ...(ids.phone ? { phone: ids.phone } : {}), ...(ids.bsuid ? { bsuid: ids.bsuid } : {}) });
  return { previous: pick(known), current: pick(merged) };
}
