/**
 * What WhatsApp charges per message (per-message pricing since July 2025):
 * each status webhook says whether the message was billable, its pricing
 * model and its category (`marketing`, `utility`, `authentication`,
 * `service`...). The rate card is the operator's price per category, from
 * WHATSAPP_RATE_CARD (`marketing=0.0125,utility=0.0008`), in
 * WHATSAPP_RATE_CURRENCY: the cost it gives is an estimate (Meta's rates
 * vary by country and volume tier; the invoice is Meta's).
 */
export type RateCard = Record<string, number>;

/** A message's pricing, as its status webhooks give it. */
export interface Pricing {
  billable?: boolean;
  pricingModel?: string;
  category?: string;
}

const ENTRY = /^([a-z_]+)=(\d+(?:\.\d+)?)$/;

const entriesOf = (setting: string) =>
  setting
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');

/** The card as configured; empty: no estimate is given. Only valid entries (config.ts refuses the others at boot). */
export function parseRateCard(setting: string): RateCard {
  return Object.fromEntries(entriesOf(setting).flatMap((entry) => (ENTRY.test(entry) ? [[ENTRY.exec(entry)![1]!, Number(ENTRY.exec(entry)![2])]] : [])));
}

export function rateCardProblems(setting: string): string[] {
  return entriesOf(setting)
    .filter((entry) => !ENTRY.test(entry))
    .map((entry) => `WHATSAPP_RATE_CARD: ${JSON.stringify(entry)} is not category=price (e.g. marketing=0.0125)`);
}

/** The estimated cost of billable messages counted by category; null without a card. A category the card lacks costs nothing it knows of. */
export function estimatedCost(byCategory: Record<string, number>, card: RateCard): number | null {
  if (Object.keys(card).length === 0) return null;
  const cost = Object.entries(byCategory).reduce((sum, [category, count]) => sum + count * (card[category] ?? 0), 0);
  // Cents of a cent are noise in an estimate; the float sum is not.
  return Math.round(cost * 1e6) / 1e6;
}
