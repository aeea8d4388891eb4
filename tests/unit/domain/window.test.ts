import { describe, expect, test } from 'bun:test';
import { agentMessageDelivery, idleClosesAt, isOutsideWindow, windowClosesAt } from '../../../src/domain/window';

const DAY_S = 24 * 3600;
const lastUserMessageAt = '2026-03-01T10:00:00.000Z';

describe("WhatsApp's 24-hour window", () => {
  test('closes exactly windowS after the user last wrote', () => {
    expect(windowClosesAt(lastUserMessageAt, DAY_S)).toBe('2026-03-02T10:00:00.000Z');
  });

  test('a ticket left inactive closes one window after its last activity', () => {
    expect(idleClosesAt('2026-03-01T12:30:00.000Z', DAY_S)).toBe('2026-03-02T12:30:00.000Z');
  });

  test('a message one millisecond before the close is inside; at the close it is outside', () => {
    expect(isOutsideWindow(lastUserMessageAt, '2026-03-02T09:59:59.999Z', DAY_S)).toBe(false);
    expect(isOutsideWindow(lastUserMessageAt, '2026-03-02T10:00:00.000Z', DAY_S)).toBe(true);
  });

  test('inside the window an agent message goes out as written, template or not', () => {
    for (const reengageTemplate of [true, false]) {
      expect(agentMessageDelivery({ windowS: DAY_S, reengageTemplate }, lastUserMessageAt, '2026-03-01T20:00:00.000Z')).toBe('free_form');
    }
  });

  test('past the window it goes out as the template when one is configured, else it is refused', () => {
    const late = '2026-03-03T00:00:00.000Z';
    expect(agentMessageDelivery({ windowS: DAY_S, reengageTemplate: true }, lastUserMessageAt, late)).toBe('template');
    expect(agentMessageDelivery({ windowS: DAY_S, reengageTemplate: false }, lastUserMessageAt, late)).toBe('refused');
  });
});
