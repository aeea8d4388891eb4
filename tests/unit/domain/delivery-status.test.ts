import { describe, expect, test } from 'bun:test';
import { DELIVERY_STATUSES, movesUp, statusesBelow, whatsAppHasIt } from '../../../src/domain/delivery-status';
import { deliveryStatus } from '../../../src/db/schema';

describe("WhatsApp's delivery ladder", () => {
  test('a status moves a message up, never down: queued, sent, failed, delivered, read', () => {
    const ladder = ['queued', 'sent', 'failed', 'delivered', 'read'] as const;
    for (const [index, from] of ladder.entries()) {
      for (const to of ladder.slice(index + 1)) expect([from, to, movesUp(from, to)]).toEqual([from, to, true]);
      for (const to of ladder.slice(0, index + 1)) expect([from, to, movesUp(from, to)]).toEqual([from, to, false]);
    }
  });

  test('what a statement setting a status matches is what the code would move: the statuses below it', () => {
    expect(statusesBelow('sent')).toEqual(['queued']);
    expect(statusesBelow('delivered')).toEqual(['queued', 'sent', 'failed']);
    expect(statusesBelow('queued')).toEqual([]);
  });

  test('WhatsApp has a send once any status from sent up names it; a queued send or an inbound message is not one it has', () => {
    expect(DELIVERY_STATUSES.filter(whatsAppHasIt)).toEqual(['sent', 'delivered', 'read', 'failed']);
  });

  test('the column holds exactly these statuses: the enum is built from them', () => {
    expect(deliveryStatus.enumValues).toEqual([...DELIVERY_STATUSES]);
  });
});
