import { splitBsuid } from './user-ids';

/** A conversation with one of the service's other numbers ends in `@<phone number id>`: not personal, kept as it is. */
const NUMBER_SUFFIX = /@\d+$/;

/**
 * How a user's identity shows in a log or an operator's view: enough to tell
 * users apart, not enough to reach them (DESIGN: phone numbers masked in
 * logs, Ley 1581).
 */

/** `573001234567` → `57300*****67`. */
export function maskPhone(phone: string | null | undefined): string {
  if (!phone) return '';
  if (phone.length <= 7) return `${phone.slice(0, 2)}${'*'.repeat(Math.max(0, phone.length - 2))}`;
  return `${phone.slice(0, 5)}${'*'.repeat(phone.length - 7)}${phone.slice(-2)}`;
}

/**
 * A conversation key: a phone is masked as a phone; a BSUID keeps its
 * country prefix and has its digits masked the same way
 * (`CO.1047385771169864` → `CO.10473*********64`).
 */
export function maskKey(key: string | null | undefined): string {
  if (!key) return '';
  const suffix = NUMBER_SUFFIX.exec(key)?.[0] ?? '';
  const userKey = key.slice(0, key.length - suffix.length);
  const bsuid = splitBsuid(userKey);
  return `${bsuid ? `${bsuid.prefix}${maskPhone(bsuid.id)}` : maskPhone(userKey)}${suffix}`;
}

/** Any run of 7 or more digits (a phone, a document number) masked like a phone: for text from outside, such as an error body. */
export function maskDigitRuns(text: string): string {
  return text.replace(/\d{7,}/g, (digits) => maskPhone(digits));
}
