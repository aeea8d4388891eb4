/**
 * The WhatsApp numbers this service serves (DESIGN 2.5, 5 "Several
 * numbers"). One WhatsApp Business Account may hold several numbers, all
 * delivered to one callback URL, each webhook naming its
 * `metadata.phone_number_id`. A conversation is the pair (business number,
 * user): its key is the user's key for the primary number (today's keys and
 * partitions, so a one-number deployment and its queued entries are
 * unchanged) and `<user key>@<phone number id>` for every other number.
 * Phone number ids are digits and user keys (a phone, a BSUID) hold no `@`,
 * so the two parts never blur.
 */
export interface BusinessNumbers {
  /** The first-listed number (WHATSAPP_PHONE_NUMBER_ID): its conversations keep the user's key alone. '' when none is configured. */
  primary: string;
  /** Every number served, the primary first; empty when none is configured (then every webhook is taken as the primary's). */
  served: readonly string[];
}

/** A comma-separated list of numbers, as a setting holds it. */
const listOf = (listed: string): string[] =>
  listed
    .split(',')
    .map((id) => id.trim())
    .filter((id) => id !== '');

/** The numbers as configured (`listed` comma-separated): the primary first, no repeats. */
export function businessNumbers(primary: string, listed = ''): BusinessNumbers {
  const served = [...new Set([primary, ...listOf(listed)].filter((id) => id !== ''))];
  return { primary: primary || served[0] || '', served };
}

/** What is wrong with WHATSAPP_PHONE_NUMBER_IDS: ids are digits, and the primary, when set, comes first (it keeps its conversations). */
export function numbersProblems(primary: string, listed: string): string[] {
  const ids = listOf(listed);
  const problems = ids.filter((id) => !/^\d{1,32}$/.test(id)).map((id) => `${JSON.stringify(id)} is not a phone number id (digits)`);
  if (primary !== '' && ids.length > 0 && ids[0] !== primary) {
    problems.push('must start with WHATSAPP_PHONE_NUMBER_ID (the first number keeps the conversations it has)');
  }
  return problems.map((problem) => `WHATSAPP_PHONE_NUMBER_IDS: ${problem}`);
}

/** Whether a webhook for this number is ours to answer: with no number configured, every one is (a demo, a test). */
export function isServed(numbers: BusinessNumbers, phoneNumberId: string | undefined): boolean {
  return numbers.served.length === 0 || phoneNumberId === undefined || numbers.served.includes(phoneNumberId);
}

const SUFFIX = /@(\d+)$/;

/** The conversation of a user with one of our numbers; a webhook that names no number is the primary's. */
export function conversationKeyOf(numbers: BusinessNumbers, userKey: string, phoneNumberId: string | undefined): string {
  if (!phoneNumberId || phoneNumberId === numbers.primary || !numbers.served.includes(phoneNumberId)) return userKey;
  return `${userKey}@${phoneNumberId}`;
}

/** The user's part of a conversation key: their phone or BSUID, whichever number they wrote to. */
export const userKeyOf = (conversationKey: string): string => conversationKey.replace(SUFFIX, '');

/** The number a conversation belongs to: the one its key names, else the primary ('' when none is configured). */
export function numberOfKey(numbers: BusinessNumbers, conversationKey: string): string {
  return SUFFIX.exec(conversationKey)?.[1] ?? numbers.primary;
}
