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

/** A document number (cédula) as an operator may see it: its last two digits only (`********10`). */
export function maskDocument(document: string): string {
  return document.length <= 2 ? '*'.repeat(document.length) : `${'*'.repeat(document.length - 2)}${document.slice(-2)}`;
}

/** `text` with `document` masked wherever it appears, typed or echoed with dots, spaces or dashes between its digits. */
export function withoutDocument(text: string, document: string): string {
  if (!/^\d{1,32}$/.test(document)) return text;
  return text.replace(new RegExp(document.split('').join('[.\\s-]?'), 'g'), maskDocument(document));
}

/**
 * Every run of 5 or more digits masked as a document (a cédula has 5 to 15): for text an operator's listing
 * shows whose digits nobody can tell apart (a dead letter's error). Shorter runs (a line number, a year) stay.
 */
export function maskNumbers(text: string): string {
  return text.replace(/\d{5,}/g, maskDocument);
}
