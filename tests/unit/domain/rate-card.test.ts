import { expect, test } from 'bun:test';
import { estimatedCost, parseRateCard, rateCardProblems } from '../../../src/domain/rate-card';

test('a rate card is category=price, comma-separated; a malformed entry is a boot problem', () => {
  expect(parseRateCard('marketing=0.0125, utility=0.0008')).toEqual({ marketing: 0.0125, utility: 0.0008 });
  expect(parseRateCard('')).toEqual({});
  expect(rateCardProblems('marketing=0.0125,utility:0.0008')).toEqual(['WHATSAPP_RATE_CARD: "utility:0.0008" is not category=price (e.g. marketing=0.0125)']);
});

test('the estimate is each category counted at its price; none without a card; a category not on it costs nothing known', () => {
  const card = parseRateCard('marketing=0.0125,utility=0.0008');
  expect(estimatedCost({ marketing: 2, utility: 3, authentication: 1 }, card)).toBe(0.0274);
  expect(estimatedCost({ marketing: 2 }, {})).toBeNull();
});

test('only whole entries count: a name of letters and underscores, a price with an optional decimal part', () => {
  expect(parseRateCard('marketing=0.0125, utility=1, x-marketing=2, service=3x, auth=.5, cat=1.')).toEqual({ marketing: 0.0125, utility: 1 });
  expect(parseRateCard('authentication_international=12')).toEqual({ authentication_international: 12 });
});
