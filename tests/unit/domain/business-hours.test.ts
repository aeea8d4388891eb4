import { describe, expect, test } from 'bun:test';
import { createBusinessCalendar, parseBusinessHours, parseHolidays } from '../../../src/domain/business-hours';
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

describe('reading BUSINESS_HOURS and HOLIDAYS', () => {
  test('each part must be a day or a range of days and two clock times, nothing around them', () => {
    for (const part of ['x mon 07:00-19:00', 'mon 07:00-19:00 x', 'mon07:00-19:00']) {
      expect(() => parseBusinessHours(part)).toThrow(`cannot read "${part}" (expected e.g. "mon-fri 07:00-19:00")`);
    }
    // Several blanks between the days and the hours read as one.
    expect(parseBusinessHours('mon   07:00-19:00')[0]).toEqual([{ start: 420, end: 1140 }]);
  });

  test('an unknown day, first or last, is named', () => {
    expect(() => parseBusinessHours('lun 07:00-19:00')).toThrow('unknown day in "lun 07:00-19:00" (use mon, tue, wed, thu, fri, sat, sun)');
    expect(() => parseBusinessHours('mon-xyz 07:00-19:00')).toThrow('unknown day in "mon-xyz');
    expect(() => parseBusinessHours('xyz-fri 07:00-19:00')).toThrow('unknown day in "xyz-fri');
  });

  test('minutes past 59, an end past midnight, or an end not after the start are bad hours; a day ending at 24:00 is not', () => {
    for (const part of ['mon 07:60-19:00', 'mon 07:00-19:60', 'mon 07:00-24:01', 'mon 09:00-09:00', 'mon 10:00-09:59']) {
      expect(() => parseBusinessHours(part)).toThrow(`bad hours in "${part}"`);
    }
    expect(parseBusinessHours('sun 00:00-24:00')[6]).toEqual([{ start: 0, end: 1440 }]);
    expect(parseBusinessHours('mon 07:59-19:01')[0]).toEqual([{ start: 479, end: 1141 }]);
    expect(parseBusinessHours('mon 07:00-18:59')[0]).toEqual([{ start: 420, end: 1139 }]);
  });

  test('a range wraps the week; blank parts are skipped', () => {
    const week = parseBusinessHours('sat-mon 08:00-12:00, ');
    expect(week.map((windows) => windows.length)).toEqual([1, 0, 0, 0, 0, 1, 1]);
  });

  test('a holiday is a whole ISO date', () => {
    expect([...parseHolidays('2026-12-08, 2026-12-25')]).toEqual(['2026-12-08', '2026-12-25']);
    // A signed six-digit year is ISO to Luxon, but no date a holiday list could match.
    for (const date of ['x2026-12-08', '2026-12-08T10:00', '+002026-12-08']) expect(() => parseHolidays(date)).toThrow(`"${date}" is not an ISO date (YYYY-MM-DD)`);
  });

  test('hours of blanks only are always open', () => {
    expect(createBusinessCalendar('  ', '', 'America/Bogota').isOpen('2026-12-06T03:00:00.000Z')).toBe(true);
  });
});

describe('the next opening', () => {
  test('a window starting right now is the next opening only when the desk is closed now; the earliest of a day with several', () => {
    const split = createBusinessCalendar('mon 14:00-18:00, mon 08:00-12:00', '', 'America/Bogota');
    // Monday 07:00 in Bogotá (12:00 UTC): the 08:00 window comes first, though written second.
    expect(split.nextOpening('2026-11-30T12:00:00.000Z')).toBe('2026-11-30T13:00:00.000Z');
    // Monday 12:30: the afternoon window, the same day.
    expect(split.nextOpening('2026-11-30T17:30:00.000Z')).toBe('2026-11-30T19:00:00.000Z');
    // Monday 12:00 exactly: closed (the morning window has ended), and 12:00 itself is no opening.
    expect(split.nextOpening('2026-11-30T17:00:00.000Z')).toBe('2026-11-30T19:00:00.000Z');
  });

  test('between two windows less than an hour apart, the later one, never the one just gone', () => {
    const briefingFirst = createBusinessCalendar('mon 08:00-08:20, mon 08:40-12:00', '', 'America/Bogota');
    // Monday 08:30 in Bogotá: the briefing is over, the desk opens again at 08:40.
    expect(briefingFirst.nextOpening('2026-11-30T13:30:00.000Z')).toBe('2026-11-30T13:40:00.000Z');
  });

  test('is looked for up to a year and a day ahead: holidays may close every open day until then', () => {
    const wednesdays = (from: string, count: number) =>
      Array.from({ length: count }, (_, week) => new Date(Date.parse(from) + week * 7 * 86_400_000).toISOString().slice(0, 10));
    // Monday 2026-11-30; every Wednesday a holiday until 2027-11-24: the next opening is Wednesday 2027-12-01, 366 days on.
    const yearOff = createBusinessCalendar('wed 08:00-09:00', wednesdays('2026-12-02', 52).join(','), 'America/Bogota');
    expect(yearOff.nextOpening('2026-11-30T15:00:00.000Z')).toBe('2027-12-01T13:00:00.000Z');
    const longer = createBusinessCalendar('wed 08:00-09:00', wednesdays('2026-12-02', 53).join(','), 'America/Bogota');
    expect(longer.nextOpening('2026-11-30T15:00:00.000Z')).toBeNull();
  });

  test('describes days with the same hours together, and different ones apart, in Spanish', () => {
    expect(createBusinessCalendar('mon-fri 08:00-12:00, mon-fri 14:00-18:00', '', 'America/Bogota').description).toBe('lun-vie 08:00-12:00 y 14:00-18:00');
    expect(createBusinessCalendar('tue-thu 07:00-19:00, sun 09:30-12:00', '', 'America/Bogota').description).toBe('mar-jue 07:00-19:00, dom 09:30-12:00');
    expect(createBusinessCalendar('mon 07:00-19:00, wed 07:00-19:00', '', 'America/Bogota').description).toBe('lun 07:00-19:00, mié 07:00-19:00');
  });
});
