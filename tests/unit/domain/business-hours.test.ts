import { describe, expect, test } from 'bun:test';
import { createBusinessCalendar } from '../../../src/domain/business-hours';
import { ConfigError, loadConfig } from '../../../src/config';

const calendar = createBusinessCalendar('mon-fri 07:00-19:00, sat 08:00-13:00', '2026-12-08, 2026-12-25', 'America/Bogota');

describe('business calendar (America/Bogota, UTC-5)', () => {
  test('open inside a window, closed outside, on Sundays and on holidays', () => {
    expect(calendar.isOpen('2026-11-30T12:00:00Z')).toBe(true); // Mon 07:00
    expect(calendar.isOpen('2026-11-30T11:59:00Z')).toBe(false); // Mon 06:59
    expect(calendar.isOpen('2026-12-01T00:00:00Z')).toBe(false); // Mon 19:00: the end is exclusive
    expect(calendar.isOpen('2026-12-05T17:30:00Z')).toBe(true); // Sat 12:30
    expect(calendar.isOpen('2026-12-06T15:00:00Z')).toBe(false); // Sun 10:00
    expect(calendar.isOpen('2026-12-08T15:00:00Z')).toBe(false); // Tue 10:00, holiday
  });

  test('the next opening skips closed days and holidays', () => {
    expect(calendar.nextOpening('2026-11-30T15:00:00.000Z')).toBe('2026-11-30T15:00:00.000Z');
    expect(calendar.nextOpening('2026-12-05T19:00:00Z')).toBe('2026-12-07T12:00:00.000Z'); // Sat 14:00 → Mon 07:00
    expect(calendar.nextOpening('2026-12-07T23:30:00Z')).toBe('2026-12-07T23:30:00.000Z'); // Mon 18:30 is open
    expect(calendar.nextOpening('2026-12-08T02:00:00Z')).toBe('2026-12-09T12:00:00.000Z'); // Mon 21:00 → Wed, Tue is a holiday
  });

  test('describes itself in Spanish; empty hours are always open', () => {
    expect(calendar.description).toBe('lun-vie 07:00-19:00, sáb 08:00-13:00');
    const always = createBusinessCalendar('', '', 'America/Bogota');
    expect(always.isOpen('2026-12-06T08:00:00Z')).toBe(true);
    expect(always.description).toBe('24/7');
  });

  test('a one-hour weekly schedule opens again the next week', () => {
    const sundaysOnly = createBusinessCalendar('sun 08:00-09:00', '', 'America/Bogota');
    expect(sundaysOnly.nextOpening('2026-12-06T13:00:00Z')).toBe('2026-12-06T13:00:00.000Z');
    expect(sundaysOnly.nextOpening('2026-12-06T14:30:00Z')).toBe('2026-12-13T13:00:00.000Z');
  });

  test('configuration names each unreadable part', () => {
    try {
      loadConfig({ BUSINESS_HOURS: 'mon-fri 7-19', HOLIDAYS: '2026-13-01', HANDOVER_ASSIGN_TIMEOUT_S: '0' });
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const problems = (error as ConfigError).problems.join('\n');
      expect(problems).toContain('HANDOVER_ASSIGN_TIMEOUT_S');
    }
    try {
      loadConfig({ BUSINESS_HOURS: 'mon-fri 7-19', HOLIDAYS: '2026-13-01' });
      throw new Error('expected a ConfigError');
    } catch (error) {
      const problems = (error as ConfigError).problems;
      expect(problems).toEqual([
        'BUSINESS_HOURS: cannot read "mon-fri 7-19" (expected e.g. "mon-fri 07:00-19:00")',
        'HOLIDAYS: "2026-13-01" is not an ISO date (YYYY-MM-DD)',
      ]);
    }
  });
});
