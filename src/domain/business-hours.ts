import { DateTime } from 'luxon';

/**
 * When agents are at their desks: a weekly schedule and holidays, read in the
 * business time zone (TZ_BUSINESS). `BUSINESS_HOURS` looks like
 * `mon-fri 07:00-19:00, sat 08:00-13:00`; empty means always open.
 */
export interface BusinessCalendar {
  /** The schedule as configured, for the user: "lun-vie 07:00-19:00". */
  readonly description: string;
  isOpen(at: string): boolean;
  /** The instant the desk next opens at or after `at` (`at` itself when open); null when the schedule never opens. */
  nextOpening(at: string): string | null;
}

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const SPANISH_DAYS = ['lun', 'mar', 'mié', 'jue', 'vie', 'sáb', 'dom'];

interface Window {
  /** Minutes since local midnight. */
  start: number;
  end: number;
}

/** Throws one message naming the part it cannot read: loadConfig turns it into a config problem. */
export function parseBusinessHours(spec: string): Window[][] {
  const week: Window[][] = DAYS.map(() => []);
  for (const part of spec
    .split(',')
    .map((piece) => piece.trim())
    .filter(Boolean)) {
    const match = /^([a-z]{3})(?:-([a-z]{3}))?\s+(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$/i.exec(part);
    if (!match) throw new Error(`cannot read "${part}" (expected e.g. "mon-fri 07:00-19:00")`);
    const [, fromDay, toDay, h1, m1, h2, m2] = match;
    const first = DAYS.indexOf(fromDay!.toLowerCase() as (typeof DAYS)[number]);
    const last = DAYS.indexOf((toDay ?? fromDay)!.toLowerCase() as (typeof DAYS)[number]);
    if (first < 0 || last < 0) throw new Error(`unknown day in "${part}" (use mon, tue, wed, thu, fri, sat, sun)`);
    const start = Number(h1) * 60 + Number(m1);
    const end = Number(h2) * 60 + Number(m2);
    if (Number(m1) > 59 || Number(m2) > 59 || end > 24 * 60 || start >= end) throw new Error(`bad hours in "${part}"`);
    for (let day = first; ; day = (day + 1) % 7) {
      week[day]!.push({ start, end });
      if (day === last) break;
    }
  }
  return week;
}

export function parseHolidays(spec: string): Set<string> {
  const dates = spec
    .split(',')
    .map((piece) => piece.trim())
    .filter(Boolean);
  for (const date of dates) {
    if (!DateTime.fromISO(date).isValid || !/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new Error(`"${date}" is not an ISO date (YYYY-MM-DD)`);
  }
  return new Set(dates);
}

export function createBusinessCalendar(hours: string, holidays: string, zone: string): BusinessCalendar {
  const week = parseBusinessHours(hours);
  const closedDates = parseHolidays(holidays);
  const alwaysOpen = hours.trim() === '';
  const local = (at: string) => DateTime.fromISO(at, { zone });
  const windowsOn = (day: DateTime): Window[] => (closedDates.has(day.toISODate()!) ? [] : week[day.weekday - 1]!);

  return {
    description: alwaysOpen ? '24/7' : describe(week),
    isOpen(at) {
      if (alwaysOpen) return true;
      const time = local(at);
      const minute = time.hour * 60 + time.minute;
      return windowsOn(time).some((window) => minute >= window.start && minute < window.end);
    },
    nextOpening(at) {
      if (this.isOpen(at)) return new Date(at).toISOString();
      const time = local(at);
      const minute = time.hour * 60 + time.minute;
      // A year ahead covers any schedule with at least one open hour a week, holidays included.
      for (let offset = 0; offset <= 366; offset++) {
        const day = time.plus({ days: offset }).startOf('day');
        const opening = windowsOn(day)
          .filter((window) => offset > 0 || window.start > minute)
          .sort((a, b) => a.start - b.start)[0];
        if (opening) return day.plus({ minutes: opening.start }).toUTC().toISO()!;
      }
      return null;
    },
  };
}

function describe(week: Window[][]): string {
  const clock = (minutes: number) => `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
  const label = (windows: Window[]) => windows.map((window) => `${clock(window.start)}-${clock(window.end)}`).join(' y ');
  const groups: { first: number; last: number; hours: string }[] = [];
  week.forEach((windows, day) => {
    if (windows.length === 0) return;
    const hours = label(windows);
    const previous = groups.at(-1);
    if (previous && previous.last === day - 1 && previous.hours === hours) previous.last = day;
    else groups.push({ first: day, last: day, hours });
  });
  return groups.map(({ first, last, hours }) => `${SPANISH_DAYS[first]}${first === last ? '' : `-${SPANISH_DAYS[last]}`} ${hours}`).join(', ');
}
